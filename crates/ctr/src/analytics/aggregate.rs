//! Mergeable accumulators of search records, per window and query,
//! position, or (query, item), and the rows they give when their window
//! closes (`docs/analytics.md`, "Rows").
//!
//! Every accumulator holds exact counts only (integers, and histograms of
//! positions), so any grouping and any merge order give the same state,
//! and the rows, computed from it at the end in a fixed order, are the
//! same to the last bit. Floating-point sums are taken over positions in
//! ascending order.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use super::click_models::{fit, Model, Searches, Seen, DEPTH};
use super::rows::{JudgmentRow, PositionRow, QueryRow, WindowRows};
use super::searches::{Position, SearchRecord};
use super::window::Window;
use crate::items::ItemList;
use rustc_hash::FxHashMap;

/// Default least number of impressions a (query, item) needs for an
/// implicit-judgment row.
pub const MIN_IMPRESSIONS: u64 = 10;

/// Totals of one query's searches in one window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryAgg {
    /// Searches.
    pub searches: u64,
    /// Searches with at least one click.
    pub searches_with_click: u64,
    /// Searches whose result list is empty.
    pub zero_result: u64,
    /// Clicks of these searches (ranked or not).
    pub clicks: u64,
    /// Searches that were reformulated.
    pub reformulated: u64,
    /// Searches whose first click is ranked, by that position.
    #[serde(with = "pairs")]
    pub first_click_positions: BTreeMap<u32, u64>,
    /// Sum of the times from search to first click, ms.
    pub time_to_first_click_sum_ms: i128,
}

impl QueryAgg {
    /// Counts one search of this query.
    pub fn add(&mut self, r: &SearchRecord) {
        self.searches += 1;
        self.searches_with_click += u64::from(r.clicked());
        self.zero_result += u64::from(r.zero_result());
        self.clicks += r.clicks.len() as u64;
        self.reformulated += u64::from(r.reformulated());
        if let Some(Position::Ranked(p)) = r.first_click_position() {
            *self.first_click_positions.entry(p).or_default() += 1;
        }
        if let Some(ms) = r.time_to_first_click_ms() {
            self.time_to_first_click_sum_ms += i128::from(ms);
        }
    }

    /// Adds `other`'s searches.
    pub fn merge(&mut self, other: &QueryAgg) {
        self.searches += other.searches;
        self.searches_with_click += other.searches_with_click;
        self.zero_result += other.zero_result;
        self.clicks += other.clicks;
        self.reformulated += other.reformulated;
        merge_counts(&mut self.first_click_positions, &other.first_click_positions);
        self.time_to_first_click_sum_ms += other.time_to_first_click_sum_ms;
    }

    /// The row of `query` in the window starting at `window_start`.
    pub fn row(&self, window_start: i64, query: &str) -> QueryRow {
        let searches = self.searches as f64;
        let ranked: u64 = self.first_click_positions.values().sum();
        let position_sum: u128 = self
            .first_click_positions
            .iter()
            .map(|(&p, &n)| u128::from(p) * u128::from(n))
            .sum();
        let rr_sum: f64 = self
            .first_click_positions
            .iter()
            .map(|(&p, &n)| n as f64 / f64::from(p))
            .fold(0.0, |sum, x| sum + x); // not `sum()`: its empty sum is -0.0
        QueryRow {
            window_start,
            query: query.into(),
            searches: self.searches,
            searches_with_click: self.searches_with_click,
            ctr: ratio(self.searches_with_click, self.searches),
            no_click_rate: ratio(self.searches - self.searches_with_click, self.searches),
            zero_result_rate: ratio(self.zero_result, self.searches),
            clicks: self.clicks,
            mean_first_click_position: (ranked > 0).then(|| position_sum as f64 / ranked as f64),
            mrr: if self.searches == 0 {
                0.0
            } else {
                rr_sum / searches
            },
            mean_time_to_first_click_ms: (self.searches_with_click > 0)
                .then(|| self.time_to_first_click_sum_ms as f64 / self.searches_with_click as f64),
            reformulation_rate: ratio(self.reformulated, self.searches),
        }
    }
}

