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
//! The engine keeps a [`SessionFold`] per open session (the same without
//! its `wait`, which every call passes): 56 bytes, the bulk of the memory
//! per tracked user.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::event::{EventKind, UserKey};
use crate::row_format::{Count, Float, Text, Time};

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
///
/// Counts are `u32` (a session is kept per open user, so its size is the
/// memory per user); they saturate at `u32::MAX` (4,294,967,295 events in
/// one session) rather than wrap. [`Summary`] and the rows are `u64`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Fold {
    events: u32,
    searches: u32,
    clicks: u32,
    searches_with_click: u32,
    /// Clicks before the run's first search (they belong to a search of an
    /// earlier run, if any).
    leading_clicks: u32,
    /// Whether the run holds a search.
    has_search: bool,
    /// Whether the run's last search already has a click.
    last_search_clicked: bool,
}

impl Fold {
    fn push(&mut self, kind: EventKind) {
        self.events = self.events.saturating_add(1);
        match kind {
            EventKind::Search => {
                self.searches = self.searches.saturating_add(1);
                self.has_search = true;
                self.last_search_clicked = false;
            }
            EventKind::ClickResult => {
                self.clicks = self.clicks.saturating_add(1);
                if !self.has_search {
                    self.leading_clicks = self.leading_clicks.saturating_add(1);
                } else if !self.last_search_clicked {
                    self.searches_with_click = self.searches_with_click.saturating_add(1);
                    self.last_search_clicked = true;
                }
            }
            EventKind::AppOpen | EventKind::Results | EventKind::AppClose | EventKind::Timeout => {}
        }
    }

    /// `self`'s run followed by `later`'s.
    fn then(self, later: Fold) -> Fold {
        let bridged = self.has_search && !self.last_search_clicked && later.leading_clicks > 0;
        let (a, b) = (self, later);
        Fold {
            events: a.events.saturating_add(b.events),
            searches: a.searches.saturating_add(b.searches),
            clicks: a.clicks.saturating_add(b.clicks),
            searches_with_click: a
                .searches_with_click
                .saturating_add(b.searches_with_click)
                .saturating_add(u32::from(bridged)),
            leading_clicks: if self.has_search {
                self.leading_clicks
            } else {
                self.leading_clicks.saturating_add(later.leading_clicks)
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
        self.events == 0
    }

    fn totals(&self) -> Summary {
        Summary {
            events: u64::from(self.events),
            searches: u64::from(self.searches),
            clicks: u64::from(self.clicks),
            searches_with_click: u64::from(self.searches_with_click),
        }
    }
}

/// The incremental, mergeable accumulator of one session's metrics, with
/// its lateness bound.
///
/// Feed it with [`push`](Self::push) in arrival order; join two sessions of
/// one user with [`merge`](Self::merge); read the totals with
/// [`finish`](Self::finish). The engine keeps one [`SessionFold`] per open
/// session instead, and passes the run's `wait` to each call.
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
    fold: SessionFold,
}

impl SessionMetrics {
    /// An empty session whose events may arrive up to `wait_ms` behind
    /// their user's latest time (the lateness bound of `docs/sessions.md`).
    /// A negative `wait_ms` counts as 0.
    pub fn new(wait_ms: i64) -> Self {
        SessionMetrics {
            wait_ms: wait_ms.max(0),
            fold: SessionFold::new(),
        }
    }

    /// Adds one event, in arrival order. Its time must not be more than
    /// `wait` behind the latest time of its user seen before it (the
    /// engine's lateness rule); an event that breaks this is still counted,
    /// but may be ordered after events it precedes.
    pub fn push(&mut self, time_ms: i64, kind: EventKind) {
        self.fold.push(time_ms, kind, self.wait_ms);
    }

    /// Joins two sessions of one user: every event of `earlier` has a time
    /// before every event of `later`.
    pub fn merge(earlier: Self, later: Self) -> Self {
        let wait_ms = earlier.wait_ms.max(later.wait_ms);
        SessionMetrics {
            wait_ms,
            fold: SessionFold::merge(earlier.fold, later.fold, wait_ms),
        }
    }

