//! The search-CTR domain, pure and engine-free: what a search-log event is,
//! how a line of JSON becomes one, what a session's metrics are, and how a
//! row is written. Nothing here reads the clock or knows about workers.
//!
//! - [`event`]: the parsed event and its kinds.
//! - [`parse`]: one JSON line → [`parse::Parsed`] (event, other, or invalid with a reason).
//! - [`timestamp`]: RFC 3339 / integer-millisecond times in, RFC 3339 UTC out.
//! - [`metrics`]: the per-session accumulator (incremental, mergeable) and its [`metrics::Row`].
//! - [`mod@format`]: rows as text (the tutorial's style), JSON Lines and CSV.
//! - [`generate`]: deterministic synthetic search logs.
//! - [`items`]: a search's result list in one compact buffer ([`items::ItemList`]).
//! - [`ubi`]: OpenSearch UBI query and event records as events.
//! - [`analytics`]: search analytics per query, position and (query, item) (`docs/analytics.md`).

pub mod analytics;
pub mod event;
pub mod format;
pub mod generate;
pub mod items;
pub mod mapping;
pub mod metrics;
pub mod parse;
pub mod row_format;
pub mod timestamp;
pub mod ubi;