/// Totals of one position in one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionAgg {
    /// Clicks at this position.
    pub clicks: u64,
    /// Searches whose first click is at this position.
    pub first_clicks: u64,
    /// Searches whose result list has this position (impressions).
    pub impressions: u64,
}

impl PositionAgg {
    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &PositionAgg) {
        self.clicks += other.clicks;
        self.first_clicks += other.first_clicks;
        self.impressions += other.impressions;
    }

    /// `clicks / impressions`, `None` without impressions.
    pub fn ctr(&self) -> Option<f64> {
        (self.impressions > 0).then(|| self.clicks as f64 / self.impressions as f64)
    }

    /// The row of `position` in the window starting at `window_start`.
    pub fn row(&self, window_start: i64, position: Position) -> PositionRow {
        PositionRow {
            window_start,
            position,
            clicks: self.clicks,
            first_clicks: self.first_clicks,
            searches_with_results_at_position: self.impressions,
            ctr_at_position: self.ctr(),
            examination: None,
        }
    }
}

/// Totals of one item shown for one query in one window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JudgmentAgg {
    /// Impressions (searches whose list holds the item), by the item's
    /// position in the list.
    #[serde(with = "pairs")]
    pub impressions: BTreeMap<u32, u64>,
    /// Clicks on the item by those searches.
    pub clicks: u64,
}

impl JudgmentAgg {
    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &JudgmentAgg) {
        merge_counts(&mut self.impressions, &other.impressions);
        self.clicks += other.clicks;
    }

    /// Total impressions.
    pub fn impression_count(&self) -> u64 {
        self.impressions.values().sum()
    }

    /// The row, given the window's click-through rate per position
    /// (`ctr_at`, for COEC); `None` with fewer than `min_impressions`
    /// impressions (or none).
    pub fn row(
        &self,
        window_start: i64,
        query: &str,
        item: &str,
        ctr_at: &BTreeMap<u32, f64>,
        min_impressions: u64,
    ) -> Option<JudgmentRow> {
        let impressions = self.impression_count();
        if impressions == 0 || impressions < min_impressions {
            return None;
        }
        let position_sum: u128 = self
            .impressions
            .iter()
            .map(|(&p, &n)| u128::from(p) * u128::from(n))
            .sum();
        let expected: f64 = self
            .impressions
            .iter()
            .map(|(p, &n)| n as f64 * ctr_at.get(p).copied().unwrap_or(0.0))
            .fold(0.0, |sum, x| sum + x);
        Some(JudgmentRow {
            window_start,
            query: query.into(),
            item: item.into(),
            impressions,
            clicks: self.clicks,
            mean_position: position_sum as f64 / impressions as f64,
            ctr: self.clicks as f64 / impressions as f64,
            coec: (expected > 0.0).then(|| self.clicks as f64 / expected),
            model: CompactString::const_new("coec"),
            attractiveness: None,
            satisfaction: None,
            relevance: (expected > 0.0).then(|| self.clicks as f64 / expected),
        })
    }
}

/// Everything one window accumulates: per query, per position, per
/// (query, item). Hash maps (looked up without building keys); the rows
/// are sorted when made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowAggs {
    /// Per normalised query.
    pub queries: HashMap<CompactString, QueryAgg>,
    /// Per position (ranked, then unranked).
    #[serde(with = "pairs")]
    pub positions: BTreeMap<Position, PositionAgg>,
    /// Per normalised query, then per item.
    pub judgments: HashMap<CompactString, HashMap<CompactString, JudgmentAgg>>,
    /// The searches as click models see them (kept only with a
    /// `--judgment-model` other than COEC: [`QueryWindowAcc::add_seen`]).
    #[serde(default)]
    pub searches: Searches,
}

