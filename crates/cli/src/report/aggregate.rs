//! What the report shows, aggregated one row at a time: memory grows with
//! the number of distinct queries, positions and (query, item) pairs and
//! time buckets, never with the number of rows.

use std::collections::{BTreeMap, HashMap};

pub use ctr::analytics::rows::{JudgmentRow, PositionRow, QueryRow};
pub use ctr::analytics::searches::Position;
use ctr::metrics::Row;

/// Upper bounds (inclusive) of the session-length bins, in events; the last
/// bin takes everything above.
pub const EVENT_BINS: [(u64, &str); 9] = [
    (1, "1"),
    (2, "2"),
    (3, "3"),
    (4, "4"),
    (9, "5–9"),
    (19, "10–19"),
    (49, "20–49"),
    (99, "50–99"),
    (u64::MAX, "100+"),
];

/// Upper bounds (inclusive) of the session-duration bins, in milliseconds.
pub const DURATION_BINS: [(i64, &str); 9] = [
    (0, "0 s"),
    (10_000, "≤10 s"),
    (60_000, "10 s–1 m"),
    (300_000, "1–5 m"),
    (900_000, "5–15 m"),
    (1_800_000, "15–30 m"),
    (3_600_000, "30 m–1 h"),
    (7_200_000, "1–2 h"),
    (i64::MAX, "2 h+"),
];

/// Upper bounds (exclusive) of the time-to-first-click bins, in
/// milliseconds.
pub const FIRST_CLICK_BINS: [(f64, &str); 8] = [
    (1_000.0, "<1 s"),
    (2_000.0, "1–2 s"),
    (5_000.0, "2–5 s"),
    (10_000.0, "5–10 s"),
    (30_000.0, "10–30 s"),
    (60_000.0, "30 s–1 m"),
    (300_000.0, "1–5 m"),
    (f64::INFINITY, "5 m+"),
];

/// The session-CTR bins: ten of width 0.1, the last one closed (`0.9–1`).
pub const CTR_BINS: usize = 10;

/// The first bin whose upper bound is at least `v`.
fn bin_of<T: PartialOrd + Copy>(bins: &[(T, &str)], v: T) -> usize {
    bins.iter()
        .position(|&(upper, _)| v <= upper)
        .unwrap_or(bins.len() - 1)
}

/// `x`, or 0 for a value that was `null` (a rate of nothing).
fn or_zero(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

/// Counts of one time bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Sessions that started in it.
    pub sessions: u64,
    /// Their searches.
    pub searches: u64,
    /// Their searches with a click.
    pub searches_with_click: u64,
}

impl Bucket {
    fn add(&mut self, other: &Bucket) {
        self.sessions += other.sessions;
        self.searches += other.searches;
        self.searches_with_click += other.searches_with_click;
    }

    /// Searches with a click ÷ searches (0 without searches).
    pub fn ctr(&self) -> f64 {
        ratio(self.searches_with_click, self.searches)
    }
}

/// `a / b`, 0 when `b` is 0.
pub fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Bucket widths the timeline may show, ms (all multiples of one another
/// along the storage granularities 1 s, 1 m, 1 h, 1 d).
const STEPS_MS: [i64; 24] = [
    1_000,
    2_000,
    5_000,
    10_000,
    15_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    2 * 86_400_000,
    7 * 86_400_000,
    14 * 86_400_000,
    28 * 86_400_000,
    91 * 86_400_000,
    364 * 86_400_000,
];

/// Storage granularities: the timeline coarsens to the next one when it
/// holds more than [`MAX_STORED_BUCKETS`] buckets.
const GRANULARITIES_MS: [i64; 4] = [1_000, 60_000, 3_600_000, 86_400_000];

/// Buckets kept before coarsening.
const MAX_STORED_BUCKETS: usize = 20_000;

/// The most points a time chart shows.
pub const MAX_POINTS: i64 = 200;

/// Sessions per time bucket (by `session_start`), kept at a granularity
/// that coarsens as the time range grows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    granularity_ms: i64,
    buckets: BTreeMap<i64, Bucket>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            granularity_ms: GRANULARITIES_MS[0],
            buckets: BTreeMap::new(),
        }
    }
}

