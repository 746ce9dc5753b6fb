//! What the input step yields for each line: an event with its original
//! bytes, or the reason it is not one.

use std::sync::Arc;

use bytes::Bytes;
use ctr::event::Event;
use ctr::parse::{parse_line, Invalid, Parsed};
use eddy::connectors::files::LineRef;
use serde::{Deserialize, Serialize};

use super::stats::Stats;

/// One input line, decoded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Item {
    /// A valid event of a known kind.
    Event(LogEvent),
    /// A valid object of an unknown type, or a blank line: already counted,
    /// and dropped.
    Skipped,
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
    /// Decodes one line, counting it in `stats`.
    pub fn decode(line: &LineRef<'_>, stats: &Stats) -> Item {
        let parsed = if line.too_long() {
            Err(Invalid::line_too_long())
        } else {
            parse_line(line.bytes())
        };
        match parsed {
            Ok(Parsed::Event(event)) => {
                stats.events.inc();
                Item::Event(LogEvent {
                    event,
                    raw: line.bytes().clone(),
                })
            }
            Ok(Parsed::Other) => {
                stats.other.inc();
                Item::Skipped
            }
            Ok(Parsed::Blank) => Item::Skipped,
            Err(invalid) => {
                stats.invalid.inc();
                Item::Invalid(Box::new(BadLine {
                    file: line.path().display().to_string(),
                    line: line.line_number(),
                    reason: invalid.to_string(),
                    raw: line.bytes().clone(),
                }))
            }
        }
    }

    /// The event time, for the input's progress marks.
    pub fn time(&self) -> Option<i64> {
        match self {
            Item::Event(e) => Some(e.event.time_ms),
            _ => None,
        }
    }
}

/// The decoder handed to the file source.
pub fn decoder(stats: Arc<Stats>) -> impl Fn(&LineRef<'_>) -> Item + Send + Sync + 'static {
    move |line| Item::decode(line, &stats)
}