impl WindowAggs {
    /// Counts one search (of this window).
    pub fn add(&mut self, r: &SearchRecord) {
        entry(&mut self.queries, &r.query).add(r);
        if let Some(list) = &r.results {
            let items = entry(&mut self.judgments, &r.query);
            for p in 1..=list.len() {
                let p = u32::try_from(p).unwrap_or(u32::MAX);
                self.positions.entry(Position::Ranked(p)).or_default().impressions += 1;
            }
            for (i, item) in list.iter().enumerate() {
                if list.iter().take(i).any(|earlier| earlier == item) {
                    continue; // an item listed twice is shown at its first place
                }
                let p = u32::try_from(i + 1).unwrap_or(u32::MAX);
                let agg = entry(items, item);
                *agg.impressions.entry(p).or_default() += 1;
                agg.clicks += r.clicks.iter().filter(|c| c.item == item).count() as u64;
            }
        }
        for (i, click) in r.clicks.iter().enumerate() {
            let agg = self.positions.entry(r.position(click)).or_default();
            agg.clicks += 1;
            agg.first_clicks += u64::from(i == 0);
        }
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &WindowAggs) {
        for (q, a) in &other.queries {
            entry(&mut self.queries, q).merge(a);
        }
        for (p, a) in &other.positions {
            self.positions.entry(*p).or_default().merge(a);
        }
        for (q, items) in &other.judgments {
            let mine = entry(&mut self.judgments, q);
            for (i, a) in items {
                entry(mine, i).merge(a);
            }
        }
        self.searches.merge(&other.searches);
    }

    /// The window's click-through rate per ranked position.
    pub fn position_ctrs(&self) -> BTreeMap<u32, f64> {
        self.positions
            .iter()
            .filter_map(|(p, a)| match p {
                Position::Ranked(p) => a.ctr().map(|c| (*p, c)),
                Position::Unranked => None,
            })
            .collect()
    }

    /// The window's rows, sorted by query, position, (query, item).
    pub fn rows(&self, window_start: i64, min_impressions: u64) -> WindowRows {
        self.rows_with(window_start, min_impressions, None)
    }

    /// [`WindowAggs::rows`], judged by `model` (`None`: COEC alone): the
    /// model is fitted to the window's searches; each judgment row gets its
    /// attractiveness (and DBN's satisfaction) and relevance, each ranked
    /// position row its examination probability.
    pub fn rows_with(&self, window_start: i64, min_impressions: u64, model: Option<Model>) -> WindowRows {
        let mut rows = self.coec_rows(window_start, min_impressions);
        let Some(model) = model else {
            return rows;
        };
        let fitted = fit(model, &self.searches);
        let name = CompactString::const_new(match model {
            Model::Pbm => "pbm",
            Model::Cascade => "cascade",
            Model::Dbn => "dbn",
        });
        for r in &mut rows.judgments {
            let est = fitted.pairs.get(&(r.query.clone(), r.item.clone()));
            r.model = name.clone();
            r.attractiveness = est.map(|e| e.attractiveness);
            r.satisfaction = est.and_then(|e| e.satisfaction);
            r.relevance = est.map(|e| e.relevance);
        }
        for r in &mut rows.positions {
            if let Position::Ranked(p) = r.position {
                r.examination = fitted.examination.get(p as usize - 1).copied();
            }
        }
        rows
    }

    fn coec_rows(&self, window_start: i64, min_impressions: u64) -> WindowRows {
        let ctr_at = self.position_ctrs();
        let mut queries: Vec<_> = self.queries.iter().collect();
        queries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        // Only the pairs that give a row are sorted (most have too few
        // impressions).
        let mut judgments: Vec<_> = self
            .judgments
            .iter()
            .flat_map(|(q, items)| items.iter().map(move |(i, a)| (q, i, a)))
            .filter(|(_, _, a)| {
                let n = a.impression_count();
                n > 0 && n >= min_impressions
            })
            .collect();
        judgments.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        WindowRows {
            window_start,
            queries: queries.into_iter().map(|(q, a)| a.row(window_start, q)).collect(),
            positions: self
                .positions
                .iter()
                .map(|(p, a)| a.row(window_start, *p))
                .collect(),
            judgments: judgments
                .into_iter()
                .filter_map(|(q, i, a)| a.row(window_start, q, i, &ctr_at, min_impressions))
                .collect(),
        }
    }
}

/// Ranked positions up to this one are counted in a vector
/// ([`QueryWindowAcc`]); any further one (a client may report any
/// ordinal) in a map.
const DENSE_POSITIONS: u32 = 64;

