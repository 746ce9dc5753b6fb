//! The analytics of a whole log, computed the plain way, as an oracle for
//! tests: every event in memory, sessions cut after sorting, one pass per
//! session, one pass per search. It shares no code with
//! [`super::searches`] or [`super::aggregate`] (only the query
//! normalisation, the window arithmetic and the row types), so the
//! incremental, mergeable path can be checked against it — today by this
//! crate's property tests, later by the dataflow wiring's tests.
//!
//! Floating-point values are computed with the same formulas as the rows
//! (sums over positions in ascending order), so equal counts give
//! bit-equal rows.

use std::collections::{BTreeMap, HashMap};

use super::query::normalize_query;
use super::rows::{JudgmentRow, PositionRow, QueryRow, WindowRows};
use super::searches::Position;
use super::window::Window;
use crate::event::{Detail, Event, EventKind};

/// What the reference needs to know about the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceConfig {
    /// Session gap (`--gap`), ms.
    pub gap_ms: i64,
    /// Allowed lateness per user (`--wait`), ms.
    pub wait_ms: i64,
    /// Analytics window.
    pub window: Window,
    /// Least impressions of a judgment row.
    pub min_impressions: u64,
}

struct Search {
    time: i64,
    query: String,
    list: Option<Vec<String>>,
    /// (item, time, reported position)
    clicks: Vec<(String, i64, Option<u32>)>,
    /// Whether the next event (results ignored) is a search; `None` while
    /// nothing has followed.
    next_is_search: Option<bool>,
}

#[derive(Default)]
struct Q {
    searches: u64,
    clicked: u64,
    zero: u64,
    clicks: u64,
    reformulated: u64,
    first_ranked: Vec<u32>,
    ttfc_sum: i128,
}

#[derive(Default)]
struct P {
    clicks: u64,
    first: u64,
    shown: u64,
}

#[derive(Default)]
struct J {
    shown_at: Vec<u32>,
    clicks: u64,
}

