//! Any JSON event schema → [`Event`]s, without code: a [`Mapping`] says
//! where each field the sessions and analytics need is in a record
//! ([`JsonPath`]s), which record types are which event kinds, and how to
//! read times and positions. It is written as a small TOML schema
//! ([`Mapping::from_toml`]), or chosen among the [`presets`] (GA4,
//! Snowplow, Elastic behavioral analytics), and adjusted field by field
//! (`search-ctr run --map FIELD=PATH --type-map NAME=KIND`).
//!
//! ```toml
//! time_unit = "us"        # integer times: s, ms (default), us, ns
//! position_base = 0       # the first result's position in the log (default 1)
//! search_lists_results = false  # a search record's items are not its results
//! [fields]
//! user = "user_pseudo_id"
//! time = "event_timestamp"
//! type = "event_name"
//! query = "event_params.search_term"
//! items = "items.*.item_id"
//! item = "items.0.item_id"
//! position = "items.0.index"
//! [types]                 # kind = the record types that are that kind
//! search = ["view_search_results"]
//! click_result = ["select_item"]
//! ```
//!
//! A record whose type is not listed is "other" (counted and skipped, as
//! an unknown `type` is). A `search` whose record also lists result items
//! gives a `results` event too, at the same time, after it (an empty list:
//! a zero-result search), unless `search_lists_results = false`. Values: the
//! user a string or an integer; the time an RFC 3339 string or an integer
//! (also as a string, as BigQuery exports write 64-bit integers) in
//! `time_unit`; the query a string (an array of strings is joined with
//! spaces, as Snowplow's search `terms`); items and item strings or
//! integers (the item of an array: its first); the position an integer
//! (of an array: the first).

pub mod path;
pub mod presets;

use compact_str::CompactString;
use serde::Deserialize;
use serde_json::Value;

use crate::event::{Detail, Event, EventKind};
use crate::items::ItemList;
use crate::parse::{self, json_object_line, Invalid, Problem, TypeName};
use crate::timestamp::{self, TimeUnit};
pub use path::JsonPath;

/// The fields a mapping places, in the order they are documented.
pub const FIELDS: [&str; 8] = [
    "user", "time", "type", "query", "query_id", "items", "item", "position",
];

/// How records of one schema become events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Where the user is (required).
    pub user: JsonPath,
    /// Where the event time is (required).
    pub time: JsonPath,
    /// Where the record's type is (required).
    pub kind: JsonPath,
    /// A search's query.
    pub query: Option<JsonPath>,
    /// A search's id, the query when the log has no query text (Algolia
    /// Insights); clicks are still attributed to the latest search before
    /// them.
    pub query_id: Option<JsonPath>,
    /// The result items of a `results` event (or of a `search` that lists
    /// them).
    pub items: Option<JsonPath>,
    /// A click's item.
    pub item: Option<JsonPath>,
    /// A click's position, as the log counts it.
    pub position: Option<JsonPath>,
    /// Record type → event kind (names not listed are "other").
    pub types: Vec<(String, EventKind)>,
    /// The unit of integer times.
    pub time_unit: TimeUnit,
    /// The position of the first result in the log (0 or 1).
    pub position_base: u32,
    /// A `search` record's `items` are its results (a `results` event
    /// follows it; an empty list is a zero-result search). Off for schemas
    /// whose search records carry an unrelated or always-empty list (GA4).
    pub search_lists_results: bool,
}

/// A schema as written in TOML (see the module documentation).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaSpec {
    /// `s`, `ms`, `us` or `ns`.
    pub time_unit: Option<String>,
    /// 0 or 1.
    pub position_base: Option<u32>,
    /// Whether a search record's items are its results (default true).
    pub search_lists_results: Option<bool>,
    /// Field → path.
    #[serde(default)]
    pub fields: std::collections::BTreeMap<String, String>,
    /// Kind → record types.
    #[serde(default)]
    pub types: std::collections::BTreeMap<String, Vec<String>>,
}

/// An event kind by the name a mapping gives it.
pub fn kind_named(name: &str) -> Result<EventKind, String> {
    Ok(match name {
        "app_open" => EventKind::AppOpen,
        "search" => EventKind::Search,
        "results" => EventKind::Results,
        "click_result" | "click" => EventKind::ClickResult,
        "app_close" => EventKind::AppClose,
        "timeout" => EventKind::Timeout,
        _ => {
            return Err(format!(
                "{name:?} is not an event kind: expected app_open, search, results, click_result \
                 (or click), app_close or timeout"
            ))
        }
    })
}

