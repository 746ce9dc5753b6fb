//! Clocks: what time a value has, and how far the watermark has come.
//!
//! [`EventClock`] reads the time from the value; its watermark is, per key,
//! the largest time seen minus `wait` — from the data alone, so a bounded
//! input gives the same result at any speed. [`SystemClock`] stamps values
//! with the wall clock. An event clock may also close an idle key's windows
//! after a wall-clock timeout — for live inputs only.

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
    fn restore(&self, saved: i64) -> Self::Logic;
    /// The value's time and the key's watermark after seeing it. A value
    /// whose time is below that watermark is late.
    fn on_item(&self, logic: &mut Self::Logic, value: &V) -> (i64, i64);
    /// Wall-clock time without values after which a key's windows close
    /// and its state is forgotten (`None`, the default: never). For live
    /// inputs only: it makes results depend on timing.
    fn idle_timeout(&self) -> Option<Duration> {
        None
    }
}

/// Per-key clock state.
pub trait ClockLogic: 'static {
    /// The current watermark (`i64::MIN` before any value).
    fn watermark(&self) -> i64;
    /// The key's clock state, for a snapshot (a clock's per-key state is
    /// one number: its watermark base).
    fn save(&self) -> i64;
    /// When the last value was seen, if the clock tracks it (it does when
    /// it has an idle timeout).
    fn last_seen(&self) -> Option<Instant> {
        None
    }
}

/// Event time from the value, allowing `wait` of out-of-orderness (Bytewax's
/// `EventClock(ts_getter, wait_for_system_duration)`, minus the wall clock).
pub struct EventClock<V> {
    time_of: Rc<dyn Fn(&V) -> i64>,
    wait: i64,
    idle: Option<Duration>,
}

impl<V> Clone for EventClock<V> {
    fn clone(&self) -> Self {
        EventClock {
            time_of: self.time_of.clone(),
            wait: self.wait,
            idle: self.idle,
        }
    }
}

impl<V> EventClock<V> {
    /// A clock reading times (ms since the Unix epoch) with `time_of`.
    pub fn new(time_of: impl Fn(&V) -> i64 + 'static, wait: Duration) -> Self {
        EventClock {
            time_of: Rc::new(time_of),
            wait: millis(wait),
            idle: None,
        }
    }

    /// For live inputs: a key that gets no value for `timeout` of wall-clock
    /// time has its windows closed and its state forgotten (so memory stays
    /// bounded for users who never come back). Off by default, because it
    /// makes results depend on timing.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle = Some(timeout);
        self
    }
}

/// [`EventClock`]'s per-key state: the watermark base (`max time − wait`)
/// and, with an idle timeout, when the key last saw a value (16 bytes; the
/// config is not repeated per key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventClockLogic {
    base: i64,
    /// Nanoseconds since [`epoch`] plus one when the last value was seen;
    /// 0: not tracked.
    seen: u64,
}

/// The instant `EventClockLogic::seen` counts from (the first use).
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// `now` as `EventClockLogic::seen` holds it.
fn seen_at(now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(epoch()).as_nanos())
        .unwrap_or(u64::MAX - 1)
        .saturating_add(1)
}

impl<V: 'static> Clock<V> for EventClock<V> {
    type Logic = EventClockLogic;
    fn build(&self) -> Self::Logic {
        EventClockLogic {
            base: i64::MIN,
            seen: 0,
        }
    }

    fn restore(&self, saved: i64) -> Self::Logic {
        EventClockLogic {
            base: saved,
            // The idle timeout counts again from the resume.
            seen: self.idle.map_or(0, |_| seen_at(Instant::now())),
        }
    }

    #[inline]
    fn on_item(&self, logic: &mut Self::Logic, value: &V) -> (i64, i64) {
        let t = (self.time_of)(value);
        logic.base = logic.base.max(t.saturating_sub(self.wait));
        if self.idle.is_some() {
            logic.seen = seen_at(Instant::now());
        }
        (t, logic.base)
    }

    fn idle_timeout(&self) -> Option<Duration> {
        self.idle
    }
}

impl ClockLogic for EventClockLogic {
    fn watermark(&self) -> i64 {
        self.base
    }

    fn save(&self) -> i64 {
        self.base
    }

    fn last_seen(&self) -> Option<Instant> {
        let since = self.seen.checked_sub(1)?;
        epoch().checked_add(Duration::from_nanos(since))
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

    fn restore(&self, saved: i64) -> Self::Logic {
        SystemClockLogic { now: saved }
    }

    fn on_item(&self, logic: &mut Self::Logic, _value: &V) -> (i64, i64) {
        logic.now = logic.now.max(wall_now());
        (logic.now, logic.now)
    }
}

impl ClockLogic for SystemClockLogic {
    fn watermark(&self) -> i64 {
        self.now
    }

    fn save(&self) -> i64 {
        self.now
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
        assert_eq!(clock.on_item(&mut c, &7_000), (7_000, 2_000));
        assert_eq!(clock.on_item(&mut c, &10_000), (10_000, 5_000));
        // An older value does not move the watermark back.
        assert_eq!(clock.on_item(&mut c, &3_000), (3_000, 5_000));
        assert_eq!(c.watermark(), 5_000);
        // Untracked without an idle timeout; a key's clock is 16 bytes.
        assert_eq!(c.last_seen(), None);
        assert_eq!(std::mem::size_of::<EventClockLogic>(), 16);
    }

    #[test]
    fn event_watermark_saturates() {
        let clock = EventClock::new(|t: &i64| *t, Duration::MAX);
        let mut c = clock.build();
        let (t, wm) = clock.on_item(&mut c, &0);
        assert_eq!(t, 0);
        assert!(wm <= i64::MIN + 1);
    }

    #[test]
    fn system_clock_is_never_late() {
        let mut c = <SystemClock as Clock<()>>::build(&SystemClock);
        let (t, wm) = SystemClock.on_item(&mut c, &());
        assert!(t >= wm);
        let (t2, _) = SystemClock.on_item(&mut c, &());
        assert!(t2 >= t);
    }

    #[test]
    fn an_idle_timeout_tracks_when_a_key_last_saw_a_value() {
        let clock = EventClock::new(|t: &i64| *t, Duration::ZERO).idle_timeout(Duration::from_secs(1));
        let mut c = clock.build();
        assert_eq!(c.last_seen(), None);
        let before = Instant::now();
        clock.on_item(&mut c, &1);
        let seen = c.last_seen().expect("tracked");
        assert!(seen >= before && seen <= Instant::now());
        assert!(clock.restore(5).last_seen().is_some());
    }
}
