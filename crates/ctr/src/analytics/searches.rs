//! A session's events → one [`SearchRecord`] per search
//! (`docs/analytics.md`, "Searches").
//!
//! [`SessionSearches`] is the per-session accumulator, built like
//! [`crate::metrics::SessionMetrics`] and fed the same way (arrival order,
//! at most `wait` of disorder; sessions merge): it keeps
//!
//! - a `Run`: the searches of a time-ordered prefix of the session, each
//!   with its result list and clicks, plus what came before the prefix's
//!   first search (clicks, a result list, whether any other event did).
//!   Two adjacent runs join with `Run::then`, an associative operation
//!   with the empty run as identity;
//! - `pending`: the events within `wait` of the session's latest time, in
//!   (time, arrival) order, folded into the run once no later event can
//!   precede them.
//!
//! Memory per open session is its searches (their result lists and
//! clicks) plus the events of one `wait`; `app_open`, `app_close`,
//! `timeout` and superseded result lists are not kept once folded.

use std::collections::VecDeque;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use super::query::{normalize_query, normalize_query_owned};
use crate::event::{Detail, Event, EventKind};
use crate::items::ItemList;
use crate::metrics::Summary;

/// Where a click's item was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Position {
    /// 1-based index in the search's result list (or the position the
    /// client reported). Sorts before [`Position::Unranked`].
    Ranked(u32),
    /// Not in the result list, or the search has no list.
    Unranked,
}

impl std::fmt::Display for Position {
    /// `1`, `2`, … or `unranked`, as the rows write it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Ranked(r) => write!(f, "{r}"),
            Position::Unranked => f.write_str("unranked"),
        }
    }
}

/// One click of a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Click {
    /// The clicked item.
    pub item: CompactString,
    /// Event time of the click, ms since the Unix epoch.
    pub time_ms: i64,
    /// The 1-based position the client reported (UBI), if any: it wins
    /// over the item's place in the list.
    pub reported: Option<u32>,
}

/// One search of a finished session, with everything the analytics rows
/// need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchRecord {
    /// Event time of the `search`, ms since the Unix epoch.
    pub time_ms: i64,
    /// The query, normalised ([`normalize_query`]).
    pub query: CompactString,
    /// The `items` of the last `results` event after the search and before
    /// the next one; `None` when there was no `results` event.
    pub results: Option<ItemList>,
    /// The clicks after the search and before the next one, in session
    /// order.
    pub clicks: Vec<Click>,
    /// Whether the session's next event after this search, `results`
    /// ignored, is another `search`.
    pub next_is_search: bool,
}

impl SearchRecord {
    /// 1-based index of the first occurrence of `item` in the result list.
    pub fn list_position(&self, item: &str) -> Option<u32> {
        let at = self.results.as_ref()?.position(item)?;
        u32::try_from(at + 1).ok()
    }

    /// Where `click` was shown: its reported position if any, else its
    /// item's place in the list, else unranked.
    pub fn position(&self, click: &Click) -> Position {
        match click.reported.or_else(|| self.list_position(&click.item)) {
            Some(p) => Position::Ranked(p),
            None => Position::Unranked,
        }
    }

    /// At least one click.
    pub fn clicked(&self) -> bool {
        !self.clicks.is_empty()
    }

    /// The search got a result list, and it is empty.
    pub fn zero_result(&self) -> bool {
        self.results.as_ref().is_some_and(ItemList::is_empty)
    }

    /// Position of the search's first click (the earliest); `None` without
    /// a click.
    pub fn first_click_position(&self) -> Option<Position> {
        self.clicks.first().map(|c| self.position(c))
    }

    /// `1 / p` when the first click is ranked at `p`; 0 when it is
    /// unranked or there is no click.
    pub fn reciprocal_rank(&self) -> f64 {
        match self.first_click_position() {
            Some(Position::Ranked(p)) => 1.0 / f64::from(p),
            _ => 0.0,
        }
    }

    /// Milliseconds from the search to its first click.
    pub fn time_to_first_click_ms(&self) -> Option<i64> {
        self.clicks
            .first()
            .map(|c| c.time_ms.saturating_sub(self.time_ms))
    }

