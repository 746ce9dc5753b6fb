//! One definition per output row type. [`row_type!`](crate::row_type)
//! declares a row's struct — each field with its [column kind](Time) and
//! its meaning — and from that one list come the row's JSON Lines and CSV
//! writers, its CSV header, its readers (what `search-ctr report` uses)
//! and the table of its fields that the docs show ([`markdown_table`]).
//!
//! The writers append one line, `\n` included, to a caller's buffer and
//! allocate nothing else: integers through `itoa`, floats in `serde_json`'s
//! shortest round-trip form, times as RFC 3339 UTC with three fractional
//! digits. A float that is not finite, or a missing value (a mean of
//! nothing), is `null` in JSON and an empty CSV field. A text field is
//! quoted in CSV (RFC 4180, `"` doubled) when it holds `,`, `"`, CR or LF,
//! or is empty.

use compact_str::CompactString;
use serde::de::Deserialize;
use serde_json::ser::{CompactFormatter, Formatter as _};

use crate::timestamp::{format_rfc3339_ms, parse_rfc3339_ms};

/// A row type's formats, made by [`row_type!`](crate::row_type).
pub trait RowFormat: Sized {
    /// What a row is called in errors (`session`, `query`, …).
    const WHAT: &'static str;
    /// The page of the docs that defines the row (`docs/sessions.md`, …).
    const DOC_PAGE: &'static str;
    /// The CSV header line, `\n` included.
    const CSV_HEADER: &'static str;
    /// Each column: its name, its kind and its meaning.
    const COLUMNS: &'static [ColumnDoc];

    /// Appends the row as one JSON object and `\n`, fields in column order.
    fn write_jsonl(&self, out: &mut Vec<u8>);

    /// Appends the row as one CSV record and `\n`, columns as in
    /// [`RowFormat::CSV_HEADER`].
    fn write_csv(&self, out: &mut Vec<u8>);

    /// Reads a row written by [`RowFormat::write_jsonl`] (one line, without
    /// its `\n`; unknown fields are ignored). The error says what was
    /// expected.
    fn read_jsonl(line: &str) -> Result<Self, String>;

    /// Reads a record written by [`RowFormat::write_csv`] (quoted fields
    /// may hold line breaks; without the record's final `\n`).
    fn read_csv(record: &str) -> Result<Self, String>;
}

/// One column of a row type, for its docs table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDoc {
    /// The JSON field and CSV column name.
    pub name: &'static str,
    /// What its values look like.
    pub kind: &'static str,
    /// What it means.
    pub meaning: &'static str,
}

/// How a column of Rust type `T` is written and read.
pub trait Cell<T> {
    /// What its values look like (the docs table's second column).
    const DOC: &'static str;
    /// What `serde_json` reads for it.
    type Json: for<'de> Deserialize<'de>;
    /// Appends the JSON value.
    fn json(v: &T, out: &mut Vec<u8>);
    /// Appends the CSV field.
    fn csv(v: &T, out: &mut Vec<u8>);
    /// The value from what `serde_json` read.
    fn from_json(j: Self::Json) -> Result<T, String>;
    /// The value from a CSV field (unquoted already).
    fn from_csv(field: &str) -> Result<T, String>;
}

/// A time, ms since the Unix epoch: an RFC 3339 UTC string.
pub struct Time;
/// A whole number.
pub struct Count;
/// A number (`null` / empty when not finite).
pub struct Float;
/// A number or nothing (`null` / empty).
pub struct MaybeFloat;
/// A string.
pub struct Text;

/// A JSON string, borrowed or not.
#[derive(serde::Deserialize)]
#[serde(transparent)]
pub struct JsonText(String);

impl Cell<i64> for Time {
    const DOC: &'static str = "RFC 3339 time, UTC, ms";
    type Json = JsonText;
    fn json(v: &i64, out: &mut Vec<u8>) {
        out.push(b'"');
        format_rfc3339_ms(*v, out);
        out.push(b'"');
    }
    fn csv(v: &i64, out: &mut Vec<u8>) {
        format_rfc3339_ms(*v, out);
    }
    fn from_json(j: JsonText) -> Result<i64, String> {
        Self::from_csv(&j.0)
    }
    fn from_csv(field: &str) -> Result<i64, String> {
        parse_rfc3339_ms(field).map_err(|e| format!("{field:?} is not an RFC 3339 time: {e}"))
    }
}

impl Cell<u64> for Count {
    const DOC: &'static str = "integer ≥ 0";
    type Json = u64;
    fn json(v: &u64, out: &mut Vec<u8>) {
        write_u64(*v, out);
    }
    fn csv(v: &u64, out: &mut Vec<u8>) {
        write_u64(*v, out);
    }
    fn from_json(j: u64) -> Result<u64, String> {
        Ok(j)
    }
    fn from_csv(field: &str) -> Result<u64, String> {
        field
            .parse()
            .map_err(|_| format!("{field:?} is not a whole number"))
    }
}