/// A time unit by its short name.
pub fn unit_named(name: &str) -> Result<TimeUnit, String> {
    Ok(match name {
        "s" => TimeUnit::Seconds,
        "ms" => TimeUnit::Millis,
        "us" => TimeUnit::Micros,
        "ns" => TimeUnit::Nanos,
        _ => return Err(format!("time_unit {name:?}: expected s, ms, us or ns")),
    })
}

impl SchemaSpec {
    /// Reads a TOML schema; the error names the line.
    pub fn from_toml(text: &str) -> Result<SchemaSpec, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
    }

    /// Sets `field` to `path` (`--map`), replacing what the schema said.
    pub fn map(&mut self, field: &str, path: &str) -> Result<(), String> {
        if !FIELDS.contains(&field) {
            return Err(format!(
                "{field:?} is not a field a mapping places: expected one of {}",
                FIELDS.join(", ")
            ));
        }
        self.fields.insert(field.to_owned(), path.to_owned());
        Ok(())
    }

    /// Makes the record type `name` the event kind `kind` (`--type-map`).
    pub fn type_map(&mut self, name: &str, kind: &str) -> Result<(), String> {
        let kind = kind_named(kind)?;
        for names in self.types.values_mut() {
            names.retain(|n| n != name);
        }
        let key = kind_key(kind).to_owned();
        self.types.entry(key).or_default().push(name.to_owned());
        Ok(())
    }

    /// The mapping this spec describes; the error says what is missing or
    /// wrong.
    pub fn build(&self) -> Result<Mapping, String> {
        for field in self.fields.keys() {
            if !FIELDS.contains(&field.as_str()) {
                return Err(format!(
                    "[fields] {field:?}: not a field a mapping places (expected one of {})",
                    FIELDS.join(", ")
                ));
            }
        }
        let path = |name: &str| -> Result<Option<JsonPath>, String> {
            self.fields
                .get(name)
                .map(|p| JsonPath::parse(p).map_err(|e| format!("field {name}: {e}")))
                .transpose()
        };
        let required = |name: &str| -> Result<JsonPath, String> {
            path(name)?
                .ok_or_else(|| format!("no path for the field {name:?}: give it with --map {name}=PATH"))
        };
        let mut types = Vec::new();
        for (kind, names) in &self.types {
            let kind = kind_named(kind).map_err(|e| format!("[types] {e}"))?;
            types.extend(names.iter().map(|n| (n.clone(), kind)));
        }
        if types.is_empty() {
            // The search-log format's names, in both its spellings.
            for (snake, pascal, kind) in [
                ("app_open", "AppOpen", EventKind::AppOpen),
                ("search", "Search", EventKind::Search),
                ("results", "Results", EventKind::Results),
                ("click_result", "ClickResult", EventKind::ClickResult),
                ("app_close", "AppClose", EventKind::AppClose),
                ("timeout", "Timeout", EventKind::Timeout),
            ] {
                types.push((snake.to_owned(), kind));
                types.push((pascal.to_owned(), kind));
            }
        }
        let position_base = self.position_base.unwrap_or(1);
        if position_base > 1 {
            return Err(format!("position_base {position_base}: expected 0 or 1"));
        }
        Ok(Mapping {
            user: required("user")?,
            time: required("time")?,
            kind: required("type")?,
            query: path("query")?,
            query_id: path("query_id")?,
            items: path("items")?,
            item: path("item")?,
            position: path("position")?,
            types,
            time_unit: self
                .time_unit
                .as_deref()
                .map(unit_named)
                .transpose()?
                .unwrap_or_default(),
            position_base,
            search_lists_results: self.search_lists_results.unwrap_or(true),
        })
    }
}

/// The name a mapping gives `kind`.
fn kind_key(kind: EventKind) -> &'static str {
    match kind {
        EventKind::AppOpen => "app_open",
        EventKind::Search => "search",
        EventKind::Results => "results",
        EventKind::ClickResult => "click_result",
        EventKind::AppClose => "app_close",
        EventKind::Timeout => "timeout",
    }
}

