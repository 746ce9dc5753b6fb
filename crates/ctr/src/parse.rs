//! One line of JSON → one [`Parsed`] outcome, or an [`Invalid`] reason.
//!
//! This runs once per input line, in two tiers that share one set of field
//! rules (`FieldKind`):
//! - a hand-written tokenizer (`flat`) for the flat objects nearly every
//!   log line is (strings without escapes, integers, arrays of strings),
//!   which allocates nothing for a user key of at most 24 bytes;
//! - for everything else, one pass of `serde_json` over the borrowed line
//!   with hand-written visitors: `user` and `time` accept a string or an
//!   integer, `query`, `items` and `item` are only checked for their type,
//!   and every other field is skipped with [`IgnoredAny`].
//!
//! The fast tier never rejects a line itself; anything it does not fully
//! understand goes to `serde_json`, so every error message comes from one
//! place. A property test checks that both tiers agree on every line.
//! Measured in `benches/parse.rs`: about 1.8× the throughput of a plain
//! `serde_json` borrowed-struct parse.
//!
//! Rules beyond the field table of `docs/input-format.md` (which states them
//! for users too):
//! - The line has no `\n`; one trailing `\r` and a leading UTF-8 BOM are
//!   removed. A line of JSON whitespace only is [`Parsed::Blank`].
//! - The whole line must be valid UTF-8 and exactly one JSON object.
//! - An object whose `type` is a string naming no known kind is
//!   [`Parsed::Other`] (with the name, for the run summary) as long as it is
//!   valid JSON: nothing else in it is checked, since it is skipped anyway.
//!   Type names are case-sensitive: `SEARCH` is not `search`.
//! - A known field given twice is invalid (`duplicate field`), rather than
//!   silently letting the last or first win.
//! - `user` may be a string or a JSON integer in the `i64`/`u64` range;
//!   integers become their decimal string, so `1` and `"1"` are one user.
//!   Fractions and exponents (`1.5`, `1e3`) are refused.
//! - `time` may be an RFC 3339 string (see [`crate::timestamp`]) or an
//!   integer in the parse's [`TimeUnit`] (milliseconds with [`parse_line`];
//!   any unit with [`parse_line_with`]), negative allowed, both within years
//!   0000–9999. Integers above `i64::MAX` are out of range in every unit.
//! - Nesting deeper than `serde_json`'s limit of 128 is refused in checked
//!   fields; skipped fields are walked by `serde_json` without recursion, so
//!   no nesting depth can overflow the stack. Numbers of any size are fine in
//!   skipped fields; one too large for an `f64` (`1e400`) in a checked field
//!   is a JSON error.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use compact_str::CompactString;

use crate::event::{Detail, Event, EventKind, UserKey};
use crate::items::ItemList;
use crate::timestamp::{self, TimeError, TimeUnit};

mod flat;

/// What one line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// An event of a known kind, with every field it needs.
    Event(Event),
    /// A JSON object whose `type` is a string naming no known kind: skipped
    /// and counted by name.
    Other {
        /// The `type` value (its first [`TYPE_NAME_MAX`] bytes, cut at a
        /// character boundary); stored inline up to 24 bytes.
        type_name: TypeName,
    },
    /// Nothing but whitespace.
    Blank,
}

/// Why a line is invalid: the field at fault, if any, and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The field at fault (`"type"`, `"user"`, …), or `None` when the line as
    /// a whole is at fault.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub problem: Problem,
}

/// What is wrong with a line or one of its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// Not valid JSON; `serde_json`'s message and the 1-based column.
    Json {
        /// The message, without its position.
        message: String,
        /// The column (byte offset + 1, after any BOM) where it was noticed.
        column: usize,
    },
    /// Not valid UTF-8 from this byte offset on (counting any BOM).
    Utf8 {
        /// Offset of the first invalid byte in the line as given.
        byte: usize,
    },
    /// Valid JSON, but not an object.
    NotAnObject,
    /// Longer than the reader allows (reported by the reader, not here).
    LineTooLong {
        /// The line's length in bytes, without its `\n`.
        len: u64,
        /// The limit (`--max-line-bytes`).
        limit: u64,
    },
    /// A required field is absent.
    Missing,
    /// A known field appears twice.
    Duplicate,
    /// The field must be a string.
    ExpectedString,
    /// The field must be a string or an integer.
    ExpectedStringOrInteger,
    /// The field must be an array of strings.
    ExpectedStringArray,
    /// An integer outside the `i64`/`u64` range (or, for a UBI ordinal,
    /// negative).
    IntegerOutOfRange,
    /// The field must be an integer (a UBI `position.ordinal`).
    ExpectedInteger,
    /// The time is neither a string nor an integer.
    ExpectedTime,
    /// The time is a string or integer, but not a valid time.
    Time(TimeError),
    /// A field read where a schema mapping places it
    /// ([`crate::mapping`]), and what is wrong with it there.
    Mapped {
        /// The path the mapping gives the field.
        path: String,
        /// What is wrong.
        problem: Box<Problem>,
    },
    /// The event needs a field the schema mapping does not place.
    Unmapped,
}

