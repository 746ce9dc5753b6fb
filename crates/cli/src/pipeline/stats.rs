//! Run counters (shared by the workers of this process) and the summary
//! printed at the end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ctr::analytics::aggregate::QueryAgg;
use ctr::analytics::rows::QueryRow;
use ctr::analytics::topk::{QueryTotals, TopQueries, NO_CLICK_MIN_SEARCHES};
use ctr::event::Event;
use ctr::parse::TypeName;
use ctr::timestamp::TimeUnit;
use eddy::connectors::files::PlanReport;
use serde::Serialize;

use crate::report::aggregate::Sessions;

/// A counter any worker can bump.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The count so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The end of January 1970 (exclusive), in milliseconds: integer times
/// that all fall before it are most likely seconds read as milliseconds.
const END_OF_JANUARY_1970_MS: i64 = 31 * 86_400_000;

/// At most this many distinct unknown type names are kept by name (per
/// worker and for the run); further names are counted as "more names".
const MAX_TYPE_NAMES: usize = 1000;

/// How many unknown type names the summary lists.
const TOP_TYPE_NAMES: usize = 5;

/// One [`Tally`]'s counts as others see them: written by its worker only
/// (a plain store, no read-modify-write), read by the summary and the
/// live server at any time. Aligned so that no two workers share a cache
/// line.
#[derive(Debug)]
#[repr(align(128))]
pub struct Slots {
    counts: [AtomicU64; 6],
    /// The latest event time seen (ms since the Unix epoch), `i64::MIN`
    /// before any.
    max_time_ms: AtomicI64,
}

impl Default for Slots {
    fn default() -> Self {
        Slots {
            counts: Default::default(),
            max_time_ms: AtomicI64::new(i64::MIN),
        }
    }
}

/// A worker's own counts of the input, published in its own [`Slots`] as
/// they change (so they are current while a live input waits) without the
/// hot path sharing a cache line between workers. Unknown type names are
/// counted here too, and added to the shared [`Stats`] now and then and
/// when the worker's dataflow is dropped; a known type costs no lookup and
/// no allocation.
#[derive(Debug)]
pub struct Tally {
    stats: Arc<Stats>,
    counts: [u64; 6],
    max_time_ms: i64,
    slots: Arc<Slots>,
    pending: u32,
    /// Unknown type names seen since the last flush.
    other_types: HashMap<TypeName, u64>,
}

impl Tally {
    /// Input bytes.
    pub const BYTES: usize = 0;
    /// Valid events.
    pub const EVENTS: usize = 1;
    /// Unknown types.
    pub const OTHER: usize = 2;
    /// Invalid lines.
    pub const INVALID: usize = 3;
    /// Events whose time was an integer.
    pub const INTEGER_TIMES: usize = 4;
    /// Events whose integer time falls in January 1970.
    pub const JANUARY_1970: usize = 5;

    /// An empty tally adding into `stats`.
    pub fn new(stats: Arc<Stats>) -> Self {
        let slots = Arc::new(Slots::default());
        stats
            .tallies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(slots.clone());
        Tally {
            stats,
            counts: [0; 6],
            max_time_ms: i64::MIN,
            slots,
            pending: 0,
            other_types: HashMap::new(),
        }
    }

    /// Adds `n` to count `which`.
    #[inline]
    pub fn add(&mut self, which: usize, n: u64) {
        self.counts[which] += n;
        self.slots.counts[which].store(self.counts[which], Ordering::Relaxed);
        self.pending += 1;
        if self.pending >= 4096 {
            self.flush();
        }
    }

    /// Counts a valid event, and whether its time was an integer in January
    /// 1970.
    #[inline]
    pub fn event(&mut self, e: &Event) {
        self.add(Self::EVENTS, 1);
        if e.time_ms > self.max_time_ms {
            self.max_time_ms = e.time_ms;
            self.slots.max_time_ms.store(e.time_ms, Ordering::Relaxed);
        }
        if e.integer_time {
            self.add(Self::INTEGER_TIMES, 1);
            if (0..END_OF_JANUARY_1970_MS).contains(&e.time_ms) {
                self.add(Self::JANUARY_1970, 1);
            }
        }
    }

    /// Counts an object of an unknown type, by name.
    pub fn other(&mut self, type_name: &TypeName) {
        let room = self.other_types.len() < MAX_TYPE_NAMES;
        match self.other_types.get_mut(type_name) {
            Some(n) => *n += 1,
            None if room => {
                self.other_types.insert(type_name.clone(), 1);
            }
            None => self.stats.more_type_names.inc(),
        }
        self.add(Self::OTHER, 1);
    }

