//! The Bytewax tutorial's two text lines of a session row. The JSON Lines
//! and CSV forms of the rows come from their declarations
//! ([`crate::row_format`], which also holds the value writers).

use std::fmt::Write as _;

use crate::metrics::Row;
use crate::row_format::{write_json_f64, write_u64, HEX};

/// Appends the tutorial's first line: `User 2: 1 searches, 2 clicks\n`.
pub fn write_text_summary(row: &Row, out: &mut Vec<u8>) {
    out.extend_from_slice(b"User ");
    out.extend_from_slice(row.user.as_bytes());
    out.extend_from_slice(b": ");
    write_u64(row.searches, out);
    out.extend_from_slice(b" searches, ");
    write_u64(row.clicks, out);
    out.extend_from_slice(b" clicks\n");
}

/// Appends the tutorial's second line, the Python tuple it prints:
/// `('2', 2.0)\n`, user and clicks per search as Python's `repr` writes
/// them.
pub fn write_text_tuple(row: &Row, out: &mut Vec<u8>) {
    out.push(b'(');
    write_py_str(&row.user, out);
    out.extend_from_slice(b", ");
    write_py_float(row.clicks_per_search, out);
    out.extend_from_slice(b")\n");
}

/// A Python `repr(str)`: single quotes unless the text holds `'` and no
/// `"`; backslash, the quote in use, `\t \n \r` escaped; other non-printable
/// characters as `\xhh`, `\uhhhh` or `\Uhhhhhhhh`. "Non-printable" covers
/// the C0 and C1 controls, DEL, and the format, separator and private-use
/// characters listed in [`py_unprintable`] — the ones a user key may
/// plausibly hold, not all of Unicode's tables.
fn write_py_str(s: &str, out: &mut Vec<u8>) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut buf = [0u8; 4];
    out.extend_from_slice(quote.encode_utf8(&mut buf).as_bytes());
    for c in s.chars() {
        match c {
            '\\' => out.extend_from_slice(b"\\\\"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if c == quote => {
                out.push(b'\\');
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            c if py_unprintable(c) => {
                let n = u32::from(c);
                let (prefix, digits): (&[u8], u32) = match n {
                    0..=0xff => (b"\\x", 2),
                    0x100..=0xffff => (b"\\u", 4),
                    _ => (b"\\U", 8),
                };
                out.extend_from_slice(prefix);
                for k in (0..digits).rev() {
                    // Each nibble is 0..=15.
                    out.push(HEX[((n >> (4 * k)) & 0xf) as usize]);
                }
            }
            c => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
    out.extend_from_slice(quote.encode_utf8(&mut buf).as_bytes());
}

/// Characters Python's `str.isprintable()` rejects, for the common blocks:
/// controls (Cc), the separators other than space (Zs, Zl, Zp), format
/// characters (Cf) of Latin-1 and General Punctuation plus the BOM,
/// surrogates cannot occur, and private use (Co) and noncharacters of the
/// BMP.
fn py_unprintable(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00..=0x1f
            | 0x7f..=0xa0
            | 0xad
            | 0x1680
            | 0x2000..=0x200f
            | 0x2028..=0x202f
            | 0x205f..=0x206f
            | 0x3000
            | 0xe000..=0xf8ff
            | 0xfdd0..=0xfdef
            | 0xfeff
            | 0xfff0..=0xfffb
            | 0xfffe..=0xffff
            | 0xf0000..
    )
}

/// A Python `repr(float)`: shortest round trip; `1.0`, `0.5`, `1e+16`,
/// `1e-05`, `inf`, `nan`.
fn write_py_float(x: f64, out: &mut Vec<u8>) {
    if x.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    // `{:e}` gives the shortest round-trip digits as `d[.ddd]e[-]N`.
    let mut sci = StackStr::default();
    if write!(sci, "{:e}", x.abs()).is_err() {
        write_json_f64(x, out); // unreachable: 40 bytes always suffice
        return;
    }
    let text = sci.as_bytes();
    let (mantissa, exp) = match text.iter().position(|&b| b == b'e') {
        Some(e) => (
            text.get(..e).unwrap_or_default(),
            text.get(e + 1..).unwrap_or_default(),
        ),
        None => (text, &b"0"[..]),
    };
    let exp: i32 = std::str::from_utf8(exp)
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut n = 0;
    for &d in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        if let Some(slot) = digits.get_mut(n) {
            *slot = d;
            n += 1;
        }
    }
    let digits = digits.get(..n).unwrap_or_default();
    if x.is_sign_negative() {
        out.push(b'-');
    }
    let point = exp + 1; // digits are 0.d1d2… × 10^point
    if point > -4 && point <= 16 {
        if point <= 0 {
            out.extend_from_slice(b"0.");
            out.extend((0..-point).map(|_| b'0'));
            out.extend_from_slice(digits);
        } else {
            let p = point as usize; // 1..=16
            if p >= digits.len() {
                out.extend_from_slice(digits);
                out.extend((digits.len()..p).map(|_| b'0'));
                out.extend_from_slice(b".0");
            } else {
                out.extend_from_slice(digits.get(..p).unwrap_or_default());
                out.push(b'.');
                out.extend_from_slice(digits.get(p..).unwrap_or_default());
            }
        }
    } else {
        let (first, rest) = digits.split_at(digits.len().min(1));
        out.extend_from_slice(first);
        if !rest.is_empty() {
            out.push(b'.');
            out.extend_from_slice(rest);
        }
        out.extend_from_slice(if exp < 0 { b"e-" } else { b"e+" });
        if exp.unsigned_abs() < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(itoa::Buffer::new().format(exp.unsigned_abs()).as_bytes());
    }
}

/// A small fixed buffer to format into without allocating.
struct StackStr {
    buf: [u8; 40],
    len: usize,
}

impl Default for StackStr {
    fn default() -> Self {
        StackStr { buf: [0; 40], len: 0 }
    }
}

impl StackStr {
    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Summary;
    use crate::row_format::{write_json_str, RowFormat};
    use proptest::prelude::*;

    const CSV_HEADER: &str = Row::CSV_HEADER;

    fn write_jsonl(r: &Row, out: &mut Vec<u8>) {
        r.write_jsonl(out);
    }

    fn write_csv(r: &Row, out: &mut Vec<u8>) {
        r.write_csv(out);
    }

    fn row(user: &str, events: u64, searches: u64, clicks: u64, swc: u64) -> Row {
        let s = Summary {
            events,
            searches,
            clicks,
            searches_with_click: swc,
        };
        Row::from_session(user.into(), 1_704_067_205_000, 1_704_067_208_000, s)
            .unwrap_or_else(|| panic!("test rows have searches"))
    }

    fn text(f: fn(&Row, &mut Vec<u8>), r: &Row) -> String {
        let mut out = Vec::new();
        f(r, &mut out);
        String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"))
    }

    fn py_float(x: f64) -> String {
        let mut out = Vec::new();
        write_py_float(x, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn py_str(s: &str) -> String {
        let mut out = Vec::new();
        write_py_str(s, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn jsonl_is_the_spec_example() {
        assert_eq!(
            text(write_jsonl, &row("2", 4, 1, 2, 1)),
            concat!(
                r#"{"user":"2","session_start":"2024-01-01T00:00:05.000Z","#,
                r#""session_end":"2024-01-01T00:00:08.000Z","events":4,"searches":1,"#,
                r#""clicks":2,"searches_with_click":1,"ctr":1.0,"clicks_per_search":2.0}"#,
                "\n"
            )
        );
    }

    #[test]
    fn jsonl_escapes_the_user_and_writes_thirds() {
        let line = text(write_jsonl, &row("u\"1\\\n\u{1}é", 5, 3, 1, 1));
        assert!(line.starts_with(r#"{"user":"u\"1\\\n\u0001é","#), "{line}");
        assert!(
            line.ends_with("\"ctr\":0.3333333333333333,\"clicks_per_search\":0.3333333333333333}\n"),
            "{line}"
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["user"], "u\"1\\\n\u{1}é");
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(
            text(write_csv, &row("2", 4, 1, 2, 1)),
            "2,2024-01-01T00:00:05.000Z,2024-01-01T00:00:08.000Z,4,1,2,1,1.0,2.0\n"
        );
        assert!(text(write_csv, &row("a,\"b\"", 1, 1, 0, 0)).starts_with("\"a,\"\"b\"\"\",2024"));
        assert!(text(write_csv, &row("a\rb", 1, 1, 0, 0)).starts_with("\"a\rb\","));
        assert!(text(write_csv, &row("a'b c", 1, 1, 0, 0)).starts_with("a'b c,"));
        assert_eq!(CSV_HEADER.split(',').count(), 9);
    }

    #[test]
    fn text_lines_are_the_tutorials() {
        assert_eq!(
            text(write_text_summary, &row("1", 3, 1, 1, 1)),
            "User 1: 1 searches, 1 clicks\n"
        );
        assert_eq!(
            text(write_text_summary, &row("2", 4, 1, 2, 1)),
            "User 2: 1 searches, 2 clicks\n"
        );
        assert_eq!(text(write_text_tuple, &row("1", 3, 1, 1, 1)), "('1', 1.0)\n");
        assert_eq!(text(write_text_tuple, &row("2", 4, 1, 2, 1)), "('2', 2.0)\n");
        assert_eq!(
            text(write_text_tuple, &row("u", 9, 3, 1, 1)),
            "('u', 0.3333333333333333)\n"
        );
    }

    #[test]
    fn python_float_repr() {
        // Expected values from CPython 3's repr().
        for (x, want) in [
            (1.0, "1.0"),
            (2.0, "2.0"),
            (0.5, "0.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0 / 3.0, "0.3333333333333333"),
            (2.0 / 3.0, "0.6666666666666666"),
            (1.5, "1.5"),
            (12.25, "12.25"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (1e100, "1e+100"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (-2.5, "-2.5"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(py_float(x), want, "{x:e}");
        }
    }

    #[test]
    fn python_str_repr() {
        // Expected values from CPython 3's repr().
        for (s, want) in [
            ("2", "'2'"),
            ("", "''"),
            ("it's", "\"it's\""),
            ("say \"hi\"", "'say \"hi\"'"),
            ("it's \"x\"", "'it\\'s \"x\"'"),
            ("a\\b", "'a\\\\b'"),
            ("t\tn\nr\r", "'t\\tn\\nr\\r'"),
            ("\u{0}\u{1b}\u{7f}", "'\\x00\\x1b\\x7f'"),
            ("\u{85}\u{a0}\u{ad}", "'\\x85\\xa0\\xad'"),
            ("café ü 日本 😀", "'café ü 日本 😀'"),
            ("\u{2028}\u{200b}\u{feff}", "'\\u2028\\u200b\\ufeff'"),
            ("\u{f0000}", "'\\U000f0000'"),
        ] {
            assert_eq!(py_str(s), want, "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn json_floats_match_serde_json(x in any::<f64>()) {
            let mut out = Vec::new();
            write_json_f64(x, &mut out);
            let want = serde_json::to_string(&x).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(String::from_utf8_lossy(&out), want);
        }

        #[test]
        fn json_strings_match_serde_json(s in "\\PC*|[\\x00-\\x7f]*") {
            let mut out = Vec::new();
            write_json_str(&s, &mut out);
            let want = serde_json::to_string(&s).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(String::from_utf8_lossy(&out), want);
        }

        #[test]
        fn python_floats_round_trip(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
            let s = py_float(x);
            prop_assert_eq!(s.parse::<f64>().ok(), Some(x), "{}", s);
        }

        #[test]
        fn session_rows_read_back_as_written(
            user in "[a-z,\"\r\n é\u{1}]{0,12}", events in 1u64..1 << 40, searches in 1u64..1 << 40,
            clicks in 0u64..1 << 40, swc in 0u64..1 << 40,
            start in -62_135_596_800_000i64..253_402_300_799_999, length in 0i64..1 << 40,
        ) {
            let s = Summary { events, searches, clicks, searches_with_click: swc.min(searches) };
            let r = Row::from_session(user.as_str().into(), start, start.saturating_add(length).min(253_402_300_799_999), s)
                .unwrap_or_else(|| panic!("rows with searches"));
            let line = text(write_jsonl, &r);
            prop_assert_eq!(Row::read_jsonl(line.trim_end_matches('\n')), Ok(r.clone()));
            let line = text(write_csv, &r);
            prop_assert_eq!(Row::read_csv(line.strip_suffix('\n').unwrap_or_default()), Ok(r));
        }
    }
}
