//! Search analytics in the dataflow (`docs/analytics.md`): the searches of
//! closed sessions → query, position and judgment rows.
//!
//! ```text
//! search records ─→ key (window, query) ─→ fold_final: WindowAggs of one query
//!                ─→ key window          ─→ fold_final: the window's WindowAggs
//!                                          (positions summed: COEC's CTR per position)
//!                ─→ key ()              ─→ fold_final: every window's rows, sorted
//!                                       ─→ query / position / judgment writers
//! ```
//!
//! Every stage is a keyed `*_final` fold: its state is snapshotted with
//! the run, and it emits at end of input. The last stage gathers the rows
//! under one key and hands each writer one batch in window order, so the
//! files do not depend on the number of workers or processes. A live
//! input (stdin that does not end) gets its analytics rows at end of input.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use compact_str::CompactString;
use ctr::analytics::aggregate::WindowAggs;
use ctr::analytics::rows::{
    self, JudgmentRow, PositionRow, QueryRow, WindowRows, JUDGMENT_CSV_HEADER, POSITION_CSV_HEADER,
    QUERY_CSV_HEADER,
};
use ctr::analytics::searches::SearchRecord;
use ctr::analytics::window::Window;
use eddy::connectors::Sink;
use eddy::{Key, Stream};
use serde::{Deserialize, Serialize};

use super::sinks::{self, bytes_sink};
use super::stats::Stats;
use crate::args::Format;

/// The analytics part of a run's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analytics {
    /// Window length.
    pub window: Window,
    /// Least impressions of a judgment row.
    pub min_impressions: u64,
    /// Query rows go here.
    pub query_output: Option<PathBuf>,
    /// Position rows go here.
    pub position_output: Option<PathBuf>,
    /// Judgment rows go here.
    pub judgment_output: Option<PathBuf>,
}

/// The key of the first stage: a window and a query.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WindowQuery {
    /// Window start, ms since the Unix epoch.
    pub window_start: i64,
    /// The normalised query.
    pub query: CompactString,
}

impl Key for WindowQuery {
    fn route_hash(&self) -> u64 {
        self.query.route_hash() ^ self.window_start.route_hash().rotate_left(17)
    }
}

/// Every window's rows, in window order (the last stage's state).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AllRows(Vec<WindowRows>);

/// Adds the analytics stages after `records` (the searches of closed
/// sessions) and their writers.
pub fn build<'a>(records: &Stream<'a, SearchRecord>, plan: &Analytics, format: Format, stats: &Arc<Stats>) {
    let window = plan.window;
    let by_query = records
        .key_on("analytics_by_query", move |r: &SearchRecord| WindowQuery {
            window_start: window.start_of(r.time_ms),
            query: r.query.clone(),
        })
        .fold_final(
            "analytics_queries",
            WindowAggs::default,
            |mut acc: WindowAggs, r| {
                acc.add(&r);
                acc
            },
        );
    let by_window = by_query
        .map(
            "analytics_key_window",
            |(key, aggs): (WindowQuery, WindowAggs)| (key.window_start, aggs),
        )
        .fold_final(
            "analytics_windows",
            WindowAggs::default,
            |mut acc: WindowAggs, part| {
                // Each (window, query) comes once: its query and judgment maps
                // move in; positions add up (exact integer counts).
                acc.queries.extend(part.queries);
                acc.judgments.extend(part.judgments);
                for (p, a) in &part.positions {
                    acc.positions.entry(*p).or_default().merge(a);
                }
                acc
            },
        );
    let min_impressions = plan.min_impressions;
    let all = by_window
        .map("analytics_rows", move |(start, aggs): (i64, WindowAggs)| {
            aggs.rows(start, min_impressions)
        })
        .key_on("analytics_gather_key", |_: &WindowRows| 0u8)
        .fold_final("analytics_gather", AllRows::default, |mut all: AllRows, rows| {
            all.0.push(rows);
            all
        })
        .map("analytics_sorted", |(_, mut all): (u8, AllRows)| {
            all.0.sort_by_key(|w| w.window_start);
            all
        });
    if let Some(path) = &plan.query_output {
        let rows = all.map("query_rows", |all: AllRows| {
            all.0
                .into_iter()
                .flat_map(|w| w.queries)
                .collect::<Vec<QueryRow>>()
        });
        let sink = rows_sink(
            path,
            format,
            QUERY_CSV_HEADER,
            rows::write_query_jsonl,
            rows::write_query_csv,
        );
        rows.output("query_output", {
            // The summary's top queries, from the rows as written.
            let stats = stats.clone();
            sinks::Tapped {
                sink,
                tap: Arc::new(move |rows: &[Vec<QueryRow>]| stats.add_query_rows(rows.iter().flatten())),
            }
        });
    }
    if let Some(path) = &plan.position_output {
        let rows = all.map("position_rows", |all: AllRows| {
            all.0
                .into_iter()
                .flat_map(|w| w.positions)
                .collect::<Vec<PositionRow>>()
        });
        let sink = rows_sink(
            path,
            format,
            POSITION_CSV_HEADER,
            rows::write_position_jsonl,
            rows::write_position_csv,
        );
        rows.output("position_output", sink);
    }
    if let Some(path) = &plan.judgment_output {
        let rows = all.map("judgment_rows", |all: AllRows| {
            all.0
                .into_iter()
                .flat_map(|w| w.judgments)
                .collect::<Vec<JudgmentRow>>()
        });
        let sink = rows_sink(
            path,
            format,
            JUDGMENT_CSV_HEADER,
            rows::write_judgment_jsonl,
            rows::write_judgment_csv,
        );
        rows.output("judgment_output", sink);
    }
}

/// A sink of batches of rows (one batch: the whole output, in order), in
/// JSON Lines or CSV (with `header`).
fn rows_sink<R: 'static>(
    path: &Path,
    format: Format,
    header: &'static str,
    jsonl: fn(&R, &mut Vec<u8>),
    csv: fn(&R, &mut Vec<u8>),
) -> Box<dyn Sink<Vec<R>>> {
    let write = if format == Format::Csv { csv } else { jsonl };
    let encode = move |rows: &Vec<R>, out: &mut Vec<u8>| rows.iter().for_each(|r| write(r, out));
    match format {
        Format::Csv => bytes_sink(path, Some(header), encode),
        // `text` is refused before the run.
        Format::Jsonl | Format::Text => bytes_sink(path, None, encode),
    }
}