impl Timeline {
    /// Counts a session that started at `start_ms`.
    pub fn add(&mut self, start_ms: i64, b: &Bucket) {
        self.buckets
            .entry(start_ms.div_euclid(self.granularity_ms))
            .or_default()
            .add(b);
        while self.buckets.len() > MAX_STORED_BUCKETS {
            let next = GRANULARITIES_MS
                .iter()
                .copied()
                .find(|&g| g > self.granularity_ms)
                .unwrap_or(self.granularity_ms * 10);
            self.regroup(next);
        }
    }

    fn regroup(&mut self, width_ms: i64) {
        let g = self.granularity_ms;
        let mut out: BTreeMap<i64, Bucket> = BTreeMap::new();
        for (k, b) in &self.buckets {
            out.entry((k * g).div_euclid(width_ms)).or_default().add(b);
        }
        self.granularity_ms = width_ms;
        self.buckets = out;
    }

    /// The bucket width to show: the smallest of [`STEPS_MS`] (a multiple
    /// of the stored granularity) that gives at most [`MAX_POINTS`] buckets
    /// from the first to the last.
    pub fn step_ms(&self) -> i64 {
        let (Some((&first, _)), Some((&last, _))) =
            (self.buckets.first_key_value(), self.buckets.last_key_value())
        else {
            return self.granularity_ms;
        };
        let g = self.granularity_ms;
        let fits = |step: i64| (last * g).div_euclid(step) - (first * g).div_euclid(step) < MAX_POINTS;
        STEPS_MS
            .iter()
            .copied()
            .find(|&s| s >= g && s % g == 0 && fits(s))
            .unwrap_or_else(|| {
                // Beyond the list: whole multiples of the last step.
                let base = STEPS_MS[STEPS_MS.len() - 1].max(g);
                let mut k = 1;
                while !fits(base * k) {
                    k += 1;
                }
                base * k
            })
    }

    /// `(bucket start ms, counts)` for every bucket of width
    /// [`step_ms`](Self::step_ms) from the first to the last, empty ones
    /// included.
    pub fn points(&self) -> (i64, Vec<(i64, Bucket)>) {
        let step = self.step_ms();
        let g = self.granularity_ms;
        let mut grouped: BTreeMap<i64, Bucket> = BTreeMap::new();
        for (k, b) in &self.buckets {
            grouped.entry((k * g).div_euclid(step)).or_default().add(b);
        }
        let (Some((&first, _)), Some((&last, _))) = (grouped.first_key_value(), grouped.last_key_value())
        else {
            return (step, Vec::new());
        };
        let points = (first..=last)
            .map(|k| (k * step, grouped.get(&k).copied().unwrap_or_default()))
            .collect();
        (step, points)
    }
}

/// Everything the session rows say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sessions {
    /// Rows (sessions with a search).
    pub rows: u64,
    /// Events over all rows.
    pub events: u64,
    /// Searches over all rows.
    pub searches: u64,
    /// Clicks over all rows.
    pub clicks: u64,
    /// Searches with a click over all rows.
    pub searches_with_click: u64,
    /// Earliest `session_start`.
    pub first_ms: Option<i64>,
    /// Latest `session_end`.
    pub last_ms: Option<i64>,
    /// Sessions by CTR: `[0, 0.1)`, …, `[0.9, 1]`.
    pub ctr_bins: [u64; CTR_BINS],
    /// Sessions by events ([`EVENT_BINS`]).
    pub event_bins: [u64; EVENT_BINS.len()],
    /// Sessions by duration ([`DURATION_BINS`]).
    pub duration_bins: [u64; DURATION_BINS.len()],
    /// Sessions over time.
    pub timeline: Timeline,
}

