//! The `search-ctr run` dataflow, step by step:
//!
//! ```text
//! read (files → Item, event-time marks)
//!  ├─ invalid ─→ fail the run | dead letters | dropped (counted)
//!  └─ events ─→ key by user ─→ sessions (session windows, per-user lateness)
//!                               ├─ down ─→ rows (metrics) ─→ write
//!                               └─ late ─→ late lines
//! ```

pub mod item;
pub mod sinks;
pub mod stats;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ctr::metrics::{Row, SessionMetrics};
use ctr::timestamp::TimeUnit;
use eddy::connectors::files::{FileSource, LineRef};
use eddy::connectors::{Sink, SinkPartition, SinkRouting};
use eddy::window::{EventClock, SessionWindower};
use eddy::Flow;
use serde::{Deserialize, Serialize};

use crate::args::{Format, OnInvalid};
use crate::duration::millis;
use item::{Item, LogEvent};
use stats::{Stats, Tally};

/// Everything the dataflow needs to know, from the command line.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Files, directories, `-`.
    pub inputs: Vec<PathBuf>,
    /// Session gap.
    pub gap: Duration,
    /// Allowed out-of-orderness.
    pub wait: Duration,
    /// Wall-clock idle timeout per user (live input).
    pub idle_timeout: Option<Duration>,
    /// Row format.
    pub format: Format,
    /// Rows go here (`-` = stdout).
    pub output: PathBuf,
    /// Late lines go here.
    pub late_output: Option<PathBuf>,
    /// Fail or skip on invalid lines.
    pub on_invalid: OnInvalid,
    /// Invalid lines go here (with skip).
    pub dead_letter: Option<PathBuf>,
    /// Longest valid line.
    pub max_line_bytes: usize,
    /// Chunk size for big files (0 = whole files).
    pub chunk_bytes: u64,
    /// The unit of integer `time` values.
    pub time_unit: TimeUnit,
}

impl Plan {
    /// What a resume must not change: every option that shapes the output
    /// (not the worker or process count, which may change).
    pub fn fingerprint(&self) -> String {
        format!(
            "search-ctr {}: inputs={:?} gap={:?} wait={:?} idle_timeout={:?} format={:?} output={:?} \
             late_output={:?} on_invalid={:?} dead_letter={:?} max_line_bytes={} chunk_bytes={} \
             time_unit={:?}",
            env!("CARGO_PKG_VERSION"),
            self.inputs,
            self.gap,
            self.wait,
            self.idle_timeout,
            self.format,
            self.output,
            self.late_output,
            self.on_invalid,
            self.dead_letter,
            self.max_line_bytes,
            self.chunk_bytes,
            self.time_unit
        )
    }
}

/// `recovery inspect`'s report.
pub fn describe_store(info: &eddy::recovery::StoreInfo) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "store:       {} ({} bytes)",
        info.path.display(),
        info.file_bytes
    );
    let _ = writeln!(
        out,
        "dataflow:    {}",
        info.flow_id.as_deref().unwrap_or("(no run yet)")
    );
    if let Some(f) = &info.fingerprint {
        let _ = writeln!(out, "run:         {f}");
    }
    if !info.inputs.is_empty() {
        let _ = writeln!(out, "inputs:      {} files", info.inputs.len());
        for i in &info.inputs {
            let _ = writeln!(
                out,
                "  {}  {} bytes  modified {}",
                i.path,
                i.size,
                eddy::connectors::files::identity::show_time(i.modified_ns)
            );
        }
    }
    let _ = writeln!(out, "snapshots:   {}", info.epochs.len());
    for e in &info.epochs {
        let cut = if e.mark == u64::MAX {
            "end of input".to_owned()
        } else {
            let ms = (e.mark ^ (1 << 63)) as i64;
            jiff::Timestamp::from_millisecond(ms)
                .map_or_else(|_| format!("mark {}", e.mark), |t| format!("event time {t}"))
        };
        let created = jiff::Timestamp::from_millisecond(e.created_ms)
            .map_or_else(|_| "?".to_owned(), |t| t.to_string());
        let _ = writeln!(
            out,
            "  epoch {:>6}  {}  {}/{} parts  {} bytes  {} workers  cut at {}  taken {}",
            e.epoch,
            if e.complete() { "complete  " } else { "incomplete" },
            e.written,
            e.expected,
            e.bytes,
            e.workers,
            cut,
            created
        );
    }
    if !info.steps.is_empty() {
        let _ = writeln!(out, "steps of the latest complete snapshot:");
        for (step, parts, bytes) in &info.steps {
            let _ = writeln!(out, "  {step:<32} {parts} parts  {bytes} bytes");
        }
    }
    out
}

/// A session's accumulator: its metrics and its extent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionAcc {
    metrics: SessionMetrics,
    start: i64,
    end: i64,
}

impl SessionAcc {
    fn new(wait_ms: i64) -> Self {
        SessionAcc {
            metrics: SessionMetrics::new(wait_ms),
            start: i64::MAX,
            end: i64::MIN,
        }
    }

    fn push(&mut self, e: LogEvent) {
        let t = e.event.time_ms;
        self.start = self.start.min(t);
        self.end = self.end.max(t);
        self.metrics.push(t, e.event.kind);
    }

    /// Merges `later` (a session after this one) into this one.
    fn merge(&mut self, later: SessionAcc) {
        let earlier = std::mem::replace(&mut self.metrics, SessionMetrics::new(0));
        self.metrics = SessionMetrics::merge(earlier, later.metrics);
        self.start = self.start.min(later.start);
        self.end = self.end.max(later.end);
    }
}