impl Cell<f64> for Float {
    const DOC: &'static str = "number";
    type Json = Option<f64>;
    fn json(v: &f64, out: &mut Vec<u8>) {
        write_json_f64(*v, out);
    }
    fn csv(v: &f64, out: &mut Vec<u8>) {
        if v.is_finite() {
            write_json_f64(*v, out);
        }
    }
    fn from_json(j: Option<f64>) -> Result<f64, String> {
        Ok(j.unwrap_or(f64::NAN))
    }
    fn from_csv(field: &str) -> Result<f64, String> {
        if field.is_empty() {
            return Ok(f64::NAN);
        }
        field.parse().map_err(|_| format!("{field:?} is not a number"))
    }
}

impl Cell<Option<f64>> for MaybeFloat {
    const DOC: &'static str = "number or null";
    type Json = Option<f64>;
    fn json(v: &Option<f64>, out: &mut Vec<u8>) {
        match v {
            Some(x) => write_json_f64(*x, out),
            None => out.extend_from_slice(b"null"),
        }
    }
    fn csv(v: &Option<f64>, out: &mut Vec<u8>) {
        if let Some(x) = v.filter(|x| x.is_finite()) {
            write_json_f64(x, out);
        }
    }
    fn from_json(j: Option<f64>) -> Result<Option<f64>, String> {
        Ok(j)
    }
    fn from_csv(field: &str) -> Result<Option<f64>, String> {
        if field.is_empty() {
            return Ok(None);
        }
        field
            .parse()
            .map(Some)
            .map_err(|_| format!("{field:?} is not a number"))
    }
}

impl Cell<CompactString> for Text {
    const DOC: &'static str = "string";
    type Json = CompactString;
    fn json(v: &CompactString, out: &mut Vec<u8>) {
        write_json_str(v, out);
    }
    fn csv(v: &CompactString, out: &mut Vec<u8>) {
        let bytes = v.as_bytes();
        if bytes.is_empty() || bytes.iter().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
            out.push(b'"');
            for &b in bytes {
                if b == b'"' {
                    out.push(b'"');
                }
                out.push(b);
            }
            out.push(b'"');
        } else {
            out.extend_from_slice(bytes);
        }
    }
    fn from_json(j: CompactString) -> Result<CompactString, String> {
        Ok(j)
    }
    fn from_csv(field: &str) -> Result<CompactString, String> {
        Ok(field.into())
    }
}

pub(crate) fn write_u64(n: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A float exactly as `serde_json` writes it (with its own formatter):
/// shortest round trip (`1.0`, `0.5`, `1e+16`), `null` when not finite.
pub(crate) fn write_json_f64(x: f64, out: &mut Vec<u8>) {
    if x.is_finite() {
        // Writing to a `Vec` cannot fail.
        let _ = CompactFormatter.write_f64(out, x);
    } else {
        out.extend_from_slice(b"null");
    }
}

/// A JSON string literal, escaped as `serde_json` does: `\"`, `\\`, the
/// short escapes for `\b \f \n \r \t`, `\u00XX` for other control
/// characters, everything else as is.
pub(crate) fn write_json_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

pub(crate) const HEX: [u8; 16] = *b"0123456789abcdef";

/// The fields of one CSV record (RFC 4180: a quoted field may hold `,`,
/// line breaks and doubled `"`).
pub fn csv_fields(record: &str) -> Result<Vec<std::borrow::Cow<'_, str>>, String> {
    use std::borrow::Cow;
    let mut fields = Vec::new();
    let mut rest = record;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut text = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next() {
                    Some((i, '"')) => {
                        if quoted[i + 1..].starts_with('"') {
                            text.push('"');
                            chars.next();
                        } else {
                            break i + 1;
                        }
                    }
                    Some((_, c)) => text.push(c),
                    None => return Err("a quoted field is not closed".into()),
                }
            };
            fields.push(Cow::Owned(text));
            rest = &quoted[end..];
            match rest.strip_prefix(',') {
                Some(after) => rest = after,
                None if rest.is_empty() => return Ok(fields),
                None => return Err("a quoted field is followed by more than a comma".into()),
            }
        } else {
            match rest.split_once(',') {
                Some((field, after)) => {
                    fields.push(Cow::Borrowed(field));
                    rest = after;
                }
                None => {
                    fields.push(Cow::Borrowed(rest));
                    return Ok(fields);
                }
            }
        }
    }
}

/// The docs table of a row type: `| field | type | meaning |`, one line
/// per column.
pub fn markdown_table<R: RowFormat>() -> String {
    let mut t = String::from("| field | type | meaning |\n|---|---|---|\n");
    for c in R::COLUMNS {
        t.push_str(&format!("| `{}` | {} | {} |\n", c.name, c.kind, c.meaning));
    }
    t
}