    /// The session's totals, all events folded in time order.
    pub fn finish(self) -> Summary {
        self.fold.finish()
    }

    /// Events not yet folded (those within `wait` of the latest time).
    pub fn pending_len(&self) -> usize {
        self.fold.pending_len()
    }
}

/// [`SessionMetrics`] without its `wait` (the same for every session of a
/// run: each call takes it), and with the session's extent: what the
/// engine keeps per open session, 56 bytes. Pending events are held as
/// their distance below the session's latest time, three inline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "FoldWire", into = "FoldWire")]
pub struct SessionFold {
    folded: Fold,
    /// Events not yet folded, in (time, arrival) order; every one is at
    /// least `max_time - wait`.
    pending: Pending,
    /// The earliest event time (`i64::MAX`: no event yet).
    min_time: i64,
    /// The latest event time (`i64::MIN`: no event yet); pending events are
    /// held relative to it.
    max_time: i64,
}

/// [`SessionFold`]'s serialized form: pending events with their times.
#[derive(Serialize, Deserialize)]
struct FoldWire {
    folded: Fold,
    pending: Vec<(i64, EventKind)>,
    min_time: i64,
    max_time: i64,
}

impl From<FoldWire> for SessionFold {
    fn from(w: FoldWire) -> Self {
        let mut pending = Pending::default();
        for (t, kind) in w.pending {
            pending.push_back(t, kind, w.max_time);
        }
        SessionFold {
            folded: w.folded,
            pending,
            min_time: w.min_time,
            max_time: w.max_time,
        }
    }
}

impl From<SessionFold> for FoldWire {
    fn from(f: SessionFold) -> Self {
        FoldWire {
            folded: f.folded,
            pending: f.pending.iter(f.max_time).collect(),
            min_time: f.min_time,
            max_time: f.max_time,
        }
    }
}

impl PartialEq for SessionFold {
    fn eq(&self, other: &Self) -> bool {
        (self.folded, self.min_time, self.max_time) == (other.folded, other.min_time, other.max_time)
            && self
                .pending
                .iter(self.max_time)
                .eq(other.pending.iter(other.max_time))
    }
}

impl Eq for SessionFold {}

impl Default for SessionFold {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionFold {
    /// An empty session.
    pub fn new() -> Self {
        SessionFold {
            folded: Fold::default(),
            pending: Pending::default(),
            min_time: i64::MAX,
            max_time: i64::MIN,
        }
    }

    /// Adds one event, in arrival order ([`SessionMetrics::push`]); events
    /// may arrive up to `wait_ms` behind the latest time (negative: 0).
    pub fn push(&mut self, time_ms: i64, kind: EventKind, wait_ms: i64) {
        if time_ms > self.max_time {
            self.pending.rebase(self.max_time, time_ms);
            self.max_time = time_ms;
        }
        self.min_time = self.min_time.min(time_ms);
        self.pending.insert_sorted(time_ms, kind, self.max_time);
        self.compact(wait_ms);
    }

    /// Joins two sessions of one user ([`SessionMetrics::merge`]).
    pub fn merge(earlier: Self, later: Self, wait_ms: i64) -> Self {
        let max_time = earlier.max_time.max(later.max_time);
        let mut earlier = earlier;
        let (folded, pending) = if later.folded.is_empty() {
            let mut pending = Pending::default();
            let both = earlier
                .pending
                .iter(earlier.max_time)
                .chain(later.pending.iter(later.max_time));
            for (t, kind) in both {
                pending.push_back(t, kind, max_time);
            }
            (earlier.folded, pending)
        } else {
            let folded = earlier.fold_all();
            let mut pending = later.pending;
            pending.rebase(later.max_time, max_time);
            (folded.then(later.folded), pending)
        };
        let mut merged = SessionFold {
            folded,
            pending,
            min_time: earlier.min_time.min(later.min_time),
            max_time,
        };
        merged.compact(wait_ms);
        merged
    }

