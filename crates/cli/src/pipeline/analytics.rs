//! Search analytics in the dataflow (`docs/analytics.md`): the searches of
//! closed sessions → query, position and judgment rows.
//!
//! ```text
//! each closed session's searches (one record per session and window)
//!   ─→ key window ─→ stateful: the window's QueryWindowAcc per query
//!                     ├─ closes (live input: frontier past end + delay;
//!                     │  bounded input: end of input) ─→ the window's rows
//!                     └─ a search for a closed window ─→ late (tagged line)
//!   ─→ key ()     ─→ stateful: rows of the windows closed together, in window order
//!                 ─→ query / position / judgment writers
//! ```
//!
//! Both stages are `stateful` steps: their state is snapshotted with the
//! run. A session's searches travel as one record (split only when they
//! fall in several windows), so the exchange carries a record per session,
//! not per search. A window's searches are counted on the worker that owns
//! the window (parsing and sessions, the bulk of the work, stay spread).
//! The last stage hands each writer one batch per closing, in window
//! order, so the files do not depend on the number of workers or
//! processes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use compact_str::CompactString;
use ctr::analytics::aggregate::{QueryWindowAcc, WindowAggs};
use ctr::analytics::click_models::Model;
use ctr::analytics::rows::{JudgmentRow, PositionRow, QueryRow, WindowRows};
use ctr::analytics::searches::SearchRecord;
use ctr::analytics::window::Window;
use ctr::row_format::RowFormat;
use eddy::connectors::Sink;
use eddy::dataflow::stateful::{IsComplete, StatefulLogic, Wake};
use eddy::Stream;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::sinks::{self, bytes_sink};
use super::stats::Stats;
use crate::args::Format;
use crate::plan::Analytics;

/// How a window's logic closes it (shared by every window of a step).
#[derive(Debug, Clone, Copy)]
struct Closing {
    window: Window,
    min_impressions: u64,
    /// The judgment model (`None`: COEC alone).
    model: Option<Model>,
    /// The delay after the window's end, ms (live input only).
    after_ms: Option<i64>,
}

/// A window's state: its searches per query until it closes, then a mark
/// that it has (one small value per window, so that a late search is
/// recognised).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum WindowState {
    /// No search yet.
    Empty,
    /// Counting: the window's start and its accumulators per query.
    Open(i64, FxHashMap<CompactString, QueryWindowAcc>),
    /// Its rows have been written.
    Closed,
}

/// What the window step emits.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum WindowOut {
    /// The rows of a window that closed.
    Rows(WindowRows),
    /// Searches that came for a window already closed.
    Late(Vec<SearchRecord>),
}

/// One window's [`StatefulLogic`].
struct WindowLogic {
    closing: Closing,
    state: WindowState,
}

impl WindowLogic {
    fn rows(&mut self) -> Option<WindowOut> {
        match std::mem::replace(&mut self.state, WindowState::Closed) {
            WindowState::Open(start, queries) => {
                let aggs: WindowAggs = queries.into_iter().collect();
                Some(WindowOut::Rows(aggs.rows_with(
                    start,
                    self.closing.min_impressions,
                    self.closing.model,
                )))
            }
            WindowState::Empty | WindowState::Closed => None,
        }
    }
}

impl StatefulLogic<Vec<SearchRecord>> for WindowLogic {
    type Out = WindowOut;
    type State = WindowState;

    fn on_item(&mut self, records: Vec<SearchRecord>) -> (impl IntoIterator<Item = WindowOut>, IsComplete) {
        if matches!(self.state, WindowState::Empty) {
            let Some(first) = records.first() else {
                return (None, IsComplete::Retain);
            };
            let start = self.closing.window.start_of(first.time_ms);
            self.state = WindowState::Open(start, FxHashMap::default());
        }
        let out = match &mut self.state {
            WindowState::Empty => None,
            WindowState::Open(_, queries) => {
                let model = self.closing.model.is_some();
                for r in records {
                    let acc = match queries.get_mut(&r.query) {
                        Some(acc) => acc,
                        None => queries.entry(r.query.clone()).or_default(),
                    };
                    if model {
                        acc.add_seen(&r);
                    }
                    acc.add(r);
                }
                None
            }
            WindowState::Closed => Some(WindowOut::Late(records)),
        };
        (out, IsComplete::Retain)
    }

    fn on_notify(&mut self) -> (impl IntoIterator<Item = WindowOut>, IsComplete) {
        (self.rows(), IsComplete::Retain)
    }

    fn on_eof(&mut self) -> (impl IntoIterator<Item = WindowOut>, IsComplete) {
        (self.rows(), IsComplete::Retain)
    }

    fn notify_at(&self) -> Option<Wake> {
        match (&self.state, self.closing.after_ms) {
            (WindowState::Open(start, _), Some(after)) => {
                Some(Wake::At(self.closing.window.end_of(*start).saturating_add(after)))
            }
            _ => None,
        }
    }

    fn snapshot(&self) -> WindowState {
        self.state.clone()
    }
}

/// The rows of the windows closed at one moment, in window order (the
/// gathering step's state).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AllRows(Vec<WindowRows>);

/// The gathering step's [`StatefulLogic`]: holds closed windows' rows and
/// hands them on in window order, right after the moment they closed at
/// (live input) or at end of input.
struct GatherLogic {
    live: bool,
    pending: BTreeMap<i64, WindowRows>,
}

impl GatherLogic {
    fn take(&mut self) -> Option<AllRows> {
        let rows = std::mem::take(&mut self.pending);
        (!rows.is_empty()).then(|| AllRows(rows.into_values().collect()))
    }
}

