//! Search analytics on hand-written logs: one per definition of
//! `docs/analytics.md`, rows checked exactly, through the incremental path
//! (SessionSearches → Aggregates) and against the reference.

use ctr::analytics::aggregate::Aggregates;
use ctr::analytics::reference::{reference_rows, ReferenceConfig};
use ctr::analytics::rows::{JudgmentRow, PositionRow, QueryRow, WindowRows};
use ctr::analytics::searches::{Position, SessionSearches};
use ctr::analytics::window::Window;
use ctr::event::Event;
use ctr::parse::{parse_line_detailed, Parsed};
use ctr::timestamp::TimeUnit;

const GAP: i64 = 30 * 60 * 1000;
const WAIT: i64 = 10_000;
/// 2024-01-01T00:00:00Z.
const DAY0: i64 = 1_704_067_200_000;

fn events(log: &str) -> Vec<Event> {
    log.lines()
        .filter(|l| !l.trim().is_empty())
        .map(
            |l| match parse_line_detailed(l.trim().as_bytes(), TimeUnit::Millis) {
                Ok(Parsed::Event(e)) => e,
                other => panic!("{l}: {other:?}"),
            },
        )
        .collect()
}

/// The incremental path: sessions cut by gap (events in arrival order
/// within each), one SessionSearches each, records into Aggregates.
fn incremental(events: &[Event], window: Window) -> Aggregates {
    let mut users: Vec<&str> = events.iter().map(|e| e.user.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    let mut aggs = Aggregates::new(window);
    for user in users {
        let mine: Vec<&Event> = events.iter().filter(|e| e.user == user).collect();
        let mut times: Vec<i64> = mine.iter().map(|e| e.time_ms).collect();
        times.sort_unstable();
        // Session bounds: runs of times no more than GAP apart.
        let mut bounds = vec![times[0]];
        for w in times.windows(2) {
            if w[1] - w[0] > GAP {
                bounds.push(w[1]);
            }
        }
        for (i, &start) in bounds.iter().enumerate() {
            let end = bounds.get(i + 1).copied().unwrap_or(i64::MAX);
            let mut s = SessionSearches::new(WAIT);
            for e in mine.iter().filter(|e| e.time_ms >= start && e.time_ms < end) {
                s.push_event(e);
            }
            aggs.add_session(&s.finish());
        }
    }
    aggs
}

/// Both paths; asserts they agree and returns the rows.
fn rows(log: &str, window: Window, min_impressions: u64) -> Vec<WindowRows> {
    rows_of(&events(log), window, min_impressions)
}

fn rows_of(evs: &[Event], window: Window, min_impressions: u64) -> Vec<WindowRows> {
    let got = incremental(evs, window).finish(min_impressions);
    let cfg = ReferenceConfig {
        gap_ms: GAP,
        wait_ms: WAIT,
        window,
        min_impressions,
    };
    assert_eq!(got, reference_rows(evs, &cfg), "incremental and reference differ");
    got
}

fn one_window(log: &str) -> WindowRows {
    let mut r = rows(log, Window::DAY, 1);
    assert_eq!(r.len(), 1, "{r:?}");
    r.remove(0)
}

fn query(q: &str, searches: u64, with_click: u64, clicks: u64) -> QueryRow {
    let n = searches as f64;
    QueryRow {
        window_start: DAY0,
        query: q.into(),
        searches,
        searches_with_click: with_click,
        ctr: with_click as f64 / n,
        no_click_rate: (searches - with_click) as f64 / n,
        zero_result_rate: 0.0,
        clicks,
        mean_first_click_position: None,
        mrr: 0.0,
        mean_time_to_first_click_ms: None,
        reformulation_rate: 0.0,
    }
}

fn position(p: Position, clicks: u64, first: u64, shown: u64) -> PositionRow {
    PositionRow {
        window_start: DAY0,
        position: p,
        clicks,
        first_clicks: first,
        searches_with_results_at_position: shown,
        ctr_at_position: (shown > 0).then(|| clicks as f64 / shown as f64),
        examination: None,
    }
}

use Position::{Ranked, Unranked};

#[test]
fn a_ranked_click_gives_position_rr_and_time_to_click() {
    let w = one_window(
        r#"
        {"type":"search","user":"u","query":"dogs","time":"2024-01-01T10:00:00Z"}
        {"type":"results","user":"u","items":["a","b","c"],"time":"2024-01-01T10:00:01Z"}
        {"type":"click_result","user":"u","item":"b","time":"2024-01-01T10:00:04.5Z"}
        {"type":"click_result","user":"u","item":"a","time":"2024-01-01T10:00:09Z"}
        "#,
    );
    let mut q = query("dogs", 1, 1, 2);
    q.mean_first_click_position = Some(2.0);
    q.mrr = 0.5;
    q.mean_time_to_first_click_ms = Some(4500.0);
    assert_eq!(w.queries, [q]);
    assert_eq!(
        w.positions,
        [
            position(Ranked(1), 1, 0, 1),
            position(Ranked(2), 1, 1, 1),
            position(Ranked(3), 0, 0, 1)
        ]
    );
    assert_eq!(w.judgments.len(), 3);
    assert_eq!(
        w.judgments[1],
        JudgmentRow {
            window_start: DAY0,
            query: "dogs".into(),
            item: "b".into(),
            impressions: 1,
            clicks: 1,
            mean_position: 2.0,
            ctr: 1.0,
            coec: Some(1.0),
            model: "coec".into(),
            attractiveness: None,
            satisfaction: None,
            relevance: Some(1.0),
        }
    );
}

#[test]
fn a_click_on_an_unlisted_item_is_unranked() {
    let w = one_window(
        r#"
        {"type":"search","user":"u","query":"dogs","time":"2024-01-01T10:00:00Z"}
        {"type":"results","user":"u","items":["a","b"],"time":"2024-01-01T10:00:01Z"}
        {"type":"click_result","user":"u","item":"zzz","time":"2024-01-01T10:00:02Z"}
        {"type":"click_result","user":"u","item":"a","time":"2024-01-01T10:00:03Z"}
        "#,
    );
    // The first click is unranked: no first-click position, RR 0, even
    // though a later click is ranked.
    let mut q = query("dogs", 1, 1, 2);
    q.mean_time_to_first_click_ms = Some(2000.0);
    assert_eq!(w.queries, [q]);
    assert_eq!(
        w.positions,
        [
            position(Ranked(1), 1, 0, 1),
            position(Ranked(2), 0, 0, 1),
            position(Unranked, 1, 1, 0)
        ]
    );
    assert_eq!(w.positions[2].ctr_at_position, None);
    // Judgments cover listed items only.
    let items: Vec<&str> = w.judgments.iter().map(|j| j.item.as_str()).collect();
    assert_eq!(items, ["a", "b"]);
}

#[test]
fn an_empty_result_list_is_a_zero_result_search() {
    let w = one_window(
        r#"
        {"type":"search","user":"u","query":"xyzzy","time":"2024-01-01T10:00:00Z"}
        {"type":"results","user":"u","items":[],"time":"2024-01-01T10:00:01Z"}
        {"type":"search","user":"u","query":"dogs","time":"2024-01-01T10:00:05Z"}
        {"type":"app_close","user":"u","time":"2024-01-01T10:00:09Z"}
        "#,
    );
    let mut xyzzy = query("xyzzy", 1, 0, 0);
    xyzzy.zero_result_rate = 1.0;
    xyzzy.reformulation_rate = 1.0; // unclicked, and the next event is a search
                                    // "dogs" has no results event at all: no list, not zero-result.
    assert_eq!(w.queries, [query("dogs", 1, 0, 0), xyzzy]);
    assert!(w.positions.is_empty() && w.judgments.is_empty());
}

#[test]
fn reformulation_needs_no_click_and_a_search_next_results_ignored() {
    let w = one_window(
        r#"
        {"type":"search","user":"u","query":"dgos","time":"2024-01-01T10:00:00Z"}
        {"type":"results","user":"u","items":["x"],"time":"2024-01-01T10:00:01Z"}
        {"type":"search","user":"u","query":"dogs","time":"2024-01-01T10:00:05Z"}
        {"type":"results","user":"u","items":["d"],"time":"2024-01-01T10:00:06Z"}
        {"type":"click_result","user":"u","item":"d","time":"2024-01-01T10:00:07Z"}
        {"type":"search","user":"u","query":"cats","time":"2024-01-01T10:00:08Z"}
        {"type":"search","user":"u","query":"kittens","time":"2024-01-01T10:00:09Z"}
        {"type":"app_close","user":"u","time":"2024-01-01T10:00:10Z"}
        {"type":"search","user":"v","query":"cats","time":"2024-01-01T10:00:00Z"}
        {"type":"app_open","user":"v","time":"2024-01-01T10:00:01Z"}
        {"type":"search","user":"v","query":"cats","time":"2024-01-01T10:00:02Z"}
        "#,
    );
    let reformulated = |q: &str, n: u64, rate: f64| QueryRow {
        reformulation_rate: rate,
        ..query(q, n, 0, 0)
    };
    let mut dogs = query("dogs", 1, 1, 1);
    dogs.mean_first_click_position = Some(1.0);
    dogs.mrr = 1.0;
    dogs.mean_time_to_first_click_ms = Some(2000.0);
    // dgos: results then a search → reformulated. dogs: clicked → not.
    // cats (u): next is a search → reformulated; kittens: app_close next;
    // cats (v): app_open next → not; v's last cats: nothing next → not.
    assert_eq!(
        w.queries,
        [
            reformulated("cats", 3, 1.0 / 3.0),
            reformulated("dgos", 1, 1.0),
            dogs,
            reformulated("kittens", 1, 0.0)
        ]
    );
}

#[test]
fn clicks_before_any_search_belong_to_none() {
    let w = one_window(
        r#"
        {"type":"app_open","user":"u","time":"2024-01-01T10:00:00Z"}
        {"type":"click_result","user":"u","item":"promo","time":"2024-01-01T10:00:01Z"}
        {"type":"results","user":"u","items":["promo"],"time":"2024-01-01T10:00:02Z"}
        {"type":"search","user":"u","query":"dogs","time":"2024-01-01T10:00:03Z"}
        "#,
    );
    assert_eq!(w.queries, [query("dogs", 1, 0, 0)]);
    assert!(w.positions.is_empty() && w.judgments.is_empty());
}

#[test]
fn results_after_a_second_search_are_the_second_ones() {
    let w = one_window(
        r#"
        {"type":"search","user":"u","query":"first","time":"2024-01-01T10:00:00Z"}
        {"type":"search","user":"u","query":"second","time":"2024-01-01T10:00:01Z"}
        {"type":"results","user":"u","items":["a","b"],"time":"2024-01-01T10:00:02Z"}
        {"type":"click_result","user":"u","item":"b","time":"2024-01-01T10:00:03Z"}
        "#,
    );
    let mut first = query("first", 1, 0, 0);
    first.reformulation_rate = 1.0;
    let mut second = query("second", 1, 1, 1);
    second.mean_first_click_position = Some(2.0);
    second.mrr = 0.5;
    second.mean_time_to_first_click_ms = Some(2000.0);
    assert_eq!(w.queries, [first, second]);
    assert_eq!(
        w.positions,
        [position(Ranked(1), 0, 0, 1), position(Ranked(2), 1, 1, 1)]
    );
}

#[test]
fn the_last_results_event_is_the_list_and_arrival_order_does_not_matter() {
    // The click arrives before the search and both results events, but
    // comes after them in time; the second list wins.
    let w = one_window(
        r#"
        {"type":"click_result","user":"u","item":"a","time":"2024-01-01T10:00:05Z"}
        {"type":"search","user":"u","query":"q","time":"2024-01-01T10:00:00Z"}
        {"type":"results","user":"u","items":["b","c","a"],"time":"2024-01-01T10:00:02Z"}
        {"type":"results","user":"u","items":["a"],"time":"2024-01-01T10:00:01Z"}
        "#,
    );
    assert_eq!(w.queries[0].mean_first_click_position, Some(3.0));
}

#[test]
fn queries_differing_in_case_whitespace_or_width_are_one() {
    let w = one_window(
        "{\"type\":\"search\",\"user\":\"u\",\"query\":\"Hot Dogs\",\"time\":\"2024-01-01T10:00:00Z\"}\n\
         {\"type\":\"search\",\"user\":\"u\",\"query\":\"  hot \\t dogs \",\"time\":\"2024-01-01T10:00:01Z\"}\n\
         {\"type\":\"search\",\"user\":\"u\",\"query\":\"ＨＯＴ\u{3000}ＤＯＧＳ\",\"time\":\"2024-01-01T10:00:02Z\"}\n\
         {\"type\":\"search\",\"user\":\"u\",\"query\":\"hot\\u00a0dogs\",\"time\":\"2024-01-01T10:00:03Z\"}\n\
         {\"type\":\"app_close\",\"user\":\"u\",\"time\":\"2024-01-01T10:00:04Z\"}",
    );
    let mut q = query("hot dogs", 4, 0, 0);
    q.reformulation_rate = 0.75;
    assert_eq!(w.queries, [q]);
}

#[test]
fn coec_divides_clicks_by_the_clicks_expected_at_the_positions_shown() {
    let mut log = String::new();
    let mut t = 0;
    let mut line = |user: &str, body: &str| {
        t += 1000;
        log.push_str(&format!(
            "{{\"user\":\"{user}\",{body},\"time\":{}}}\n",
            DAY0 + 36_000_000 + t
        ));
    };
    // Four searches for "q" showing [a, b]: a clicked twice, b once.
    for (i, clicked) in ["a", "a", "b", ""].iter().enumerate() {
        let user = format!("u{i}");
        line(&user, r#""type":"search","query":"q""#);
        line(&user, r#""type":"results","items":["a","b"]"#);
        if !clicked.is_empty() {
            line(&user, &format!(r#""type":"click_result","item":"{clicked}""#));
        }
    }
    // One search for "r" showing [b, a], b clicked.
    line("v", r#""type":"search","query":"r""#);
    line("v", r#""type":"results","items":["b","a"]"#);
    line("v", r#""type":"click_result","item":"b""#);
    let w = rows(&log, Window::DAY, 4).remove(0);
    // Position 1: 5 shown, 3 clicks; position 2: 5 shown, 1 click.
    assert_eq!(
        w.positions,
        [position(Ranked(1), 3, 3, 5), position(Ranked(2), 1, 1, 5)]
    );
    let (ctr1, ctr2) = (3.0 / 5.0, 1.0 / 5.0);
    let judgment = |item: &str, clicks: u64, mean_position: f64, expected: f64| JudgmentRow {
        window_start: DAY0,
        query: "q".into(),
        item: item.into(),
        impressions: 4,
        clicks,
        mean_position,
        ctr: clicks as f64 / 4.0,
        coec: Some(clicks as f64 / expected),
        model: "coec".into(),
        attractiveness: None,
        satisfaction: None,
        relevance: Some(clicks as f64 / expected),
    };
    // ("r", _) have 1 impression each: below min_impressions 4.
    assert_eq!(
        w.judgments,
        [
            judgment("a", 2, 1.0, 4.0 * ctr1),
            judgment("b", 1, 2.0, 4.0 * ctr2)
        ]
    );
    assert!((w.judgments[0].coec.unwrap_or_default() - 5.0 / 6.0).abs() < 1e-15);
    assert_eq!(w.judgments[1].coec, Some(1.25));
}

#[test]
fn a_search_counts_in_its_own_window_with_its_clicks() {
    let log = r#"
        {"type":"search","user":"u","query":"late night","time":"2024-01-01T23:59:59Z"}
        {"type":"results","user":"u","items":["a"],"time":"2024-01-02T00:00:00Z"}
        {"type":"click_result","user":"u","item":"a","time":"2024-01-02T00:00:01Z"}
        {"type":"search","user":"u","query":"morning","time":"2024-01-02T00:00:02Z"}
    "#;
    let days = rows(log, Window::DAY, 1);
    assert_eq!(days.len(), 2);
    assert_eq!((days[0].window_start, days[0].queries.len()), (DAY0, 1));
    assert_eq!(days[0].queries[0].clicks, 1);
    assert_eq!(days[0].positions, [position(Ranked(1), 1, 1, 1)]);
    assert_eq!(days[1].window_start, DAY0 + 86_400_000);
    assert!(days[1].positions.is_empty());
    let hours = rows(log, Window::parse("1h").unwrap_or_default(), 1);
    assert_eq!(hours[0].window_start, DAY0 + 23 * 3_600_000);
}

#[test]
fn windows_close_in_order_once_their_end_has_passed() {
    let evs = events(
        r#"
        {"type":"search","user":"u","query":"a","time":"2024-01-01T10:00:00Z"}
        {"type":"search","user":"v","query":"b","time":"2024-01-02T10:00:00Z"}
        "#,
    );
    let mut aggs = Aggregates::new(Window::DAY);
    for e in &evs {
        let mut s = SessionSearches::new(0);
        s.push_event(e);
        aggs.add_session(&s.finish());
    }
    assert!(aggs.close_before(DAY0 + 86_399_999, 1).is_empty());
    let closed = aggs.close_before(DAY0 + 86_400_000, 1);
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].queries[0].query, "a");
    let rest = aggs.finish(1);
    assert_eq!(rest[0].queries[0].query, "b");
}

#[test]
fn parse_keeps_details_only_when_asked_and_checks_the_same() {
    use ctr::event::Detail;
    use ctr::parse::parse_line_with;
    // A search may carry a malformed `items`: only `query` is checked.
    let line = br#"{"type":"search","user":1,"query":"a\"b","items":5,"time":5}"#;
    let Ok(Parsed::Event(plain)) = parse_line_with(line, TimeUnit::Millis) else {
        panic!()
    };
    assert_eq!(plain.detail, None);
    let Ok(Parsed::Event(e)) = parse_line_detailed(line, TimeUnit::Millis) else {
        panic!()
    };
    assert_eq!(e.detail.as_deref(), Some(&Detail::Query("a\"b".into())));
    let line = b"\xEF\xBB\xBF{\"type\":\"click_result\",\"user\":1,\"item\":\"x\",\"time\":5}\r";
    let Ok(Parsed::Event(e)) = parse_line_detailed(line, TimeUnit::Millis) else {
        panic!()
    };
    let click = Detail::Click {
        item: "x".into(),
        position: None,
    };
    assert_eq!(e.detail.as_deref(), Some(&click));
    for bad in [
        &br#"{"type":"results","user":1,"time":5}"#[..],
        b"{",
        b"{\"type\":\"search\",\"user\":1,\"query\":\"q\",\"query\":\"r\",\"time\":5}",
    ] {
        assert_eq!(
            parse_line_detailed(bad, TimeUnit::Millis).map_err(|e| e.to_string()),
            parse_line_with(bad, TimeUnit::Millis).map_err(|e| e.to_string())
        );
    }
}

#[test]
fn the_search_profile_exercises_every_analytic() {
    use ctr::analytics::topk::TopQueries;
    use ctr::generate::{generate, GenerateConfig, Profile};
    let cfg = GenerateConfig {
        events: 40_000,
        users: 800,
        late_rate: 0.0,
        profile: Profile::Search,
        ..GenerateConfig::default()
    };
    let mut out = Vec::new();
    generate(&cfg, &mut out).unwrap_or_else(|e| panic!("{e}"));
    let evs: Vec<Event> = out
        .split(|&b| b == b'\n')
        .filter_map(|l| match parse_line_detailed(l, TimeUnit::Millis) {
            Ok(Parsed::Event(e)) => Some(e),
            _ => None,
        })
        .collect();
    let windows = rows_of(&evs, Window::DAY, 10);
    let all = |f: &dyn Fn(&WindowRows) -> usize| windows.iter().map(f).sum::<usize>();
    let queries: Vec<&QueryRow> = windows.iter().flat_map(|w| &w.queries).collect();
    let mut distinct: Vec<&str> = queries.iter().map(|q| q.query.as_str()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        distinct.len() <= ctr::generate::QUERY_VOCABULARY as usize,
        "{} queries",
        distinct.len()
    );
    let searches: u64 = queries.iter().map(|q| q.searches).sum();
    assert!(
        searches > 3 * queries.len() as u64,
        "{searches} searches in {} rows",
        queries.len()
    );
    assert!(queries.iter().any(|q| q.searches >= 50), "a popular query");
    assert!(
        queries.iter().any(|q| q.zero_result_rate > 0.5),
        "zero-result queries"
    );
    assert!(
        queries.iter().any(|q| q.reformulation_rate > 0.0),
        "reformulations"
    );
    assert!(
        queries.iter().any(|q| q.query.contains(' ')),
        "multi-word queries"
    );
    assert!(
        all(&|w| w.judgments.len()) > 20,
        "judgments with ≥ 10 impressions"
    );
    // Rank bias: position 1 is clicked more often than position 5.
    let day = &windows[0];
    let ctr = |p: u32| {
        day.positions
            .iter()
            .find(|r| r.position == Ranked(p))
            .and_then(|r| r.ctr_at_position)
            .unwrap_or_default()
    };
    assert!(ctr(1) > 2.0 * ctr(5), "ctr@1 {} vs ctr@5 {}", ctr(1), ctr(5));
    assert!(day
        .positions
        .iter()
        .any(|r| r.position == Unranked && r.clicks > 0));
    // Normalisation folds the upper-case, spaced and full-width variants.
    assert!(evs.iter().any(|e| matches!(
        e.detail.as_deref(),
        Some(ctr::event::Detail::Query(q)) if !q.is_ascii()
    )));
    assert!(queries
        .iter()
        .all(|q| q.query.is_ascii() && q.query == q.query.to_lowercase()));
    // The summary's lists fill up.
    let mut top = TopQueries::default();
    for w in incremental(&evs, Window::DAY).windows().values() {
        for (q, a) in &w.queries {
            top.add(q, a);
        }
    }
    let lists = top.lists();
    assert_eq!(
        (
            lists.by_searches.len(),
            lists.zero_result.len(),
            lists.no_click.len()
        ),
        (10, 10, 10)
    );
    assert!(lists.by_searches[0].1.searches >= lists.by_searches[9].1.searches);
}

/// The fenced block after `<!-- analytics-test: NAME -->` in
/// docs/analytics.md, fences removed.
fn doc_block(doc: &str, name: &str) -> String {
    let marker = format!("<!-- analytics-test: {name} -->");
    let after = doc.split(&marker).nth(1).unwrap_or_else(|| panic!("no {marker}"));
    let body = after
        .split_once("\n```")
        .and_then(|(_, b)| b.split_once('\n'))
        .map(|(_, b)| b);
    let body = body.unwrap_or_else(|| panic!("no block after {marker}"));
    let end = body
        .find("```")
        .unwrap_or_else(|| panic!("unclosed block after {marker}"));
    body[..end].to_owned()
}

#[test]
fn the_worked_example_of_the_docs() {
    use ctr::analytics::rows::PositionRow;
    use ctr::row_format::RowFormat;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/analytics.md");
    let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let w = rows(&doc_block(&doc, "input"), Window::DAY, 1).remove(0);
    let mut queries = Vec::new();
    w.queries.iter().for_each(|r| r.write_jsonl(&mut queries));
    let mut positions = PositionRow::CSV_HEADER.as_bytes().to_vec();
    w.positions.iter().for_each(|r| r.write_csv(&mut positions));
    let mut judgments = Vec::new();
    w.judgments.iter().for_each(|r| r.write_jsonl(&mut judgments));
    assert_eq!(String::from_utf8_lossy(&queries), doc_block(&doc, "queries"));
    assert_eq!(String::from_utf8_lossy(&positions), doc_block(&doc, "positions"));
    assert_eq!(String::from_utf8_lossy(&judgments), doc_block(&doc, "judgments"));
}