impl Invalid {
    /// A line of `len` bytes, longer than the reader's `limit`, for readers
    /// to report in the same type as every other invalid line.
    pub fn line_too_long(len: u64, limit: u64) -> Self {
        Self::whole(Problem::LineTooLong { len, limit })
    }

    fn whole(problem: Problem) -> Self {
        Invalid { field: None, problem }
    }

    fn field(field: &'static str, problem: Problem) -> Self {
        Invalid {
            field: Some(field),
            problem,
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.field, &self.problem) {
            (_, Problem::Json { message, column }) => {
                write!(f, "invalid JSON: {message} at column {column}")
            }
            (_, Problem::Utf8 { byte }) => write!(f, "not valid UTF-8 at byte {byte}"),
            (_, Problem::NotAnObject) => f.write_str("expected a JSON object"),
            (_, Problem::LineTooLong { len, limit }) => {
                write!(
                    f,
                    "line too long: {len} bytes, the limit is {limit} (--max-line-bytes)"
                )
            }
            (Some(name), Problem::Missing) => write!(f, "missing field \"{name}\""),
            (Some(name), Problem::Mapped { path, problem }) if **problem == Problem::Missing => {
                write!(f, "missing field \"{name}\" (mapped to `{path}`)")
            }
            (Some(name), Problem::Mapped { path, problem }) => {
                write!(f, "field \"{name}\" (mapped to `{path}`): {problem}")
            }
            (Some(name), Problem::Unmapped) => write!(
                f,
                "this event needs the field \"{name}\", which the schema does not map: give it with --map {name}=PATH"
            ),
            (Some(name), Problem::Duplicate) => write!(f, "duplicate field \"{name}\""),
            (Some(name), p) => write!(f, "field \"{name}\": {p}"),
            (None, p) => write!(f, "{p}"),
        }
    }
}

impl std::error::Error for Invalid {}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Problem::Json { message, .. } => message,
            Problem::Utf8 { .. } => "not valid UTF-8",
            Problem::NotAnObject => "expected a JSON object",
            Problem::LineTooLong { .. } => "line too long",
            Problem::Missing => "missing",
            Problem::Duplicate => "given twice",
            Problem::ExpectedString => "expected a string",
            Problem::ExpectedStringOrInteger => "expected a string or an integer",
            Problem::ExpectedStringArray => "expected an array of strings",
            Problem::IntegerOutOfRange => "integer out of range",
            Problem::ExpectedInteger => "expected an integer",
            Problem::ExpectedTime | Problem::Time(TimeError::Syntax) => {
                "expected RFC 3339 or integer milliseconds"
            }
            Problem::Time(e) => return write!(f, "{e}"),
            Problem::Mapped { problem, .. } => return write!(f, "{problem}"),
            Problem::Unmapped => "not mapped",
        })
    }
}

/// One line (without its `\n`; a trailing `\r` and a leading BOM are
/// removed) read whole as a JSON object, for the readers that follow paths
/// in a document tree (UBI records, mapped schemas): `None` for a blank
/// line; invalid UTF-8, invalid JSON and a value that is not an object are
/// [`Invalid`] as in the search-log format.
pub fn json_object_line(line: &[u8]) -> Result<Option<serde_json::Map<String, serde_json::Value>>, Invalid> {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|e| {
        Invalid::whole(Problem::Utf8 {
            byte: e.valid_up_to(),
        })
    })?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        Invalid::whole(Problem::Json {
            message: full.strip_suffix(&suffix).unwrap_or(&full).to_owned(),
            column: e.column(),
        })
    })?;
    match value {
        serde_json::Value::Object(obj) => Ok(Some(obj)),
        _ => Err(Invalid::whole(Problem::NotAnObject)),
    }
}

/// An unknown `type` name: stored inline (no allocation) up to 24 bytes.
pub type TypeName = CompactString;

/// The longest `type` name [`Parsed::Other`] keeps, in bytes.
pub const TYPE_NAME_MAX: usize = 64;

/// Parses one line (without its `\n`) into an event, an "other" object, a
/// blank, or the reason it is invalid, reading integer times as
/// milliseconds. Never panics.
///
/// ```
/// use ctr::parse::{parse_line, Parsed};
/// let line = br#"{"type":"search","user":1,"query":"dogs","time":"2024-01-01T00:00:05Z"}"#;
/// let Ok(Parsed::Event(e)) = parse_line(line) else { panic!() };
/// assert_eq!((e.user.as_str(), e.time_ms), ("1", 1_704_067_205_000));
/// ```
pub fn parse_line(line: &[u8]) -> Result<Parsed, Invalid> {
    parse_line_with(line, TimeUnit::Millis)
}

