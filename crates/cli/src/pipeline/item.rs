//! What the input step yields for each line: an event with its original
//! bytes, or the reason it is not one.

use bytes::Bytes;
use ctr::event::Event;
use ctr::parse::{parse_line_with, Invalid, Parsed, TypeName};
use ctr::timestamp::TimeUnit;
use eddy::connectors::files::LineRef;
use serde::{Deserialize, Serialize};

use super::stats::Tally;

/// One input line, decoded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Item {
    /// A valid event of a known kind.
    Event(LogEvent),
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

impl Item {
    /// Decodes one line, reading integer times in `unit`.
    pub fn decode(line: &LineRef<'_>, unit: TimeUnit) -> Item {
        let parsed = if line.too_long() {
            // A too-long line's kept head is exactly the limit.
            Err(Invalid::line_too_long(line.line_len(), line.bytes().len() as u64))
        } else {
            parse_line_with(line.bytes(), unit)
        };
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
            _ => None,
        }
    }

    /// Bytes of input this item stands for (its line and newline).
    pub fn bytes(&self) -> u64 {
        let line = match self {
            Item::Event(e) => e.raw.len() as u64,
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
            Item::Other { type_name, .. } => tally.other(type_name),
            Item::Invalid(_) => tally.add(Tally::INVALID, 1),
            Item::Blank { .. } => {}
        }
    }
}

fn len(line: &LineRef<'_>) -> u32 {
    u32::try_from(line.bytes().len()).unwrap_or(u32::MAX)
}
