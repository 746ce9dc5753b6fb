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

/// A clock config: builds one [`ClockLogic`] per key.
pub trait Clock<V>: Clone + 'static {
    /// The per-key runtime half.
    type Logic: ClockLogic<V>;
    /// A fresh logic for a new key.
    fn build(&self) -> Self::Logic;
    /// A key's logic from its snapshotted state ([`ClockLogic::save`]).
    fn restore(&self, saved: i64) -> Self::Logic;
    /// Wall-clock time without values after which a key's windows close
    /// and its state is forgotten (`None`, the default: never). For live
    /// inputs only: it makes results depend on timing.
    fn idle_timeout(&self) -> Option<Duration> {
        None
    }
}

/// Per-key clock state.
pub trait ClockLogic<V>: 'static {
    /// The value's time and the watermark after seeing it. A value whose
    /// time is below that watermark is late.
    fn on_item(&mut self, value: &V) -> (i64, i64);
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

/// [`EventClock`]'s per-key state: the watermark base (`max time − wait`).
pub struct EventClockLogic<V> {
    clock: EventClock<V>,
    base: i64,
    last_seen: Option<Instant>,
}

impl<V: 'static> Clock<V> for EventClock<V> {
    type Logic = EventClockLogic<V>;
    fn build(&self) -> Self::Logic {
        EventClockLogic {
            clock: self.clone(),
            base: i64::MIN,
            last_seen: None,
        }
    }

    fn restore(&self, saved: i64) -> Self::Logic {
        EventClockLogic {
            clock: self.clone(),
            base: saved,
            // The idle timeout counts again from the resume.
            last_seen: self.idle.map(|_| Instant::now()),
        }
    }

    fn idle_timeout(&self) -> Option<Duration> {
        self.idle
    }
}

impl<V: 'static> ClockLogic<V> for EventClockLogic<V> {
    #[inline]
    fn on_item(&mut self, value: &V) -> (i64, i64) {
        let t = (self.clock.time_of)(value);
        self.base = self.base.max(t.saturating_sub(self.clock.wait));
        if self.clock.idle.is_some() {
            self.last_seen = Some(Instant::now());
        }
        (t, self.base)
    }

    fn watermark(&self) -> i64 {
        self.base
    }

    fn save(&self) -> i64 {
        self.base
    }

    fn last_seen(&self) -> Option<Instant> {
        self.last_seen
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
}

impl<V> ClockLogic<V> for SystemClockLogic {
    fn on_item(&mut self, _value: &V) -> (i64, i64) {
        self.now = self.now.max(wall_now());
        (self.now, self.now)
    }

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
        let mut c = EventClock::new(|t: &i64| *t, Duration::from_secs(5)).build();
        assert_eq!(c.watermark(), i64::MIN);
        assert_eq!(c.on_item(&7_000), (7_000, 2_000));
        assert_eq!(c.on_item(&10_000), (10_000, 5_000));
        // An older value does not move the watermark back.
        assert_eq!(c.on_item(&3_000), (3_000, 5_000));
        assert_eq!(c.watermark(), 5_000);
    }

    #[test]
    fn event_watermark_saturates() {
        let mut c = EventClock::new(|t: &i64| *t, Duration::MAX).build();
        let (t, wm) = c.on_item(&0);
        assert_eq!(t, 0);
        assert!(wm <= i64::MIN + 1);
    }

    #[test]
    fn system_clock_is_never_late() {
        let mut c = <SystemClock as Clock<()>>::build(&SystemClock);
        let (t, wm) = c.on_item(&());
        assert!(t >= wm);
        let (t2, _) = c.on_item(&());
        assert!(t2 >= t);
    }
}
