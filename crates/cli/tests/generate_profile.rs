//! `search-ctr generate --profile search`: logs for search analytics.

mod common;

use common::{run, stdout};

#[test]
fn the_search_profile_repeats_queries_and_the_default_is_unchanged() {
    let search = run(&["generate", "--events", "3000", "--profile", "search"]);
    assert!(search.status.success());
    let text = stdout(&search);
    // Queries repeat: far fewer distinct ones than searches.
    let queries: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split("\"query\":\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let mut distinct = queries.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        distinct.len() * 2 < queries.len(),
        "{} of {}",
        distinct.len(),
        queries.len()
    );
    assert!(text.contains("\"items\":[]"), "zero-result searches");
    // --profile classic is the default, byte for byte.
    let default = run(&["generate", "--events", "3000"]);
    let classic = run(&["generate", "--events", "3000", "--profile", "classic"]);
    assert_eq!(default.stdout, classic.stdout);
    assert_ne!(default.stdout, search.stdout);
}