    /// The session's totals, all events folded in time order.
    pub fn finish(self) -> Summary {
        let mut this = self;
        this.fold_all().totals()
    }

    /// The times of the session's earliest and latest events (`None`: no
    /// event yet).
    pub fn extent(&self) -> Option<(i64, i64)> {
        (self.min_time <= self.max_time).then_some((self.min_time, self.max_time))
    }

    /// Events not yet folded (those within `wait` of the latest time).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Folds every pending event that no later event can precede: those
    /// more than `wait` behind the session's latest time.
    fn compact(&mut self, wait_ms: i64) {
        let horizon = self.max_time.saturating_sub(wait_ms.max(0));
        while let Some((t, kind)) = self.pending.front(self.max_time) {
            if t >= horizon {
                break;
            }
            self.folded.push(kind);
            self.pending.pop_front(self.max_time);
        }
    }

    fn fold_all(&mut self) -> Fold {
        for (_, kind) in self.pending.iter(self.max_time) {
            self.folded.push(kind);
        }
        self.pending = Pending::default();
        self.folded
    }
}

/// How many pending events a session holds without a heap allocation.
const INLINE: usize = 3;

/// A session's pending events, in (time, arrival) order, relative to the
/// session's latest time (`max`, passed to every call): up to [`INLINE`]
/// inline as `max − time` in a `u32` (49 days; the usual case: a `wait`
/// holds few events of one user), more (or farther) on the heap with
/// their times. 16 bytes.
#[derive(Debug, Clone)]
enum Pending {
    /// `kinds[i]` at `max − ago[i]`, for the leading `Some` kinds.
    Inline {
        kinds: [Option<EventKind>; INLINE],
        ago: [u32; INLINE],
    },
    /// More than fit inline (back inline once fewer than [`INLINE`] are
    /// left, all within `u32` of the latest time).
    // Boxed on purpose: 8 bytes in every session, not a 32-byte `VecDeque`.
    #[allow(clippy::box_collection)]
    Heap(Box<VecDeque<(i64, EventKind)>>),
}

impl Default for Pending {
    fn default() -> Self {
        Pending::Inline {
            kinds: [None; INLINE],
            ago: [0; INLINE],
        }
    }
}

/// `max − time` as the inline form holds it, if it fits.
fn ago(time: i64, max: i64) -> Option<u32> {
    max.checked_sub(time).and_then(|d| u32::try_from(d).ok())
}

impl Pending {
    fn len(&self) -> usize {
        match self {
            Pending::Inline { kinds, .. } => kinds.iter().take_while(|k| k.is_some()).count(),
            Pending::Heap(q) => q.len(),
        }
    }

    fn iter(&self, max: i64) -> impl Iterator<Item = (i64, EventKind)> + '_ {
        let (inline, heap) = match self {
            Pending::Inline { kinds, ago } => (
                Some(
                    kinds
                        .iter()
                        .zip(ago)
                        .map_while(move |(k, &a)| k.map(|k| (max - i64::from(a), k))),
                ),
                None,
            ),
            Pending::Heap(q) => (None, Some(q.iter().copied())),
        };
        inline.into_iter().flatten().chain(heap.into_iter().flatten())
    }

    fn front(&self, max: i64) -> Option<(i64, EventKind)> {
        match self {
            Pending::Inline { kinds, ago } => kinds[0].map(|k| (max - i64::from(ago[0]), k)),
            Pending::Heap(q) => q.front().copied(),
        }
    }

    /// Moves the events to the heap (their times relative to `max`).
    fn spill(&mut self, max: i64) -> &mut VecDeque<(i64, EventKind)> {
        if let Pending::Inline { .. } = self {
            let mut q = VecDeque::with_capacity(2 * INLINE);
            q.extend(self.iter(max));
            *self = Pending::Heap(Box::new(q));
        }
        match self {
            Pending::Heap(q) => q,
            Pending::Inline { .. } => unreachable!("spilled above"),
        }
    }

