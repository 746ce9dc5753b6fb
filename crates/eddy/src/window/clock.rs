//! Clocks: what time a value has, and how far the watermark has come.
//!
//! [`EventClock`] reads the time from the value; its watermark is per key:
//! the key's latest time minus `wait`, and — on an event-timed input
//! ([`Flow::input_timed`](crate::Flow::input_timed)) — advancing with the
//! input's event-time progress while the key is silent (after a
//! [`horizon`](EventClock::horizon)), as Bytewax's advances with the system
//! clock: a key that stops sending still gets its windows closed, from the
//! data alone, so a bounded input gives the same result at any speed.
//! [`SystemClock`] stamps values with the wall clock. An event clock may
//! instead close an idle key's windows after a wall-clock timeout — for
//! live inputs only.

use std::rc::Rc;
use std::time::{Duration, Instant};

use super::millis;

/// A clock config: builds one [`ClockLogic`] per key, and reads values
/// times into it. The config (shared by all keys) does the reading, so
/// that a key's logic holds only its own state.
pub trait Clock<V>: Clone + 'static {
    /// The per-key runtime half.
    type Logic: ClockLogic;
    /// A fresh logic for a new key.
    fn build(&self) -> Self::Logic;
    /// A key's logic from its snapshotted state ([`ClockLogic::save`]).
    fn restore(&self, saved: (i64, i64)) -> Self::Logic;
    /// The value's time and the key's watermark after seeing it, the input's
    /// event-time progress being `progress` (`None`: not known). A value
    /// whose time is below that watermark is late.
    fn on_item(&self, logic: &mut Self::Logic, value: &V, progress: Option<i64>) -> (i64, i64);
    /// The key's watermark once the input's progress is `progress`,
    /// without a new value.
    fn watermark_at(&self, logic: &Self::Logic, progress: i64) -> i64 {
        let _ = progress;
        logic.watermark()
    }
    /// The least input progress at which the key's watermark reaches
    /// `target` without a new value (`None`: progress alone never moves it).
    fn progress_for(&self, logic: &Self::Logic, target: i64) -> Option<i64> {
        let _ = (logic, target);
        None
    }
    /// Wall-clock time without values after which a key's windows close
    /// and its state is forgotten (`None`, the default: never). For live
    /// inputs only: it makes results depend on timing.
    fn idle_timeout(&self) -> Option<Duration> {
        None
    }
    /// When the key last saw a value, if the clock tracks it (it does when
    /// it has an idle timeout).
    fn last_seen(&self, logic: &Self::Logic) -> Option<Instant> {
        let _ = logic;
        None
    }
}

/// Per-key clock state.
pub trait ClockLogic: 'static {
    /// The watermark as of the key's last value (`i64::MIN` before any).
    fn watermark(&self) -> i64;
    /// The key's clock state, for a snapshot: the watermark as of the last
    /// value, and the input's progress then (`i64::MIN`: not known).
    fn save(&self) -> (i64, i64);
}

/// Event time from the value, allowing `wait` of out-of-orderness (Bytewax's
/// `EventClock(ts_getter, wait_for_system_duration)`, with the input's
/// event-time progress in place of the wall clock).
///
/// Per key, the watermark `W` is kept as `(base, at)`: `base` the watermark
/// set by the key's last value that raised it, `at` the input's progress
/// then. Once the input's progress is `P`, `W = base + max(0, P − at −
/// horizon)`: a silent key's watermark follows the input, `horizon` behind.
/// A value at time `t` sets `base = t − wait`, `at = P` when `t − wait > W`
/// (so `W` never goes back); it is late when `t < W`. Without progress
/// (an input that is not event-timed, or [`EventClock::horizon`]`(None)`)
/// `W` is the key's latest time minus `wait`.
pub struct EventClock<V> {
    time_of: Rc<dyn Fn(&V) -> i64>,
    wait: i64,
    horizon: Option<i64>,
    idle: Option<Duration>,
}

impl<V> Clone for EventClock<V> {
    fn clone(&self) -> Self {
        EventClock {
            time_of: self.time_of.clone(),
            wait: self.wait,
            horizon: self.horizon,
            idle: self.idle,
        }
    }
}

impl<V> EventClock<V> {
    /// A clock reading times (ms since the Unix epoch) with `time_of`; its
    /// watermark follows the input's progress with no horizon.
    pub fn new(time_of: impl Fn(&V) -> i64 + 'static, wait: Duration) -> Self {
        EventClock {
            time_of: Rc::new(time_of),
            wait: millis(wait),
            horizon: Some(0),
            idle: None,
        }
    }

    /// How far the input's event-time progress must pass a silent key's
    /// last value (beyond `wait`) before its watermark follows it: `Some(0)`
    /// (the default) closes a departed key's session once the input is
    /// `gap + wait` past it; a larger horizon leaves room for keys whose
    /// events arrive late as a block (a phone uploading hours later);
    /// `None`: never, a key's watermark moves only with its own values
    /// (its windows then close at its next value or the end of input).
    pub fn horizon(mut self, horizon: Option<Duration>) -> Self {
        self.horizon = horizon.map(millis);
        self
    }