    /// Adds the unknown type names counted so far to the shared stats (the
    /// counts are in the tally's [`Slots`] already).
    pub fn flush(&mut self) {
        if !self.other_types.is_empty() {
            self.stats.add_other_types(self.other_types.drain());
        }
        self.pending = 0;
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Everything a run counts.
#[derive(Debug, Default)]
pub struct Stats {
    /// Input bytes read (lines and newlines).
    pub bytes: Counter,
    /// Valid events of a known type.
    pub events: Counter,
    /// Invalid lines.
    pub invalid: Counter,
    /// Objects of an unknown type.
    pub other: Counter,
    /// Late events.
    pub late: Counter,
    /// Searches that came for an analytics window already written (live
    /// input).
    pub late_searches: Counter,
    /// Closed sessions.
    pub sessions: Counter,
    /// Closed sessions without any search (no row).
    pub sessions_without_search: Counter,
    /// Rows the row output took (written, or printed).
    pub rows: Counter,
    /// Searches over all rows.
    pub searches: Counter,
    /// Searches with a click over all rows.
    pub searches_with_click: Counter,
    /// Events whose time was an integer.
    pub integer_times: Counter,
    /// Events whose integer time falls in January 1970.
    pub january_1970: Counter,
    /// Objects of an unknown type whose name was not kept (past
    /// [`MAX_TYPE_NAMES`] distinct names).
    pub more_type_names: Counter,
    /// Unknown type names and their counts (at most [`MAX_TYPE_NAMES`]).
    other_types: Mutex<HashMap<TypeName, u64>>,
    /// What the inputs stood for, once known.
    inputs: OnceLock<Option<PlanReport>>,
    /// The unit integer times were read in.
    time_unit: OnceLock<TimeUnit>,
    /// Per-query totals of the query rows written (`None` without
    /// `--query-output`).
    top_queries: Mutex<Option<TopQueries>>,
    /// Every [`Tally`]'s counts (added to the counters above).
    tallies: Mutex<Vec<Arc<Slots>>>,
    /// Sessions opened (a session window started).
    pub sessions_opened: Counter,
    /// Sessions merged into an earlier one (two open sessions became one).
    pub sessions_merged: Counter,
    /// With `--serve`: the rows written so far, aggregated for the live
    /// page.
    live_rows: OnceLock<Mutex<Sessions>>,
}

impl Stats {
    /// Keeps aggregates of the rows written from now on, for the live page
    /// of `--serve` (see [`Stats::live_rows_so_far`]).
    pub fn keep_live_rows(&self) {
        self.live_rows.get_or_init(Mutex::default);
    }

    /// Folds rows the row output took into the live aggregates (nothing
    /// without [`Stats::keep_live_rows`]).
    pub fn add_live_rows(&self, rows: &[ctr::metrics::Row]) {
        let Some(live) = self.live_rows.get() else {
            return;
        };
        let mut live = live.lock().unwrap_or_else(|e| e.into_inner());
        for r in rows {
            live.add(r);
        }
    }

    /// The aggregates of the rows written so far (empty without
    /// [`Stats::keep_live_rows`]).
    pub fn live_rows_so_far(&self) -> Sessions {
        self.live_rows
            .get()
            .map(|l| l.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default()
    }

    /// Count `which` (a [`Tally`] index: [`Tally::EVENTS`], …) so far: the
    /// tallies' counts and what was added to the counter directly.
    pub fn count(&self, which: usize) -> u64 {
        let direct = [
            &self.bytes,
            &self.events,
            &self.other,
            &self.invalid,
            &self.integer_times,
            &self.january_1970,
        ][which]
            .get();
        let tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        direct
            + tallies
                .iter()
                .map(|s| s.counts[which].load(Ordering::Relaxed))
                .sum::<u64>()
    }

    /// The latest event time read so far (ms since the Unix epoch).
    pub fn max_event_time_ms(&self) -> Option<i64> {
        let tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        tallies
            .iter()
            .map(|s| s.max_time_ms.load(Ordering::Relaxed))
            .max()
            .filter(|&t| t > i64::MIN)
    }

    /// Sessions open now: opened, less merged away and closed (never
    /// below 0: after a resume, restored sessions were not opened here).
    pub fn sessions_open(&self) -> u64 {
        let gone = self.sessions_merged.get() + self.sessions.get();
        self.sessions_opened.get().saturating_sub(gone)
    }

    /// Adds counts of unknown type names.
    fn add_other_types(&self, counts: impl Iterator<Item = (TypeName, u64)>) {
        // A poisoned lock only means another worker panicked; the counts
        // are still whole numbers.
        let mut all = self.other_types.lock().unwrap_or_else(|e| e.into_inner());
        for (name, n) in counts {
            let room = all.len() < MAX_TYPE_NAMES;
            match all.get_mut(&name) {
                Some(count) => *count += n,
                None if room => {
                    all.insert(name, n);
                }
                None => self.more_type_names.add(n),
            }
        }
    }

    /// Records what the inputs stand for (the first call wins; `None` when
    /// they could not be listed, which the run itself reports).
    pub fn set_inputs(&self, report: impl FnOnce() -> Option<PlanReport>) {
        self.inputs.get_or_init(report);
    }

    /// Counts query rows as they are written, for the top queries (which
    /// the summary shows once this was called, even with no row).
    pub fn add_query_rows<'r>(&self, rows: impl Iterator<Item = &'r QueryRow>) {
        let mut top = self.top_queries.lock().unwrap_or_else(|e| e.into_inner());
        let top = top.get_or_insert_with(TopQueries::default);
        for row in rows {
            // The row's rate is zero_result / searches: multiplied back and
            // rounded, it is that count exactly (below 2^52 searches).
            let zero_result = (row.zero_result_rate * row.searches as f64).round() as u64;
            let agg = QueryAgg {
                searches: row.searches,
                searches_with_click: row.searches_with_click,
                zero_result,
                ..QueryAgg::default()
            };
            top.add(&row.query, &agg);
        }
    }

    /// Records the unit integer times are read in (the first call wins).
    pub fn set_time_unit(&self, unit: TimeUnit) {
        let _ = self.time_unit.set(unit);
    }
}

/// One unknown type name and how many objects had it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeCount {
    /// The `type` value (at most 64 bytes).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Objects with this type.
    pub count: u64,
}

/// The run summary (`--summary json` prints it as is).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Valid events of a known type read (late ones included).
    pub events: u64,
    /// Invalid lines.
    pub invalid: u64,
    /// Objects of an unknown type (skipped).
    pub other: u64,
    /// The most frequent unknown type names, by count then name (at most 5).
    pub other_types: Vec<TypeCount>,
    /// Distinct unknown type names beyond `other_types`.
    pub other_more_names: u64,
    /// Late events (not in any session).
    pub late: u64,
    /// Late searches: they came for an analytics window already written
    /// (live input; in `--late-output` as tagged lines). Shown when any.
    #[serde(skip_serializing_if = "is_zero")]
    pub late_searches: u64,
    /// Sessions.
    pub sessions: u64,
    /// Sessions without a search (no row).
    pub sessions_without_search: u64,
    /// Rows written: rows the output took.
    pub rows: u64,
    /// Searches with a click ÷ searches, over all rows (0 without searches).
    pub ctr: f64,
    /// Hidden files skipped in input directories.
    pub hidden_files: u64,
    /// Hidden directories skipped in input directories.
    pub hidden_dirs: u64,
    /// What looks wrong with the input (also printed on stderr).
    pub warnings: Vec<String>,
    /// Wall time of the run, seconds.
    pub wall_seconds: f64,
    /// Events (valid, known type) per wall second.
    pub events_per_second: f64,
    /// The top queries of the query rows written (with `--query-output`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_queries: Option<TopQueryLists>,
}

