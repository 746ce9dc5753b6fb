//! OpenSearch User Behavior Insights (UBI 1.x) records → [`Event`]s, so
//! that UBI logs feed the same sessions and analytics as the search-log
//! format (`docs/analytics.md`, "UBI input").
//!
//! A line is one record of either UBI index, as JSON:
//!
//! - a **query** record (`ubi_queries`: it has no `action_name`) becomes a
//!   `search` (its `user_query`) and, when it has
//!   `query_response_hit_ids`, a `results` event with those ids, at the
//!   same time, in that order;
//! - an **event** record (`ubi_events`: it has an `action_name`) whose
//!   action is one of [`UbiConfig::click_actions`] (default `click`)
//!   becomes a `click_result` on `event_attributes.object.object_id`, with
//!   `event_attributes.position.ordinal`, when given, as its reported
//!   position (it wins over the hit list); any other action is
//!   [`UbiParsed::Other`], counted and skipped like an unknown type.
//!
//! `client_id` is the user; `timestamp` is an RFC 3339 string or integer
//! milliseconds. `query_id` must be present, but clicks are attributed by
//! session order, like every click (to the client's latest search before
//! them), not by `query_id`. Other fields are ignored.

use compact_str::CompactString;
use serde_json::{Map, Value};

use crate::event::{Detail, Event, EventKind, UserKey};
use crate::parse::{json_object_line, type_name, Invalid, Problem, TypeName};
use crate::timestamp::{self, TimeUnit};

/// How UBI records are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UbiConfig {
    /// `action_name`s that are clicks on a result (default: `click`).
    pub click_actions: Vec<String>,
    /// The `position.ordinal` of the first result: 1 (the schema's "nth
    /// position", the default) or 0 for clients that count from 0.
    pub ordinal_base: u32,
}

impl Default for UbiConfig {
    fn default() -> Self {
        UbiConfig {
            click_actions: vec!["click".to_owned()],
            ordinal_base: 1,
        }
    }
}

/// What one UBI line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UbiParsed {
    /// A query record: its `search`, and its `results` when it lists hits.
    Query {
        /// The search (`user_query`).
        search: Event,
        /// The hits shown (`query_response_hit_ids`), if given.
        results: Option<Event>,
    },
    /// A click (an event record whose action is a click action).
    Click(Event),
    /// An event record of another action: skipped, counted by name.
    Other {
        /// The `action_name` (its first [`crate::parse::TYPE_NAME_MAX`] bytes).
        action: TypeName,
    },
    /// Nothing but whitespace.
    Blank,
}

impl UbiParsed {
    /// The events of the line, in order.
    pub fn into_events(self) -> Vec<Event> {
        match self {
            UbiParsed::Query { search, results } => std::iter::once(search).chain(results).collect(),
            UbiParsed::Click(e) => vec![e],
            UbiParsed::Other { .. } | UbiParsed::Blank => Vec::new(),
        }
    }
}

fn invalid(field: &'static str, problem: Problem) -> Invalid {
    Invalid {
        field: Some(field),
        problem,
    }
}