/// One query's searches in one window, as the first aggregation stage
/// holds them: the same exact counts as [`WindowAggs::add`] gives, kept
/// so that a search costs little. Turned into a [`WindowAggs`] once, when
/// its window closes ([`QueryWindowAcc::into_window_aggs`]).
///
/// - positions: clicks and first clicks in a vector indexed by position,
///   impressions as a histogram of list lengths (a list of `n` items is an
///   impression at 1…`n`: summed once at the end);
/// - judgments: searches of one query mostly show one of a few lists, so
///   searches with an identical list are counted together as a run (how
///   many, and the clicks per listed item), up to [`LIST_RUNS`] lists at a
///   time (a hit moves a list one place forward); the last run goes into
///   the per-item map when a new list needs its place, or at the end (a combiner, as in MapReduce: the counts are
///   integers, so the result does not depend on where runs are cut).
///
/// ```
/// use ctr::analytics::aggregate::{QueryWindowAcc, WindowAggs};
/// use ctr::analytics::searches::{Click, SearchRecord};
/// let r = SearchRecord {
///     time_ms: 0,
///     query: "dogs".into(),
///     results: Some(vec!["a", "b"].into()),
///     clicks: vec![Click { item: "b".into(), time_ms: 5, reported: None }],
///     next_is_search: false,
/// };
/// let (mut acc, mut direct) = (QueryWindowAcc::default(), WindowAggs::default());
/// for _ in 0..3 {
///     direct.add(&r);
///     acc.add(r.clone());
/// }
/// assert_eq!(acc.into_window_aggs("dogs"), direct);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryWindowAcc {
    query: QueryAgg,
    /// `list_lengths[n]`: searches whose list has `n` items.
    list_lengths: Vec<u64>,
    /// Clicks and first clicks at ranked positions 1…[`DENSE_POSITIONS`]
    /// (index `p − 1`).
    ranked: Vec<PositionAgg>,
    /// Clicks and first clicks at further ranked positions and unranked.
    #[serde(with = "pairs")]
    other_positions: BTreeMap<Position, PositionAgg>,
    /// Judgments of the runs already counted.
    judgments: FxHashMap<CompactString, JudgmentAgg>,
    /// The latest runs of searches with an identical result list (at
    /// most [`LIST_RUNS`]).
    runs: Vec<ListRun>,
    /// The searches as click models see them ([`QueryWindowAcc::add_seen`]).
    #[serde(default)]
    seen: HashMap<Seen, u64>,
}

/// Distinct result lists [`QueryWindowAcc`] counts apart before it counts
/// the last one into its judgments.
const LIST_RUNS: usize = 8;

/// Searches that showed the same list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ListRun {
    items: ItemList,
    searches: u64,
    /// Clicks on each listed item (at its first place in the list).
    clicks: Vec<u64>,
}

impl QueryWindowAcc {
    /// Keeps what a click model sees of one search (its first
    /// [`DEPTH`] results and which of them were clicked, by the clicked
    /// item's place in the list or the position the client reported);
    /// only with a `--judgment-model` other than COEC. Searches without a
    /// result list tell a model nothing and are left out.
    pub fn add_seen(&mut self, r: &SearchRecord) {
        let Some(list) = &r.results else {
            return;
        };
        let items: Vec<CompactString> = list.iter().take(DEPTH).map(CompactString::new).collect();
        if items.is_empty() {
            return;
        }
        let mut clicks = 0u16;
        for click in &r.clicks {
            let at = click
                .reported
                .map(|p| p as usize)
                .or_else(|| list.position(&click.item).map(|i| i + 1));
            if let Some(p) = at.filter(|p| (1..=items.len()).contains(p)) {
                clicks |= 1 << (p - 1);
            }
        }
        *self.seen.entry(Seen { items, clicks }).or_default() += 1;
    }