/// A top list as the text summary shows it: title, entries, each entry's
/// value.
type TopListLine<'a> = (&'a str, &'a [TopQuery], fn(&TopQuery) -> String);

/// One query of a top list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopQuery {
    /// The normalised query.
    pub query: String,
    /// Searches, over all windows.
    pub searches: u64,
    /// Searches with a click.
    pub searches_with_click: u64,
    /// Searches with an empty result list.
    pub zero_result_searches: u64,
    /// Searches without a click ÷ searches.
    pub no_click_rate: f64,
}

/// The summary's top queries (`docs/analytics.md`, "Top queries").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopQueryLists {
    /// The most searched queries.
    pub by_searches: Vec<TopQuery>,
    /// The queries with the most zero-result searches.
    pub by_zero_results: Vec<TopQuery>,
    /// The highest no-click rates among queries of at least 20 searches.
    pub by_no_click_rate: Vec<TopQuery>,
}

impl TopQueryLists {
    fn of(top: &TopQueries) -> Self {
        let list = |v: Vec<(compact_str::CompactString, QueryTotals)>| {
            v.into_iter()
                .map(|(q, t)| TopQuery {
                    query: q.to_string(),
                    searches: t.searches,
                    searches_with_click: t.searches_with_click,
                    zero_result_searches: t.zero_result,
                    no_click_rate: if t.searches == 0 {
                        0.0
                    } else {
                        t.no_click() as f64 / t.searches as f64
                    },
                })
                .collect()
        };
        let lists = top.lists();
        TopQueryLists {
            by_searches: list(lists.by_searches),
            by_zero_results: list(lists.zero_result),
            by_no_click_rate: list(lists.no_click),
        }
    }
}