impl Sessions {
    /// Counts one row.
    pub fn add(&mut self, r: &Row) {
        let (start_ms, end_ms) = (r.session_start, r.session_end);
        self.rows += 1;
        self.events += r.events;
        self.searches += r.searches;
        self.clicks += r.clicks;
        self.searches_with_click += r.searches_with_click;
        self.first_ms = Some(self.first_ms.map_or(start_ms, |m| m.min(start_ms)));
        self.last_ms = Some(self.last_ms.map_or(end_ms, |m| m.max(end_ms)));
        // In integers: 3 of 10 searches is exactly the bin [0.3, 0.4).
        let bin = (r.searches_with_click.min(r.searches) * CTR_BINS as u64)
            .checked_div(r.searches)
            .unwrap_or(0);
        self.ctr_bins[(bin as usize).min(CTR_BINS - 1)] += 1;
        self.event_bins[bin_of(&EVENT_BINS, r.events)] += 1;
        self.duration_bins[bin_of(&DURATION_BINS, end_ms.saturating_sub(start_ms))] += 1;
        self.timeline.add(
            start_ms,
            &Bucket {
                sessions: 1,
                searches: r.searches,
                searches_with_click: r.searches_with_click,
            },
        );
    }

    /// Searches with a click ÷ searches.
    pub fn ctr(&self) -> f64 {
        ratio(self.searches_with_click, self.searches)
    }

    /// Clicks ÷ searches.
    pub fn clicks_per_search(&self) -> f64 {
        ratio(self.clicks, self.searches)
    }
}

/// A query over all windows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryTotals {
    /// Searches.
    pub searches: u64,
    /// Searches with a click.
    pub searches_with_click: u64,
    /// Clicks.
    pub clicks: u64,
    /// Σ no_click_rate × searches.
    no_click: f64,
    /// Σ zero_result_rate × searches.
    zero_result: f64,
    /// Σ mrr × searches.
    mrr: f64,
    /// Σ mean_time_to_first_click_ms × searches_with_click, and that weight.
    first_click: (f64, u64),
}

impl QueryTotals {
    fn add(&mut self, r: &QueryRow) {
        let n = r.searches as f64;
        self.searches += r.searches;
        self.searches_with_click += r.searches_with_click;
        self.clicks += r.clicks;
        self.no_click += or_zero(r.no_click_rate) * n;
        self.zero_result += or_zero(r.zero_result_rate) * n;
        self.mrr += or_zero(r.mrr) * n;
        if let Some(t) = r.mean_time_to_first_click_ms {
            self.first_click.0 += t * r.searches_with_click as f64;
            self.first_click.1 += r.searches_with_click;
        }
    }

    fn merge(&mut self, o: &QueryTotals) {
        self.searches += o.searches;
        self.searches_with_click += o.searches_with_click;
        self.clicks += o.clicks;
        self.no_click += o.no_click;
        self.zero_result += o.zero_result;
        self.mrr += o.mrr;
        self.first_click.0 += o.first_click.0;
        self.first_click.1 += o.first_click.1;
    }

    /// Searches with a click ÷ searches.
    pub fn ctr(&self) -> f64 {
        ratio(self.searches_with_click, self.searches)
    }

    /// The windows' no-click rates, weighted by their searches.
    pub fn no_click_rate(&self) -> f64 {
        self.per_search(self.no_click)
    }

    /// The windows' zero-result rates, weighted by their searches.
    pub fn zero_result_rate(&self) -> f64 {
        self.per_search(self.zero_result)
    }

    /// Searches without results (zero-result rate × searches, rounded).
    pub fn zero_result_searches(&self) -> u64 {
        self.zero_result.round() as u64
    }

    /// The windows' MRR, weighted by their searches.
    pub fn mrr(&self) -> f64 {
        self.per_search(self.mrr)
    }

    /// The windows' mean time to first click, weighted by their searches
    /// with a click (`None` when no window has one).
    pub fn mean_time_to_first_click_ms(&self) -> Option<f64> {
        (self.first_click.1 > 0).then(|| self.first_click.0 / self.first_click.1 as f64)
    }

    fn per_search(&self, sum: f64) -> f64 {
        if self.searches == 0 {
            0.0
        } else {
            sum / self.searches as f64
        }
    }
}