    /// Counts one search of this query and window.
    ///
    /// Each click's place in the list is looked up once (for its position
    /// and its run); the first-click histogram of [`QueryAgg`] is not kept
    /// here: it is the positions' first clicks, read off at the end.
    pub fn add(&mut self, r: SearchRecord) {
        let q = &mut self.query;
        q.searches += 1;
        q.searches_with_click += u64::from(r.clicked());
        q.zero_result += u64::from(r.zero_result());
        q.clicks += r.clicks.len() as u64;
        q.reformulated += u64::from(r.reformulated());
        if let Some(ms) = r.time_to_first_click_ms() {
            q.time_to_first_click_sum_ms += i128::from(ms);
        }
        let SearchRecord { results, clicks, .. } = r;
        let Some(list) = results else {
            for (i, click) in clicks.iter().enumerate() {
                let at = click.reported.map_or(Position::Unranked, Position::Ranked);
                self.count_click(at, i == 0);
            }
            return;
        };
        if !list.is_empty() {
            if self.list_lengths.len() <= list.len() {
                self.list_lengths.resize(list.len() + 1, 0);
            }
            self.list_lengths[list.len()] += 1;
        }
        let at = match self.runs.iter().position(|run| run.items == list) {
            // The more frequent lists move to the front, one step a hit.
            Some(at) if at > 0 => {
                self.runs.swap(at, at - 1);
                at - 1
            }
            Some(at) => at,
            None => {
                if let Some(run) = (self.runs.len() == LIST_RUNS).then(|| self.runs.pop()).flatten() {
                    // The last (the least hit lately) goes into the judgments.
                    self.count_run(&run);
                }
                self.runs.push(ListRun {
                    clicks: vec![0; list.len()],
                    items: list,
                    searches: 0,
                });
                self.runs.len() - 1
            }
        };
        self.runs[at].searches += 1;
        for (i, click) in clicks.iter().enumerate() {
            let run = &mut self.runs[at];
            let listed = run.items.position(&click.item);
            if let Some(idx) = listed {
                run.clicks[idx] += 1;
            }
            let place = click
                .reported
                .or_else(|| listed.and_then(|idx| u32::try_from(idx + 1).ok()));
            self.count_click(place.map_or(Position::Unranked, Position::Ranked), i == 0);
        }
    }

    /// Counts a click at `position` (the search's first click or not).
    fn count_click(&mut self, position: Position, first: bool) {
        let agg = match position {
            Position::Ranked(p) if (1..=DENSE_POSITIONS).contains(&p) => {
                let at = p as usize - 1;
                if self.ranked.len() <= at {
                    self.ranked.resize(at + 1, PositionAgg::default());
                }
                &mut self.ranked[at]
            }
            other => self.other_positions.entry(other).or_default(),
        };
        agg.clicks += 1;
        agg.first_clicks += u64::from(first);
    }

    /// Counts a run into the judgments.
    fn count_run(&mut self, run: &ListRun) {
        for (i, item) in run.items.iter().enumerate() {
            if run.items.iter().take(i).any(|earlier| earlier == item) {
                continue; // an item listed twice is shown at its first place
            }
            let p = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let agg = entry(&mut self.judgments, item);
            *agg.impressions.entry(p).or_default() += run.searches;
            agg.clicks += run.clicks[i];
        }
    }

    /// The window's accumulators of `query` alone: equal to
    /// [`WindowAggs::add`] of every search given to [`Self::add`].
    pub fn into_window_aggs(mut self, query: &str) -> WindowAggs {
        for run in std::mem::take(&mut self.runs) {
            self.count_run(&run);
        }
        // Searches whose first click is ranked at `p`: the first clicks at
        // `p` (the vector's, then the map's further positions).
        let dense = self.ranked.iter().zip(1..);
        let further = self.other_positions.iter().filter_map(|(p, a)| match p {
            Position::Ranked(p) => Some((a, *p)),
            Position::Unranked => None,
        });
        for (a, p) in dense.chain(further) {
            if a.first_clicks > 0 {
                *self.query.first_click_positions.entry(p).or_default() += a.first_clicks;
            }
        }
        let mut positions = self.other_positions;
        let ranked = self.ranked.len().max(self.list_lengths.len().saturating_sub(1));
        // Impressions at `p`: lists of at least `p` items.
        let mut at_least = 0;
        for p in (1..=ranked).rev() {
            at_least += self.list_lengths.get(p).copied().unwrap_or(0);
            let mut agg = self.ranked.get(p - 1).copied().unwrap_or_default();
            agg.impressions = at_least;
            if agg != PositionAgg::default() {
                let p = u32::try_from(p).unwrap_or(u32::MAX);
                // Beyond the vector, clicks are already in the map.
                positions.entry(Position::Ranked(p)).or_default().merge(&agg);
            }
        }
        let mut queries = HashMap::new();
        queries.insert(CompactString::new(query), self.query);
        let mut judgments = HashMap::new();
        if !self.judgments.is_empty() {
            judgments.insert(CompactString::new(query), self.judgments.into_iter().collect());
        }
        let mut searches = Searches::default();
        if !self.seen.is_empty() {
            searches.by_query.insert(CompactString::new(query), self.seen);
        }
        WindowAggs {
            queries,
            positions,
            judgments,
            searches,
        }
    }
}

