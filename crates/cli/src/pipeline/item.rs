//! What the input step yields for each line: an event with its original
//! bytes, or the reason it is not one.

use bytes::Bytes;
use ctr::event::Event;
use ctr::mapping::{parse_mapped, MappedParsed, Mapping};
use ctr::parse::{parse_line_detailed, parse_line_with, Invalid, Parsed, TypeName};
use ctr::timestamp::TimeUnit;
use ctr::ubi::{parse_ubi_line, UbiConfig, UbiParsed};
use eddy::connectors::files::LineRef;
use serde::{Deserialize, Serialize};

use super::stats::Tally;

/// One input line, decoded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Item {
    /// A valid event of a known kind.
    Event(LogEvent),
    /// Two events of one line (a UBI query record with its hit list: its
    /// `search`, then its `results`; the second keeps no line bytes, so a
    /// late line is written once).
    Events(Box<(LogEvent, LogEvent)>),
    /// A valid object of an unknown type: counted as "other" by type name,
    /// and dropped.
    Other {
        /// Length of the line in bytes.
        len: u32,
        /// Its `type` (at most 64 bytes; inline up to 24, no allocation).
        type_name: TypeName,
    },
    /// A blank line: ignored.
    Blank {
        /// Length of the line in bytes.
        len: u32,
    },
    /// An invalid line (boxed: rare, and it keeps `Item` small).
    Invalid(Box<BadLine>),
}

/// A valid event and the line it came from (written back byte for byte if
/// the event is late).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogEvent {
    /// The parsed event.
    pub event: Event,
    /// The original line, without its `\n`.
    pub raw: Bytes,
}

/// An invalid line, where it was, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BadLine {
    /// The file (`-` for stdin).
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// What was wrong.
    pub reason: String,
    /// The line (its first `--max-line-bytes` bytes if too long).
    pub raw: Bytes,
}

/// How lines are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoder {
    /// The search-log format, without the values only analytics needs.
    Plain(TimeUnit),
    /// The search-log format, keeping queries, lists and items
    /// ([`parse_line_detailed`]).
    Detailed(TimeUnit),
    /// UBI records ([`ctr::ubi`]).
    Ubi(UbiConfig),
    /// Records of another schema, through a mapping ([`ctr::mapping`]);
    /// `detailed`: keep queries, lists and items (analytics).
    Mapped {
        /// The mapping.
        mapping: std::sync::Arc<Mapping>,
        /// Keep the values only analytics needs.
        detailed: bool,
    },
}

impl Item {
    /// Decodes one line as `decoder` says.
    pub fn decode_with(line: &LineRef<'_>, decoder: &Decoder) -> Item {
        if line.too_long() {
            let why = Invalid::line_too_long(line.line_len(), line.bytes().len() as u64);
            return Self::of_parsed(line, Err(why));
        }
        match decoder {
            Decoder::Plain(unit) => Self::of_parsed(line, parse_line_with(line.bytes(), *unit)),
            Decoder::Detailed(unit) => Self::of_parsed(line, parse_line_detailed(line.bytes(), *unit)),
            Decoder::Mapped { mapping, detailed } => match parse_mapped(line.bytes(), mapping, *detailed) {
                Ok(MappedParsed::Events(first, second)) => Self::of_events(line, first, second),
                Ok(MappedParsed::Other { type_name }) => {
                    Self::of_parsed(line, Ok(Parsed::Other { type_name }))
                }
                Ok(MappedParsed::Blank) => Self::of_parsed(line, Ok(Parsed::Blank)),
                Err(why) => Self::of_parsed(line, Err(why)),
            },
            Decoder::Ubi(cfg) => match parse_ubi_line(line.bytes(), cfg) {
                Ok(UbiParsed::Query { search, results }) => Self::of_events(line, search, results),
                Ok(UbiParsed::Click(event)) => Self::of_parsed(line, Ok(Parsed::Event(event))),
                Ok(UbiParsed::Other { action }) => {
                    Self::of_parsed(line, Ok(Parsed::Other { type_name: action }))
                }
                Ok(UbiParsed::Blank) => Self::of_parsed(line, Ok(Parsed::Blank)),
                Err(why) => Self::of_parsed(line, Err(why)),
            },
        }
    }

    /// A record that made one event, or two (a search and its results:
    /// the line's bytes go with the first).
    fn of_events(line: &LineRef<'_>, first: Event, second: Option<Event>) -> Item {
        match second {
            Some(second) => Item::Events(Box::new((
                LogEvent {
                    event: first,
                    raw: line.bytes().clone(),
                },
                LogEvent {
                    event: second,
                    raw: Bytes::new(),
                },
            ))),
            None => Self::of_parsed(line, Ok(Parsed::Event(first))),
        }
    }

    fn of_parsed(line: &LineRef<'_>, parsed: Result<Parsed, Invalid>) -> Item {
        match parsed {
            Ok(Parsed::Event(event)) => Item::Event(LogEvent {
                event,
                raw: line.bytes().clone(),
            }),
            Ok(Parsed::Other { type_name }) => Item::Other {
                len: len(line),
                type_name,
            },
            Ok(Parsed::Blank) => Item::Blank { len: len(line) },
            Err(invalid) => Item::Invalid(Box::new(BadLine {
                file: line.path().display().to_string(),
                line: line.line_number(),
                reason: invalid.to_string(),
                raw: line.bytes().clone(),
            })),
        }
    }

    /// The event time, for the input's progress marks.
    pub fn time(&self) -> Option<i64> {
        match self {
            Item::Event(e) => Some(e.event.time_ms),
            Item::Events(two) => Some(two.0.event.time_ms),
            _ => None,
        }
    }

    /// Bytes of input this item stands for (its line and newline).
    pub fn bytes(&self) -> u64 {
        let line = match self {
            Item::Event(e) => e.raw.len() as u64,
            Item::Events(two) => two.0.raw.len() as u64,
            Item::Other { len, .. } | Item::Blank { len } => u64::from(*len),
            Item::Invalid(bad) => bad.raw.len() as u64,
        };
        line + 1
    }

    /// Counts this item in a worker's local tally.
    pub fn count(&self, tally: &mut Tally) {
        tally.add(Tally::BYTES, self.bytes());
        match self {
            Item::Event(e) => tally.event(&e.event),
            Item::Events(two) => {
                tally.event(&two.0.event);
                tally.event(&two.1.event);
            }
            Item::Other { type_name, .. } => tally.other(type_name),
            Item::Invalid(_) => tally.add(Tally::INVALID, 1),
            Item::Blank { .. } => {}
        }
    }
}

fn len(line: &LineRef<'_>) -> u32 {
    u32::try_from(line.bytes().len()).unwrap_or(u32::MAX)
}