    /// The session's latest time moves from `old` up to `new`.
    fn rebase(&mut self, old: i64, new: i64) {
        let Pending::Inline { kinds, ago } = self else {
            return;
        };
        let n = kinds.iter().take_while(|k| k.is_some()).count();
        if n == 0 || new == old {
            return;
        }
        let shift = new.checked_sub(old).and_then(|d| u32::try_from(d).ok());
        let fits = shift.is_some_and(|d| ago[..n].iter().all(|a| a.checked_add(d).is_some()));
        match shift {
            Some(d) if fits => ago[..n].iter_mut().for_each(|a| *a += d),
            _ => {
                self.spill(old);
            }
        }
    }

    /// Inserts at `at` (≤ len) an event at `time` (≤ `max`).
    fn insert(&mut self, at: usize, time: i64, kind: EventKind, max: i64) {
        if let Pending::Inline { kinds, ago: agos } = self {
            let n = kinds.iter().take_while(|k| k.is_some()).count();
            if let (true, Some(a)) = (n < INLINE, ago(time, max)) {
                kinds.copy_within(at..n, at + 1);
                agos.copy_within(at..n, at + 1);
                kinds[at] = Some(kind);
                agos[at] = a;
                return;
            }
        }
        self.spill(max).insert(at, (time, kind));
    }

    /// Inserts after every event at or before `time` (≤ `max`).
    fn insert_sorted(&mut self, time: i64, kind: EventKind, max: i64) {
        let at = match self {
            Pending::Inline { kinds, ago: agos } => {
                let n = kinds.iter().take_while(|k| k.is_some()).count();
                match ago(time, max) {
                    // Held as `max − time`: later times have smaller ones.
                    Some(a) => agos[..n].partition_point(|&x| x >= a),
                    None => agos[..n].partition_point(|&x| max - i64::from(x) <= time),
                }
            }
            Pending::Heap(q) => q.partition_point(|&(t, _)| t <= time),
        };
        self.insert(at, time, kind, max);
    }

    fn push_back(&mut self, time: i64, kind: EventKind, max: i64) {
        self.insert(self.len(), time, kind, max);
    }