impl Mapping {
    /// The mapping as `field = path` and `kind = names` lines, in a fixed
    /// order (what a resume and the processes of a cluster compare).
    pub fn describe(&self) -> String {
        let mut parts = vec![
            format!("user={}", self.user),
            format!("time={}", self.time),
            format!("type={}", self.kind),
        ];
        for (name, p) in [
            ("query", &self.query),
            ("query_id", &self.query_id),
            ("items", &self.items),
            ("item", &self.item),
            ("position", &self.position),
        ] {
            if let Some(p) = p {
                parts.push(format!("{name}={p}"));
            }
        }
        let mut types: Vec<String> = self
            .types
            .iter()
            .map(|(n, k)| format!("{n}:{}", kind_key(*k)))
            .collect();
        types.sort();
        parts.push(format!("types={}", types.join(",")));
        parts.push(format!("unit={:?}", self.time_unit).to_lowercase());
        parts.push(format!("position_base={}", self.position_base));
        parts.push(format!("search_lists_results={}", self.search_lists_results));
        parts.join(" ")
    }
}

/// What one mapped line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappedParsed {
    /// An event, and the `results` of a `search` that lists its items.
    Events(Event, Option<Event>),
    /// A record of a type the mapping does not list: skipped, counted.
    Other {
        /// Its type (the first [`parse::TYPE_NAME_MAX`] bytes).
        type_name: TypeName,
    },
    /// Nothing but whitespace.
    Blank,
}

/// A field's problem, with the path it was read at.
fn at(field: &'static str, path: &JsonPath, problem: Problem) -> Invalid {
    Invalid {
        field: Some(field),
        problem: Problem::Mapped {
            path: path.to_string(),
            problem: Box::new(problem),
        },
    }
}

/// A string, or an integer as its text.
fn text_of(v: &Value) -> Option<CompactString> {
    match v {
        Value::String(s) => Some(CompactString::new(s)),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(CompactString::new(n.to_string())),
        _ => None,
    }
}

/// An integer, or a string holding one.
fn integer_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Parses one line (without its `\n`) with `mapping`. `detailed`: keep the
/// query, items and clicked item (search analytics); without it only
/// user, time and kind are read.
///
/// ```
/// use ctr::mapping::{parse_mapped, MappedParsed, SchemaSpec};
/// let mut spec = SchemaSpec::default();
/// for (field, path) in [("user", "u.id"), ("time", "ts"), ("type", "kind"), ("query", "q")] {
///     spec.map(field, path)?;
/// }
/// spec.type_map("query_submitted", "search")?;
/// let mapping = spec.build()?;
/// let line = br#"{"u":{"id":7},"ts":"2024-01-01T00:00:05Z","kind":"query_submitted","q":"Dogs"}"#;
/// let Ok(MappedParsed::Events(e, None)) = parse_mapped(line, &mapping, true) else { panic!() };
/// assert_eq!((e.user.as_str(), e.time_ms), ("7", 1_704_067_205_000));
/// # Ok::<(), String>(())
/// ```
pub fn parse_mapped(line: &[u8], mapping: &Mapping, detailed: bool) -> Result<MappedParsed, Invalid> {
    let Some(record) = json_object_line(line)? else {
        return Ok(MappedParsed::Blank);
    };
    let record = Value::Object(record);
    let type_name = match mapping.kind.first(&record) {
        None => return Err(at("type", &mapping.kind, Problem::Missing)),
        Some(v) => text_of(v).ok_or_else(|| at("type", &mapping.kind, Problem::ExpectedStringOrInteger))?,
    };
    let Some(kind) = mapping
        .types
        .iter()
        .find(|(n, _)| n.as_str() == type_name.as_str())
        .map(|(_, k)| *k)
    else {
        return Ok(MappedParsed::Other {
            type_name: parse::type_name(&type_name),
        });
    };
    let user = match mapping.user.first(&record) {
        None => return Err(at("user", &mapping.user, Problem::Missing)),
        Some(v) => text_of(v).ok_or_else(|| at("user", &mapping.user, Problem::ExpectedStringOrInteger))?,
    };
    let (time_ms, integer_time) = time_of(&record, mapping)?;
    let event = |kind, detail: Option<Detail>| Event {
        user: user.clone(),
        time_ms,
        kind,
        integer_time,
        detail: detail.map(Box::new),
    };
    if !detailed {
        return Ok(MappedParsed::Events(event(kind, None), None));
    }
    Ok(match kind {
        EventKind::Search => {
            let query = match (&mapping.query, &mapping.query_id) {
                (Some(p), _) => query_of(&record, p)?,
                (None, Some(p)) => match p.first(&record) {
                    None => CompactString::default(),
                    Some(v) => {
                        text_of(v).ok_or_else(|| at("query_id", p, Problem::ExpectedStringOrInteger))?
                    }
                },
                (None, None) => CompactString::default(),
            };
            let results = match mapping.search_lists_results {
                true => items_of(&record, mapping)?
                    .map(|items| event(EventKind::Results, Some(Detail::Items(items)))),
                false => None,
            };
            MappedParsed::Events(event(kind, Some(Detail::Query(query))), results)
        }
        EventKind::Results => {
            let items = items_of(&record, mapping)?.unwrap_or_default();
            MappedParsed::Events(event(kind, Some(Detail::Items(items))), None)
        }
        EventKind::ClickResult => {
            let Some(path) = &mapping.item else {
                return Err(Invalid {
                    field: Some("item"),
                    problem: Problem::Unmapped,
                });
            };
            let item = match path.first(&record) {
                None => return Err(at("item", path, Problem::Missing)),
                Some(Value::Array(a)) => a.first().and_then(text_of),
                Some(v) => text_of(v),
            }
            .ok_or_else(|| at("item", path, Problem::ExpectedStringOrInteger))?;
            let position = match &mapping.position {
                None => None,
                Some(p) => position_of(&record, p, mapping.position_base)?,
            };
            MappedParsed::Events(event(kind, Some(Detail::Click { item, position })), None)
        }
        _ => MappedParsed::Events(event(kind, None), None),
    })
}

