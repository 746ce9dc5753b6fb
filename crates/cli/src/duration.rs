//! Durations as users write them: `500ms`, `10s`, `30m`, `2h`, `1d`.

use std::time::Duration;

/// `--horizon`'s value: a duration, or `off` (`None`).
pub fn parse_horizon(text: &str) -> Result<Horizon, String> {
    match text.trim() {
        "off" => Ok(Horizon(None)),
        t => parse_duration(t)
            .map(|d| Horizon(Some(d)))
            .map_err(|e| format!("{e}, or off")),
    }
}

/// How far the input's event time must pass a quiet user (beyond `--wait`)
/// before their watermark follows it (`None`: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon(pub Option<Duration>);

/// Parses `<integer><unit>` with unit `ms`, `s`, `m`, `h` or `d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let expected = || {
        format!(
            "invalid duration {text:?}: expected a whole number and a unit, like 500ms, 10s, 30m, 2h or 1d"
        )
    };
    let n: u64 = number.parse().map_err(|_| expected())?;
    let ms_per = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(expected()),
    };
    n.checked_mul(ms_per)
        .filter(|ms| *ms <= i64::MAX as u64)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("duration {text:?} is too large"))
}

/// `d` as [`parse_duration`] reads it, in the largest unit that divides
/// it: `30m`, `10s`, `1500ms`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    let (n, unit) = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s")]
        .into_iter()
        .find(|(per, _)| ms > 0 && ms.is_multiple_of(*per))
        .map_or((ms, "ms"), |(per, unit)| (ms / per, unit));
    format!("{n}{unit}")
}

/// Whole milliseconds of `d`, saturating at `i64::MAX`.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7_200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn formats_what_it_reads() {
        for text in ["30m", "10s", "1500ms", "2h", "1d", "0ms", "90s"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(format_duration(d), text);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        for bad in [
            "",
            "10",
            "s",
            "1.5s",
            "-1s",
            "10 sec",
            "10x",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
