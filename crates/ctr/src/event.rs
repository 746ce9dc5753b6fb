//! A search-log event after parsing: who, when, what kind.
//!
//! Only what sessionizing and metrics need is kept; the original line travels
//! beside it (see the pipeline) when late events are to be written back byte
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
    /// What the event says beyond its kind (query, result list, clicked
    /// item), kept only by the parses that ask for it
    /// ([`crate::parse::parse_line_detailed`], [`crate::ubi`]); `None`
    /// otherwise. Boxed: every event of a run moves through the dataflow
    /// several times, and inline it made `Event` 72 bytes instead of 48 —
    /// 8 % slower for two workers of a sessions-only run (BENCHMARKS.md,
    /// "Analytics cost"), a cost every run paid for an allocation that only
    /// analytics runs make.
    pub detail: Option<Box<Detail>>,
}

/// The kind-specific values of a `search`, `results` or `click_result`
/// event (search analytics, `docs/analytics.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Detail {
    /// A `search`'s `query`, as given (not yet normalised).
    Query(CompactString),
    /// A `results` event's `items`, in order (may be empty).
    Items(crate::items::ItemList),
    /// A `click_result`'s `item`, and the 1-based position the client
    /// reported it at, if it did (UBI's `position.ordinal`); a reported
    /// position wins over the item's place in the result list.
    Click {
        /// The clicked item.
        item: CompactString,
        /// The position the client reported, 1-based.
        position: Option<u32>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_stays_small_its_detail_boxed() {
        // Every event of a run moves through the dataflow several times: a
        // sessions-only run must not pay for the analytics' detail.
        assert_eq!(std::mem::size_of::<Option<Box<Detail>>>(), 8);
        assert!(
            std::mem::size_of::<Event>() <= 48,
            "{}",
            std::mem::size_of::<Event>()
        );
    }
}