    /// No click, and the next event (ignoring `results`) is a search.
    pub fn reformulated(&self) -> bool {
        self.next_is_search && !self.clicked()
    }
}

/// One event as the accumulator needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// A `search`, its query normalised.
    Search(CompactString),
    /// A `results`; `None` when its items were not kept (an event parsed
    /// without [`Event::detail`]): it then changes no list.
    Results(Option<ItemList>),
    /// A `click_result`.
    Click {
        /// The clicked item.
        item: CompactString,
        /// The position the client reported, if any.
        reported: Option<u32>,
    },
    /// `app_open`, `app_close` or `timeout`.
    Other,
}

impl Step {
    /// The step of an event of `kind` whose detail was not kept: an empty
    /// query or item, no result list ([`Step::of`] of such an event).
    pub fn of_kind(kind: EventKind) -> Step {
        match kind {
            EventKind::Search => Step::Search(CompactString::default()),
            EventKind::Results => Step::Results(None),
            EventKind::ClickResult => Step::Click {
                item: CompactString::default(),
                reported: None,
            },
            EventKind::AppOpen | EventKind::AppClose | EventKind::Timeout => Step::Other,
        }
    }

    /// The step of a parsed event. An event without
    /// [`detail`](Event::detail) gives an empty query or item (parse with
    /// [`crate::parse::parse_line_detailed`] to keep them).
    pub fn of(event: &Event) -> Step {
        match (event.kind, event.detail.as_deref()) {
            (EventKind::Search, Some(Detail::Query(q))) => Step::Search(normalize_query(q)),
            (EventKind::Results, Some(Detail::Items(items))) => Step::Results(Some(items.clone())),
            (EventKind::ClickResult, Some(Detail::Click { item, position })) => Step::Click {
                item: item.clone(),
                reported: *position,
            },
            (kind, _) => Step::of_kind(kind),
        }
    }

    /// [`Step::of`] an owned event, moving its values (an already normal
    /// query, a result list, a clicked item: none is copied).
    pub fn from_event(event: Event) -> Step {
        match (event.kind, event.detail.map(|d| *d)) {
            (EventKind::Search, Some(Detail::Query(q))) => Step::Search(normalize_query_owned(q)),
            (EventKind::Results, Some(Detail::Items(items))) => Step::Results(Some(items)),
            (EventKind::ClickResult, Some(Detail::Click { item, position })) => Step::Click {
                item,
                reported: position,
            },
            (kind, _) => Step::of_kind(kind),
        }
    }
}

/// What the session's next event after a search (ignoring `results`) is,
/// as far as known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
enum Next {
    #[default]
    Undecided,
    Search,
    Other,
}

/// The searches of a time-ordered run of events; [`Run::then`] joins two
/// adjacent runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Run {
    /// Clicks before the run's first search (an earlier run's last search
    /// gets them).
    lead_clicks: Vec<Click>,
    /// The last result list before the run's first search.
    lead_results: Option<ItemList>,
    /// Whether an event other than `results` came before the first search.
    lead_other: bool,
    /// The searches, each but the last with its `next_is_search` decided
    /// (a later search decides it).
    searches: Vec<SearchRecord>,
    /// What followed the last search, as far as known.
    last_next: Next,
}

impl Run {
    fn push(&mut self, time_ms: i64, step: Step) {
        let last = self.searches.last_mut();
        match (step, last) {
            (Step::Search(query), last) => {
                if let Some(last) = last {
                    if self.last_next == Next::Undecided {
                        last.next_is_search = true;
                    }
                }
                self.searches.push(SearchRecord {
                    time_ms,
                    query,
                    results: None,
                    clicks: Vec::new(),
                    next_is_search: false,
                });
                self.last_next = Next::Undecided;
            }
            (Step::Results(None), _) => {}
            (Step::Results(Some(items)), Some(last)) => last.results = Some(items),
            (Step::Results(Some(items)), None) => self.lead_results = Some(items),
            (Step::Click { item, reported }, last) => {
                let click = Click {
                    item,
                    time_ms,
                    reported,
                };
                match last {
                    Some(last) => {
                        last.clicks.push(click);
                        self.decide_other();
                    }
                    None => {
                        self.lead_clicks.push(click);
                        self.lead_other = true;
                    }
                }
            }
            (Step::Other, Some(_)) => self.decide_other(),
            (Step::Other, None) => self.lead_other = true,
        }
    }