    /// For live inputs: a key that gets no value for `timeout` of wall-clock
    /// time has its windows closed and its state forgotten. It replaces the
    /// progress rule ([`EventClock::horizon`]) for this clock. Off by
    /// default, because it makes results depend on timing.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle = Some(timeout);
        self
    }

    /// Whether the watermark follows the input's progress.
    fn follows(&self) -> Option<i64> {
        match self.idle {
            Some(_) => None,
            None => self.horizon,
        }
    }
}

/// [`EventClock`]'s per-key state: the watermark `base` and, either the
/// input's progress when it was set (the progress rule), or with an idle
/// timeout when the key last saw a value (16 bytes; the config is not
/// repeated per key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventClockLogic {
    base: i64,
    /// The progress rule: the input's progress when `base` was set, as
    /// `i64` bits (`i64::MIN`: not known). Idle timeout: nanoseconds since
    /// [`epoch`] plus one when the last value was seen (0: not tracked).
    aux: u64,
}

/// `aux` for an unknown progress.
const NO_PROGRESS: u64 = i64::MIN as u64;

/// The instant `EventClockLogic::aux` counts from (the first use).
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// `now` as `EventClockLogic::aux` holds it.
fn seen_at(now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(epoch()).as_nanos())
        .unwrap_or(u64::MAX - 1)
        .saturating_add(1)
}

impl<V> EventClock<V> {
    /// `W` of a key at progress `progress`.
    #[inline]
    fn wm(&self, logic: &EventClockLogic, progress: Option<i64>) -> i64 {
        let at = logic.aux as i64;
        match (self.follows(), progress) {
            (Some(h), Some(p)) if at != i64::MIN && logic.base != i64::MIN => {
                let ahead = p.saturating_sub(at).saturating_sub(h).max(0);
                logic.base.saturating_add(ahead)
            }
            _ => logic.base,
        }
    }
}

impl<V: 'static> Clock<V> for EventClock<V> {
    type Logic = EventClockLogic;
    fn build(&self) -> Self::Logic {
        EventClockLogic {
            base: i64::MIN,
            aux: match self.idle {
                Some(_) => 0,
                None => NO_PROGRESS,
            },
        }
    }

    fn restore(&self, (base, at): (i64, i64)) -> Self::Logic {
        EventClockLogic {
            base,
            aux: match self.idle {
                // The idle timeout counts again from the resume.
                Some(_) => seen_at(Instant::now()),
                None => at as u64,
            },
        }
    }

    #[inline]
    fn on_item(&self, logic: &mut Self::Logic, value: &V, progress: Option<i64>) -> (i64, i64) {
        let t = (self.time_of)(value);
        let wm = self.wm(logic, progress);
        let raised = t.saturating_sub(self.wait);
        if self.idle.is_some() {
            logic.base = logic.base.max(raised);
            logic.aux = seen_at(Instant::now());
            return (t, logic.base);
        }
        if raised > wm {
            logic.base = raised;
            logic.aux = progress.unwrap_or(i64::MIN) as u64;
            (t, raised)
        } else {
            (t, wm)
        }
    }

    fn watermark_at(&self, logic: &Self::Logic, progress: i64) -> i64 {
        self.wm(logic, Some(progress))
    }

    fn progress_for(&self, logic: &Self::Logic, target: i64) -> Option<i64> {
        let h = self.follows()?;
        let at = logic.aux as i64;
        if at == i64::MIN || logic.base == i64::MIN {
            return None;
        }
        if target <= logic.base {
            return Some(at);
        }
        Some(
            at.saturating_add(h)
                .saturating_add(target.saturating_sub(logic.base)),
        )
    }

    fn idle_timeout(&self) -> Option<Duration> {
        self.idle
    }

    fn last_seen(&self, logic: &Self::Logic) -> Option<Instant> {
        self.idle?;
        let since = logic.aux.checked_sub(1)?;
        epoch().checked_add(Duration::from_nanos(since))
    }
}

impl ClockLogic for EventClockLogic {
    fn watermark(&self) -> i64 {
        self.base
    }

    fn save(&self) -> (i64, i64) {
        // With an idle timeout `aux` is a wall-clock instant (not restored).
        (self.base, self.aux as i64)
    }
}

/// Processing time: each value gets the wall-clock time it is seen at, and
/// the watermark is now (nothing is ever late).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

/// [`SystemClock`]'s per-key state: the last time handed out.
#[derive(Debug, Clone, Copy)]
pub struct SystemClockLogic {
    now: i64,
}

#[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
fn wall_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, millis)
}

impl<V> Clock<V> for SystemClock {
    type Logic = SystemClockLogic;
    fn build(&self) -> Self::Logic {
        SystemClockLogic { now: i64::MIN }
    }

    fn restore(&self, (saved, _): (i64, i64)) -> Self::Logic {
        SystemClockLogic { now: saved }
    }

