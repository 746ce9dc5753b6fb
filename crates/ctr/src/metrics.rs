//! The metrics of one session (`docs/sessions.md`, "Metrics of one
//! session"), computed incrementally while the session is still open.
//!
//! The metrics depend on the events in event-time order (ties in arrival
//! order), but the window engine hands them over in *arrival* order. Events
//! arrive at most `wait` behind their user's latest time (later ones are
//! late and never reach a session), so only the last `wait` of a session can
//! still change order. [`SessionMetrics`] therefore keeps:
//!
//! - a `Fold`: the summary of a time-ordered prefix, an associative
//!   combination (a monoid) of counts and a little search/click state;
//! - `pending`: the events within `wait` of the session's latest time, in
//!   (time, arrival) order, folded into the prefix as soon as they fall more
//!   than `wait` behind it.
//!
//! Memory is thus bounded by the events of one `wait`, not by the session's
//! length, and two sessions bridged by a new event merge in O(pending).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::event::{EventKind, UserKey};

/// Totals of one finished session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Events in the session.
    pub events: u64,
    /// `search` events.
    pub searches: u64,
    /// `click_result` events, including any before the first search.
    pub clicks: u64,
    /// Searches followed by at least one click before the next search.
    pub searches_with_click: u64,
}

/// Summary of a time-ordered run of events; [`Fold::then`] joins two
/// adjacent runs (associative, with `Fold::default()` as identity).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Fold {
    totals: Summary,
    /// Clicks before the run's first search (they belong to a search of an
    /// earlier run, if any).
    leading_clicks: u64,
    /// Whether the run holds a search.
    has_search: bool,
    /// Whether the run's last search already has a click.
    last_search_clicked: bool,
}

impl Fold {
    fn push(&mut self, kind: EventKind) {
        self.totals.events += 1;
        match kind {
            EventKind::Search => {
                self.totals.searches += 1;
                self.has_search = true;
                self.last_search_clicked = false;
            }
            EventKind::ClickResult => {
                self.totals.clicks += 1;
                if !self.has_search {
                    self.leading_clicks += 1;
                } else if !self.last_search_clicked {
                    self.totals.searches_with_click += 1;
                    self.last_search_clicked = true;
                }
            }
            EventKind::AppOpen | EventKind::Results | EventKind::AppClose | EventKind::Timeout => {}
        }
    }

    /// `self`'s run followed by `later`'s.
    fn then(self, later: Fold) -> Fold {
        let bridged = self.has_search && !self.last_search_clicked && later.leading_clicks > 0;
        let (a, b) = (self.totals, later.totals);
        Fold {
            totals: Summary {
                events: a.events + b.events,
                searches: a.searches + b.searches,
                clicks: a.clicks + b.clicks,
                searches_with_click: a.searches_with_click + b.searches_with_click + u64::from(bridged),
            },
            leading_clicks: if self.has_search {
                self.leading_clicks
            } else {
                self.leading_clicks + later.leading_clicks
            },
            has_search: self.has_search || later.has_search,
            last_search_clicked: if later.has_search {
                later.last_search_clicked
            } else {
                self.last_search_clicked || bridged
            },
        }
    }

    fn is_empty(&self) -> bool {
        self.totals.events == 0
    }
}

/// The incremental, mergeable accumulator of one session's metrics.
///
/// Feed it with [`push`](Self::push) in arrival order; join two sessions of
/// one user with [`merge`](Self::merge); read the totals with
/// [`finish`](Self::finish).
///
/// ```
/// use ctr::event::EventKind::*;
/// use ctr::metrics::SessionMetrics;
/// let mut m = SessionMetrics::new(1_000);
/// m.push(7_000, ClickResult); // arrives before the search it follows
/// m.push(5_000, Search);
/// m.push(6_000, Results);
/// let s = m.finish();
/// assert_eq!((s.events, s.searches, s.clicks, s.searches_with_click), (3, 1, 1, 1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMetrics {
    wait_ms: i64,
    folded: Fold,
    /// Events not yet folded, in (time, arrival) order; every one is at
    /// least `max_time - wait_ms`.
    pending: Pending,
    max_time: i64,
}

impl SessionMetrics {
    /// An empty session whose events may arrive up to `wait_ms` behind
    /// their user's latest time (the lateness bound of `docs/sessions.md`).
    /// A negative `wait_ms` counts as 0.
    pub fn new(wait_ms: i64) -> Self {
        SessionMetrics {
            wait_ms: wait_ms.max(0),
            folded: Fold::default(),
            pending: Pending::default(),
            max_time: i64::MIN,
        }
    }

