//! The run summary's top lists of queries (`docs/analytics.md`, "Top
//! queries"): by searches, by zero-result searches, and by no-click rate.
//! Ties go to the query that sorts first, so the lists are deterministic.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use super::aggregate::QueryAgg;

/// Entries per list.
pub const TOP_K: usize = 10;
/// Least searches a query needs to be ranked by no-click rate.
pub const NO_CLICK_MIN_SEARCHES: u64 = 20;

/// One query's totals over the whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryTotals {
    /// Searches.
    pub searches: u64,
    /// Searches with a click.
    pub searches_with_click: u64,
    /// Searches with an empty result list.
    pub zero_result: u64,
}

impl QueryTotals {
    /// Searches without a click.
    pub fn no_click(&self) -> u64 {
        self.searches - self.searches_with_click
    }
}

/// Per-query totals over every window, mergeable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopQueries {
    totals: BTreeMap<CompactString, QueryTotals>,
}

/// The three lists, best first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopLists {
    /// Most searched queries.
    pub by_searches: Vec<(CompactString, QueryTotals)>,
    /// Queries with the most zero-result searches (at least one).
    pub zero_result: Vec<(CompactString, QueryTotals)>,
    /// Queries of at least [`NO_CLICK_MIN_SEARCHES`] searches with the
    /// highest share of searches without a click.
    pub no_click: Vec<(CompactString, QueryTotals)>,
}

impl TopQueries {
    /// Counts a window's accumulator of `query`.
    pub fn add(&mut self, query: &str, agg: &QueryAgg) {
        let t = self.totals.entry(query.into()).or_default();
        t.searches += agg.searches;
        t.searches_with_click += agg.searches_with_click;
        t.zero_result += agg.zero_result;
    }

    /// Adds `other`'s totals.
    pub fn merge(&mut self, other: &TopQueries) {
        for (q, o) in &other.totals {
            let t = self.totals.entry(q.clone()).or_default();
            t.searches += o.searches;
            t.searches_with_click += o.searches_with_click;
            t.zero_result += o.zero_result;
        }
    }

    /// The top [`TOP_K`] of each list.
    pub fn lists(&self) -> TopLists {
        let top = |keep: &dyn Fn(&QueryTotals) -> bool,
                   cmp: &dyn Fn(&QueryTotals, &QueryTotals) -> Ordering| {
            let mut v: Vec<_> = self
                .totals
                .iter()
                .filter(|(_, t)| keep(t))
                .map(|(q, t)| (q.clone(), *t))
                .collect();
            // Stable: equal entries stay in query order.
            v.sort_by(|a, b| cmp(&a.1, &b.1));
            v.truncate(TOP_K);
            v
        };
        TopLists {
            by_searches: top(&|_| true, &|a, b| b.searches.cmp(&a.searches)),
            zero_result: top(&|t| t.zero_result > 0, &|a, b| b.zero_result.cmp(&a.zero_result)),
            no_click: top(&|t| t.searches >= NO_CLICK_MIN_SEARCHES, &|a, b| {
                // b.no_click / b.searches vs a.no_click / a.searches, exactly;
                // then more searches first.
                let lhs = u128::from(b.no_click()) * u128::from(a.searches);
                let rhs = u128::from(a.no_click()) * u128::from(b.searches);
                lhs.cmp(&rhs).then(b.searches.cmp(&a.searches))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agg(searches: u64, with_click: u64, zero: u64) -> QueryAgg {
        QueryAgg {
            searches,
            searches_with_click: with_click,
            zero_result: zero,
            ..QueryAgg::default()
        }
    }

    #[test]
    fn lists_are_ranked_with_ties_by_query() {
        let mut t = TopQueries::default();
        for i in 0..15u64 {
            t.add(&format!("q{i:02}"), &agg(10 + i % 3, 0, u64::from(i == 4)));
        }
        t.add("q04", &agg(0, 0, 2)); // merged across windows: 3 zero-result
        t.add("many", &agg(40, 10, 0)); // no-click 0.75
        t.add("few", &agg(19, 0, 0)); // too few searches for the no-click list
        t.add("half", &agg(20, 10, 0)); // no-click 0.5
        t.add("all", &agg(20, 0, 0)); // no-click 1.0
        let l = t.lists();
        let names =
            |v: &[(CompactString, QueryTotals)]| v.iter().map(|(q, _)| q.to_string()).collect::<Vec<_>>();
        assert_eq!(
            names(&l.by_searches),
            ["many", "all", "half", "few", "q02", "q05", "q08", "q11", "q14", "q01"]
        );
        assert_eq!(names(&l.zero_result), ["q04"]);
        assert_eq!(l.zero_result[0].1.zero_result, 3);
        assert_eq!(names(&l.no_click), ["all", "many", "half"]);
    }
}
