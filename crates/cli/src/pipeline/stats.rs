//! Run counters (shared by the workers of this process) and the summary
//! printed at the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

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

/// A worker's own counts of the input, added to the shared [`Stats`] now
/// and then and when the worker's dataflow is dropped — so the hot path
/// does not share a cache line between workers.
#[derive(Debug)]
pub struct Tally {
    stats: Arc<Stats>,
    counts: [u64; 4],
    pending: u32,
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

    /// An empty tally adding into `stats`.
    pub fn new(stats: Arc<Stats>) -> Self {
        Tally {
            stats,
            counts: [0; 4],
            pending: 0,
        }
    }

    /// Adds `n` to count `which`.
    #[inline]
    pub fn add(&mut self, which: usize, n: u64) {
        self.counts[which] += n;
        self.pending += 1;
        if self.pending >= 4096 {
            self.flush();
        }
    }

    /// Adds everything counted so far to the shared stats.
    pub fn flush(&mut self) {
        let c = std::mem::take(&mut self.counts);
        self.stats.bytes.add(c[Self::BYTES]);
        self.stats.events.add(c[Self::EVENTS]);
        self.stats.other.add(c[Self::OTHER]);
        self.stats.invalid.add(c[Self::INVALID]);
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
    /// Closed sessions.
    pub sessions: Counter,
    /// Closed sessions without any search (no row).
    pub sessions_without_search: Counter,
    /// Rows written.
    pub rows: Counter,
    /// Searches over all rows.
    pub searches: Counter,
    /// Searches with a click over all rows.
    pub searches_with_click: Counter,
}

/// The run summary (`--summary json` prints it as is).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Valid events of a known type read.
    pub events: u64,
    /// Invalid lines.
    pub invalid: u64,
    /// Objects of an unknown type (skipped).
    pub other: u64,
    /// Late events (not in any session).
    pub late: u64,
    /// Sessions.
    pub sessions: u64,
    /// Sessions without a search (no row).
    pub sessions_without_search: u64,
    /// Rows written.
    pub rows: u64,
    /// Searches with a click ÷ searches, over all rows (0 without searches).
    pub ctr: f64,
    /// Wall time of the run, seconds.
    pub wall_seconds: f64,
    /// Events (valid, known type) per wall second.
    pub events_per_second: f64,
}

impl Stats {
    /// The summary after a run that took `wall`.
    pub fn summary(&self, wall: Duration) -> Summary {
        let secs = wall.as_secs_f64();
        let searches = self.searches.get();
        Summary {
            events: self.events.get(),
            invalid: self.invalid.get(),
            other: self.other.get(),
            late: self.late.get(),
            sessions: self.sessions.get(),
            sessions_without_search: self.sessions_without_search.get(),
            rows: self.rows.get(),
            ctr: if searches == 0 {
                0.0
            } else {
                self.searches_with_click.get() as f64 / searches as f64
            },
            wall_seconds: secs,
            events_per_second: if secs > 0.0 {
                self.events.get() as f64 / secs
            } else {
                0.0
            },
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "search-ctr: {} events read ({} invalid, {} other, {} late)",
            self.events, self.invalid, self.other, self.late
        )?;
        writeln!(
            f,
            "search-ctr: {} sessions ({} without a search), {} rows written, overall CTR {:.4}",
            self.sessions, self.sessions_without_search, self.rows, self.ctr
        )?;
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
}
