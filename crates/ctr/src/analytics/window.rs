//! The analytics window of a search: which UTC day (or hour, …) it falls
//! in (`docs/analytics.md`, "Windows").

use std::fmt;

use serde::{Deserialize, Serialize};

/// Fixed windows of `size_ms`, aligned on the Unix epoch (so `1d` windows
/// are UTC days): a time `t` lies in the window starting at
/// `floor(t / size) * size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    size_ms: i64,
}

/// Why a `--analytics-window` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--analytics-window {given:?}: expected a positive whole number and a unit (ms, s, m, h or d), like 1d or 1h")]
pub struct WindowError {
    /// The value as given.
    pub given: String,
}

impl Window {
    /// One UTC day, the default.
    pub const DAY: Window = Window { size_ms: 86_400_000 };

    /// Windows of `size_ms` milliseconds; `None` unless positive.
    pub fn from_ms(size_ms: i64) -> Option<Window> {
        (size_ms > 0).then_some(Window { size_ms })
    }

    /// Parses `1d`, `6h`, `30m`, `10s` or `500ms`.
    ///
    /// ```
    /// use ctr::analytics::window::Window;
    /// assert_eq!(Window::parse("1d").unwrap(), Window::DAY);
    /// assert_eq!(Window::parse("1h").unwrap().size_ms(), 3_600_000);
    /// assert!(Window::parse("0h").is_err() && Window::parse("1w").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Window, WindowError> {
        let err = || WindowError {
            given: text.to_owned(),
        };
        let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (digits, unit) = text.split_at(split);
        let n: i64 = digits.parse().map_err(|_| err())?;
        let unit_ms = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(err()),
        };
        n.checked_mul(unit_ms).and_then(Window::from_ms).ok_or_else(err)
    }

    /// The window's length in milliseconds.
    pub fn size_ms(self) -> i64 {
        self.size_ms
    }

    /// Start of the window holding `time_ms` (floor, also for times before
    /// 1970).
    ///
    /// ```
    /// use ctr::analytics::window::Window;
    /// let day = Window::DAY;
    /// assert_eq!(day.start_of(1_704_067_205_000), 1_704_067_200_000);
    /// assert_eq!(day.start_of(-1), -86_400_000);
    /// ```
    pub fn start_of(self, time_ms: i64) -> i64 {
        time_ms.div_euclid(self.size_ms) * self.size_ms
    }

    /// End of the window starting at `start_ms` (exclusive): once every
    /// search before it has been seen, the window can close.
    pub fn end_of(self, start_ms: i64) -> i64 {
        start_ms.saturating_add(self.size_ms)
    }
}

impl Default for Window {
    fn default() -> Self {
        Window::DAY
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s")];
        for (ms, unit) in units {
            if self.size_ms % ms == 0 {
                return write!(f, "{}{unit}", self.size_ms / ms);
            }
        }
        write!(f, "{}ms", self.size_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        for (text, ms) in [
            ("1d", 86_400_000),
            ("2h", 7_200_000),
            ("15m", 900_000),
            ("10s", 10_000),
            ("250ms", 250),
        ] {
            let w = Window::parse(text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((w.size_ms(), w.to_string()), (ms, text.to_owned()));
        }
        assert_eq!(Window::parse("24h").map(|w| w.to_string()), Ok("1d".to_owned()));
        for bad in [
            "",
            "d",
            "1",
            "-1d",
            "1.5h",
            "0s",
            "1 d",
            "1D",
            "99999999999999999d",
        ] {
            let e = Window::parse(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(e
                .to_string()
                .starts_with(&format!("--analytics-window {bad:?}: expected")));
        }
    }

    #[test]
    fn windows_are_floored_on_the_epoch() {
        let h = Window::parse("1h").unwrap_or_default();
        assert_eq!(h.start_of(3_599_999), 0);
        assert_eq!(h.start_of(3_600_000), 3_600_000);
        assert_eq!(h.start_of(-3_600_000), -3_600_000);
        assert_eq!(h.start_of(-3_599_999), -3_600_000);
        assert_eq!(h.end_of(0), 3_600_000);
    }
}