/// A window's accumulators from those of each of its queries
/// ([`QueryWindowAcc::into_window_aggs`]).
impl FromIterator<(CompactString, QueryWindowAcc)> for WindowAggs {
    fn from_iter<I: IntoIterator<Item = (CompactString, QueryWindowAcc)>>(iter: I) -> Self {
        let mut window = WindowAggs::default();
        for (query, acc) in iter {
            // Each query comes once: its query and judgment maps move in;
            // positions add up (exact integer counts).
            let part = acc.into_window_aggs(&query);
            window.queries.extend(part.queries);
            window.judgments.extend(part.judgments);
            window.searches.by_query.extend(part.searches.by_query);
            for (p, a) in &part.positions {
                window.positions.entry(*p).or_default().merge(a);
            }
        }
        window
    }
}

/// The accumulators of every window of a run (or of a worker's part).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregates {
    window: Window,
    #[serde(with = "pairs")]
    windows: BTreeMap<i64, WindowAggs>,
}

impl Aggregates {
    /// Empty, with windows of `window`.
    pub fn new(window: Window) -> Self {
        Aggregates {
            window,
            windows: BTreeMap::new(),
        }
    }

    /// Counts one search, in the window of its time.
    pub fn add(&mut self, r: &SearchRecord) {
        let start = self.window.start_of(r.time_ms);
        self.windows.entry(start).or_default().add(r);
    }

    /// Counts a finished session's searches.
    pub fn add_session(&mut self, records: &[SearchRecord]) {
        records.iter().for_each(|r| self.add(r));
    }

    /// Adds `other`'s counts (same window size).
    pub fn merge(&mut self, other: &Aggregates) {
        for (start, w) in &other.windows {
            self.windows.entry(*start).or_default().merge(w);
        }
    }

    /// The accumulators by window start.
    pub fn windows(&self) -> &BTreeMap<i64, WindowAggs> {
        &self.windows
    }

    /// Removes and rows every window that ends at or before `time_ms`, in
    /// window order: call it once no search before `time_ms` can still
    /// come (no open session starts before it and none can open there).
    pub fn close_before(&mut self, time_ms: i64, min_impressions: u64) -> Vec<WindowRows> {
        let mut closed = Vec::new();
        while let Some(entry) = self.windows.first_entry() {
            if self.window.end_of(*entry.key()) > time_ms {
                break;
            }
            let (start, w) = entry.remove_entry();
            closed.push(w.rows(start, min_impressions));
        }
        closed
    }

    /// Rows of every window, in window order (at the end of input).
    pub fn finish(self, min_impressions: u64) -> Vec<WindowRows> {
        self.windows
            .iter()
            .map(|(start, w)| w.rows(*start, min_impressions))
            .collect()
    }
}

fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// The value under `key`, inserted (default) if absent; the key is copied
/// only then.
fn entry<'m, V: Default, S: BuildHasher>(map: &'m mut HashMap<CompactString, V, S>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.into(), V::default());
    }
    match map.get_mut(key) {
        Some(v) => v,
        None => unreachable!("inserted above"),
    }
}

fn merge_counts<K: Ord + Copy>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (k, n) in from {
        *into.entry(*k).or_default() += n;
    }
}

/// Maps serialized as sequences of `(key, value)` pairs, so that keys that
/// are not strings (positions, (query, item)) also go into JSON.
mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}
