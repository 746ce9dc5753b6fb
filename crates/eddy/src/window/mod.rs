//! Event-time windowing, built on the open stateful operator
//! ([`crate::Stream::stateful`]) like any user operator.
//!
//! A window step combines a [`clock`] (what time a value has, and the
//! watermark), a [`windower`] (which windows a time falls in, when they
//! close) and a fold. Semantics are Bytewax's (`windowing.py`), with the
//! watermark made deterministic: per key, `max(time seen) − wait`, never the
//! wall clock for event clocks.
//!
//! - [`clock`]: [`EventClock`], [`SystemClock`].
//! - [`session`], [`sliding`], [`tumbling`]: the windowers.
//! - [`operator`]: `fold_window`, `fold_window_extent`, `collect_window`,
//!   `reduce_window`, `count_window`, returning a [`WindowOut`]; `join.rs`:
//!   `join_window`, `max_window`, `min_window` (and their `_by` forms).
//!
//! Times are milliseconds since the Unix epoch (`i64`).

pub mod clock;
mod join;
pub mod keyed;
pub mod operator;
pub mod session;
pub mod sliding;
mod slots;
pub mod time;
pub mod tumbling;
pub mod windower;

use serde::{Deserialize, Serialize};

pub use clock::{Clock, ClockLogic, EventClock, SystemClock};
pub use keyed::Keyed;
pub use operator::{fold_window_key_bytes, FoldOrder, WindowOut};
pub use session::SessionWindower;
pub use sliding::SlidingWindower;
pub use time::EventTime;
pub use tumbling::TumblingWindower;
pub use windower::{Windower, WindowerLogic};

/// The id a late value of a session windower is reported under.
pub const LATE_SESSION_ID: i64 = -1;

/// A window's extent, as the `meta` stream reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowMetadata {
    /// Start: inclusive. For sessions, the earliest value's time.
    pub open_time: i64,
    /// End: exclusive for tumbling and sliding windows; for sessions the
    /// latest value's time (inclusive).
    pub close_time: i64,
    /// Ids of the windows merged into this one (sessions only).
    pub merged_ids: Vec<i64>,
}

impl WindowMetadata {
    /// A window `[open, close)` with nothing merged into it.
    pub fn new(open_time: i64, close_time: i64) -> Self {
        WindowMetadata {
            open_time,
            close_time,
            merged_ids: Vec::new(),
        }
    }
}

pub(crate) use crate::base::millis;
