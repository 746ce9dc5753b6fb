//! Search analytics beyond the session row (`docs/analytics.md`): per
//! search, per query, per result position and per (query, item), in
//! windows of event time. Pure: the dataflow feeds sessions' events in and
//! takes rows out.
//!
//! - [`query`]: the normalised query.
//! - [`window`]: window arithmetic (`--analytics-window`).
//! - [`searches`]: a session's events → [`searches::SearchRecord`]s, with
//!   the per-session accumulator [`searches::SessionSearches`].
//! - [`aggregate`]: mergeable per-window accumulators and the rows they
//!   give (COEC included).
//! - [`hash`]: the fast hasher of the per-query maps.
//! - [`rows`]: the row types and their JSON Lines / CSV forms.
//! - [`topk`]: the summary's top lists.
//! - [`reference`]: a plain, independent whole-log implementation, the
//!   oracle tests compare against.

pub mod aggregate;
pub mod click_models;
pub mod query;
pub mod reference;
pub mod rows;
pub mod searches;
pub mod topk;
pub mod window;