/// [`parse_line`], reading integer `time` values in `unit` (RFC 3339 strings
/// are unaffected).
///
/// ```
/// use ctr::parse::{parse_line_with, Parsed};
/// use ctr::timestamp::TimeUnit;
/// let line = br#"{"type":"app_open","user":1,"time":1704067205}"#;
/// let Ok(Parsed::Event(e)) = parse_line_with(line, TimeUnit::Seconds) else { panic!() };
/// assert_eq!((e.time_ms, e.integer_time), (1_704_067_205_000, true));
/// ```
pub fn parse_line_with(line: &[u8], unit: TimeUnit) -> Result<Parsed, Invalid> {
    let Some(text) = prepare(line)? else {
        return Ok(Parsed::Blank);
    };
    if let Some(fields) = flat::parse_flat(text) {
        return fields.into_parsed(unit);
    }
    full_parse(text, unit)
}

/// [`parse_line_with`], also keeping the values search analytics needs in
/// [`Event::detail`]: a `search`'s `query`, a `results`' `items`, a
/// `click_result`'s `item` (`docs/analytics.md`). The line is checked
/// exactly as by [`parse_line_with`] (same verdicts, same reasons). For a
/// line of the flat subset (nearly all) the values are taken in the same
/// pass; other lines are read again for them (by the flat tokenizer's
/// search for the one field, or serde_json). Paid only by runs that ask
/// for them.
///
/// ```
/// use ctr::items::ItemList;
/// use ctr::event::Detail;
/// use ctr::parse::{parse_line_detailed, Parsed};
/// use ctr::timestamp::TimeUnit;
/// let line = br#"{"type":"results","user":1,"items":["a","b"],"time":5}"#;
/// let Ok(Parsed::Event(e)) = parse_line_detailed(line, TimeUnit::Millis) else { panic!() };
/// assert_eq!(e.detail.as_deref(), Some(&Detail::Items(ItemList::from(vec!["a", "b"]))));
/// ```
pub fn parse_line_detailed(line: &[u8], unit: TimeUnit) -> Result<Parsed, Invalid> {
    let Some(text) = prepare(line)? else {
        return Ok(Parsed::Blank);
    };
    // Nearly every line: one pass of the flat tokenizer reads the fields
    // and the detail.
    let mut parsed = match flat::parse_flat_detailed(text) {
        Some((fields, captured)) => {
            let mut parsed = fields.into_parsed(unit)?;
            if let Parsed::Event(event) = &mut parsed {
                let detail = match event.kind {
                    EventKind::Search => captured.query.map(|q| Detail::Query(CompactString::new(q))),
                    EventKind::Results => captured.items.map(Detail::Items),
                    EventKind::ClickResult => captured.item.map(|item| Detail::Click {
                        item: CompactString::new(item),
                        position: None,
                    }),
                    EventKind::AppOpen | EventKind::AppClose | EventKind::Timeout => None,
                };
                event.detail = detail.map(Box::new);
            }
            parsed
        }
        None => full_parse(text, unit)?,
    };
    if let Parsed::Event(event) = &mut parsed {
        if event.detail.is_some() {
            return Ok(parsed);
        }
        if matches!(
            event.kind,
            EventKind::Search | EventKind::Results | EventKind::ClickResult
        ) {
            // A line outside the flat subset, accepted by the full parse:
            // one JSON object whose field for this kind has the right type.
            // The flat tokenizer may still find the field (the line's odd
            // part being elsewhere), else serde_json reads it.
            let detail = match flat_detail(text, event.kind) {
                Some(detail) => detail,
                None => serde_detail(text, event.kind)?,
            };
            event.detail = Some(Box::new(detail));
        }
    }
    Ok(parsed)
}

/// The detail of a checked `search`, `results` or `click_result` line, by
/// the flat tokenizer; `None` when it cannot tell.
fn flat_detail(text: &str, kind: EventKind) -> Option<Detail> {
    use flat::Found;
    match (kind, flat::find(text, detail_field(kind))?) {
        (EventKind::Search, Found::Str(q)) => Some(Detail::Query(CompactString::new(q))),
        (EventKind::Results, Found::Strs(items)) => Some(Detail::Items(ItemList::from(items))),
        (EventKind::ClickResult, Found::Str(item)) => Some(Detail::Click {
            item: CompactString::new(item),
            position: None,
        }),
        _ => None,
    }
}

/// The field that holds a kind's detail.
fn detail_field(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Search => "query",
        EventKind::Results => "items",
        _ => "item",
    }
}