/// Every query over all windows, and the time-to-first-click histogram
/// (each window's mean, weighted by its searches with a click).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Queries {
    /// Query rows read.
    pub rows: u64,
    /// By query text.
    pub by_query: HashMap<String, QueryTotals>,
    /// Searches with a click by the window's mean time to first click
    /// ([`FIRST_CLICK_BINS`]).
    pub first_click_bins: [u64; FIRST_CLICK_BINS.len()],
}

impl Queries {
    /// Counts one row.
    pub fn add(&mut self, r: QueryRow) {
        self.rows += 1;
        if let Some(t) = r.mean_time_to_first_click_ms {
            let bin = FIRST_CLICK_BINS
                .iter()
                .position(|&(upper, _)| t < upper)
                .unwrap_or(FIRST_CLICK_BINS.len() - 1);
            self.first_click_bins[bin] += r.searches_with_click;
        }
        match self.by_query.get_mut(r.query.as_str()) {
            Some(t) => t.add(&r),
            None => {
                let mut t = QueryTotals::default();
                t.add(&r);
                self.by_query.insert(r.query.into_string(), t);
            }
        }
    }

    /// All queries together.
    pub fn overall(&self) -> QueryTotals {
        let mut all = QueryTotals::default();
        for t in self.by_query.values() {
            all.merge(t);
        }
        all
    }

    /// Up to `n` queries, best first by `key` (ties by query text), among
    /// those `keep` accepts.
    pub fn top(
        &self,
        n: usize,
        keep: impl Fn(&QueryTotals) -> bool,
        key: impl Fn(&QueryTotals) -> f64,
    ) -> Vec<(&str, &QueryTotals)> {
        let mut v: Vec<(&str, &QueryTotals)> = self
            .by_query
            .iter()
            .filter(|(_, t)| keep(t))
            .map(|(q, t)| (q.as_str(), t))
            .collect();
        v.sort_by(|a, b| key(b.1).total_cmp(&key(a.1)).then_with(|| a.0.cmp(b.0)));
        v.truncate(n);
        v
    }
}

/// A position over all windows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PositionTotals {
    /// Clicks.
    pub clicks: u64,
    /// First clicks.
    pub first_clicks: u64,
    /// Searches with results at it.
    pub searches_with_results: u64,
    /// Σ ctr_at_position × searches_with_results_at_position.
    ctr_sum: f64,
}

impl PositionTotals {
    /// The windows' CTR at this position, weighted by their searches with
    /// results at it.
    pub fn ctr(&self) -> f64 {
        if self.searches_with_results == 0 {
            0.0
        } else {
            self.ctr_sum / self.searches_with_results as f64
        }
    }
}

/// Every position over all windows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Positions {
    /// Position rows read.
    pub rows: u64,
    /// By position, ranks first.
    pub by_position: BTreeMap<Position, PositionTotals>,
}

impl Positions {
    /// Counts one row.
    pub fn add(&mut self, r: &PositionRow) {
        self.rows += 1;
        let t = self.by_position.entry(r.position).or_default();
        t.clicks += r.clicks;
        t.first_clicks += r.first_clicks;
        t.searches_with_results += r.searches_with_results_at_position;
        t.ctr_sum += r.ctr_at_position.unwrap_or(0.0) * r.searches_with_results_at_position as f64;
    }
}

/// A (query, item) pair over all windows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JudgmentTotals {
    /// Impressions.
    pub impressions: u64,
    /// Clicks.
    pub clicks: u64,
    /// Σ mean_position × impressions.
    position_sum: f64,
    /// Σ coec × impressions.
    coec_sum: f64,
}

impl JudgmentTotals {
    /// Clicks ÷ impressions.
    pub fn ctr(&self) -> f64 {
        ratio(self.clicks, self.impressions)
    }

    /// The windows' mean positions, weighted by impressions.
    pub fn mean_position(&self) -> f64 {
        self.per_impression(self.position_sum)
    }

    /// The windows' COEC, weighted by impressions.
    pub fn coec(&self) -> f64 {
        self.per_impression(self.coec_sum)
    }

    fn per_impression(&self, sum: f64) -> f64 {
        if self.impressions == 0 {
            0.0
        } else {
            sum / self.impressions as f64
        }
    }
}

