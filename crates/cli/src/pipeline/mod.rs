//! The `search-ctr run` dataflow, step by step:
//!
//! ```text
//! read (files → Item, event-time marks)
//!  ├─ invalid ─→ fail the run | dead letters | dropped (counted)
//!  └─ events ─→ key by user ─→ sessions (session windows, per-user lateness)
//!                               ├─ down ─→ rows (metrics) ─→ write
//!                               │   └─ with analytics: search records ─→ analytics
//!                               └─ late ─→ late lines
//! ```
//!
//! The analytics stages are in [`analytics`].

pub mod analytics;
pub mod item;
pub mod kafka;
pub mod outputs;
pub mod session_event;
pub mod sinks;
pub mod stats;

use std::sync::Arc;

use ctr::metrics::{Row, SessionFold, Summary};
use eddy::connectors::files::{FileSource, LineRef};
use eddy::window::{EventClock, SessionWindower};
use eddy::Flow;
use serde::{Deserialize, Serialize};

use crate::args::{OnInvalid, SchemaArg};
use crate::duration::millis;
use crate::plan::Plan;
use ctr::analytics::searches::{SearchRecord, SessionSearches};
use item::{Decoder, Item};
use session_event::SessionEvent;
use stats::{Stats, Tally};

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
        let _ = writeln!(out, "run parameters:");
        for line in f.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !info.inputs.is_empty() {
        let _ = writeln!(out, "inputs:      {}", info.inputs.len());
        for i in &info.inputs {
            let _ = writeln!(out, "  {}  {}", i.name, i.summary);
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

/// A session's accumulator: its metrics and extent, or with search
/// analytics its searches (which give the totals too) and extent. One per
/// open session, so per tracked user: without analytics it is the 56-byte
/// [`SessionFold`] inline; the run's `wait` is passed to each call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionAcc(Acc);

/// [`SessionAcc`]'s two forms (a run uses one).
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Acc {
    /// Without analytics.
    Plain(SessionFold),
    /// With analytics. Boxed: a sessions-only run pays nothing for it.
    Searches(Box<Searched>),
}

/// A session's searches and extent (with analytics).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Searched {
    start: i64,
    end: i64,
    searches: SessionSearches,
}

impl SessionAcc {
    fn new(wait_ms: i64, analytics: bool) -> Self {
        SessionAcc(match analytics {
            false => Acc::Plain(SessionFold::new()),
            true => Acc::Searches(Box::new(Searched {
                start: i64::MAX,
                end: i64::MIN,
                searches: SessionSearches::new(wait_ms),
            })),
        })
    }

    fn push(&mut self, e: SessionEvent, wait_ms: i64) {
        let t = e.time_ms;
        match &mut self.0 {
            Acc::Plain(fold) => fold.push(t, e.kind(), wait_ms),
            // With analytics, the searches' accumulator gives the session's
            // totals too: the events are ordered once, not twice.
            Acc::Searches(s) => {
                s.start = s.start.min(t);
                s.end = s.end.max(t);
                s.searches.push(t, e.into_step());
            }
        }
    }

    /// The session's first and last event times, its totals, and (with
    /// analytics) its searches.
    fn finish(self) -> (i64, i64, Summary, Option<Vec<SearchRecord>>) {
        match self.0 {
            Acc::Plain(fold) => {
                let (start, end) = fold.extent().unwrap_or((i64::MAX, i64::MIN));
                (start, end, fold.finish(), None)
            }
            Acc::Searches(s) => {
                let (summary, records) = s.searches.finish_with_summary();
                (s.start, s.end, summary, Some(records))
            }
        }
    }

    /// Merges `later` (a session after this one) into this one.
    fn merge(&mut self, later: SessionAcc, wait_ms: i64) {
        let earlier = std::mem::replace(&mut self.0, Acc::Plain(SessionFold::new()));
        self.0 = match (earlier, later.0) {
            (Acc::Plain(a), Acc::Plain(b)) => Acc::Plain(SessionFold::merge(a, b, wait_ms)),
            (Acc::Searches(a), Acc::Searches(b)) => Acc::Searches(Box::new(Searched {
                start: a.start.min(b.start),
                end: a.end.max(b.end),
                searches: SessionSearches::merge(a.searches, b.searches),
            })),
            // A run's sessions all have one form (analytics is part of a
            // recovery fingerprint, so a resume cannot mix them).
            (a, _) => a,
        };
    }
}

/// What a closed session gives with search analytics on.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Closed {
    /// Its row.
    Row(Row),
    /// Its searches (none: not emitted).
    Searches(Vec<SearchRecord>),
}