/// The detail of a checked `search`, `results` or `click_result` line, by
/// serde_json (any JSON).
fn serde_detail(text: &str, kind: EventKind) -> Result<Detail, Invalid> {
    let json = |e: serde_json::Error| json_error(&e);
    Ok(match kind {
        EventKind::Search => {
            let v: QueryValue<'_> = serde_json::from_str(text).map_err(json)?;
            Detail::Query(CompactString::new(&v.query))
        }
        EventKind::Results => {
            let v: ItemsValue<'_> = serde_json::from_str(text).map_err(json)?;
            Detail::Items(ItemList::from(v.items))
        }
        _ => {
            let v: ItemValue<'_> = serde_json::from_str(text).map_err(json)?;
            Detail::Click {
                item: CompactString::new(&v.item),
                position: None,
            }
        }
    })
}

/// A `search`'s value for [`parse_line_detailed`]; other fields are skipped
/// (only the kind's own field is read, as only it was checked).
#[derive(serde::Deserialize)]
struct QueryValue<'a> {
    #[serde(borrow)]
    query: Cow<'a, str>,
}

/// A `results`' value for [`parse_line_detailed`].
#[derive(serde::Deserialize)]
struct ItemsValue<'a> {
    #[serde(borrow)]
    items: Vec<Cow<'a, str>>,
}

/// A `click_result`'s value for [`parse_line_detailed`].
#[derive(serde::Deserialize)]
struct ItemValue<'a> {
    #[serde(borrow)]
    item: Cow<'a, str>,
}

/// Strips a BOM and a trailing `\r`, then: `None` for a blank line, the
/// text when it is UTF-8 starting with `{`, or why it is invalid.
fn prepare(line: &[u8]) -> Result<Option<&str>, Invalid> {
    let bom = if line.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let body = line.get(bom..).unwrap_or_default();
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    let Some(&first) = body.iter().find(|b| !is_json_space(**b)) else {
        return Ok(None);
    };
    // SIMD validation (every line pays it); on failure std's, which says
    // where the first bad byte is.
    let text = match simdutf8::basic::from_utf8(body) {
        Ok(text) => text,
        Err(_) => std::str::from_utf8(body).map_err(|e| {
            Invalid::whole(Problem::Utf8 {
                byte: bom + e.valid_up_to(),
            })
        })?,
    };
    if first != b'{' {
        // Still report broken JSON as such, e.g. `[1,` or `nul`.
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Err(e) => json_error(&e),
            Ok(_) => Invalid::whole(Problem::NotAnObject),
        });
    }
    Ok(Some(text))
}

/// The full `serde_json` path, for every line the flat fast path declines.
fn full_parse(text: &str, unit: TimeUnit) -> Result<Parsed, Invalid> {
    let mut de = serde_json::Deserializer::from_str(text);
    let fields = de
        .deserialize_map(LineVisitor)
        .and_then(|f| de.end().map(|()| f))
        .map_err(|e| json_error(&e))?;
    fields.into_parsed(unit)
}

fn is_json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn json_error(e: &serde_json::Error) -> Invalid {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    Invalid::whole(Problem::Json {
        message,
        column: e.column(),
    })
}

/// One field as found: absent, a usable value, or the wrong type.
#[derive(Debug, Default)]
enum Slot<T> {
    #[default]
    Missing,
    Got(T),
    Wrong(Bad),
}

/// The field-level subset of [`Problem`], small and `Copy` so that
/// [`Fields`] stays a few words wide on the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    ExpectedString,
    ExpectedStringOrInteger,
    ExpectedStringArray,
    IntegerOutOfRange,
    ExpectedTime,
    Time(TimeError),
}

impl From<Bad> for Problem {
    fn from(b: Bad) -> Problem {
        match b {
            Bad::ExpectedString => Problem::ExpectedString,
            Bad::ExpectedStringOrInteger => Problem::ExpectedStringOrInteger,
            Bad::ExpectedStringArray => Problem::ExpectedStringArray,
            Bad::IntegerOutOfRange => Problem::IntegerOutOfRange,
            Bad::ExpectedTime => Problem::ExpectedTime,
            Bad::Time(e) => Problem::Time(e),
        }
    }
}

impl<T> Slot<T> {
    fn require(self, name: &'static str) -> Result<T, Invalid> {
        match self {
            Slot::Got(v) => Ok(v),
            Slot::Missing => Err(Invalid::field(name, Problem::Missing)),
            Slot::Wrong(b) => Err(Invalid::field(name, b.into())),
        }
    }
}

/// The `type` field's value.
#[derive(Debug)]
enum Kind {
    Known(EventKind),
    /// Its name, at most [`TYPE_NAME_MAX`] bytes.
    Unknown(CompactString),
}

/// The `time` field's value: from an RFC 3339 string (milliseconds), or an
/// integer in the unit the parse is given.
#[derive(Debug, Clone, Copy)]
enum Time {
    Ms(i64),
    Int(i64),
}

/// `s` cut to at most [`TYPE_NAME_MAX`] bytes, at a character boundary:
/// the name an "other" record is counted under.
pub fn type_name(s: &str) -> CompactString {
    let mut end = s.len().min(TYPE_NAME_MAX);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    CompactString::new(&s[..end])
}

