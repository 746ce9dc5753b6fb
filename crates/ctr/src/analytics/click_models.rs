//! Click models: judgments that correct for position bias, fitted from
//! the searches of one window (Chuklin, Markov, de Rijke, *Click Models
//! for Web Search*, 2015).
//!
//! A search is seen as its result list (the first [`DEPTH`] items) and
//! which of those positions were clicked. Searches with the same query,
//! list and clicks are counted together ([`Searches`]), so a model fits
//! in memory bounded by the distinct (query, list, clicks) of a window.
//!
//! - **PBM** (position-based model): a click at position `r` on item `d`
//!   of query `q` happens when the user examines `r` (probability `θ_r`,
//!   the same for every query) and is attracted by `d` (`α_qd`). Fitted by
//!   EM. The product `α θ` is all clicks can tell, so `θ` is reported
//!   relative to position 1 (`θ_1 = 1`): `α_qd` is then the probability of
//!   a click on `d` shown first.
//! - **Cascade**: the user scans down and clicks the first attractive
//!   result, then stops: items above the first click were examined and
//!   not attractive, the clicked one attractive, those below not seen.
//!   `α_qd = clicks / examinations`, exact (no EM). Only a search's first
//!   click counts.
//! - **DBN** (dynamic Bayesian network, Chapelle and Zhang 2009): the user
//!   examines position 1, clicks an examined item with probability `a_qd`,
//!   is satisfied after a click with probability `s_qd` and then stops;
//!   otherwise goes on to the next position with probability `γ`. Fitted
//!   by EM (forward–backward over each search's positions). The relevance
//!   judgment is `a_qd s_qd`.
//!
//! Limits: an item never examined has no estimate (its pairs are left
//! out); pairs with few impressions are noisy (rows need
//! `--min-impressions`); PBM needs items seen at more than one position
//! and positions with more than one item to tell `α` from `θ`.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// Positions a model looks at: the first ten results.
pub const DEPTH: usize = 10;

/// EM iterations (each pass is over the distinct searches only).
pub const ITERATIONS: usize = 100;

/// One search as a click model sees it: its list (at most [`DEPTH`]
/// items) and the positions clicked (bit `r` for position `r + 1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Seen {
    /// The items shown, in order.
    pub items: Vec<CompactString>,
    /// Clicked positions, bit 0 = position 1.
    pub clicks: u16,
}

/// A window's searches per query, counted by what was seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Searches {
    /// Query → (what was seen → how many searches).
    pub by_query: HashMap<CompactString, HashMap<Seen, u64>>,
}

impl Searches {
    /// Counts one search of `query`.
    pub fn add(&mut self, query: &str, seen: Seen, times: u64) {
        *self
            .by_query
            .entry(CompactString::new(query))
            .or_default()
            .entry(seen)
            .or_default() += times;
    }

    /// Adds `other`'s searches.
    pub fn merge(&mut self, other: &Searches) {
        for (q, seen) in &other.by_query {
            for (s, n) in seen {
                self.add(q, s.clone(), *n);
            }
        }
    }

    /// Every distinct search: (query, seen, count).
    fn each(&self) -> impl Iterator<Item = (&CompactString, &Seen, u64)> {
        self.by_query
            .iter()
            .flat_map(|(q, seen)| seen.iter().map(move |(s, n)| (q, s, *n)))
    }
}

/// Which model judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Model {
    /// Position-based model.
    Pbm,
    /// Cascade model.
    Cascade,
    /// Dynamic Bayesian network.
    Dbn,
}

/// What a model says of one (query, item).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PairEstimate {
    /// Attractiveness (`α`, `a`).
    pub attractiveness: f64,
    /// Satisfaction after a click (DBN only).
    pub satisfaction: Option<f64>,
    /// The judgment: `α` (PBM, cascade) or `a s` (DBN).
    pub relevance: f64,
}

/// A fitted model of one window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fitted {
    /// (query, item) → estimate.
    pub pairs: HashMap<(CompactString, CompactString), PairEstimate>,
    /// Examination probability per position, from position 1 (PBM:
    /// relative to position 1; cascade and DBN: the share of searches that
    /// reached it, as the model infers it).
    pub examination: Vec<f64>,
    /// DBN's continuation probability `γ`.
    pub continuation: Option<f64>,
}

/// Fits `model` to a window's searches.
pub fn fit(model: Model, searches: &Searches) -> Fitted {
    match model {
        Model::Pbm => fit_pbm(searches),
        Model::Cascade => fit_cascade(searches),
        Model::Dbn => fit_dbn(searches),
    }
}

/// Clicked at position `r` (0-based)?
fn clicked(seen: &Seen, r: usize) -> bool {
    seen.clicks & (1 << r) != 0
}