/// Parses one UBI record (a line without its `\n`; a trailing `\r` and a
/// leading BOM are removed).
///
/// ```
/// use ctr::ubi::{parse_ubi_line, UbiConfig, UbiParsed};
/// let line = br#"{"query_id":"q1","client_id":"c1","user_query":"Dogs","query_response_hit_ids":["a","b"],"timestamp":"2024-01-01T00:00:05Z"}"#;
/// let Ok(UbiParsed::Query { search, results }) = parse_ubi_line(line, &UbiConfig::default()) else { panic!() };
/// assert_eq!((search.user.as_str(), search.time_ms), ("c1", 1_704_067_205_000));
/// assert!(results.is_some());
/// ```
pub fn parse_ubi_line(line: &[u8], cfg: &UbiConfig) -> Result<UbiParsed, Invalid> {
    let Some(obj) = json_object_line(line)? else {
        return Ok(UbiParsed::Blank);
    };
    let action = match obj.get("action_name") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(invalid("action_name", Problem::ExpectedString)),
    };
    if let Some(action) = action {
        if !cfg.click_actions.iter().any(|a| a == action) {
            return Ok(UbiParsed::Other {
                action: type_name(action),
            });
        }
    }
    require_present(&obj, "query_id")?;
    let user = id_field(&obj, "client_id", "client_id")?;
    let (time_ms, integer_time) = time_field(&obj)?;
    let event = |kind, detail| Event {
        user: user.clone(),
        time_ms,
        kind,
        integer_time,
        detail: Some(Box::new(detail)),
    };
    if action.is_some() {
        let attrs = obj.get("event_attributes");
        let object = attrs.and_then(|a| a.get("object"));
        let item = match object.and_then(|o| o.get("object_id")) {
            Some(v) => id_value(v, "event_attributes.object.object_id")?,
            None => return Err(invalid("event_attributes.object.object_id", Problem::Missing)),
        };
        let position = match attrs
            .and_then(|a| a.get("position"))
            .and_then(|p| p.get("ordinal"))
        {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.is_u64() => n
                .as_u64()
                .and_then(|o| u32::try_from(o).ok())
                .and_then(|o| o.checked_add(1)?.checked_sub(cfg.ordinal_base))
                .filter(|&p| p >= 1),
            Some(Value::Number(n)) if n.is_i64() => {
                return Err(invalid(
                    "event_attributes.position.ordinal",
                    Problem::IntegerOutOfRange,
                ))
            }
            Some(_) => {
                return Err(invalid(
                    "event_attributes.position.ordinal",
                    Problem::ExpectedInteger,
                ))
            }
        };
        return Ok(UbiParsed::Click(event(
            EventKind::ClickResult,
            Detail::Click { item, position },
        )));
    }
    let query = match obj.get("user_query") {
        Some(Value::String(s)) => CompactString::new(s),
        Some(_) => return Err(invalid("user_query", Problem::ExpectedString)),
        None => return Err(invalid("user_query", Problem::Missing)),
    };
    let results = match obj.get("query_response_hit_ids") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ids)) => {
            let items = ids
                .iter()
                .map(|v| id_value(v, "query_response_hit_ids"))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| invalid("query_response_hit_ids", Problem::ExpectedStringArray))?;
            Some(event(
                EventKind::Results,
                Detail::Items(crate::items::ItemList::from(items)),
            ))
        }
        Some(_) => return Err(invalid("query_response_hit_ids", Problem::ExpectedStringArray)),
    };
    Ok(UbiParsed::Query {
        search: event(EventKind::Search, Detail::Query(query)),
        results,
    })
}

fn require_present(obj: &Map<String, Value>, name: &'static str) -> Result<(), Invalid> {
    match obj.get(name) {
        None | Some(Value::Null) => Err(invalid(name, Problem::Missing)),
        Some(_) => Ok(()),
    }
}

/// A string, or an integer as its decimal text.
fn id_value(v: &Value, name: &'static str) -> Result<CompactString, Invalid> {
    match v {
        Value::String(s) => Ok(CompactString::new(s)),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(CompactString::new(n.to_string())),
        _ => Err(invalid(name, Problem::ExpectedStringOrInteger)),
    }
}

fn id_field(obj: &Map<String, Value>, key: &str, name: &'static str) -> Result<UserKey, Invalid> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(invalid(name, Problem::Missing)),
        Some(v) => id_value(v, name),
    }
}

fn time_field(obj: &Map<String, Value>) -> Result<(i64, bool), Invalid> {
    let bad = |p| invalid("timestamp", p);
    match obj.get("timestamp") {
        None | Some(Value::Null) => Err(bad(Problem::Missing)),
        Some(Value::String(s)) => timestamp::parse_rfc3339_ms(s)
            .map(|ms| (ms, false))
            .map_err(|e| bad(Problem::Time(e))),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(ms) => TimeUnit::Millis
                .to_ms(ms)
                .map(|ms| (ms, true))
                .map_err(|e| bad(Problem::Time(e))),
            None => Err(bad(Problem::ExpectedTime)),
        },
        Some(_) => Err(bad(Problem::ExpectedTime)),
    }
}