/// Adds the search-CTR steps to `flow`.
pub fn build(flow: &mut Flow<'_>, plan: &Plan, stats: &Arc<Stats>) -> eddy::Result<()> {
    let unit = plan.time_unit;
    let source = FileSource::new(plan.inputs.clone(), move |line: &LineRef<'_>| {
        Item::decode(line, unit)
    })
    .chunk_bytes(plan.chunk_bytes)
    .max_line_bytes(plan.max_line_bytes);
    // Listing errors are the run's to report; the summary then has no count.
    stats.set_inputs(|| source.plan_report().ok());
    stats.set_time_unit(unit);
    let items = flow.input_timed("read", source, Item::time);
    let split = items.branch("is_event", |i| matches!(i, Item::Event(_)));

    // Each worker counts what passes its steps in a local tally.
    let mut tally = Tally::new(stats.clone());
    let invalid = split.falses.filter_map("invalid", move |i| {
        i.count(&mut tally);
        match i {
            Item::Invalid(bad) => Some(*bad),
            _ => None,
        }
    });
    match (plan.on_invalid, &plan.dead_letter) {
        (OnInvalid::Fail, _) => invalid.output("fail_on_invalid", sinks::FailOnInvalid),
        (OnInvalid::Skip, Some(path)) => invalid.output("dead_letter", sinks::dead_letter_sink(path)),
        (OnInvalid::Skip, None) => {}
    }

    let mut tally = Tally::new(stats.clone());
    let by_user = split.trues.filter_map("by_user", move |i| {
        i.count(&mut tally);
        match i {
            Item::Event(e) => Some((e.event.user.clone(), e)),
            _ => None,
        }
    });
    let wait_ms = millis(plan.wait);
    let mut clock = EventClock::new(|e: &LogEvent| e.event.time_ms, plan.wait);
    if let Some(idle) = plan.idle_timeout {
        clock = clock.idle_timeout(idle);
    }
    let windows = by_user.fold_window(
        "sessions",
        clock,
        SessionWindower::new(plan.gap),
        move || SessionAcc::new(wait_ms),
        SessionAcc::push,
        SessionAcc::merge,
        false,
    );

    let row_stats = stats.clone();
    let rows = windows.down.filter_map("rows", move |(user, (_id, acc))| {
        row_stats.sessions.inc();
        let summary = acc.metrics.finish();
        match Row::from_session(user, acc.start, acc.end, summary) {
            Some(row) => {
                row_stats.searches.add(row.searches);
                row_stats.searches_with_click.add(row.searches_with_click);
                Some(row)
            }
            None => {
                row_stats.sessions_without_search.inc();
                None
            }
        }
    });
    rows.output(
        "write",
        Counted {
            sink: sinks::row_sink(&plan.output, plan.format),
            stats: stats.clone(),
        },
    );

    let late_stats = stats.clone();
    let late = windows.late.map("late", move |(_user, (_id, e))| {
        late_stats.late.inc();
        e.raw
    });
    if let Some(path) = &plan.late_output {
        late.output("late_output", sinks::late_sink(path));
    }
    Ok(())
}

/// The row sink, counting in [`Stats::rows`] the rows its writer took.
struct Counted {
    sink: Box<dyn Sink<Row>>,
    stats: Arc<Stats>,
}

/// The writer of a [`Counted`] sink.
struct CountedWriter {
    inner: Box<dyn SinkPartition<Row>>,
    stats: Arc<Stats>,
}

impl Sink<Row> for Counted {
    fn routing(&self) -> SinkRouting {
        self.sink.routing()
    }

    fn build(&self, worker: usize, workers: usize) -> eddy::Result<Box<dyn SinkPartition<Row>>> {
        Ok(Box::new(CountedWriter {
            inner: self.sink.build(worker, workers)?,
            stats: self.stats.clone(),
        }))
    }

    fn resume(
        &self,
        worker: usize,
        workers: usize,
        state: &[u8],
    ) -> eddy::Result<Box<dyn SinkPartition<Row>>> {
        Ok(Box::new(CountedWriter {
            inner: self.sink.resume(worker, workers, state)?,
            stats: self.stats.clone(),
        }))
    }
}

impl SinkPartition<Row> for CountedWriter {
    fn write_batch(&mut self, items: &mut Vec<Row>) -> eddy::Result<()> {
        let n = items.len() as u64;
        self.inner.write_batch(items)?;
        self.stats.rows.add(n);
        Ok(())
    }

    fn close(&mut self) -> eddy::Result<()> {
        self.inner.close()
    }

    fn snapshot(&mut self) -> eddy::Result<Vec<u8>> {
        self.inner.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_unit_is_part_of_the_fingerprint() {
        let plan = Plan {
            inputs: vec!["logs".into()],
            gap: Duration::from_secs(1800),
            wait: Duration::from_secs(10),
            idle_timeout: None,
            format: Format::Jsonl,
            output: "-".into(),
            late_output: None,
            on_invalid: OnInvalid::Fail,
            dead_letter: None,
            max_line_bytes: 1 << 20,
            chunk_bytes: 16 << 20,
            time_unit: TimeUnit::Millis,
        };
        let seconds = Plan {
            time_unit: TimeUnit::Seconds,
            ..plan.clone()
        };
        assert_ne!(plan.fingerprint(), seconds.fingerprint());
        assert!(seconds.fingerprint().contains("time_unit=Seconds"));
    }
}