/// All rows of `events` (the log in input order; events without
/// [`Event::detail`] count with an empty query, list or item), window by
/// window in window order.
pub fn reference_rows(events: &[Event], cfg: &ReferenceConfig) -> Vec<WindowRows> {
    // 1. Drop late events: more than `wait` behind the user's latest time.
    let mut latest: HashMap<&str, i64> = HashMap::new();
    let mut by_user: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in events {
        let max = latest.entry(e.user.as_str()).or_insert(i64::MIN);
        if *max != i64::MIN && e.time_ms < max.saturating_sub(cfg.wait_ms) {
            continue;
        }
        *max = (*max).max(e.time_ms);
        by_user.entry(e.user.as_str()).or_default().push(e);
    }

    // 2. Sessions: each user's events by time (stable: ties in input order),
    //    cut where two neighbours are more than `gap` apart; 3. searches.
    let mut searches = Vec::new();
    for (_, mut evs) in by_user {
        evs.sort_by_key(|e| e.time_ms);
        let mut session: Vec<Search> = Vec::new();
        let mut prev: Option<i64> = None;
        for e in evs {
            if prev.is_some_and(|p| e.time_ms - p > cfg.gap_ms) {
                searches.append(&mut session);
            }
            prev = Some(e.time_ms);
            scan(&mut session, e);
        }
        searches.append(&mut session);
    }

    // 4. Counts per window.
    let mut queries: BTreeMap<(i64, String), Q> = BTreeMap::new();
    let mut positions: BTreeMap<(i64, Position), P> = BTreeMap::new();
    let mut judgments: BTreeMap<(i64, String, String), J> = BTreeMap::new();
    for s in &searches {
        let w = cfg.window.start_of(s.time);
        let position_of = |item: &str, reported: Option<u32>| match reported {
            Some(p) => Position::Ranked(p),
            None => s
                .list
                .as_ref()
                .and_then(|l| l.iter().position(|i| i == item))
                .map_or(Position::Unranked, |i| Position::Ranked(i as u32 + 1)),
        };
        let q = queries.entry((w, s.query.clone())).or_default();
        q.searches += 1;
        q.clicks += s.clicks.len() as u64;
        if s.list.as_ref().is_some_and(|l| l.is_empty()) {
            q.zero += 1;
        }
        if let Some((item, t, reported)) = s.clicks.first() {
            q.clicked += 1;
            q.ttfc_sum += i128::from(t - s.time);
            if let Position::Ranked(p) = position_of(item, *reported) {
                q.first_ranked.push(p);
            }
        } else if s.next_is_search == Some(true) {
            q.reformulated += 1;
        }
        for (n, (item, _, reported)) in s.clicks.iter().enumerate() {
            let p = positions.entry((w, position_of(item, *reported))).or_default();
            p.clicks += 1;
            if n == 0 {
                p.first += 1;
            }
        }
        if let Some(list) = &s.list {
            let mut seen: Vec<&String> = Vec::new();
            for (i, item) in list.iter().enumerate() {
                positions
                    .entry((w, Position::Ranked(i as u32 + 1)))
                    .or_default()
                    .shown += 1;
                if seen.contains(&item) {
                    continue;
                }
                seen.push(item);
                let j = judgments.entry((w, s.query.clone(), item.clone())).or_default();
                j.shown_at.push(i as u32 + 1);
                j.clicks += s.clicks.iter().filter(|c| c.0 == *item).count() as u64;
            }
        }
    }

    // 5. Rows.
    let mut out: BTreeMap<i64, WindowRows> = BTreeMap::new();
    for ((w, query), q) in &queries {
        let n = q.searches as f64;
        let mut hist: BTreeMap<u32, u64> = BTreeMap::new();
        for p in &q.first_ranked {
            *hist.entry(*p).or_default() += 1;
        }
        let rr: f64 = hist
            .iter()
            .map(|(p, c)| *c as f64 / f64::from(*p))
            .fold(0.0, |s, x| s + x);
        let psum: u128 = q.first_ranked.iter().map(|p| u128::from(*p)).sum();
        let row = QueryRow {
            window_start: *w,
            query: query.as_str().into(),
            searches: q.searches,
            searches_with_click: q.clicked,
            ctr: q.clicked as f64 / n,
            no_click_rate: (q.searches - q.clicked) as f64 / n,
            zero_result_rate: q.zero as f64 / n,
            clicks: q.clicks,
            mean_first_click_position: if q.first_ranked.is_empty() {
                None
            } else {
                Some(psum as f64 / q.first_ranked.len() as f64)
            },
            mrr: rr / n,
            mean_time_to_first_click_ms: if q.clicked == 0 {
                None
            } else {
                Some(q.ttfc_sum as f64 / q.clicked as f64)
            },
            reformulation_rate: q.reformulated as f64 / n,
        };
        window_rows(&mut out, *w).queries.push(row);
    }
    let mut ctr_at: HashMap<(i64, u32), f64> = HashMap::new();
    for ((w, pos), p) in &positions {
        let ctr = if p.shown == 0 {
            None
        } else {
            Some(p.clicks as f64 / p.shown as f64)
        };
        if let (Position::Ranked(r), Some(c)) = (pos, ctr) {
            ctr_at.insert((*w, *r), c);
        }
        window_rows(&mut out, *w).positions.push(PositionRow {
            window_start: *w,
            position: *pos,
            clicks: p.clicks,
            first_clicks: p.first,
            searches_with_results_at_position: p.shown,
            ctr_at_position: ctr,
            examination: None,
        });
    }
    for ((w, query, item), j) in &judgments {
        let impressions = j.shown_at.len() as u64;
        if impressions < cfg.min_impressions {
            continue;
        }
        let mut hist: BTreeMap<u32, u64> = BTreeMap::new();
        for p in &j.shown_at {
            *hist.entry(*p).or_default() += 1;
        }
        let expected: f64 = hist
            .iter()
            .map(|(p, c)| *c as f64 * ctr_at.get(&(*w, *p)).copied().unwrap_or(0.0))
            .fold(0.0, |s, x| s + x);
        let psum: u128 = j.shown_at.iter().map(|p| u128::from(*p)).sum();
        window_rows(&mut out, *w).judgments.push(JudgmentRow {
            window_start: *w,
            query: query.as_str().into(),
            item: item.as_str().into(),
            impressions,
            clicks: j.clicks,
            mean_position: psum as f64 / impressions as f64,
            ctr: j.clicks as f64 / impressions as f64,
            coec: if expected > 0.0 {
                Some(j.clicks as f64 / expected)
            } else {
                None
            },
            model: "coec".into(),
            attractiveness: None,
            satisfaction: None,
            relevance: if expected > 0.0 {
                Some(j.clicks as f64 / expected)
            } else {
                None
            },
        });
    }
    out.into_values().collect()
}

fn window_rows(out: &mut BTreeMap<i64, WindowRows>, w: i64) -> &mut WindowRows {
    out.entry(w).or_insert_with(|| WindowRows {
        window_start: w,
        queries: Vec::new(),
        positions: Vec::new(),
        judgments: Vec::new(),
    })
}

/// One event of a session, in session order.
fn scan(session: &mut Vec<Search>, e: &Event) {
    let detail = e.detail.as_deref();
    match e.kind {
        EventKind::Search => {
            if let Some(last) = session.last_mut() {
                last.next_is_search.get_or_insert(true);
            }
            let query = match detail {
                Some(Detail::Query(q)) => normalize_query(q).to_string(),
                _ => String::new(),
            };
            session.push(Search {
                time: e.time_ms,
                query,
                list: None,
                clicks: Vec::new(),
                next_is_search: None,
            });
        }
        EventKind::Results => {
            if let (Some(last), Some(Detail::Items(items))) = (session.last_mut(), detail) {
                last.list = Some(items.iter().map(|i| i.to_string()).collect());
            }
        }
        EventKind::ClickResult => {
            if let Some(last) = session.last_mut() {
                last.next_is_search.get_or_insert(false);
                let (item, reported) = match detail {
                    Some(Detail::Click { item, position }) => (item.to_string(), *position),
                    _ => (String::new(), None),
                };
                last.clicks.push((item, e.time_ms, reported));
            }
        }
        EventKind::AppOpen | EventKind::AppClose | EventKind::Timeout => {
            if let Some(last) = session.last_mut() {
                last.next_is_search.get_or_insert(false);
            }
        }
    }
}