fn time_of(record: &Value, mapping: &Mapping) -> Result<(i64, bool), Invalid> {
    let p = &mapping.time;
    let bad = |problem| at("time", p, problem);
    match p.first(record) {
        None => Err(bad(Problem::Missing)),
        Some(Value::String(s)) => match s.trim().parse::<i64>() {
            Ok(n) => mapping
                .time_unit
                .to_ms(n)
                .map(|ms| (ms, true))
                .map_err(|e| bad(Problem::Time(e))),
            Err(_) => timestamp::parse_rfc3339_ms(s)
                .map(|ms| (ms, false))
                .map_err(|e| bad(Problem::Time(e))),
        },
        Some(Value::Number(n)) => match n.as_i64() {
            Some(n) => mapping
                .time_unit
                .to_ms(n)
                .map(|ms| (ms, true))
                .map_err(|e| bad(Problem::Time(e))),
            None => Err(bad(Problem::ExpectedTime)),
        },
        Some(_) => Err(bad(Problem::ExpectedTime)),
    }
}

fn query_of(record: &Value, p: &JsonPath) -> Result<CompactString, Invalid> {
    match p.first(record) {
        None => Ok(CompactString::default()),
        Some(Value::String(s)) => Ok(CompactString::new(s)),
        Some(Value::Array(terms)) => {
            let words: Option<Vec<&str>> = terms.iter().map(Value::as_str).collect();
            words
                .map(|w| CompactString::new(w.join(" ")))
                .ok_or_else(|| at("query", p, Problem::ExpectedString))
        }
        Some(_) => Err(at("query", p, Problem::ExpectedString)),
    }
}

fn items_of(record: &Value, mapping: &Mapping) -> Result<Option<ItemList>, Invalid> {
    let Some(p) = &mapping.items else {
        return Ok(None);
    };
    let mut found = Vec::new();
    p.resolve(record, &mut found);
    if found.is_empty() {
        // An empty list is a zero-result search; no list, no results event.
        return Ok(p.reaches_list(record).then(ItemList::default));
    }
    // A path to the array itself, or through `*` to each item.
    let values: Vec<&Value> = match found.as_slice() {
        [Value::Array(items)] => items.iter().collect(),
        _ => found,
    };
    let items = values
        .into_iter()
        .map(text_of)
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| at("items", p, Problem::ExpectedStringArray))?;
    Ok(Some(ItemList::from(items)))
}

fn position_of(record: &Value, p: &JsonPath, base: u32) -> Result<Option<u32>, Invalid> {
    let value = match p.first(record) {
        None => return Ok(None),
        Some(Value::Array(a)) => match a.first() {
            None => return Ok(None),
            Some(v) => v,
        },
        Some(v) => v,
    };
    let n = integer_of(value).ok_or_else(|| at("position", p, Problem::ExpectedInteger))?;
    let position = u32::try_from(n)
        .ok()
        .and_then(|n| n.checked_add(1)?.checked_sub(base))
        .filter(|&p| p >= 1)
        .ok_or_else(|| at("position", p, Problem::IntegerOutOfRange))?;
    Ok(Some(position))
}

#[cfg(test)]
mod tests;