    /// Something other than a search followed the last search.
    fn decide_other(&mut self) {
        if self.last_next == Next::Undecided {
            self.last_next = Next::Other;
        }
    }

    /// `self`'s run followed by `later`'s.
    fn then(mut self, later: Run) -> Run {
        let Some(last) = self.searches.last_mut() else {
            let mut lead_clicks = self.lead_clicks;
            lead_clicks.extend(later.lead_clicks);
            return Run {
                lead_clicks,
                lead_results: later.lead_results.or(self.lead_results),
                lead_other: self.lead_other || later.lead_other,
                searches: later.searches,
                last_next: later.last_next,
            };
        };
        last.clicks.extend(later.lead_clicks);
        if let Some(items) = later.lead_results {
            last.results = Some(items);
        }
        if self.last_next == Next::Undecided {
            if later.lead_other {
                self.last_next = Next::Other;
            } else if !later.searches.is_empty() {
                last.next_is_search = true;
                self.last_next = Next::Search;
            }
        }
        if !later.searches.is_empty() {
            self.searches.extend(later.searches);
            self.last_next = later.last_next;
        }
        self
    }

    fn is_empty(&self) -> bool {
        self.lead_clicks.is_empty()
            && self.lead_results.is_none()
            && !self.lead_other
            && self.searches.is_empty()
    }

    fn into_records(self) -> Vec<SearchRecord> {
        self.searches
    }
}

/// Pending events kept inline in a session's accumulator; more go to the
/// heap.
const PENDING_INLINE: usize = 4;

/// A session's pending events, in (time, arrival) order: up to
/// [`PENDING_INLINE`] inline (a `wait` holds few events of one user), so
/// that an event reads and writes the memory of the accumulator it
/// already reads (a queue of its own was an allocation per session and a
/// second memory area to fetch per event), more in a `VecDeque`.
/// Serialized as a `VecDeque`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "VecDeque<(i64, Step)>", into = "VecDeque<(i64, Step)>")]
enum Pending {
    /// `slots[..len]`; the others hold [`Step::Other`] at time 0.
    Inline {
        len: u8,
        slots: [(i64, Step); PENDING_INLINE],
    },
    /// More than fit inline (kept on the heap until the session ends).
    Heap(VecDeque<(i64, Step)>),
}

/// An unused inline slot.
fn filler() -> (i64, Step) {
    (0, Step::Other)
}