    /// Adds one event, in arrival order. Its time must not be more than
    /// `wait` behind the latest time of its user seen before it (the
    /// engine's lateness rule); an event that breaks this is still counted,
    /// but may be ordered after events it precedes.
    pub fn push(&mut self, time_ms: i64, kind: EventKind) {
        self.pending.insert_sorted(time_ms, kind);
        self.max_time = self.max_time.max(time_ms);
        self.compact();
    }

    /// Joins two sessions of one user: every event of `earlier` has a time
    /// before every event of `later`.
    pub fn merge(earlier: Self, later: Self) -> Self {
        let mut earlier = earlier;
        let mut merged = if later.folded.is_empty() {
            for (t, kind) in later.pending.iter() {
                earlier.pending.push_back(t, kind);
            }
            SessionMetrics {
                wait_ms: earlier.wait_ms.max(later.wait_ms),
                folded: earlier.folded,
                pending: earlier.pending,
                max_time: earlier.max_time.max(later.max_time),
            }
        } else {
            let folded = earlier.fold_all();
            SessionMetrics {
                wait_ms: earlier.wait_ms.max(later.wait_ms),
                folded: folded.then(later.folded),
                pending: later.pending,
                max_time: earlier.max_time.max(later.max_time),
            }
        };
        merged.compact();
        merged
    }

    /// The session's totals, all events folded in time order.
    pub fn finish(self) -> Summary {
        let mut this = self;
        this.fold_all().totals
    }

    /// Events not yet folded (those within `wait` of the latest time).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Folds every pending event that no later event can precede: those
    /// more than `wait` behind the session's latest time.
    fn compact(&mut self) {
        let horizon = self.max_time.saturating_sub(self.wait_ms);
        while let Some((t, kind)) = self.pending.front() {
            if t >= horizon {
                break;
            }
            self.folded.push(kind);
            self.pending.pop_front();
        }
    }

    fn fold_all(&mut self) -> Fold {
        for (_, kind) in self.pending.iter() {
            self.folded.push(kind);
        }
        self.pending = Pending::default();
        self.folded
    }
}

/// How many pending events a session holds without a heap allocation.
const INLINE: usize = 3;

/// A session's pending events, in (time, arrival) order: up to [`INLINE`]
/// inline (the usual case: a `wait` holds few events of one user), more
/// on the heap. 40 bytes, like an empty `VecDeque` header plus its
/// allocation's worth of nothing. Serialized as a `VecDeque`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "VecDeque<(i64, EventKind)>", into = "VecDeque<(i64, EventKind)>")]
enum Pending {
    /// `len` events: `times[..len]`, `kinds[..len]`.
    Inline {
        len: u8,
        times: [i64; INLINE],
        kinds: [EventKind; INLINE],
    },
    /// More than fit inline (back inline once fewer than [`INLINE`] are
    /// left).
    Heap(VecDeque<(i64, EventKind)>),
}