/// The row of a closed session (`None` without a search), counted.
fn session_row(
    stats: &Stats,
    user: ctr::event::UserKey,
    (start, end, summary): (i64, i64, Summary),
) -> Option<Row> {
    stats.sessions.inc();
    match Row::from_session(user, start, end, summary) {
        Some(row) => {
            stats.searches.add(row.searches);
            stats.searches_with_click.add(row.searches_with_click);
            Some(row)
        }
        None => {
            stats.sessions_without_search.inc();
            None
        }
    }
}

/// Adds the search-CTR steps to `flow`.
pub fn build(flow: &mut Flow<'_>, plan: &Plan, stats: &Arc<Stats>) -> eddy::Result<()> {
    let unit = plan.time_unit;
    // Queries, lists and items are kept only when analytics needs them.
    let decoder = match (&plan.mapping, plan.schema, plan.analytics.is_some()) {
        (Some(mapping), _, detailed) => Decoder::Mapped {
            mapping: Arc::new(mapping.clone()),
            detailed,
        },
        (None, SchemaArg::Ubi, _) => Decoder::Ubi(ctr::ubi::UbiConfig {
            click_actions: plan.ubi_click_actions.clone(),
            ..ctr::ubi::UbiConfig::default()
        }),
        (None, _, true) => Decoder::Detailed(unit),
        (None, _, false) => Decoder::Plain(unit),
    };
    stats.set_time_unit(unit);
    let items = if let Some(topic) = &plan.kafka.input {
        flow.input_timed("read", kafka::source(plan, topic, decoder), Item::time)
    } else {
        let source = FileSource::new(plan.inputs.clone(), move |line: &LineRef<'_>| {
            Item::decode_with(line, &decoder)
        })
        .chunk_bytes(plan.chunk_bytes)
        .max_line_bytes(plan.max_line_bytes);
        // Listing errors are the run's to report; the summary then has no count.
        stats.set_inputs(|| source.plan_report().ok());
        flow.input_timed("read", source, Item::time)
    };
    let split = items.branch("is_event", |i| matches!(i, Item::Event(_) | Item::Events(_)));

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
        (OnInvalid::Skip, Some(path)) => invalid.output("dead_letter", outputs::dead_letter_sink(plan, path)),
        (OnInvalid::Skip, None) => {}
    }

    let mut tally = Tally::new(stats.clone());
    // An event's line is kept only to be written back if it is late: without
    // `--late-output` it is let go here, on the worker that read it, once
    // counted (the lines of a chunk share one reference count, which the
    // workers would otherwise contend for; and it is not sent on).
    // With analytics, an event's step (its detail normalised) is made here
    // too, on the worker that parsed it (`session_event.rs`).
    let keep_line = plan.late_output.is_some();
    let analytics = plan.analytics.is_some();
    let strip = move |e| SessionEvent::keyed(e, analytics, keep_line);
    let by_user = if plan.schema == SchemaArg::Ubi || plan.mapping.is_some() {
        // A UBI query record, or a mapped search with its results, may be
        // two events.
        split.trues.flat_map("by_user", move |i| {
            i.count(&mut tally);
            let (first, second) = match i {
                Item::Event(e) => (Some(e), None),
                Item::Events(two) => (Some(two.0), Some(two.1)),
                _ => (None, None),
            };
            first.into_iter().chain(second).map(strip)
        })
    } else {
        split.trues.filter_map("by_user", move |i| {
            i.count(&mut tally);
            match i {
                Item::Event(e) => Some(strip(e)),
                _ => None,
            }
        })
    };
    let wait_ms = millis(plan.wait);
    let mut clock = EventClock::new(|e: &SessionEvent| e.time_ms, plan.wait).horizon(plan.horizon);
    if let Some(idle) = plan.idle_timeout {
        clock = clock.idle_timeout(idle);
    }
    let windows = by_user.fold_window(
        "sessions",
        clock,
        SessionWindower::new(plan.gap),
        {
            let analytics = plan.analytics.is_some();
            let stats = stats.clone();
            move || {
                stats.sessions_opened.inc();
                SessionAcc::new(wait_ms, analytics)
            }
        },
        move |acc: &mut SessionAcc, e| acc.push(e, wait_ms),
        {
            let stats = stats.clone();
            move |earlier: &mut SessionAcc, later| {
                stats.sessions_merged.inc();
                earlier.merge(later, wait_ms)
            }
        },
        eddy::window::FoldOrder::ByArrival,
    );

    let row_stats = stats.clone();
    let mut late_searches = None;
    let rows = match &plan.analytics {
        None => windows.down.filter_map("rows", move |(user, (_id, acc))| {
            let (start, end, summary, _) = acc.finish();
            session_row(&row_stats, user, (start, end, summary))
        }),
        Some(a) => {
            // The session row stays as it is; its searches flow on.
            let closed = windows.down.flat_map("rows", move |(user, (_id, acc))| {
                let (start, end, summary, searches) = acc.finish();
                let row = session_row(&row_stats, user, (start, end, summary)).map(Closed::Row);
                // One record for all the session's searches.
                row.into_iter()
                    .chain(searches.filter(|s| !s.is_empty()).map(Closed::Searches))
            });
            let split = closed.branch("is_row", |c| matches!(c, Closed::Row(_)));
            let records = split.falses.filter_map("search_records", |c| match c {
                Closed::Searches(r) => Some(r),
                Closed::Row(_) => None,
            });
            late_searches = Some(analytics::build(
                &records,
                a,
                plan.format,
                plan.live_outputs,
                stats,
            ));
            split.trues.filter_map("session_rows", |c| match c {
                Closed::Row(r) => Some(r),
                Closed::Searches(_) => None,
            })
        }
    };
    rows.output("write", {
        // The summary's "rows written": what reached the output.
        let stats = stats.clone();
        sinks::Tapped {
            sink: outputs::row_sink(plan, &plan.output),
            tap: Arc::new(move |rows: &[Row]| {
                stats.rows.add(rows.len() as u64);
                stats.add_live_rows(rows);
            }),
        }
    });

    let late_stats = stats.clone();
    let late = windows.late.map("late", move |(_user, (_id, e))| {
        late_stats.late.inc();
        e.raw
    });
    // Late searches (analytics, live input) as tagged lines among them.
    let late = match &late_searches {
        Some(searches) => late.merge("late_all", std::slice::from_ref(searches)),
        None => late,
    };
    if let Some(path) = &plan.late_output {
        late.output("late_output", outputs::late_sink(plan, path));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tracked_user_is_one_allocation_of_at_most_176_bytes() {
        // The sessions step's table entry per user: key, clock, windower,
        // one open session's accumulator inline, the pending wake-up asked
        // for (8 bytes since issue 24: it spares the step's wake-up set an
        // update per event). mimalloc rounds it up to its size class (…,
        // 128, 160, 176, 192, 224): at 168 it costs 176 (BENCHMARKS.md,
        // "Bytes per user, second pass"; since issue 24 a user is tracked
        // only while a session of theirs is open).
        let bytes = eddy::window::fold_window_key_bytes::<
            ctr::event::UserKey,
            SessionEvent,
            SessionAcc,
            EventClock<SessionEvent>,
            SessionWindower,
        >();
        assert!(bytes <= 176, "{bytes} bytes per tracked user");
    }

    #[test]
    fn a_sessions_accumulator_is_the_fold_inline_and_keeps_its_extent() {
        // Per open session (so per tracked user): the fold, no wait, no
        // second copy of the extent, the analytics form behind the tag.
        assert_eq!(
            std::mem::size_of::<SessionAcc>(),
            std::mem::size_of::<SessionFold>()
        );
        let event = |t: i64, kind| SessionEvent {
            time_ms: t,
            what: session_event::What::Kind(kind),
            raw: Default::default(),
        };
        let (mut a, mut b) = (SessionAcc::new(10, false), SessionAcc::new(10, false));
        a.push(event(5, ctr::event::EventKind::Search), 10);
        a.push(event(3, ctr::event::EventKind::AppOpen), 10);
        b.push(event(40, ctr::event::EventKind::ClickResult), 10);
        a.merge(b, 10);
        let (start, end, summary, searches) = a.finish();
        assert_eq!((start, end), (3, 40));
        assert_eq!((summary.events, summary.searches, summary.clicks), (3, 1, 1));
        assert_eq!(summary.searches_with_click, 1);
        assert!(searches.is_none());
    }
}