impl Default for Pending {
    fn default() -> Self {
        Pending::Inline {
            len: 0,
            slots: std::array::from_fn(|_| filler()),
        }
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Pending {}

impl From<VecDeque<(i64, Step)>> for Pending {
    fn from(q: VecDeque<(i64, Step)>) -> Self {
        let mut p = Pending::default();
        p.extend(q);
        p
    }
}

impl From<Pending> for VecDeque<(i64, Step)> {
    fn from(mut p: Pending) -> Self {
        let mut q = VecDeque::with_capacity(p.len());
        p.drain_each(|t, step| q.push_back((t, step)));
        q
    }
}

impl Pending {
    fn len(&self) -> usize {
        match self {
            Pending::Inline { len, .. } => usize::from(*len),
            Pending::Heap(q) => q.len(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &(i64, Step)> + '_ {
        let (inline, heap) = match self {
            Pending::Inline { len, slots } => (Some(slots[..usize::from(*len)].iter()), None),
            Pending::Heap(q) => (None, Some(q.iter())),
        };
        inline.into_iter().flatten().chain(heap.into_iter().flatten())
    }

    fn front_time(&self) -> Option<i64> {
        match self {
            Pending::Inline { len: 0, .. } => None,
            Pending::Inline { slots, .. } => Some(slots[0].0),
            Pending::Heap(q) => q.front().map(|&(t, _)| t),
        }
    }

    /// Inserts after every event at or before `time`.
    fn insert_sorted(&mut self, time: i64, step: Step) {
        match self {
            Pending::Inline { len, slots } if usize::from(*len) < PENDING_INLINE => {
                let n = usize::from(*len);
                let at = slots[..n].partition_point(|&(t, _)| t <= time);
                // The filler at `n` moves to `at` and is replaced.
                slots[at..=n].rotate_right(1);
                slots[at] = (time, step);
                *len += 1;
            }
            Pending::Inline { len, slots } => {
                let n = usize::from(*len);
                let mut q = VecDeque::with_capacity(2 * PENDING_INLINE);
                q.extend(slots[..n].iter_mut().map(|s| std::mem::replace(s, filler())));
                let at = q.partition_point(|&(t, _)| t <= time);
                q.insert(at, (time, step));
                *self = Pending::Heap(q);
            }
            Pending::Heap(q) => {
                let at = q.partition_point(|&(t, _)| t <= time);
                q.insert(at, (time, step));
            }
        }
    }

    fn pop_front(&mut self) -> Option<(i64, Step)> {
        match self {
            Pending::Inline { len: 0, .. } => None,
            Pending::Inline { len, slots } => {
                let n = usize::from(*len);
                let first = std::mem::replace(&mut slots[0], filler());
                slots[..n].rotate_left(1);
                *len -= 1;
                Some(first)
            }
            Pending::Heap(q) => q.pop_front(),
        }
    }

    /// Appends `later`'s events (all at or after this queue's).
    fn extend(&mut self, later: impl IntoIterator<Item = (i64, Step)>) {
        for (t, step) in later {
            match self {
                Pending::Heap(q) => q.push_back((t, step)),
                Pending::Inline { .. } => {
                    // At the back: every event here is at or before `t`.
                    let len = self.len();
                    self.insert_at_back(len, t, step);
                }
            }
        }
    }

    fn insert_at_back(&mut self, len: usize, time: i64, step: Step) {
        match self {
            Pending::Inline { len: n, slots } if len < PENDING_INLINE => {
                slots[len] = (time, step);
                *n += 1;
            }
            _ => {
                // Full: the heap form, the event at the back.
                let mut q: VecDeque<(i64, Step)> = VecDeque::with_capacity(2 * PENDING_INLINE);
                self.drain_each(|t, s| q.push_back((t, s)));
                q.push_back((time, step));
                *self = Pending::Heap(q);
            }
        }
    }

    /// Takes every event, in order, leaving the queue empty.
    fn drain_each(&mut self, mut f: impl FnMut(i64, Step)) {
        match self {
            Pending::Inline { len, slots } => {
                let n = usize::from(*len);
                for slot in &mut slots[..n] {
                    let (t, step) = std::mem::replace(slot, filler());
                    f(t, step);
                }
                *len = 0;
            }
            Pending::Heap(q) => q.drain(..).for_each(|(t, step)| f(t, step)),
        }
    }
}

/// The incremental, mergeable accumulator of one session's searches.
///
/// Feed it with [`push`](Self::push) (or [`push_event`](Self::push_event))
/// in arrival order, as [`crate::metrics::SessionMetrics`] is fed; join two
/// sessions of one user with [`merge`](Self::merge); take the searches
/// with [`finish`](Self::finish) when the session closes.
///
/// ```
/// use ctr::analytics::searches::{Position, SessionSearches, Step};
/// let mut s = SessionSearches::new(1_000);
/// s.push(7_000, Step::Click { item: "b".into(), reported: None }); // arrives early
/// s.push(5_000, Step::Search("dogs".into()));
/// s.push(6_000, Step::Results(Some(vec!["a", "b"].into())));
/// let records = s.finish();
/// assert_eq!(records[0].first_click_position(), Some(Position::Ranked(2)));
/// assert_eq!(records[0].reciprocal_rank(), 0.5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSearches {
    wait_ms: i64,
    /// Events pushed, of every kind (the session row's `events`).
    events: u64,
    folded: Run,
    /// Events not yet folded, in (time, arrival) order; every one is at
    /// least `max_time - wait_ms`.
    pending: Pending,
    max_time: i64,
}

impl SessionSearches {
    /// An empty session whose events may arrive up to `wait_ms` behind
    /// their user's latest time. A negative `wait_ms` counts as 0; with 0,
    /// events must arrive in time order (ties in arrival order).
    pub fn new(wait_ms: i64) -> Self {
        SessionSearches {
            wait_ms: wait_ms.max(0),
            events: 0,
            folded: Run::default(),
            pending: Pending::default(),
            max_time: i64::MIN,
        }
    }

    /// Adds one event, in arrival order (see
    /// [`SessionMetrics::push`](crate::metrics::SessionMetrics::push) for
    /// the ordering rule).
    pub fn push(&mut self, time_ms: i64, step: Step) {
        self.events += 1;
        self.pending.insert_sorted(time_ms, step);
        self.max_time = self.max_time.max(time_ms);
        self.compact();
    }

    /// [`push`](Self::push) of a parsed event ([`Step::of`]).
    pub fn push_event(&mut self, event: &Event) {
        self.push(event.time_ms, Step::of(event));
    }

    /// [`push_event`](Self::push_event) of an owned event: its result list
    /// and item move into the accumulator instead of being copied.
    pub fn push_event_owned(&mut self, event: Event) {
        let time_ms = event.time_ms;
        self.push(time_ms, Step::from_event(event));
    }

    /// Joins two sessions of one user: every event of `earlier` has a time
    /// before every event of `later`.
    pub fn merge(earlier: Self, later: Self) -> Self {
        let (mut earlier, mut later) = (earlier, later);
        let wait_ms = earlier.wait_ms.max(later.wait_ms);
        let max_time = earlier.max_time.max(later.max_time);
        let events = earlier.events + later.events;
        let mut merged = if later.folded.is_empty() {
            later
                .pending
                .drain_each(|t, step| earlier.pending.extend([(t, step)]));
            SessionSearches {
                wait_ms,
                events,
                folded: earlier.folded,
                pending: earlier.pending,
                max_time,
            }
        } else {
            let folded = earlier.fold_all();
            SessionSearches {
                wait_ms,
                events,
                folded: folded.then(later.folded),
                pending: later.pending,
                max_time,
            }
        };
        merged.compact();
        merged
    }

    /// The session's searches, in time order.
    pub fn finish(self) -> Vec<SearchRecord> {
        self.finish_with_summary().1
    }

    /// The session's totals — the [`Summary`] that
    /// [`SessionMetrics`](crate::metrics::SessionMetrics) fed the same
    /// events gives (clicks before the session's first search count only
    /// as clicks) — and its searches, in time order. A run with analytics
    /// feeds its sessions only to this accumulator: one ordering of the
    /// events instead of two.
    pub fn finish_with_summary(self) -> (Summary, Vec<SearchRecord>) {
        let mut this = self;
        let run = this.fold_all();
        let mut summary = Summary {
            events: this.events,
            searches: run.searches.len() as u64,
            clicks: run.lead_clicks.len() as u64,
            searches_with_click: 0,
        };
        for r in &run.searches {
            summary.clicks += r.clicks.len() as u64;
            summary.searches_with_click += u64::from(r.clicked());
        }
        (summary, run.into_records())
    }

    /// Events not yet folded (those within `wait` of the latest time).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Searches folded so far (pending events not counted).
    pub fn folded_searches(&self) -> usize {
        self.folded.searches.len()
    }

    fn compact(&mut self) {
        let horizon = self.max_time.saturating_sub(self.wait_ms);
        while self.pending.front_time().is_some_and(|t| t < horizon) {
            if let Some((t, step)) = self.pending.pop_front() {
                self.folded.push(t, step);
            }
        }
    }

    fn fold_all(&mut self) -> Run {
        let folded = &mut self.folded;
        self.pending.drain_each(|t, step| folded.push(t, step));
        std::mem::take(&mut self.folded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(q: &str) -> Step {
        Step::Search(q.into())
    }
    fn results(items: &[&str]) -> Step {
        Step::Results(Some(items.iter().copied().collect()))
    }
    fn click(item: &str) -> Step {
        Step::Click {
            item: item.into(),
            reported: None,
        }
    }

    fn records(wait: i64, events: &[(i64, Step)]) -> Vec<SearchRecord> {
        let mut s = SessionSearches::new(wait);
        for (t, step) in events {
            s.push(*t, step.clone());
        }
        s.finish()
    }

    #[test]
    fn memory_is_searches_not_events() {
        let mut s = SessionSearches::new(10);
        for i in 0..1000 {
            s.push(i * 100, if i % 100 == 0 { search("q") } else { Step::Other });
        }
        assert!(s.pending_len() <= 1);
        assert_eq!(s.folded_searches(), 10);
        // Only the searches (and no event list) are kept.
        assert!(s.folded.searches.iter().all(|r| r.clicks.is_empty()));
    }

    #[test]
    fn pending_events_stay_inline_up_to_a_few_then_go_to_the_heap() {
        let mut s = SessionSearches::new(1_000);
        // Out of order within `wait`: kept sorted, inline.
        for t in [3, 1, 2, 0] {
            s.push(t, search(&t.to_string()));
        }
        assert!(matches!(s.pending, Pending::Inline { len: 4, .. }));
        let times = |s: &SessionSearches| s.pending.iter().map(|&(t, _)| t).collect::<Vec<_>>();
        assert_eq!(times(&s), [0, 1, 2, 3]);
        s.push(1, search("1b"));
        assert!(matches!(s.pending, Pending::Heap(_)));
        assert_eq!(times(&s), [0, 1, 1, 2, 3]);
        let queries: Vec<_> = s.clone().finish().into_iter().map(|r| r.query).collect();
        assert_eq!(queries, ["0", "1", "1b", "2", "3"]);
        // Snapshots keep the `VecDeque` form; either form reads back equal.
        let bytes = bincode::serialize(&s).unwrap();
        let back: SessionSearches = bincode::deserialize(&bytes).unwrap();
        assert_eq!(back, s);
        let mut small = SessionSearches::new(1_000);
        small.push(5, search("a"));
        let back: SessionSearches = bincode::deserialize(&bincode::serialize(&small).unwrap()).unwrap();
        assert!(matches!(back.pending, Pending::Inline { len: 1, .. }));
        assert_eq!(back, small);
    }

    #[test]
    fn a_merge_gives_the_earlier_search_the_later_leading_events() {
        let mut a = SessionSearches::new(0);
        a.push(0, search("q"));
        let mut b = SessionSearches::new(0);
        for (t, step) in [
            (5, results(&["x", "y"])),
            (6, click("y")),
            (9, search("r")),
            (10, Step::Other),
        ] {
            b.push(t, step);
        }
        let r = SessionSearches::merge(a, b).finish();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].first_click_position(), Some(Position::Ranked(2)));
        assert!(!r[0].reformulated() && !r[0].next_is_search);
        // A later part that starts with a search makes an unclicked earlier
        // search a reformulation.
        let mut a = SessionSearches::new(0);
        a.push(0, search("q"));
        let mut b = SessionSearches::new(0);
        b.push(3, results(&[]));
        b.push(4, search("r"));
        b.push(50, Step::Other);
        let r = SessionSearches::merge(a, b).finish();
        assert!(r[0].reformulated() && r[0].zero_result());
    }

    #[test]
    fn out_of_order_events_are_sorted_ties_in_arrival_order() {
        let r = records(10, &[(5, search("q")), (9, click("a")), (5, results(&["a"]))]);
        assert_eq!(r[0].first_click_position(), Some(Position::Ranked(1)));
        // The results event has the search's time but arrives first: it
        // comes before the search, so the search has no list.
        let r = records(10, &[(5, results(&["a"])), (5, search("q")), (9, click("a"))]);
        assert_eq!(r[0].results, None);
        assert_eq!(r[0].first_click_position(), Some(Position::Unranked));
    }
}
