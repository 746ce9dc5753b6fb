//! The timely-free core every other module stands on: what a stream may
//! carry ([`Data`]), records and their canonical place ([`record`]), keys
//! and their routing ([`routing`]), the times of a wake-up ([`Wake`]) and
//! of the store's records, and the stop/abort signal of a run ([`signal`]).
//! Errors are [`crate::error`]'s. Nothing here imports timely, the
//! recovery store, the engine or the API.

pub mod record;
pub mod routing;
pub(crate) mod signal;
pub(crate) mod steps;

use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// What a stream may carry: cloneable, sendable between threads and
/// serializable between processes.
pub trait Data: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> Data for T {}

/// When a stateful logic wants to be woken (`StatefulLogic::notify_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Once the step's input has passed this event time (ms since the Unix
    /// epoch): every record with a time up to it has been taken, from every
    /// input partition. Deterministic: the wake-up takes its place in the
    /// canonical order, after the key's records up to that time and before
    /// those after it, for any worker count. Times are compared with the
    /// progress marks of the input (`Flow::input_timed`'s event times; for an
    /// untimed `Flow::input` the marks are item indices, not times).
    At(i64),
    /// Once the wall clock has reached this instant (live inputs, e.g. an
    /// idle timeout). Not deterministic: what it emits has no canonical
    /// place (it is released at once) and it is not part of snapshots (ask
    /// for it again from the restored logic).
    WallClock(Instant),
}

/// Milliseconds since the Unix epoch, for the store's records.
#[allow(clippy::disallowed_methods)] // when a snapshot was taken: a label, never a decision
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Converts a duration to whole milliseconds, saturating.
pub(crate) fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
