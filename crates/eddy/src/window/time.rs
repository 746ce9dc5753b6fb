//! [`EventTime`]: a point in event time, the type window alignment is
//! given in (rather than a bare `i64` next to a `Duration`).

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::millis;

/// A point in event time: whole milliseconds since the Unix epoch (UTC),
/// the unit clocks read times in. Adding or subtracting a [`Duration`]
/// saturates.
///
/// ```
/// use std::time::Duration;
/// use eddy::window::EventTime;
/// let t = EventTime::from_millis(1_704_067_200_000); // 2024-01-01T00:00:00Z
/// assert_eq!((t + Duration::from_secs(5)).as_millis(), 1_704_067_205_000);
/// assert_eq!(t.to_string(), "2024-01-01T00:00:00Z");
/// assert_eq!(EventTime::EPOCH.as_millis(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventTime(i64);

impl EventTime {
    /// 1970-01-01T00:00:00Z: the usual alignment of windows.
    pub const EPOCH: EventTime = EventTime(0);

    /// The time `ms` milliseconds after the Unix epoch (negative: before).
    pub const fn from_millis(ms: i64) -> Self {
        EventTime(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }
}

impl Add<Duration> for EventTime {
    type Output = EventTime;
    fn add(self, d: Duration) -> EventTime {
        EventTime(self.0.saturating_add(millis(d)))
    }
}

impl Sub<Duration> for EventTime {
    type Output = EventTime;
    fn sub(self, d: Duration) -> EventTime {
        EventTime(self.0.saturating_sub(millis(d)))
    }
}

/// RFC 3339 in UTC (`2024-01-01T00:00:00.250Z`); the milliseconds for a
/// time outside what a calendar date can hold.
impl fmt::Display for EventTime {
    /// RFC 3339 in UTC, milliseconds only when there are any
    /// (`2024-01-01T00:00:05Z`, `…:05.250Z`); outside years 0000–9999, the
    /// milliseconds since the epoch (`… ms`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(t) if self.0 >= YEAR_0_MS => {
                let shape = if self.0.rem_euclid(1_000) == 0 {
                    "%Y-%m-%dT%H:%M:%SZ"
                } else {
                    "%Y-%m-%dT%H:%M:%S%.3fZ"
                };
                write!(f, "{}", t.strftime(shape))
            }
            _ => write!(f, "{} ms", self.0),
        }
    }
}

/// 0000-01-01T00:00:00Z, in ms since the Unix epoch.
const YEAR_0_MS: i64 = -62_167_219_200_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_rfc3339_utc() {
        for (ms, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (951_782_400_250, "2000-02-29T00:00:00.250Z"),
            (1_709_251_199_000, "2024-02-29T23:59:59Z"),
            (i64::MAX, "9223372036854775807 ms"),
            (-62_167_219_200_001, "-62167219200001 ms"),
            (253_402_128_000_999, "9999-12-30T00:00:00.999Z"),
        ] {
            assert_eq!(EventTime::from_millis(ms).to_string(), text, "{ms}");
        }
    }

    #[test]
    fn duration_arithmetic_saturates() {
        let t = EventTime::from_millis(i64::MAX - 1);
        assert_eq!((t + Duration::from_secs(1)).as_millis(), i64::MAX);
        assert_eq!((EventTime::EPOCH - Duration::from_millis(5)).as_millis(), -5);
    }
}