impl StatefulLogic<WindowRows> for GatherLogic {
    type Out = AllRows;
    type State = Vec<WindowRows>;

    fn on_item(&mut self, rows: WindowRows) -> (impl IntoIterator<Item = AllRows>, IsComplete) {
        self.pending.insert(rows.window_start, rows);
        (None, IsComplete::Retain)
    }

    fn on_notify(&mut self) -> (impl IntoIterator<Item = AllRows>, IsComplete) {
        (self.take(), IsComplete::Retain)
    }

    fn on_eof(&mut self) -> (impl IntoIterator<Item = AllRows>, IsComplete) {
        (self.take(), IsComplete::Retain)
    }

    /// A time already passed: right after the records of this moment.
    fn notify_at(&self) -> Option<Wake> {
        (self.live && !self.pending.is_empty()).then_some(Wake::At(i64::MIN))
    }

    fn snapshot(&self) -> Vec<WindowRows> {
        self.pending.values().cloned().collect()
    }
}

/// A closed session's searches, by window (one group nearly always: then
/// without allocating a vector of groups).
fn by_window(window: Window, records: Vec<SearchRecord>) -> impl Iterator<Item = (i64, Vec<SearchRecord>)> {
    let first = records.first().map(|r| window.start_of(r.time_ms));
    let (one, many) = if records.iter().all(|r| Some(window.start_of(r.time_ms)) == first) {
        (first.map(|start| (start, records)), Vec::new())
    } else {
        let mut groups: BTreeMap<i64, Vec<SearchRecord>> = BTreeMap::new();
        for r in records {
            groups.entry(window.start_of(r.time_ms)).or_default().push(r);
        }
        (None, groups.into_iter().collect())
    };
    one.into_iter().chain(many)
}

/// A late search as a tagged line of the late output (its `\n` included).
fn late_line(r: &SearchRecord, window: Window) -> Bytes {
    let mut out = Vec::with_capacity(128);
    ctr::analytics::rows::write_late_search_jsonl(r, window, &mut out);
    out.pop(); // the late sink ends each line
    Bytes::from(out)
}

/// Adds the analytics stages after `sessions` (each closed session's
/// searches) and their writers (`live_outputs`: each batch written through,
/// see `sinks::bytes_sink`). Returns the late searches as tagged lines for
/// the late output (live input only; never any for a bounded one).
pub fn build<'a>(
    sessions: &Stream<'a, Vec<SearchRecord>>,
    plan: &Analytics,
    format: Format,
    live_outputs: bool,
    stats: &Arc<Stats>,
) -> Stream<'a, Bytes> {
    let window = plan.window;
    let closing = Closing {
        window,
        min_impressions: plan.min_impressions,
        model: plan.model,
        after_ms: plan
            .close_after
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
    };
    let windows = sessions
        .flat_map("analytics_by_window", move |records: Vec<SearchRecord>| {
            by_window(window, records)
        })
        .stateful("analytics_windows", move |saved: Option<WindowState>| {
            WindowLogic {
                closing,
                state: saved.unwrap_or(WindowState::Empty),
            }
        });
    let split = windows.branch("analytics_closed", |(_, out)| matches!(out, WindowOut::Rows(_)));
    let late_stats = stats.clone();
    let late = split
        .falses
        .flat_map("analytics_late", move |(_, out): (i64, WindowOut)| {
            let records = match out {
                WindowOut::Late(records) => records,
                WindowOut::Rows(_) => Vec::new(),
            };
            late_stats.late_searches.add(records.len() as u64);
            records.iter().map(|r| late_line(r, window)).collect::<Vec<_>>()
        });
    let live = closing.after_ms.is_some();
    let all = split
        .trues
        .filter_map("analytics_rows", |(_, out): (i64, WindowOut)| match out {
            WindowOut::Rows(rows) => Some(rows),
            WindowOut::Late(_) => None,
        })
        .key_on("analytics_gather_key", |_: &WindowRows| 0u8)
        .stateful("analytics_gather", move |saved: Option<Vec<WindowRows>>| {
            GatherLogic {
                live,
                pending: saved
                    .unwrap_or_default()
                    .into_iter()
                    .map(|w| (w.window_start, w))
                    .collect(),
            }
        })
        .map("analytics_sorted", |(_, all): (u8, AllRows)| all);
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
            live_outputs,
            QueryRow::CSV_HEADER,
            QueryRow::write_jsonl,
            QueryRow::write_csv,
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
            live_outputs,
            PositionRow::CSV_HEADER,
            PositionRow::write_jsonl,
            PositionRow::write_csv,
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
            live_outputs,
            JudgmentRow::CSV_HEADER,
            JudgmentRow::write_jsonl,
            JudgmentRow::write_csv,
        );
        rows.output("judgment_output", sink);
    }
    late
}

/// A sink of batches of rows (one batch: the whole output, in order), in
/// JSON Lines or CSV (with `header`).
fn rows_sink<R: 'static>(
    path: &Path,
    format: Format,
    live: bool,
    header: &'static str,
    jsonl: fn(&R, &mut Vec<u8>),
    csv: fn(&R, &mut Vec<u8>),
) -> Box<dyn Sink<Vec<R>>> {
    let write = if format == Format::Csv { csv } else { jsonl };
    let encode = move |rows: &Vec<R>, out: &mut Vec<u8>| rows.iter().for_each(|r| write(r, out));
    match format {
        Format::Csv => bytes_sink(path, Some(header), live, encode),
        // `text` is refused before the run.
        Format::Jsonl | Format::Text => bytes_sink(path, None, live, encode),
    }
}