impl Default for Pending {
    fn default() -> Self {
        Pending::Inline {
            len: 0,
            times: [0; INLINE],
            kinds: [EventKind::AppOpen; INLINE],
        }
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Pending {}

impl From<VecDeque<(i64, EventKind)>> for Pending {
    fn from(q: VecDeque<(i64, EventKind)>) -> Self {
        let mut p = Pending::default();
        for (t, kind) in q {
            p.push_back(t, kind);
        }
        p
    }
}

impl From<Pending> for VecDeque<(i64, EventKind)> {
    fn from(p: Pending) -> Self {
        p.iter().collect()
    }
}

impl Pending {
    fn len(&self) -> usize {
        match self {
            Pending::Inline { len, .. } => usize::from(*len),
            Pending::Heap(q) => q.len(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = (i64, EventKind)> + '_ {
        let (inline, heap) = match self {
            Pending::Inline { len, times, kinds } => {
                let n = usize::from(*len);
                (
                    Some(times[..n].iter().copied().zip(kinds[..n].iter().copied())),
                    None,
                )
            }
            Pending::Heap(q) => (None, Some(q.iter().copied())),
        };
        inline.into_iter().flatten().chain(heap.into_iter().flatten())
    }

    fn front(&self) -> Option<(i64, EventKind)> {
        self.iter().next()
    }

    /// Inserts at `at` (≤ len).
    fn insert(&mut self, at: usize, time: i64, kind: EventKind) {
        match self {
            Pending::Inline { len, times, kinds } if usize::from(*len) < INLINE => {
                let n = usize::from(*len);
                times.copy_within(at..n, at + 1);
                kinds.copy_within(at..n, at + 1);
                times[at] = time;
                kinds[at] = kind;
                *len += 1;
            }
            Pending::Inline { .. } => {
                let mut q: VecDeque<(i64, EventKind)> = VecDeque::with_capacity(2 * INLINE);
                q.extend(self.iter());
                q.insert(at, (time, kind));
                *self = Pending::Heap(q);
            }
            Pending::Heap(q) => q.insert(at, (time, kind)),
        }
    }

    /// Inserts after every event at or before `time`.
    fn insert_sorted(&mut self, time: i64, kind: EventKind) {
        let at = match self {
            Pending::Inline { len, times, .. } => times[..usize::from(*len)].partition_point(|&t| t <= time),
            Pending::Heap(q) => q.partition_point(|&(t, _)| t <= time),
        };
        self.insert(at, time, kind);
    }

    fn push_back(&mut self, time: i64, kind: EventKind) {
        self.insert(self.len(), time, kind);
    }

    fn pop_front(&mut self) {
        match self {
            Pending::Inline { len, times, kinds } => {
                let n = usize::from(*len);
                if n > 0 {
                    times.copy_within(1..n, 0);
                    kinds.copy_within(1..n, 0);
                    times[n - 1] = 0;
                    kinds[n - 1] = EventKind::AppOpen;
                    *len -= 1;
                }
            }
            Pending::Heap(q) => {
                q.pop_front();
                if q.len() < INLINE {
                    *self = Pending::from(std::mem::take(q));
                }
            }
        }
    }
}

/// One output row: a finished session that holds at least one search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The user key, as a string.
    pub user: UserKey,
    /// Time of the session's earliest event, ms since the Unix epoch.
    pub session_start: i64,
    /// Time of the session's latest event, ms since the Unix epoch.
    pub session_end: i64,
    /// Events in the session.
    pub events: u64,
    /// `search` events.
    pub searches: u64,
    /// `click_result` events, including any before the first search.
    pub clicks: u64,
    /// Searches followed by at least one click before the next search.
    pub searches_with_click: u64,
    /// `searches_with_click / searches`.
    pub ctr: f64,
    /// `clicks / searches` (what the Bytewax tutorial prints as its CTR).
    pub clicks_per_search: f64,
}

impl Row {
    /// The row of a finished session, or `None` when it has no search (such
    /// a session produces no row).
    pub fn from_session(user: UserKey, start_ms: i64, end_ms: i64, s: Summary) -> Option<Row> {
        if s.searches == 0 {
            return None;
        }
        let searches = s.searches as f64;
        Some(Row {
            user,
            session_start: start_ms,
            session_end: end_ms,
            events: s.events,
            searches: s.searches,
            clicks: s.clicks,
            searches_with_click: s.searches_with_click,
            ctr: s.searches_with_click as f64 / searches,
            clicks_per_search: s.clicks as f64 / searches,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use EventKind::*;

    const WAIT: i64 = 10;

    fn totals(events: &[(i64, EventKind)]) -> Summary {
        let mut m = SessionMetrics::new(WAIT);
        for &(t, k) in events {
            m.push(t, k);
        }
        m.finish()
    }

    fn summary(events: u64, searches: u64, clicks: u64, swc: u64) -> Summary {
        Summary {
            events,
            searches,
            clicks,
            searches_with_click: swc,
        }
    }

    /// The plain reference: stable sort by time, then count.
    fn reference(events: &[(i64, EventKind)]) -> Summary {
        let mut sorted = events.to_vec();
        sorted.sort_by_key(|&(t, _)| t);
        let mut s = Summary::default();
        let mut current_search_clicked = None;
        for (_, k) in sorted {
            s.events += 1;
            match k {
                Search => {
                    s.searches += 1;
                    current_search_clicked = Some(false);
                }
                ClickResult => {
                    s.clicks += 1;
                    if current_search_clicked == Some(false) {
                        s.searches_with_click += 1;
                        current_search_clicked = Some(true);
                    }
                }
                _ => {}
            }
        }
        s
    }

    #[test]
    fn tutorial_user_2() {
        let s = totals(&[(5, Search), (6, Results), (7, ClickResult), (8, ClickResult)]);
        assert_eq!(s, summary(4, 1, 2, 1));
    }

    #[test]
    fn clicks_before_the_first_search_count_only_as_clicks() {
        let s = totals(&[(1, ClickResult), (2, ClickResult), (3, Search), (4, AppClose)]);
        assert_eq!(s, summary(4, 1, 2, 0));
    }

    #[test]
    fn each_search_gets_its_own_clicks() {
        let s = totals(&[(1, Search), (2, Results), (3, Search), (4, ClickResult)]);
        assert_eq!(s, summary(4, 2, 1, 1));
        let s = totals(&[(1, Search), (2, ClickResult), (3, Search), (4, ClickResult)]);
        assert_eq!(s, summary(4, 2, 2, 2));
    }

    #[test]
    fn results_do_not_matter() {
        let with = totals(&[(1, Search), (2, Results), (3, Results), (4, ClickResult)]);
        let without = totals(&[(1, Search), (4, ClickResult)]);
        assert_eq!(with.searches_with_click, without.searches_with_click);
        assert_eq!(with.events, 4);
    }

    #[test]
    fn out_of_order_arrival_is_sorted_by_time() {
        // The click arrives first but happens after the search.
        let s = totals(&[(5, ClickResult), (3, Search)]);
        assert_eq!(s, summary(2, 1, 1, 1));
    }

    #[test]
    fn equal_times_keep_arrival_order() {
        assert_eq!(totals(&[(5, Search), (5, ClickResult)]).searches_with_click, 1);
        assert_eq!(totals(&[(5, ClickResult), (5, Search)]).searches_with_click, 0);
        // Also when the tie is inserted behind a later event.
        assert_eq!(
            totals(&[(5, Search), (9, Results), (5, ClickResult)]).searches_with_click,
            1
        );
        assert_eq!(
            totals(&[(5, ClickResult), (9, Results), (5, Search)]).searches_with_click,
            0
        );
    }

    #[test]
    fn merge_bridges_leading_clicks_to_the_earlier_search() {
        let mut a = SessionMetrics::new(WAIT);
        a.push(0, Search);
        let mut b = SessionMetrics::new(WAIT);
        for t in 100..130 {
            b.push(t, ClickResult); // folded part non-empty: all leading clicks
        }
        b.push(200, Search);
        assert!(b.pending_len() < 31);
        let s = SessionMetrics::merge(a, b).finish();
        assert_eq!(s, summary(32, 2, 30, 1));
    }

    #[test]
    fn a_few_pending_events_are_inline_and_serialize_as_a_deque() {
        let mut m = SessionMetrics::new(WAIT);
        m.push(5, Search);
        m.push(3, ClickResult);
        assert!(matches!(m.pending, Pending::Inline { len: 2, .. }));
        let as_deque = VecDeque::from(vec![(3, ClickResult), (5, Search)]);
        assert_eq!(
            serde_json::to_value(&m.pending).unwrap(),
            serde_json::to_value(&as_deque).unwrap()
        );
        // Past the inline room: on the heap, in order; back inline when
        // the folding leaves one.
        for t in [4, 6, 1] {
            m.push(t, Results);
        }
        assert!(matches!(m.pending, Pending::Heap(_)));
        let times: Vec<i64> = m.pending.iter().map(|(t, _)| t).collect();
        assert_eq!(times, vec![1, 3, 4, 5, 6]);
        m.push(WAIT + 6, AppClose);
        assert!(matches!(m.pending, Pending::Inline { len: 2, .. }));
        let back: SessionMetrics = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(m.finish(), summary(6, 1, 1, 0));
        assert!(std::mem::size_of::<Pending>() <= 40);
    }

    #[test]
    fn merge_with_nothing_folded_keeps_order() {
        let mut a = SessionMetrics::new(WAIT);
        a.push(0, ClickResult);
        let mut b = SessionMetrics::new(WAIT);
        b.push(1, Search);
        b.push(2, ClickResult);
        let s = SessionMetrics::merge(a, b).finish();
        assert_eq!(s, summary(3, 1, 2, 1));
    }

    #[test]
    fn fold_is_associative_with_identity() {
        let kinds = [
            Search,
            ClickResult,
            Results,
            ClickResult,
            Search,
            AppOpen,
            ClickResult,
        ];
        let fold_of = |ks: &[EventKind]| {
            let mut f = Fold::default();
            ks.iter().for_each(|&k| f.push(k));
            f
        };
        let whole = fold_of(&kinds);
        for i in 0..=kinds.len() {
            for j in i..=kinds.len() {
                let (a, b, c) = (fold_of(&kinds[..i]), fold_of(&kinds[i..j]), fold_of(&kinds[j..]));
                assert_eq!(a.then(b).then(c), whole);
                assert_eq!(a.then(b.then(c)), whole);
            }
        }
        assert_eq!(Fold::default().then(whole), whole);
        assert_eq!(whole.then(Fold::default()), whole);
    }

    #[test]
    fn rows_only_for_sessions_with_a_search() {
        assert_eq!(Row::from_session("u".into(), 0, 1, summary(3, 0, 2, 0)), None);
        let r = Row::from_session("2".into(), 5000, 8000, summary(4, 1, 2, 1));
        let r = r.unwrap_or_else(|| panic!("a search, so a row"));
        assert_eq!((r.ctr, r.clicks_per_search), (1.0, 2.0));
        let r = Row::from_session("u".into(), 0, 0, summary(3, 3, 1, 1));
        let r = r.unwrap_or_else(|| panic!("a row"));
        assert_eq!(r.ctr, 1.0 / 3.0);
    }

    fn kind() -> impl Strategy<Value = EventKind> {
        prop::sample::select(vec![AppOpen, Search, Results, ClickResult, ClickResult, AppClose])
    }

    /// Arrival-ordered events with bounded disorder: each time is at least
    /// the running maximum minus `WAIT`.
    fn arrivals() -> impl Strategy<Value = Vec<(i64, EventKind)>> {
        prop::collection::vec((-WAIT..=WAIT / 2, kind()), 0..60).prop_map(|steps| {
            let mut max = 0i64;
            steps
                .into_iter()
                .map(|(step, k)| {
                    let t = (max + step).max(0);
                    let t = t.max(max - WAIT);
                    max = max.max(t);
                    (t, k)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn matches_the_sorted_reference(events in arrivals()) {
            prop_assert_eq!(totals(&events), reference(&events));
        }

        #[test]
        fn merged_halves_match_the_reference(
            events in arrivals(),
            split in any::<prop::sample::Index>(),
        ) {
            // Split by time: every event of `early` precedes every one of `late`.
            let mut times: Vec<i64> = events.iter().map(|e| e.0).collect();
            times.sort_unstable();
            times.dedup();
            let cut = if times.is_empty() { 0 } else { times[split.index(times.len())] };
            let mut early = SessionMetrics::new(WAIT);
            let mut late = SessionMetrics::new(WAIT);
            for &(t, k) in &events {
                if t < cut { early.push(t, k) } else { late.push(t, k) }
            }
            let merged = SessionMetrics::merge(early, late);
            prop_assert_eq!(merged.finish(), reference(&events));
        }

        #[test]
        fn merge_then_push_matches_the_reference(
            events in arrivals(),
            split in any::<prop::sample::Index>(),
            merge_at in any::<prop::sample::Index>(),
        ) {
            // Like the engine: two sessions fill up, merge when a bridging
            // event arrives, then the merged one goes on.
            let mut times: Vec<i64> = events.iter().map(|e| e.0).collect();
            times.sort_unstable();
            times.dedup();
            let cut = if times.is_empty() { 0 } else { times[split.index(times.len())] };
            let merge_at = merge_at.index(events.len() + 1);
            let (mut early, mut late) = (SessionMetrics::new(WAIT), SessionMetrics::new(WAIT));
            for &(t, k) in &events[..merge_at] {
                if t < cut { early.push(t, k) } else { late.push(t, k) }
            }
            // After the merge, every event goes to the one session.
            let mut m = SessionMetrics::merge(early, late);
            for &(t, k) in &events[merge_at..] {
                m.push(t, k);
            }
            prop_assert_eq!(m.finish(), reference(&events));
        }

        #[test]
        fn pending_stays_within_wait(events in arrivals()) {
            let mut m = SessionMetrics::new(WAIT);
            let mut max = i64::MIN;
            for (i, &(t, k)) in events.iter().enumerate() {
                m.push(t, k);
                max = max.max(t);
                let recent = events[..=i].iter().filter(|e| e.0 >= max - WAIT).count();
                prop_assert!(m.pending_len() <= recent);
            }
        }
    }
}
