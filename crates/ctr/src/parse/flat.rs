//! The fast path of [`super::parse_line`]: a tokenizer for the flat objects
//! that make up nearly every log line.
//!
//! It understands only a subset of JSON: one object whose keys are strings
//! without escapes and whose values are such strings, integers, or arrays of
//! such strings. On anything else — an escape, a float, `true`, a nested
//! object, a syntax error — it gives up and returns `None`, and the full
//! `serde_json` path decides, so every error message comes from one place.
//! What it does accept, it feeds through the same [`FieldKind`] rules as the
//! full path, so both paths agree on every line (a property test checks).

use std::cell::RefCell;

use crate::items::{ItemList, ItemListBuilder, ListCache};

use super::{FieldKind, Fields, Key, Slot, StrArrayField, StrField, TimeField, TypeField, UserField};

/// A value of the flat subset.
enum Value<'a> {
    Str(&'a str),
    U64(u64),
    I64(i64),
    StrArray,
}

fn read<K: FieldKind>(v: &Value<'_>) -> Slot<K::Out> {
    match *v {
        Value::Str(s) => K::str(s),
        Value::U64(n) => K::u64(n),
        Value::I64(n) => K::i64(n),
        Value::StrArray => K::str_array(),
    }
}

/// Reads `text` (valid UTF-8, first non-space byte `{`) if it is a flat
/// object; `None` when the full parser must decide.
pub(super) fn parse_flat(text: &str) -> Option<Fields> {
    parse_flat_impl::<false>(text).map(|(f, _)| f)
}

/// The values of `query`, `items` and `item` as [`parse_flat_detailed`]
/// saw them (the last of each; a duplicate makes the line invalid anyway).
#[derive(Default)]
pub(super) struct Captured<'a> {
    /// `query`, when a string.
    pub query: Option<&'a str>,
    /// `item`, when a string.
    pub item: Option<&'a str>,
    /// `items`, when an array of strings, built as the tokenizer read it.
    pub items: Option<ItemList>,
}

thread_local! {
    /// The buffer a detailed parse builds a result list in (one per
    /// thread, reused for every line: the list is then copied out in one
    /// allocation of its exact size, or shared with an equal list of the
    /// cache), and the lists this thread built lately.
    static LIST_BUFFER: RefCell<(ItemListBuilder, ListCache)> =
        RefCell::new((ItemListBuilder::with_capacity(256), ListCache::default()));
}

/// [`parse_flat`], also keeping (borrowed) the values search analytics
/// needs, in the same pass.
pub(super) fn parse_flat_detailed(text: &str) -> Option<(Fields, Captured<'_>)> {
    parse_flat_impl::<true>(text)
}

fn parse_flat_impl<const DETAIL: bool>(text: &str) -> Option<(Fields, Captured<'_>)> {
    let mut c = Cursor { text, i: 0 };
    let mut captured = Captured::default();
    c.ws();
    c.eat(b'{')?;
    let mut f = Fields::default();
    c.ws();
    if c.peek()? == b'}' {
        c.i += 1;
    } else {
        loop {
            c.ws();
            let key = Key::from_name(c.string()?);
            c.ws();
            c.eat(b':')?;
            c.ws();
            let v = if DETAIL && matches!(key, Key::Items) && c.peek() == Some(b'[') {
                // The result list, built as its strings are read (one
                // pass over the array).
                captured.items = LIST_BUFFER.with(|b| {
                    let (b, cache) = &mut *b.borrow_mut();
                    // A `Vec<()>` does not allocate.
                    let read = c.strings_map(|item| b.push(item));
                    let list = b.finish_cached(cache);
                    read.map(|_| list)
                });
                captured.items.as_ref()?;
                Value::StrArray
            } else {
                c.value()?
            };
            match key {
                Key::Type => f.put_type(read::<TypeField>(&v)),
                Key::User => f.put_user(read::<UserField>(&v)),
                Key::Time => f.put_time(read::<TimeField>(&v)),
                Key::Query => {
                    if DETAIL {
                        captured.query = str_of(&v);
                    }
                    f.put_query(read::<StrField>(&v));
                }
                Key::Items => f.put_items(read::<StrArrayField>(&v)),
                Key::Item => {
                    if DETAIL {
                        captured.item = str_of(&v);
                    }
                    f.put_item(read::<StrField>(&v));
                }
                Key::Other => {}
            }
            c.ws();
            match c.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
    }
    c.ws();
    (c.i == text.len()).then_some((f, captured))
}

fn str_of<'a>(v: &Value<'a>) -> Option<&'a str> {
    match *v {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

/// A value [`find`] found.
pub(super) enum Found<'a> {
    /// A string (without escapes: its text is its value).
    Str(&'a str),
    /// An array of such strings.
    Strs(Vec<&'a str>),
}

/// The value of the first member named `name` of the object `text`, read
/// with the flat subset's tokenizer; `None` when the tokenizer cannot tell
/// (an escape, a float, a nested value, … before or in that member), for
/// the full parser to decide. For [`super::parse_line_detailed`], on a line
/// already checked (so the member is there once, with the right type).
pub(super) fn find<'a>(text: &'a str, name: &str) -> Option<Found<'a>> {
    let mut c = Cursor { text, i: 0 };
    c.ws();
    c.eat(b'{')?;
    loop {
        c.ws();
        let key = c.string()?;
        c.ws();
        c.eat(b':')?;
        c.ws();
        if key == name {
            return match c.peek()? {
                b'"' => c.string().map(Found::Str),
                b'[' => c.strings().map(Found::Strs),
                _ => None,
            };
        }
        c.value()?;
        c.ws();
        c.eat(b',')?;
    }
}