    fn pop_front(&mut self, max: i64) {
        match self {
            Pending::Inline { kinds, ago } => {
                kinds.copy_within(1.., 0);
                ago.copy_within(1.., 0);
                kinds[INLINE - 1] = None;
                ago[INLINE - 1] = 0;
            }
            Pending::Heap(q) => {
                q.pop_front();
                if q.len() < INLINE && q.iter().all(|&(t, _)| ago(t, max).is_some()) {
                    let mut inline = Pending::default();
                    for &(t, kind) in q.iter() {
                        inline.push_back(t, kind, max);
                    }
                    *self = inline;
                }
            }
        }
    }
}

crate::row_type! {
    /// One output row: a finished session that holds at least one search
    /// (`docs/sessions.md`).
    pub struct Row as "session" in "docs/sessions.md" {
        /// the user, as a string
        pub user: UserKey => Text,
        /// time of the earliest event
        pub session_start: i64 => Time,
        /// time of the latest event
        pub session_end: i64 => Time,
        /// events in the session, of every type
        pub events: u64 => Count,
        /// `search` events
        pub searches: u64 => Count,
        /// `click_result` events, including clicks before the first search
        pub clicks: u64 => Count,
        /// searches followed by at least one click before the next search
        pub searches_with_click: u64 => Count,
        /// `searches_with_click / searches`: the share of searches that got a click (0 to 1)
        pub ctr: f64 => Float,
        /// `clicks / searches`: what the Bytewax tutorial prints as its CTR (may exceed 1)
        pub clicks_per_search: f64 => Float,
    }
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

    fn is_inline(p: &Pending, n: usize) -> bool {
        matches!(p, Pending::Inline { .. }) && p.len() == n
    }

    #[test]
    fn a_few_pending_events_are_inline_and_serialize_with_their_times() {
        let mut m = SessionFold::new();
        m.push(5, Search, WAIT);
        m.push(3, ClickResult, WAIT);
        assert!(is_inline(&m.pending, 2));
        assert_eq!(
            serde_json::to_value(&m).unwrap()["pending"],
            serde_json::json!([[3, "ClickResult"], [5, "Search"]])
        );
        // Past the inline room: on the heap, in order; back inline when
        // the folding leaves one.
        for t in [4, 6, 1] {
            m.push(t, Results, WAIT);
        }
        assert!(matches!(m.pending, Pending::Heap(_)));
        let times: Vec<i64> = m.pending.iter(m.max_time).map(|(t, _)| t).collect();
        assert_eq!(times, vec![1, 3, 4, 5, 6]);
        m.push(WAIT + 6, AppClose, WAIT);
        assert!(is_inline(&m.pending, 2));
        let back: SessionFold = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(m.extent(), Some((1, WAIT + 6)));
        assert_eq!(m.finish(), summary(6, 1, 1, 0));
        assert_eq!(std::mem::size_of::<Pending>(), 16);
    }

    #[test]
    fn a_session_is_56_bytes_and_its_wait_is_the_callers() {
        // What the engine keeps per open session (per user): counts,
        // three pending events inline, and the extent; no wait.
        assert!(
            std::mem::size_of::<SessionFold>() <= 56,
            "{}",
            std::mem::size_of::<SessionFold>()
        );
        assert_eq!(SessionFold::new().extent(), None);
        // The same events, the same totals as with the wait inside.
        let events = [
            (0, Search),
            (30, ClickResult),
            (25, Results),
            (3, Search),
            (40, ClickResult),
        ];
        let (mut fold, mut metrics) = (SessionFold::new(), SessionMetrics::new(WAIT));
        for (t, k) in events {
            fold.push(t, k, WAIT);
            metrics.push(t, k);
            assert_eq!(fold.pending_len(), metrics.pending_len());
        }
        assert_eq!(fold.finish(), metrics.finish());
    }

    #[test]
    fn times_far_apart_go_to_the_heap_and_keep_their_order() {
        // Beyond `u32` milliseconds of the latest time: not inline.
        let far = i64::from(u32::MAX) + 10;
        let mut m = SessionFold::new();
        m.push(0, Search, i64::MAX);
        m.push(far, ClickResult, i64::MAX);
        assert!(matches!(m.pending, Pending::Heap(_)));
        m.push(1, ClickResult, i64::MAX);
        let times: Vec<i64> = m.pending.iter(m.max_time).map(|(t, _)| t).collect();
        assert_eq!(times, vec![0, 1, far]);
        assert_eq!(m.clone().finish(), summary(3, 1, 2, 1));
        // A late event far behind is counted (folded at once with a wait).
        let mut m = SessionFold::new();
        m.push(far, Search, WAIT);
        m.push(0, ClickResult, WAIT);
        assert!(is_inline(&m.pending, 1));
        assert_eq!(m.finish(), summary(2, 1, 1, 0));
    }

    #[test]
    fn counts_saturate_instead_of_wrapping() {
        let mut f = Fold {
            events: u32::MAX - 1,
            searches: u32::MAX,
            ..Fold::default()
        };
        f.push(Search);
        f.push(Search);
        assert_eq!(f.totals().events, u64::from(u32::MAX));
        assert_eq!(f.totals().searches, u64::from(u32::MAX));
        assert_eq!(f.then(f).events, u32::MAX);
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
        fn matches_the_reference_with_times_past_u32_apart(events in arrivals()) {
            // Times and wait scaled so that pending events lie up to 2^33 ms
            // apart: the heap form, and moves between the two forms.
            const SCALE: i64 = 1 << 29;
            let scaled: Vec<(i64, EventKind)> = events.iter().map(|&(t, k)| (t * SCALE, k)).collect();
            let mut m = SessionFold::new();
            for &(t, k) in &scaled {
                m.push(t, k, WAIT * SCALE);
            }
            let back: SessionFold = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
            prop_assert_eq!(&back, &m);
            prop_assert_eq!(m.finish(), reference(&scaled));
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