/// Every (query, item) pair over all windows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Judgments {
    /// Judgment rows read.
    pub rows: u64,
    /// By (query, item).
    pub by_pair: HashMap<(String, String), JudgmentTotals>,
    /// The models that judged the rows (`coec`, `pbm`, …), sorted.
    pub models: std::collections::BTreeSet<String>,
}

impl Judgments {
    /// Counts one row.
    pub fn add(&mut self, r: JudgmentRow) {
        self.rows += 1;
        let n = r.impressions as f64;
        let t = self
            .by_pair
            .entry((r.query.into_string(), r.item.into_string()))
            .or_default();
        t.impressions += r.impressions;
        t.clicks += r.clicks;
        t.position_sum += or_zero(r.mean_position) * n;
        if !self.models.contains(r.model.as_str()) {
            self.models.insert(r.model.to_string());
        }
        // The judgment: the click model's relevance, or COEC (rows written
        // before click models have no relevance).
        t.coec_sum += r.relevance.or(r.coec).unwrap_or(0.0) * n;
    }

    /// Up to `n` pairs with at least `min_impressions`, highest COEC first
    /// (ties: more impressions, then query and item).
    pub fn top_by_coec(&self, n: usize, min_impressions: u64) -> Vec<(&(String, String), &JudgmentTotals)> {
        let mut v: Vec<_> = self
            .by_pair
            .iter()
            .filter(|(_, t)| t.impressions >= min_impressions)
            .collect();
        v.sort_by(|a, b| {
            b.1.coec()
                .total_cmp(&a.1.coec())
                .then_with(|| b.1.impressions.cmp(&a.1.impressions))
                .then_with(|| a.0.cmp(b.0))
        });
        v.truncate(n);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    const T0: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z

    fn row(start_ms: i64, dur_ms: i64, events: u64, searches: u64, swc: u64, clicks: u64) -> Row {
        Row {
            user: "u".into(),
            session_start: start_ms,
            session_end: start_ms + dur_ms,
            events,
            searches,
            clicks,
            searches_with_click: swc,
            ctr: 0.0,
            clicks_per_search: 0.0,
        }
    }

    #[test]
    fn session_totals_and_bins_are_exact() {
        let mut s = Sessions::default();
        s.add(&row(T0, 0, 1, 1, 0, 0));
        s.add(&row(T0 + 5_000, 7_000, 4, 10, 3, 5));
        s.add(&row(T0 + 2 * H, 3 * H, 150, 3, 3, 4));
        assert_eq!(
            (s.rows, s.events, s.searches, s.clicks, s.searches_with_click),
            (3, 155, 14, 9, 6)
        );
        assert_eq!(s.ctr(), 6.0 / 14.0);
        assert_eq!(s.clicks_per_search(), 9.0 / 14.0);
        assert_eq!((s.first_ms, s.last_ms), (Some(T0), Some(T0 + 5 * H)));
        // 0/1 → bin 0, 3/10 → bin 3 (exactly 0.3), 3/3 → the last bin.
        assert_eq!(s.ctr_bins, [1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
        assert_eq!(s.event_bins, [1, 0, 0, 1, 0, 0, 0, 0, 1]);
        // 0 s, 7 s, 3 h.
        assert_eq!(s.duration_bins, [1, 1, 0, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn timeline_picks_a_step_with_at_most_200_points_and_fills_gaps() {
        let mut t = Timeline::default();
        let b = |searches, swc| Bucket {
            sessions: 1,
            searches,
            searches_with_click: swc,
        };
        t.add(T0 + 10, &b(2, 1));
        t.add(T0 + 20 * 60_000, &b(1, 1));
        t.add(T0 + 2 * H + 1, &b(4, 0));
        // Over 2 h: 1 m buckets would be 121, within 200.
        let (step, points) = t.points();
        assert_eq!(step, 60_000);
        assert_eq!(points.len(), 121);
        assert_eq!(points[0], (T0, b(2, 1)));
        assert_eq!(points[20].1, b(1, 1));
        assert_eq!(points[1].1, Bucket::default());
        // Over 30 days: 6 h buckets (120 points) instead of 3 h (240).
        t.add(T0 + 30 * 24 * H, &b(1, 0));
        let (step, points) = t.points();
        assert_eq!(step, 6 * H);
        assert_eq!(points.len(), 121);
        assert_eq!(
            points[0].1,
            Bucket {
                sessions: 3,
                searches: 7,
                searches_with_click: 2
            }
        );
        assert_eq!(points[0].1.ctr(), 2.0 / 7.0);
    }

    #[test]
    fn timeline_coarsens_past_its_bucket_limit_without_losing_counts() {
        let mut t = Timeline::default();
        let one = Bucket {
            sessions: 1,
            searches: 1,
            searches_with_click: 0,
        };
        for i in 0..(MAX_STORED_BUCKETS as i64 + 1) {
            t.add(T0 + i * 1_000, &one);
        }
        assert_eq!(t.granularity_ms, 60_000);
        let (step, points) = t.points();
        let total: u64 = points.iter().map(|(_, b)| b.sessions).sum();
        assert_eq!(total, MAX_STORED_BUCKETS as u64 + 1);
        assert!(points.len() as i64 <= MAX_POINTS, "{step} {}", points.len());
        assert_eq!(step % 60_000, 0);
    }

    fn query(
        q: &str,
        searches: u64,
        swc: u64,
        no_click: f64,
        zero: f64,
        mrr: f64,
        ttfc: Option<f64>,
    ) -> QueryRow {
        QueryRow {
            window_start: 0,
            query: q.into(),
            searches,
            searches_with_click: swc,
            ctr: 0.0,
            no_click_rate: no_click,
            zero_result_rate: zero,
            clicks: swc,
            mean_first_click_position: None,
            mrr,
            mean_time_to_first_click_ms: ttfc,
            reformulation_rate: 0.0,
        }
    }

    #[test]
    fn queries_are_summed_over_windows_with_weighted_rates() {
        let mut q = Queries::default();
        q.add(query("dogs", 4, 2, 0.5, 0.25, 0.5, Some(1_500.0)));
        q.add(query("dogs", 6, 6, 0.0, 0.0, 1.0, Some(500.0)));
        q.add(query("cats", 10, 0, 1.0, 0.5, 0.0, None));
        let dogs = &q.by_query["dogs"];
        assert_eq!((dogs.searches, dogs.searches_with_click), (10, 8));
        assert_eq!(dogs.ctr(), 0.8);
        assert_eq!(dogs.no_click_rate(), 0.2); // (0.5×4 + 0×6) / 10
        assert_eq!(dogs.zero_result_rate(), 0.1);
        assert_eq!(dogs.mrr(), 0.8); // (0.5×4 + 1×6) / 10
        assert_eq!(dogs.mean_time_to_first_click_ms(), Some(750.0)); // (1500×2 + 500×6) / 8
        assert_eq!(q.by_query["cats"].mean_time_to_first_click_ms(), None);
        let all = q.overall();
        assert_eq!((all.searches, all.searches_with_click), (20, 8));
        assert_eq!(all.no_click_rate(), 0.6); // (2 + 0 + 10) / 20
        assert_eq!(all.zero_result_rate(), 0.3); // (1 + 0 + 5) / 20
        assert_eq!(all.zero_result_searches(), 6);
        assert_eq!(all.mrr(), 0.4);
        // 500 ms (6 searches with a click) → <1 s; 1500 ms (2) → 1–2 s.
        assert_eq!(q.first_click_bins, [6, 2, 0, 0, 0, 0, 0, 0]);
        let top: Vec<&str> = q
            .top(5, |_| true, |t| t.searches as f64)
            .iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(top, ["cats", "dogs"]); // a tie, by name
        let worst = q.top(5, |t| t.searches >= 10, |t| t.no_click_rate());
        assert_eq!(worst[0].0, "cats");
    }

    #[test]
    fn query_rows_parse_by_field_name_with_nulls_and_extra_fields() {
        use ctr::row_format::RowFormat;
        let r = QueryRow::read_jsonl(
            r#"{"window_start":"2024-01-01T00:00:00.000Z","query":"q","searches":3,"searches_with_click":0,
            "ctr":0.0,"no_click_rate":1.0,"zero_result_rate":0.0,"clicks":0,"mean_first_click_position":null,
            "mrr":null,"mean_time_to_first_click_ms":null,"reformulation_rate":0.5,"extra":1}"#,
        )
        .unwrap();
        assert_eq!((r.searches, r.mean_time_to_first_click_ms), (3, None));
        let mut q = Queries::default();
        q.add(r);
        assert_eq!(q.by_query["q"].mrr(), 0.0); // null counts 0
    }

    #[test]
    fn positions_parse_ranks_and_unranked_and_weight_ctr_by_searches() {
        let mut p = Positions::default();
        for line in [
            r#"{"window_start":"2024-01-01T00:00:00.000Z","position":1,"clicks":6,"first_clicks":5,"searches_with_results_at_position":10,"ctr_at_position":0.6}"#,
            r#"{"window_start":"2024-01-02T00:00:00.000Z","position":1,"clicks":0,"first_clicks":0,"searches_with_results_at_position":30,"ctr_at_position":0.0}"#,
            r#"{"window_start":"2024-01-01T00:00:00.000Z","position":"unranked","clicks":2,"first_clicks":1,"searches_with_results_at_position":0,"ctr_at_position":null}"#,
            r#"{"window_start":"2024-01-01T00:00:00.000Z","position":2,"clicks":1,"first_clicks":1,"searches_with_results_at_position":10,"ctr_at_position":0.1}"#,
        ] {
            p.add(&ctr::row_format::RowFormat::read_jsonl(line).unwrap());
        }
        let order: Vec<Position> = p.by_position.keys().copied().collect();
        assert_eq!(
            order,
            [Position::Ranked(1), Position::Ranked(2), Position::Unranked]
        );
        let first = p.by_position[&Position::Ranked(1)];
        assert_eq!(
            (first.clicks, first.first_clicks, first.searches_with_results),
            (6, 5, 40)
        );
        assert_eq!(first.ctr(), 0.15); // (0.6×10 + 0×30) / 40
        assert_eq!(p.by_position[&Position::Unranked].ctr(), 0.0);
        for bad in ["0", r#""top""#] {
            let line = format!(
                r#"{{"window_start":"2024-01-01T00:00:00.000Z","position":{bad},"clicks":1,"first_clicks":0,"searches_with_results_at_position":0,"ctr_at_position":null}}"#
            );
            let e = <PositionRow as ctr::row_format::RowFormat>::read_jsonl(&line).unwrap_err();
            assert!(e.contains("rank from 1"), "{e}");
        }
    }

    #[test]
    fn judgments_are_summed_and_ranked_by_coec() {
        let mut j = Judgments::default();
        let add = |j: &mut Judgments, q: &str, i: &str, imp, clicks, pos, coec| {
            j.add(JudgmentRow {
                window_start: 0,
                query: q.into(),
                item: i.into(),
                impressions: imp,
                clicks,
                mean_position: pos,
                ctr: 0.0,
                coec: Some(coec),
                model: "coec".into(),
                attractiveness: None,
                satisfaction: None,
                relevance: Some(coec),
            })
        };
        add(&mut j, "dogs", "fido", 10, 5, 1.0, 2.0);
        add(&mut j, "dogs", "fido", 30, 3, 3.0, 1.0);
        add(&mut j, "dogs", "rover", 50, 10, 2.0, 1.5);
        add(&mut j, "cats", "tom", 5, 5, 1.0, 9.0);
        let fido = j.by_pair[&("dogs".to_string(), "fido".to_string())];
        assert_eq!((fido.impressions, fido.clicks), (40, 8));
        assert_eq!(fido.ctr(), 0.2);
        assert_eq!(fido.mean_position(), 2.5); // (1×10 + 3×30) / 40
        assert_eq!(fido.coec(), 1.25); // (2×10 + 1×30) / 40
        let top: Vec<&str> = j.top_by_coec(10, 10).iter().map(|(k, _)| k.1.as_str()).collect();
        assert_eq!(top, ["rover", "fido"]); // tom has too few impressions
    }
}