    fn on_item(&self, logic: &mut Self::Logic, _value: &V, _progress: Option<i64>) -> (i64, i64) {
        logic.now = logic.now.max(wall_now());
        (logic.now, logic.now)
    }
}

impl ClockLogic for SystemClockLogic {
    fn watermark(&self) -> i64 {
        self.now
    }

    fn save(&self) -> (i64, i64) {
        (self.now, i64::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_watermark_is_max_minus_wait_and_never_goes_back() {
        let clock = EventClock::new(|t: &i64| *t, Duration::from_secs(5));
        let mut c = clock.build();
        assert_eq!(c.watermark(), i64::MIN);
        assert_eq!(clock.on_item(&mut c, &7_000, None), (7_000, 2_000));
        assert_eq!(clock.on_item(&mut c, &10_000, None), (10_000, 5_000));
        // An older value does not move the watermark back.
        assert_eq!(clock.on_item(&mut c, &3_000, None), (3_000, 5_000));
        assert_eq!(c.watermark(), 5_000);
        // Without progress, progress never moves it.
        assert_eq!(clock.progress_for(&c, 9_000), None);
        // Untracked without an idle timeout; a key's clock is 16 bytes.
        assert_eq!(clock.last_seen(&c), None);
        assert_eq!(std::mem::size_of::<EventClockLogic>(), 16);
    }

    #[test]
    fn a_silent_keys_watermark_follows_the_inputs_progress() {
        let clock = EventClock::new(|t: &i64| *t, Duration::from_secs(1));
        let mut c = clock.build();
        // Seen at 5 s while the input is at 7 s (another key ran ahead).
        assert_eq!(clock.on_item(&mut c, &5_000, Some(7_000)), (5_000, 4_000));
        // The input moves on 10 s: so does the key's watermark.
        assert_eq!(clock.watermark_at(&c, 17_000), 14_000);
        assert_eq!(clock.progress_for(&c, 14_000), Some(17_000));
        assert_eq!(clock.progress_for(&c, 3_000), Some(7_000));
        // A value of the key 3 s behind the input is not late: the key's
        // own lag (2 s) is remembered ...
        assert_eq!(clock.on_item(&mut c, &6_000, Some(8_000)), (6_000, 5_000));
        // ... but one 1 s behind the key's watermark is.
        let (t, wm) = clock.on_item(&mut c, &9_000, Some(16_000));
        assert_eq!((t, wm), (9_000, 13_000));
        assert!(t < wm, "late");
        // A value that does not raise the watermark leaves it following.
        assert_eq!(clock.watermark_at(&c, 20_000), 17_000);
        // The snapshot holds both halves.
        assert_eq!(c.save(), (4_000, 7_000));
        assert_eq!(clock.restore(c.save()), c);
    }

    #[test]
    fn a_horizon_holds_the_watermark_back_and_none_switches_progress_off() {
        let late_ok =
            EventClock::new(|t: &i64| *t, Duration::from_secs(1)).horizon(Some(Duration::from_secs(60)));
        let mut c = late_ok.build();
        late_ok.on_item(&mut c, &5_000, Some(5_000));
        assert_eq!(late_ok.watermark_at(&c, 64_000), 4_000);
        assert_eq!(late_ok.watermark_at(&c, 66_000), 5_000);
        assert_eq!(late_ok.progress_for(&c, 5_000), Some(66_000));
        let off = EventClock::new(|t: &i64| *t, Duration::from_secs(1)).horizon(None);
        let mut c = off.build();
        off.on_item(&mut c, &5_000, Some(5_000));
        assert_eq!(off.watermark_at(&c, 1_000_000), 4_000);
        assert_eq!(off.progress_for(&c, 5_000), None);
    }

    #[test]
    fn event_watermark_saturates() {
        let clock = EventClock::new(|t: &i64| *t, Duration::MAX);
        let mut c = clock.build();
        let (t, wm) = clock.on_item(&mut c, &0, Some(0));
        assert_eq!(t, 0);
        assert!(wm <= i64::MIN + 1);
        assert!(clock.watermark_at(&c, i64::MAX) >= wm);
    }

    #[test]
    fn system_clock_is_never_late() {
        let mut c = <SystemClock as Clock<()>>::build(&SystemClock);
        let (t, wm) = SystemClock.on_item(&mut c, &(), None);
        assert!(t >= wm);
        let (t2, _) = SystemClock.on_item(&mut c, &(), None);
        assert!(t2 >= t);
    }

    #[test]
    fn an_idle_timeout_tracks_when_a_key_last_saw_a_value() {
        let clock = EventClock::new(|t: &i64| *t, Duration::ZERO).idle_timeout(Duration::from_secs(1));
        let mut c = clock.build();
        assert_eq!(clock.last_seen(&c), None);
        let before = Instant::now();
        clock.on_item(&mut c, &1, Some(10));
        let seen = clock.last_seen(&c).expect("tracked");
        assert!(seen >= before && seen <= Instant::now());
        assert!(clock.last_seen(&clock.restore((5, 0))).is_some());
        // The idle timeout replaces the progress rule.
        assert_eq!(clock.progress_for(&c, 100), None);
    }
}