impl Stats {
    /// The summary after a run that took `wall`.
    pub fn summary(&self, wall: Duration) -> Summary {
        let secs = wall.as_secs_f64();
        let searches = self.searches.get();
        let names = self.other_types.lock().unwrap_or_else(|e| e.into_inner());
        let mut other_types: Vec<TypeCount> = names
            .iter()
            .map(|(name, count)| TypeCount {
                type_name: name.to_string(),
                count: *count,
            })
            .collect();
        other_types.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.type_name.cmp(&b.type_name)));
        let other_more_names = other_types.len().saturating_sub(TOP_TYPE_NAMES) as u64
            + u64::from(self.more_type_names.get() > 0);
        other_types.truncate(TOP_TYPE_NAMES);
        let inputs = self.inputs.get().cloned().flatten().unwrap_or_default();
        let mut warnings = Vec::new();
        let integer_times = self.count(Tally::INTEGER_TIMES);
        let events = self.count(Tally::EVENTS);
        let unit = self.time_unit.get().copied().unwrap_or_default();
        if unit == TimeUnit::Millis && integer_times > 0 && self.count(Tally::JANUARY_1970) == integer_times {
            let which = if integer_times == events { "" } else { "integer " };
            warnings.push(if integer_times == 1 {
                format!("the 1 {which}event time falls in January 1970: is it in seconds? use --time-unit s")
            } else {
                format!(
                    "all {integer_times} {which}event times fall in January 1970: are they seconds? use \
                     --time-unit s"
                )
            });
        }
        Summary {
            events,
            invalid: self.count(Tally::INVALID),
            other: self.count(Tally::OTHER),
            other_types,
            other_more_names,
            late: self.late.get(),
            late_searches: self.late_searches.get(),
            sessions: self.sessions.get(),
            sessions_without_search: self.sessions_without_search.get(),
            rows: self.rows.get(),
            ctr: if searches == 0 {
                0.0
            } else {
                self.searches_with_click.get() as f64 / searches as f64
            },
            hidden_files: inputs.hidden_files,
            hidden_dirs: inputs.hidden_dirs,
            warnings,
            wall_seconds: secs,
            events_per_second: if secs > 0.0 { events as f64 / secs } else { 0.0 },
            top_queries: self
                .top_queries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .map(TopQueryLists::of),
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `n` and `word`, plural when `n` is not 1 (`1 row`, `2 rows`).
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "search-ctr: {} read (valid lines of a known type), {} late (in no session)",
            count(self.events, "event", "events"),
            count(self.late, "was", "were"),
        )?;
        write!(
            f,
            "search-ctr: skipped {}; other (unknown type): {}",
            count(self.invalid, "invalid line", "invalid lines"),
            self.other
        )?;
        for (i, t) in self.other_types.iter().enumerate() {
            let sep = if i == 0 { " — " } else { ", " };
            write!(f, "{sep}{:?} {}", t.type_name, t.count)?;
        }
        if self.other_more_names > 0 {
            let n = self.other_more_names;
            write!(f, ", {n} more {}", if n == 1 { "name" } else { "names" })?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "search-ctr: {} ({} without a search: no row), {} written, overall CTR {:.4}",
            count(self.sessions, "session", "sessions"),
            self.sessions_without_search,
            count(self.rows, "row", "rows"),
            self.ctr
        )?;
        if self.hidden_files + self.hidden_dirs > 0 {
            writeln!(
                f,
                "search-ctr: skipped {} and {} in input directories (names starting with '.')",
                count(self.hidden_files, "hidden file", "hidden files"),
                count(self.hidden_dirs, "hidden directory", "hidden directories"),
            )?;
        }
        if self.late_searches > 0 {
            writeln!(
                f,
                "search-ctr: {} late: their analytics window was already written (in --late-output)",
                count(self.late_searches, "search was", "searches were"),
            )?;
        }
        for w in &self.warnings {
            writeln!(f, "search-ctr: warning: {w}")?;
        }
        if let Some(top) = &self.top_queries {
            let no_click_title =
                format!("top queries by no-click rate (at least {NO_CLICK_MIN_SEARCHES} searches)");
            let lists: [TopListLine<'_>; 3] = [
                ("top queries by searches", &top.by_searches, |q| {
                    q.searches.to_string()
                }),
                ("top zero-result queries", &top.by_zero_results, |q| {
                    format!("{} of {}", q.zero_result_searches, q.searches)
                }),
                (&no_click_title, &top.by_no_click_rate, |q| {
                    format!("{:.3} of {}", q.no_click_rate, q.searches)
                }),
            ];
            for (title, list, value) in lists {
                write!(f, "search-ctr: {title}")?;
                if list.is_empty() {
                    write!(f, ": none")?;
                }
                for (i, q) in list.iter().enumerate() {
                    let sep = if i == 0 { ": " } else { ", " };
                    write!(f, "{sep}{:?} {}", q.query, value(q))?;
                }
                writeln!(f)?;
            }
        }
        write!(
            f,
            "search-ctr: {:.2} s, {:.0} events/s",
            self.wall_seconds, self.events_per_second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_ctr_and_rate() {
        let s = Stats::default();
        s.events.add(10);
        s.searches.add(4);
        s.searches_with_click.add(1);
        let sum = s.summary(Duration::from_secs(2));
        assert_eq!(sum.ctr, 0.25);
        assert_eq!(sum.events_per_second, 5.0);
        assert!(sum.to_string().contains("10 events read"));
        let empty = Stats::default().summary(Duration::ZERO);
        assert_eq!((empty.ctr, empty.events_per_second), (0.0, 0.0));
    }

    fn event(time_ms: i64, integer_time: bool) -> Event {
        Event {
            user: "u".into(),
            time_ms,
            kind: ctr::event::EventKind::Search,
            integer_time,
            detail: None,
        }
    }

    #[test]
    fn unknown_types_top_five_by_count_then_name() {
        let stats = Arc::new(Stats::default());
        let mut tally = Tally::new(stats.clone());
        for (name, n) in [
            ("b", 3),
            ("a", 3),
            ("SEARCH", 100),
            ("c", 1),
            ("d", 1),
            ("e", 1),
            ("f", 1),
        ] {
            for _ in 0..n {
                tally.other(&TypeName::new(name));
            }
        }
        // Known types never touch the name table.
        tally.event(&event(1_704_067_200_000, false));
        assert_eq!(tally.other_types.len(), 7);
        drop(tally);
        let sum = stats.summary(Duration::from_secs(1));
        let names: Vec<(&str, u64)> = sum
            .other_types
            .iter()
            .map(|t| (t.type_name.as_str(), t.count))
            .collect();
        assert_eq!(names, [("SEARCH", 100), ("a", 3), ("b", 3), ("c", 1), ("d", 1)]);
        assert_eq!((sum.other, sum.other_more_names), (110, 2));
        let text = sum.to_string();
        assert!(
            text.contains(
                r#"other (unknown type): 110 — "SEARCH" 100, "a" 3, "b" 3, "c" 1, "d" 1, 2 more names"#
            ),
            "{text}"
        );
    }

    #[test]
    fn plural_forms() {
        let s = Stats::default();
        s.events.inc();
        s.sessions.inc();
        s.rows.inc();
        s.invalid.inc();
        let text = s.summary(Duration::from_secs(1)).to_string();
        for want in [
            "1 event read",
            "1 session (",
            "1 row written",
            "skipped 1 invalid line;",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
        s.rows.inc();
        assert!(s.summary(Duration::ZERO).to_string().contains("2 rows written"));
    }

    #[test]
    fn january_1970_warning_only_when_every_integer_time_is_in_it_and_unit_is_ms() {
        let warn = |times: &[(i64, bool)], unit: TimeUnit| {
            let stats = Arc::new(Stats::default());
            stats.set_time_unit(unit);
            let mut tally = Tally::new(stats.clone());
            for &(t, int) in times {
                tally.event(&event(t, int));
            }
            drop(tally);
            stats.summary(Duration::ZERO).warnings
        };
        let secs = [(1_704_067_200, true), (1_704_067_260, true)];
        assert_eq!(
            warn(&secs, TimeUnit::Millis),
            ["all 2 event times fall in January 1970: are they seconds? use --time-unit s"]
        );
        assert!(warn(&secs, TimeUnit::Seconds).is_empty());
        assert!(warn(
            &[(1_704_067_200, true), (1_704_067_200_000, true)],
            TimeUnit::Millis
        )
        .is_empty());
        // An RFC 3339 time in January 1970 is meant.
        assert!(warn(&[(5, false)], TimeUnit::Millis).is_empty());
        assert_eq!(
            warn(&[(5, true), (1_704_067_200_000, false)], TimeUnit::Millis),
            ["the 1 integer event time falls in January 1970: is it in seconds? use --time-unit s"]
        );
    }
}