/// Everything the visitor keeps from one object.
#[derive(Debug, Default)]
struct Fields {
    kind: Slot<Kind>,
    user: Slot<UserKey>,
    time: Slot<Time>,
    query: Slot<()>,
    items: Slot<()>,
    item: Slot<()>,
    duplicate: Option<&'static str>,
    duplicate_type: bool,
}

/// Stores a field's value, noting whether it was already there.
fn store<T>(slot: &mut Slot<T>, v: Slot<T>, duplicate: &mut Option<&'static str>, name: &'static str) {
    if !matches!(slot, Slot::Missing) {
        duplicate.get_or_insert(name);
    }
    *slot = v;
}

impl Fields {
    fn put_type(&mut self, v: Slot<Kind>) {
        self.duplicate_type |= !matches!(self.kind, Slot::Missing);
        self.kind = v;
    }
    fn put_user(&mut self, v: Slot<UserKey>) {
        store(&mut self.user, v, &mut self.duplicate, "user");
    }
    fn put_time(&mut self, v: Slot<Time>) {
        store(&mut self.time, v, &mut self.duplicate, "time");
    }
    fn put_query(&mut self, v: Slot<()>) {
        store(&mut self.query, v, &mut self.duplicate, "query");
    }
    fn put_items(&mut self, v: Slot<()>) {
        store(&mut self.items, v, &mut self.duplicate, "items");
    }
    fn put_item(&mut self, v: Slot<()>) {
        store(&mut self.item, v, &mut self.duplicate, "item");
    }

    fn into_parsed(self, unit: TimeUnit) -> Result<Parsed, Invalid> {
        if self.duplicate_type {
            return Err(Invalid::field("type", Problem::Duplicate));
        }
        let kind = match self.kind.require("type")? {
            Kind::Known(k) => k,
            Kind::Unknown(type_name) => return Ok(Parsed::Other { type_name }),
        };
        if let Some(name) = self.duplicate {
            return Err(Invalid::field(name, Problem::Duplicate));
        }
        let user = self.user.require("user")?;
        let (time_ms, integer_time) = match self.time.require("time")? {
            Time::Ms(ms) => (ms, false),
            Time::Int(n) => (
                unit.to_ms(n)
                    .map_err(|e| Invalid::field("time", Problem::Time(e)))?,
                true,
            ),
        };
        match kind {
            EventKind::Search => self.query.require("query")?,
            EventKind::Results => self.items.require("items")?,
            EventKind::ClickResult => self.item.require("item")?,
            EventKind::AppOpen | EventKind::AppClose | EventKind::Timeout => {}
        }
        Ok(Parsed::Event(Event {
            user,
            time_ms,
            kind,
            integer_time,
            detail: None,
        }))
    }
}

/// Object keys we look at.
enum Key {
    Type,
    User,
    Time,
    Query,
    Items,
    Item,
    Other,
}

impl Key {
    fn from_name(s: &str) -> Key {
        match s {
            "type" => Key::Type,
            "user" => Key::User,
            "time" => Key::Time,
            "query" => Key::Query,
            "items" => Key::Items,
            "item" => Key::Item,
            _ => Key::Other,
        }
    }
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key, E> {
                Ok(Key::from_name(s))
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
        let mut f = Fields::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Type => f.put_type(map.next_value_seed(Field::<TypeField>::new())?),
                Key::User => f.put_user(map.next_value_seed(Field::<UserField>::new())?),
                Key::Time => f.put_time(map.next_value_seed(Field::<TimeField>::new())?),
                Key::Query => f.put_query(map.next_value_seed(Field::<StrField>::new())?),
                Key::Items => f.put_items(map.next_value_seed(Field::<StrArrayField>::new())?),
                Key::Item => f.put_item(map.next_value_seed(Field::<StrField>::new())?),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(f)
    }
}

/// How one known field reads each JSON value type. Anything not accepted
/// becomes `Slot::Wrong(Self::EXPECTED)` after the value has been consumed,
/// so a wrong type is judged later, knowing the event's kind.
trait FieldKind {
    type Out;
    const EXPECTED: Bad;

    fn str(_s: &str) -> Slot<Self::Out> {
        Slot::Wrong(Self::EXPECTED)
    }
    fn i64(_n: i64) -> Slot<Self::Out> {
        Slot::Wrong(Self::EXPECTED)
    }
    fn u64(_n: u64) -> Slot<Self::Out> {
        Slot::Wrong(Self::EXPECTED)
    }
    fn f64(_n: f64) -> Slot<Self::Out> {
        Slot::Wrong(Self::EXPECTED)
    }
    /// A non-empty or empty array whose every element is a string.
    fn str_array() -> Slot<Self::Out> {
        Slot::Wrong(Self::EXPECTED)
    }
    fn seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Slot<Self::Out>, A::Error> {
        let mut all_strings = true;
        while let Some(elem) = seq.next_element_seed(Field::<StrField>::new())? {
            all_strings &= matches!(elem, Slot::Got(()));
        }
        Ok(if all_strings {
            Self::str_array()
        } else {
            Slot::Wrong(Self::EXPECTED)
        })
    }
}