/// Declares an output row type, `pub struct Row as "session" in
/// "docs/sessions.md" { … }` (what a row is called in errors, the docs
/// page that defines it): its struct (with `Debug`, `Clone`, `PartialEq` and
/// serde, for snapshots) and its [`RowFormat`], from one list of fields, each `field: Type => Kind` with a one-line doc comment
/// (its meaning in the docs table). `Kind` is a [`Cell`] of `Type` in
/// scope where the macro is used (this module's kinds, or the caller's
/// own).
#[macro_export]
macro_rules! row_type {
    (
        $(#[$meta:meta])*
        pub struct $name:ident as $what:literal in $page:literal {
            #[doc = $doc1:literal]
            pub $f1:ident : $t1:ty => $k1:ty,
            $(
                #[doc = $doc:literal]
                pub $field:ident : $ty:ty => $kind:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            #[doc = $doc1]
            pub $f1: $t1,
            $(
                #[doc = $doc]
                pub $field: $ty,
            )*
        }

        const _: () = {
            use $crate::row_format::{Cell, ColumnDoc, RowFormat};

            /// What `serde_json` reads of a row.
            #[derive(serde::Deserialize)]
            struct Json {
                $f1: <$k1 as Cell<$t1>>::Json,
                $( $field: <$kind as Cell<$ty>>::Json, )*
            }

            impl RowFormat for $name {
                const WHAT: &'static str = $what;
                const DOC_PAGE: &'static str = $page;
                const CSV_HEADER: &'static str =
                    concat!(stringify!($f1), $(",", stringify!($field),)* "\n");
                const COLUMNS: &'static [ColumnDoc] = &[
                    ColumnDoc {
                        name: stringify!($f1),
                        kind: <$k1 as Cell<$t1>>::DOC,
                        meaning: $doc1.trim_ascii(),
                    },
                    $(
                        ColumnDoc {
                            name: stringify!($field),
                            kind: <$kind as Cell<$ty>>::DOC,
                            meaning: $doc.trim_ascii(),
                        },
                    )*
                ];

                fn write_jsonl(&self, out: &mut Vec<u8>) {
                    out.extend_from_slice(concat!("{\"", stringify!($f1), "\":").as_bytes());
                    <$k1 as Cell<$t1>>::json(&self.$f1, out);
                    $(
                        out.extend_from_slice(concat!(",\"", stringify!($field), "\":").as_bytes());
                        <$kind as Cell<$ty>>::json(&self.$field, out);
                    )*
                    out.extend_from_slice(b"}\n");
                }

                fn write_csv(&self, out: &mut Vec<u8>) {
                    <$k1 as Cell<$t1>>::csv(&self.$f1, out);
                    $(
                        out.push(b',');
                        <$kind as Cell<$ty>>::csv(&self.$field, out);
                    )*
                    out.push(b'\n');
                }

                fn read_jsonl(line: &str) -> Result<Self, String> {
                    let j: Json = serde_json::from_str(line).map_err(|e| e.to_string())?;
                    Ok($name {
                        $f1: <$k1 as Cell<$t1>>::from_json(j.$f1)
                            .map_err(|e| format!("{}: {e}", stringify!($f1)))?,
                        $(
                            $field: <$kind as Cell<$ty>>::from_json(j.$field)
                                .map_err(|e| format!("{}: {e}", stringify!($field)))?,
                        )*
                    })
                }

                fn read_csv(record: &str) -> Result<Self, String> {
                    let fields = $crate::row_format::csv_fields(record)?;
                    let want = Self::COLUMNS.len();
                    if fields.len() != want {
                        return Err(format!(
                            "expected {want} comma-separated fields ({}), found {}",
                            Self::CSV_HEADER.trim_end(),
                            fields.len()
                        ));
                    }
                    let mut fields = fields.iter();
                    // (Exactly `want` fields, checked above.)
                    let mut next = || fields.next().map_or("", |f| f.as_ref());
                    Ok($name {
                        $f1: <$k1 as Cell<$t1>>::from_csv(next())
                            .map_err(|e| format!("{}: {e}", stringify!($f1)))?,
                        $(
                            $field: <$kind as Cell<$ty>>::from_csv(next())
                                .map_err(|e| format!("{}: {e}", stringify!($field)))?,
                        )*
                    })
                }
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_follow_rfc_4180() {
        let f = csv_fields(
            r#"a,"b,c","say ""hi""",,"two
lines""#,
        )
        .unwrap();
        assert_eq!(f, ["a", "b,c", "say \"hi\"", "", "two\nlines"]);
        assert!(csv_fields(r#""open"#).is_err());
        assert!(csv_fields(r#""x"y"#).is_err());
        assert_eq!(csv_fields("").unwrap(), [""]);
    }
}