/// Does `b` end the flat subset's strings: a quote, a backslash (an escape,
/// left to the full parser) or a control character (invalid in JSON)?
fn ends_string(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// Index of the first byte of `s` that [`ends_string`], or `s.len()`.
///
/// Eight bytes at a time: for each byte class, `(v - 0x01…) & !v & 0x80…`
/// flags bytes that are zero (or, with `0x20…`, below 0x20); flags can be
/// wrong only above a true one, so the lowest flag is exact.
fn string_end(s: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(LO) & !v;
    let mut chunks = s.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let v = u64::from_le_bytes(bytes);
        let hits = (zero_byte(v ^ (LO * u64::from(b'"')))
            | zero_byte(v ^ (LO * u64::from(b'\\')))
            | (v.wrapping_sub(LO * 0x20) & !v))
            & HI;
        if hits != 0 {
            return base + (hits.trailing_zeros() / 8) as usize;
        }
        base += 8;
    }
    let tail = s.get(base..).unwrap_or_default();
    base + tail.iter().position(|&b| ends_string(b)).unwrap_or(tail.len())
}

struct Cursor<'a> {
    text: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    fn eat(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A string without escapes or control characters, after its `"`.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let rest = self.text.as_bytes().get(start..)?;
        let len = string_end(rest);
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.i = start + len + 1;
        // Both ends sit next to an ASCII `"`, so this is a char boundary.
        self.text.get(start..start + len)
    }

    /// An array of strings without escapes, at its `[`.
    fn strings(&mut self) -> Option<Vec<&'a str>> {
        self.strings_map(|s| s)
    }

    /// [`Self::strings`], each string mapped by `each`.
    fn strings_map<T>(&mut self, mut each: impl FnMut(&'a str) -> T) -> Option<Vec<T>> {
        self.eat(b'[')?;
        let mut out = Vec::new();
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
            return Some(out);
        }
        loop {
            self.ws();
            out.push(each(self.string()?));
            self.ws();
            match self.next()? {
                b',' => {}
                b']' => return Some(out),
                _ => return None,
            }
        }
    }

    fn value(&mut self) -> Option<Value<'a>> {
        match self.peek()? {
            b'"' => self.string().map(Value::Str),
            b'[' => {
                self.i += 1;
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(Value::StrArray);
                }
                loop {
                    self.ws();
                    self.string()?;
                    self.ws();
                    match self.next()? {
                        b',' => {}
                        b']' => return Some(Value::StrArray),
                        _ => return None,
                    }
                }
            }
            b'-' => {
                self.i += 1;
                let m = self.digits()?;
                // `-0` is a float to serde_json; below `i64::MIN` too.
                if m == 0 || m > 1 << 63 {
                    return None;
                }
                Some(Value::I64((m as i64).wrapping_neg()))
            }
            b'0'..=b'9' => self.digits().map(Value::U64),
            _ => None,
        }
    }

    /// `0` or a digit string without a leading zero, fitting `u64`, not
    /// followed by a fraction or exponent.
    fn digits(&mut self) -> Option<u64> {
        let first = self.next()?;
        let mut n = u64::from(first.checked_sub(b'0').filter(|d| *d <= 9)?);
        if n != 0 {
            while let Some(d @ b'0'..=b'9') = self.peek() {
                n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
                self.i += 1;
            }
        }
        match self.peek() {
            Some(b'0'..=b'9' | b'.' | b'e' | b'E') => None,
            _ => Some(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn string_end_finds_the_first_stop_byte(
            s in prop::collection::vec(prop_oneof![
                8 => 0x20u8..=0xff,
                1 => Just(b'"'),
                1 => Just(b'\\'),
                1 => 0u8..0x20,
            ], 0..40)
        ) {
            let naive = s.iter().position(|&b| ends_string(b)).unwrap_or(s.len());
            prop_assert_eq!(string_end(&s), naive);
        }
    }
}