/// Is `f` a whole number too large for `i64`/`u64` (serde_json hands those
/// over as `f64`)?
fn is_huge_integer(f: f64) -> bool {
    f.fract() == 0.0 && (f >= 18_446_744_073_709_551_616.0 || f <= -9_223_372_036_854_775_808.0)
}

struct TypeField;
impl FieldKind for TypeField {
    type Out = Kind;
    const EXPECTED: Bad = Bad::ExpectedString;
    fn str(s: &str) -> Slot<Kind> {
        Slot::Got(match s {
            "search" | "Search" => Kind::Known(EventKind::Search),
            "results" | "Results" => Kind::Known(EventKind::Results),
            "click_result" | "ClickResult" => Kind::Known(EventKind::ClickResult),
            "app_open" | "AppOpen" => Kind::Known(EventKind::AppOpen),
            "app_close" | "AppClose" => Kind::Known(EventKind::AppClose),
            "timeout" | "Timeout" => Kind::Known(EventKind::Timeout),
            _ => Kind::Unknown(type_name(s)),
        })
    }
}

struct UserField;
impl FieldKind for UserField {
    type Out = UserKey;
    const EXPECTED: Bad = Bad::ExpectedStringOrInteger;
    fn str(s: &str) -> Slot<UserKey> {
        Slot::Got(UserKey::new(s))
    }
    fn i64(n: i64) -> Slot<UserKey> {
        Slot::Got(UserKey::new(itoa::Buffer::new().format(n)))
    }
    fn u64(n: u64) -> Slot<UserKey> {
        Slot::Got(UserKey::new(itoa::Buffer::new().format(n)))
    }
    fn f64(f: f64) -> Slot<UserKey> {
        Slot::Wrong(if is_huge_integer(f) {
            Bad::IntegerOutOfRange
        } else {
            Self::EXPECTED
        })
    }
}

/// `time`: integers are kept as they are and converted (and range-checked)
/// in [`Fields::into_parsed`], which knows the unit.
struct TimeField;
impl FieldKind for TimeField {
    type Out = Time;
    const EXPECTED: Bad = Bad::ExpectedTime;
    fn str(s: &str) -> Slot<Time> {
        match timestamp::parse_rfc3339_ms(s) {
            Ok(ms) => Slot::Got(Time::Ms(ms)),
            Err(e) => Slot::Wrong(Bad::Time(e)),
        }
    }
    fn i64(n: i64) -> Slot<Time> {
        Slot::Got(Time::Int(n))
    }
    fn u64(n: u64) -> Slot<Time> {
        match i64::try_from(n) {
            Ok(n) => Slot::Got(Time::Int(n)),
            Err(_) => Slot::Wrong(Bad::Time(TimeError::OutOfRange)),
        }
    }
    fn f64(f: f64) -> Slot<Time> {
        if is_huge_integer(f) {
            Slot::Wrong(Bad::Time(TimeError::OutOfRange))
        } else {
            Slot::Wrong(Self::EXPECTED)
        }
    }
}

/// `query` and `item`: any string.
struct StrField;
impl FieldKind for StrField {
    type Out = ();
    const EXPECTED: Bad = Bad::ExpectedString;
    fn str(_s: &str) -> Slot<()> {
        Slot::Got(())
    }
}

/// `items`: an array whose every element is a string.
struct StrArrayField;
impl FieldKind for StrArrayField {
    type Out = ();
    const EXPECTED: Bad = Bad::ExpectedStringArray;
    fn str_array() -> Slot<()> {
        Slot::Got(())
    }
}

/// Seed and visitor reading one value as field kind `K`.
struct Field<K>(PhantomData<K>);

impl<K> Field<K> {
    fn new() -> Self {
        Field(PhantomData)
    }
}

