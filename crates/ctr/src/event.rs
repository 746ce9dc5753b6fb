//! A search-log event after parsing: who, when, what kind.
//!
//! Only what sessionizing and metrics need is kept; the original line travels
//! beside it (see the pipeline) so that late events can be written back byte
//! for byte.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// The user key: `1` and `"1"` are the same user, so it is always the string
/// form. Short keys (≤ 24 bytes) are stored inline, without allocation.
pub type UserKey = CompactString;

/// The kinds of event the contract knows (`docs/input-format.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    /// `app_open` / `AppOpen`.
    AppOpen,
    /// `search` / `Search`.
    Search,
    /// `results` / `Results`.
    Results,
    /// `click_result` / `ClickResult`.
    ClickResult,
    /// `app_close` / `AppClose`.
    AppClose,
    /// `timeout` / `Timeout`.
    Timeout,
}

/// One valid event of a known kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The grouping key, as a string.
    pub user: UserKey,
    /// Event time, milliseconds since the Unix epoch (UTC).
    pub time_ms: i64,
    /// What happened.
    pub kind: EventKind,
    /// The `time` was an integer (read in the parse's unit), not an RFC 3339
    /// string: lets a reader notice seconds given where milliseconds are
    /// expected. Not part of the serialized form.
    #[serde(skip)]
    pub integer_time: bool,
}