/// The parameters of each (query, item), as an index into a vector.
struct Pairs<'a> {
    index: HashMap<(&'a str, &'a str), usize>,
    keys: Vec<(&'a str, &'a str)>,
}

impl<'a> Pairs<'a> {
    fn of(searches: &'a Searches) -> Self {
        let mut p = Pairs {
            index: HashMap::new(),
            keys: Vec::new(),
        };
        for (q, seen, _) in searches.each() {
            for item in seen.items.iter().take(DEPTH) {
                let key = (q.as_str(), item.as_str());
                if let Entry::Vacant(slot) = p.index.entry(key) {
                    slot.insert(p.keys.len());
                    p.keys.push(key);
                }
            }
        }
        p
    }

    fn at(&self, q: &str, item: &str) -> usize {
        self.index[&(q, item)]
    }
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

fn fit_pbm(searches: &Searches) -> Fitted {
    let pairs = Pairs::of(searches);
    // (pair, position) → (impressions, clicks).
    let mut cells: HashMap<(usize, usize), (f64, f64)> = HashMap::new();
    for (q, seen, n) in searches.each() {
        for (r, item) in seen.items.iter().take(DEPTH).enumerate() {
            let c = cells.entry((pairs.at(q, item), r)).or_default();
            c.0 += n as f64;
            if clicked(seen, r) {
                c.1 += n as f64;
            }
        }
    }
    let mut alpha: Vec<f64> = vec![0.5; pairs.keys.len()];
    let mut theta: Vec<f64> = vec![0.5; DEPTH];
    for _ in 0..ITERATIONS {
        let mut a_num = vec![0.0; alpha.len()];
        let mut a_den = vec![0.0; alpha.len()];
        let mut t_num = [0.0; DEPTH];
        let mut t_den = [0.0; DEPTH];
        for (&(p, r), &(n, c)) in &cells {
            let (a, t) = (alpha[p], theta[r]);
            let none = (1.0 - a * t).max(1e-12);
            a_num[p] += c + (n - c) * a * (1.0 - t) / none;
            a_den[p] += n;
            t_num[r] += c + (n - c) * t * (1.0 - a) / none;
            t_den[r] += n;
        }
        for (i, a) in alpha.iter_mut().enumerate() {
            *a = ratio(a_num[i], a_den[i]);
        }
        for r in 0..DEPTH {
            theta[r] = ratio(t_num[r], t_den[r]);
        }
    }
    // Only α θ is identified: report θ relative to position 1.
    let top = theta[0];
    if top > 0.0 {
        theta.iter_mut().for_each(|t| *t /= top);
        alpha.iter_mut().for_each(|a| *a = (*a * top).min(1.0));
    }
    let seen_depth = depth_seen(searches);
    theta.truncate(seen_depth);
    Fitted {
        pairs: estimates(&pairs, &alpha, None),
        examination: theta,
        continuation: None,
    }
}

fn fit_cascade(searches: &Searches) -> Fitted {
    let pairs = Pairs::of(searches);
    let mut clicks = vec![0.0; pairs.keys.len()];
    let mut examined = vec![0.0; pairs.keys.len()];
    let mut reached = [0.0; DEPTH];
    let mut total = 0.0;
    for (q, seen, n) in searches.each() {
        let n = n as f64;
        total += n;
        let len = seen.items.len().min(DEPTH);
        let first = (0..len).find(|&r| clicked(seen, r));
        let last_seen = first.unwrap_or(len.saturating_sub(1));
        for (r, item) in seen.items.iter().take(last_seen + 1).enumerate() {
            let p = pairs.at(q, item);
            examined[p] += n;
            reached[r] += n;
            if Some(r) == first {
                clicks[p] += n;
            }
        }
    }
    let alpha: Vec<f64> = clicks.iter().zip(&examined).map(|(c, e)| ratio(*c, *e)).collect();
    let mut examination: Vec<f64> = reached.iter().map(|r| ratio(*r, total)).collect();
    examination.truncate(depth_seen(searches));
    let mut estimated = estimates(&pairs, &alpha, None);
    // An item never examined (always below the first click) has no
    // estimate.
    for (i, (q, item)) in pairs.keys.iter().enumerate() {
        if examined[i] == 0.0 {
            estimated.remove(&(CompactString::new(q), CompactString::new(item)));
        }
    }
    Fitted {
        pairs: estimated,
        examination,
        continuation: None,
    }
}

fn fit_dbn(searches: &Searches) -> Fitted {
    let pairs = Pairs::of(searches);
    let k = pairs.keys.len();
    let (mut a, mut s, mut gamma) = (vec![0.5; k], vec![0.5; k], 0.9);
    let mut examination = vec![0.0; DEPTH];
    for _ in 0..ITERATIONS {
        let (mut a_num, mut a_den) = (vec![0.0; k], vec![0.0; k]);
        let (mut s_num, mut s_den) = (vec![0.0; k], vec![0.0; k]);
        let (mut g_num, mut g_den) = (0.0, 0.0);
        let mut reached = [0.0; DEPTH];
        let mut total = 0.0;
        for (q, seen, n) in searches.each() {
            let n = n as f64;
            total += n;
            // Fixed-size scratch (a list is at most DEPTH long): nothing is
            // allocated per search and iteration.
            let mut ids = [0usize; DEPTH];
            let len = seen.items.len().min(DEPTH);
            if len == 0 {
                continue;
            }
            for (id, item) in ids.iter_mut().zip(&seen.items) {
                *id = pairs.at(q, item);
            }
            let last = (0..len).rev().find(|&r| clicked(seen, r));
            // z[r]: P(no click at r.. | position r examined).
            let mut z = [1.0; DEPTH + 1];
            for r in (0..len).rev() {
                z[r] = (1.0 - a[ids[r]]) * ((1.0 - gamma) + gamma * z[r + 1]);
            }
            // P(examined) of each position given the clicks, and the
            // satisfaction posterior at the last click.
            let mut exam = [0.0; DEPTH];
            let start = match last {
                Some(l) => {
                    exam[..=l].iter_mut().for_each(|e| *e = 1.0);
                    let sl = s[ids[l]];
                    let tail = sl + (1.0 - sl) * ((1.0 - gamma) + gamma * z[l + 1]);
                    // Clicks: satisfied only possibly at the last one.
                    for r in 0..=l {
                        if clicked(seen, r) {
                            s_den[ids[r]] += n;
                            if r == l {
                                s_num[ids[r]] += n * sl / tail;
                            }
                        }
                    }
                    // Continuations before the last click are certain.
                    g_num += n * l as f64;
                    g_den += n * l as f64;
                    // At the last click: not satisfied, then on or not.
                    if l + 1 < len {
                        let on = (1.0 - sl) * gamma * z[l + 1] / tail;
                        g_num += n * on;
                        g_den += n * (1.0 - sl) * ((1.0 - gamma) + gamma * z[l + 1]) / tail;
                        // Beyond: examined with a run of non-attractive items.
                        let mut p = on / z[l + 1].max(1e-300);
                        for r in l + 1..len {
                            exam[r] = p * z[r];
                            p *= (1.0 - a[ids[r]]) * gamma;
                        }
                    }
                    l + 1
                }
                None => {
                    let mut p = 1.0 / z[0].max(1e-300);
                    for r in 0..len {
                        exam[r] = p * z[r];
                        p *= (1.0 - a[ids[r]]) * gamma;
                    }
                    0
                }
            };
            // Continuations after the last click (or from the top): at
            // each examined position without a click, on with γ.
            for r in start..len.saturating_sub(1) {
                g_num += n * exam[r + 1];
                g_den += n * exam[r];
            }
            for r in 0..len {
                a_den[ids[r]] += n * exam[r];
                if clicked(seen, r) {
                    a_num[ids[r]] += n;
                }
                reached[r] += n * exam[r];
            }
        }
        for i in 0..k {
            a[i] = ratio(a_num[i], a_den[i]).clamp(1e-6, 1.0 - 1e-6);
            s[i] = ratio(s_num[i], s_den[i]).clamp(0.0, 1.0);
        }
        gamma = ratio(g_num, g_den).clamp(1e-6, 1.0);
        examination = reached.iter().map(|r| ratio(*r, total)).collect();
    }
    examination.truncate(depth_seen(searches));
    Fitted {
        pairs: estimates(&pairs, &a, Some(&s)),
        examination,
        continuation: Some(gamma),
    }
}

/// The longest list (within [`DEPTH`]) among the searches.
fn depth_seen(searches: &Searches) -> usize {
    searches
        .each()
        .map(|(_, s, _)| s.items.len().min(DEPTH))
        .max()
        .unwrap_or(0)
}

fn estimates(
    pairs: &Pairs<'_>,
    alpha: &[f64],
    satisfaction: Option<&[f64]>,
) -> HashMap<(CompactString, CompactString), PairEstimate> {
    pairs
        .keys
        .iter()
        .enumerate()
        .map(|(i, (q, item))| {
            let s = satisfaction.map(|s| s[i]);
            (
                (CompactString::new(q), CompactString::new(item)),
                PairEstimate {
                    attractiveness: alpha[i],
                    satisfaction: s,
                    relevance: alpha[i] * s.unwrap_or(1.0),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