impl<'de, K: FieldKind> DeserializeSeed<'de> for Field<K> {
    type Value = Slot<K::Out>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, K: FieldKind> Visitor<'de> for Field<K> {
    type Value = Slot<K::Out>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Problem::from(K::EXPECTED))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(K::str(s))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(K::i64(n))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(K::u64(n))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
        Ok(K::f64(n))
    }
    fn visit_bool<E: de::Error>(self, _b: bool) -> Result<Self::Value, E> {
        Ok(Slot::Wrong(K::EXPECTED))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Slot::Wrong(K::EXPECTED))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        K::seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Slot::Wrong(K::EXPECTED))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(line: &str) -> Event {
        match parse_line(line.as_bytes()) {
            Ok(Parsed::Event(e)) => e,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn invalid(line: &[u8]) -> String {
        match parse_line(line) {
            Err(e) => e.to_string(),
            other => panic!("{line:?}: {other:?}"),
        }
    }

    #[test]
    fn reads_the_tutorial_events() {
        let e = event(
            r#"{"type":"results","user":1,"items":["fido","rover","buddy"],"time":"2024-01-01T00:00:06Z"}"#,
        );
        assert_eq!(e.user, "1");
        assert_eq!(e.kind, EventKind::Results);
        assert_eq!(e.time_ms, 1_704_067_206_000);
    }

    #[test]
    fn field_order_does_not_matter() {
        let a = event(r#"{"type":"click_result","user":"u","item":"x","time":5}"#);
        let b = event(r#"{"time":5,"item":"x","user":"u","type":"click_result"}"#);
        assert_eq!(a, b);
    }

    #[test]
    fn wrong_types_are_judged_after_the_type_is_known() {
        // `query` is wrong but the event is not a search: fine.
        let e = event(r#"{"query":5,"type":"app_open","user":"u","time":5}"#);
        assert_eq!(e.kind, EventKind::AppOpen);
        // Unknown type: nothing else is checked.
        assert_eq!(
            parse_line(br#"{"user":[1,{"a":2}],"type":"purchase"}"#),
            Ok(Parsed::Other {
                type_name: "purchase".into()
            })
        );
    }

    #[test]
    fn duplicates_are_refused() {
        assert_eq!(
            invalid(br#"{"type":"search","type":"search","user":1,"time":1,"query":""}"#),
            "duplicate field \"type\""
        );
        assert_eq!(
            invalid(br#"{"type":"search","user":1,"user":2,"time":1,"query":""}"#),
            "duplicate field \"user\""
        );
    }

    #[test]
    fn json_errors_carry_a_column() {
        assert_eq!(
            invalid(br#"{"type":"search""#),
            "invalid JSON: EOF while parsing an object at column 16"
        );
    }

    /// The full path alone, for comparison with the fast path.
    fn parse_line_full(line: &[u8]) -> Result<Parsed, Invalid> {
        match prepare(line)? {
            None => Ok(Parsed::Blank),
            Some(text) => full_parse(text, TimeUnit::Millis),
        }
    }

    fn json_value() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "search",
                "Search",
                "results",
                "click_result",
                "ClickResult",
                "app_open",
                "AppClose",
                "timeout",
                "purchase",
                "",
                "u1",
                "1",
                "2024-01-01T00:00:05Z",
                "2024-01-01T00:00:05.123+01:00",
                "2024-02-30T00:00:05Z",
                "2024-01-01T00:00:05",
                "café",
            ])
            .prop_map(|s| format!("\"{s}\"")),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            (-100_000_000_000_000i64..300_000_000_000_000).prop_map(|n| n.to_string()),
            prop::sample::select(vec![
                "-0",
                "0",
                "01",
                "-01",
                "1.5",
                "1e3",
                "-",
                "1.",
                "99999999999999999999999",
                "-9223372036854775808",
                "-9223372036854775809",
                "18446744073709551615",
                "18446744073709551616",
                "1e400",
                "true",
                "false",
                "null",
                "nul",
                "[]",
                "[ ]",
                r#"["a"]"#,
                r#"[ "a" , "b" ]"#,
                r#"["a",1]"#,
                r#"[["a"]]"#,
                r#"["a",]"#,
                "{}",
                r#"{"a":[1,{"b":null}]}"#,
                r#""u\"1""#,
                r#""\u0041""#,
                r#""sea\u0072ch""#,
                "\"a\tb\"",
                r#""unterminated"#,
            ])
            .prop_map(str::to_owned),
        ]
    }

    fn json_line() -> impl Strategy<Value = Vec<u8>> {
        let key = prop::sample::select(vec![
            "type",
            "user",
            "time",
            "query",
            "items",
            "item",
            "x",
            r"ty\u0070e",
            "",
        ]);
        let ws = prop::sample::select(vec!["", "", "", " ", "\t", "\r\n"]);
        let entry = (key, json_value(), ws.clone(), ws.clone());
        (
            prop::collection::vec(entry, 0..8),
            ws,
            prop::sample::select(vec!["", "", "", "x", ",", "}", " {}"]),
            any::<prop::sample::Index>(),
            any::<bool>(),
        )
            .prop_map(|(entries, w, tail, cut, truncate)| {
                let body: Vec<String> = entries
                    .into_iter()
                    .map(|(k, v, w1, w2)| format!("{w1}\"{k}\"{w2}:{w1}{v}{w2}"))
                    .collect();
                let mut line = format!("{w}{{{}}}{w}{tail}", body.join(",")).into_bytes();
                if truncate {
                    line.truncate(cut.index(line.len() + 1));
                }
                line
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn fast_path_agrees_with_full_path(line in json_line()) {
            prop_assert_eq!(parse_line(&line), parse_line_full(&line));
        }

        #[test]
        fn the_detailed_parse_gives_the_same_verdict(line in json_line()) {
            let mut detailed = parse_line_detailed(&line, TimeUnit::Millis);
            if let Ok(Parsed::Event(e)) = &mut detailed {
                e.detail = None;
            }
            prop_assert_eq!(detailed, parse_line_with(&line, TimeUnit::Millis));
        }

        #[test]
        fn the_flat_detail_agrees_with_serde(line in json_line()) {
            if let Ok(Parsed::Event(e)) = parse_line_detailed(&line, TimeUnit::Millis) {
                let detailed = matches!(e.kind, EventKind::Search | EventKind::Results | EventKind::ClickResult);
                prop_assert_eq!(e.detail.is_some(), detailed);
                if let Some(text) = prepare(&line).ok().flatten().filter(|_| detailed) {
                    let by_serde = serde_detail(text, e.kind).ok();
                    prop_assert_eq!(e.detail.map(|d| *d), by_serde);
                }
            }
        }
    }

    #[test]
    fn the_detail_is_the_same_by_either_reader() {
        let lines: &[&str] = &[
            r#"{"type":"search","user":1,"query":"Hot Dogs","time":5}"#,
            r#"{"query":"  ＨＯＴ　dogs ", "type":"search","user":"u","time":5}"#,
            r#"{"type":"search","user":1,"query":"a\"b\u00e9","time":5}"#,
            r#"{"type":"search","user":1,"x":1.5,"query":"q","time":5}"#,
            r#"{"type":"results","user":1,"items":[],"time":5}"#,
            r#"{"type":"results","user":1,"items":[ "a" , "b","é" ],"time":5}"#,
            r#"{"type":"results","user":1,"items":["a","b\n"],"time":5}"#,
            r#"{"type":"results","user":1,"x":{"items":["no"]},"items":["yes"],"time":5}"#,
            r#"{"type":"click_result","user":1,"item":"rover","time":5}"#,
            r#"{"type":"click_result","user":1,"item":"","time":5,"x":[1]}"#,
        ];
        for line in lines {
            let Ok(Parsed::Event(e)) = parse_line_detailed(line.as_bytes(), TimeUnit::Millis) else {
                panic!("{line}")
            };
            let by_serde = serde_detail(line, e.kind).unwrap_or_else(|err| panic!("{line}: {err}"));
            assert_eq!(e.detail.as_deref(), Some(&by_serde), "{line}");
        }
        // Where the tokenizer can tell, it does.
        assert!(flat_detail(lines[1], EventKind::Search).is_some());
        assert!(flat_detail(lines[5], EventKind::Results).is_some());
        assert!(flat_detail(lines[2], EventKind::Search).is_none());
    }

    #[test]
    fn line_too_long_says_the_length_and_the_limit() {
        assert_eq!(
            Invalid::line_too_long(2_000_000, 1_048_576).to_string(),
            "line too long: 2000000 bytes, the limit is 1048576 (--max-line-bytes)"
        );
    }

    #[test]
    fn unknown_types_keep_their_name_case_sensitively() {
        let other = |line: &[u8]| match parse_line(line) {
            Ok(Parsed::Other { type_name }) => type_name,
            r => panic!("{r:?}"),
        };
        assert_eq!(other(br#"{"type":"SEARCH","user":1,"time":5}"#), "SEARCH");
        // The full parser decodes escapes: still the name.
        assert_eq!(other(br#"{"type":"F\u006fo"}"#), "Foo");
        let long = format!(r#"{{"type":"{}é"}}"#, "x".repeat(63));
        assert_eq!(other(long.as_bytes()), "x".repeat(63));
    }

    #[test]
    fn integer_times_are_read_in_the_unit_given() {
        let line = br#"{"type":"app_open","user":1,"time":1704067205}"#;
        let with = |unit| match parse_line_with(line, unit) {
            Ok(Parsed::Event(e)) => Ok((e.time_ms, e.integer_time)),
            Ok(p) => panic!("{p:?}"),
            Err(e) => Err(e.to_string()),
        };
        assert_eq!(with(TimeUnit::Seconds), Ok((1_704_067_205_000, true)));
        assert_eq!(with(TimeUnit::Millis), Ok((1_704_067_205, true)));
        assert_eq!(with(TimeUnit::Micros), Ok((1_704_067, true)));
        let huge = br#"{"type":"app_open","user":1,"time":9223372036854775807}"#;
        assert_eq!(
            parse_line_with(huge, TimeUnit::Seconds).map_err(|e| e.to_string()),
            Err("field \"time\": timestamp out of range (years 0000-9999 UTC)".to_owned())
        );
        let text = br#"{"type":"app_open","user":1,"time":"2024-01-01T00:00:05Z"}"#;
        let Ok(Parsed::Event(e)) = parse_line_with(text, TimeUnit::Seconds) else {
            panic!()
        };
        assert_eq!((e.time_ms, e.integer_time), (1_704_067_205_000, false));
    }
}
