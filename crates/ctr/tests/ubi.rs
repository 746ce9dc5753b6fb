//! UBI input: the sample of `tests/data/ubi-sample.jsonl` (written from the
//! UBI 1.x schema) parses to the expected events, and its analytics rows
//! come out as `docs/analytics.md` defines them.

use ctr::analytics::aggregate::Aggregates;
use ctr::analytics::rows::QueryRow;
use ctr::analytics::searches::{Position, SessionSearches};
use ctr::analytics::window::Window;
use ctr::event::{Detail, Event, EventKind};
use ctr::items::ItemList;
use ctr::ubi::{parse_ubi_line, UbiConfig, UbiParsed};

const SAMPLE: &str = include_str!("data/ubi-sample.jsonl");
/// 2024-05-06T10:00:00Z.
const T10: i64 = 1_714_989_600_000;

fn parse_all(cfg: &UbiConfig) -> Vec<UbiParsed> {
    SAMPLE
        .lines()
        .enumerate()
        .map(|(i, l)| parse_ubi_line(l.as_bytes(), cfg).unwrap_or_else(|e| panic!("line {}: {e}", i + 1)))
        .collect()
}

fn with_product_click() -> UbiConfig {
    UbiConfig {
        click_actions: vec!["click".into(), "product_click".into()],
        ..UbiConfig::default()
    }
}

fn detail(e: &Event) -> &Detail {
    e.detail.as_deref().unwrap_or_else(|| panic!("no detail: {e:?}"))
}

#[test]
fn the_sample_parses_to_the_expected_records() {
    let parsed = parse_all(&UbiConfig::default());
    assert_eq!(parsed.len(), 29);
    let (mut queries, mut clicks, mut others, mut blanks) = (0, 0, Vec::new(), 0);
    for p in &parsed {
        match p {
            UbiParsed::Query { .. } => queries += 1,
            UbiParsed::Click(_) => clicks += 1,
            UbiParsed::Other { action } => others.push(action.to_string()),
            UbiParsed::Blank => blanks += 1,
        }
    }
    assert_eq!((queries, clicks, blanks), (11, 10, 1));
    assert_eq!(
        others,
        [
            "page_view",
            "hover",
            "add_to_cart",
            "login",
            "product_click",
            "page_view",
            "purchase"
        ]
    );

    // Line 1: a query record → a search and its hits, same time, in order.
    let UbiParsed::Query { search, results } = &parsed[0] else {
        panic!("{:?}", parsed[0])
    };
    assert_eq!(
        (search.user.as_str(), search.time_ms, search.kind),
        ("c1", T10, EventKind::Search)
    );
    assert_eq!(detail(search), &Detail::Query("Laptop".into()));
    let results = results.as_ref().unwrap_or_else(|| panic!("hits"));
    assert_eq!((results.time_ms, results.kind), (T10, EventKind::Results));
    let hits = ItemList::from(vec!["p1", "p2", "p3", "p4"]);
    assert_eq!(detail(results), &Detail::Items(hits));
    assert_eq!(parsed[0].clone().into_events().len(), 2);

    // Line 4: a click with its reported position.
    let UbiParsed::Click(click) = &parsed[3] else {
        panic!("{:?}", parsed[3])
    };
    assert_eq!((click.user.as_str(), click.time_ms), ("c1", T10 + 5_000));
    let reported = |item: &str, position| Detail::Click {
        item: item.into(),
        position,
    };
    assert_eq!(detail(click), &reported("p2", Some(2)));
    // Line 10: no position given.
    let UbiParsed::Click(click) = &parsed[9] else {
        panic!()
    };
    assert_eq!(detail(click), &reported("p1", None));
    // Line 11: an empty hit list; line 17: no hit list at all.
    let UbiParsed::Query { results, .. } = &parsed[10] else {
        panic!()
    };
    assert_eq!(
        results.as_ref().map(detail),
        Some(&Detail::Items(ItemList::default()))
    );
    let UbiParsed::Query { search, results } = &parsed[16] else {
        panic!()
    };
    assert_eq!(results, &None);
    // An offset of +02:00 is converted to UTC.
    assert_eq!(search.time_ms, T10 - 2 * 3_600_000 + 5 * 60_000 + 30_000);
    // Line 15: an integer client id and an integer (ms) timestamp.
    let UbiParsed::Query { search, .. } = &parsed[14] else {
        panic!()
    };
    assert_eq!(
        (search.user.as_str(), search.time_ms, search.integer_time),
        ("42", T10 + 300_000, true)
    );
    // Lines 18-19: integer ids in hits and objects become text.
    let UbiParsed::Query { results, .. } = &parsed[17] else {
        panic!()
    };
    assert_eq!(
        results.as_ref().map(detail),
        Some(&Detail::Items(ItemList::from(vec!["s1", "7"])))
    );
    let UbiParsed::Click(click) = &parsed[18] else {
        panic!()
    };
    assert_eq!(detail(click), &reported("7", Some(2)));

    // A configured action name is a click too.
    let parsed = parse_all(&with_product_click());
    let UbiParsed::Click(click) = &parsed[15] else {
        panic!("{:?}", parsed[15])
    };
    assert_eq!(detail(click), &reported("p1", Some(2)));
    // Ordinals counted from 0.
    let zero_based = UbiConfig {
        ordinal_base: 0,
        ..UbiConfig::default()
    };
    let UbiParsed::Click(click) = &parse_all(&zero_based)[3] else {
        panic!()
    };
    assert_eq!(detail(click), &reported("p2", Some(3)));
}

#[test]
fn the_sample_gives_the_defined_rows() {
    let mut events: Vec<Event> = parse_all(&with_product_click())
        .into_iter()
        .flat_map(UbiParsed::into_events)
        .collect();
    // One session per client and 30-minute stretch, in time order.
    events.sort_by(|a, b| (a.user.as_str(), a.time_ms).cmp(&(b.user.as_str(), b.time_ms)));
    let mut aggs = Aggregates::new(Window::DAY);
    let mut session: Option<(Event, SessionSearches)> = None;
    for e in &events {
        let fresh = match &session {
            Some((last, _)) => last.user != e.user || e.time_ms - last.time_ms > 30 * 60_000,
            None => true,
        };
        if fresh {
            if let Some((_, s)) = session.take() {
                aggs.add_session(&s.finish());
            }
            session = Some((e.clone(), SessionSearches::new(0)));
        }
        if let Some((last, s)) = &mut session {
            s.push_event(e);
            *last = e.clone();
        }
    }
    if let Some((_, s)) = session {
        aggs.add_session(&s.finish());
    }
    let rows = aggs.finish(1);
    assert_eq!(rows.len(), 1);
    let day = &rows[0];
    let names: Vec<&str> = day.queries.iter().map(|q| q.query.as_str()).collect();
    assert_eq!(
        names,
        [
            "laptop",
            "laptop bag",
            "laptop sleeve",
            "laptop sleeve 14",
            "monitor",
            "monitor 27 inch",
            "monitor arm",
            "tablet",
            "tablett"
        ]
    );
    // "Laptop", "ＬＡＰＴＯＰ" and "laptop": first clicks at 2 (reported),
    // 1 (from the list) and 2, after 5 s, 10 s and 5 s.
    assert_eq!(
        day.queries[0],
        QueryRow {
            window_start: T10 - 10 * 3_600_000,
            query: "laptop".into(),
            searches: 3,
            searches_with_click: 3,
            ctr: 1.0,
            no_click_rate: 0.0,
            zero_result_rate: 0.0,
            clicks: 3,
            mean_first_click_position: Some(5.0 / 3.0),
            mrr: 2.0 / 3.0,
            mean_time_to_first_click_ms: Some(20_000.0 / 3.0),
            reformulation_rate: 0.0,
        }
    );
    let row = |q: &str| {
        day.queries
            .iter()
            .find(|r| r.query == q)
            .unwrap_or_else(|| panic!("{q}"))
    };
    // Zero hits, then another query: zero-result and reformulated.
    assert_eq!(
        (row("tablett").zero_result_rate, row("tablett").reformulation_rate),
        (1.0, 1.0)
    );
    // The purchase between them is not a search-log event: skipped, so
    // "monitor 27 inch" is followed by a search.
    assert_eq!(row("monitor 27 inch").reformulation_rate, 1.0);
    assert_eq!(row("laptop sleeve").reformulation_rate, 1.0);
    // A reported position wins, even beyond the list.
    assert_eq!(
        (row("tablet").mean_first_click_position, row("tablet").mrr),
        (Some(5.0), 0.2)
    );
    let five = day
        .positions
        .iter()
        .find(|p| p.position == Position::Ranked(5))
        .unwrap_or_else(|| panic!("position 5"));
    assert_eq!(
        (
            five.clicks,
            five.searches_with_results_at_position,
            five.ctr_at_position
        ),
        (1, 0, None)
    );
    assert_eq!(row("monitor arm").clicks, 3);
}

#[test]
fn bad_records_name_the_field() {
    let cfg = UbiConfig::default();
    let err = |line: &str| match parse_ubi_line(line.as_bytes(), &cfg) {
        Err(e) => e.to_string(),
        Ok(p) => panic!("accepted: {p:?}"),
    };
    let q = r#""query_id":"q","user_query":"x","timestamp":"2024-05-06T10:00:00Z""#;
    assert_eq!(err(&format!("{{{q}}}")), "missing field \"client_id\"");
    assert_eq!(
        err(&format!("{{{q},\"client_id\":1.5}}")),
        "field \"client_id\": expected a string or an integer"
    );
    assert_eq!(
        err(r#"{"query_id":"q","client_id":"c","user_query":"x","timestamp":"2024-05-06 10:00:00Z"}"#),
        "field \"timestamp\": expected RFC 3339 or integer milliseconds"
    );
    assert_eq!(
        err(r#"{"client_id":"c","user_query":"x","timestamp":5}"#),
        "missing field \"query_id\""
    );
    assert_eq!(
        err(r#"{"query_id":"q","client_id":"c","timestamp":5}"#),
        "missing field \"user_query\""
    );
    assert_eq!(
        err(&format!(
            "{{{q},\"client_id\":\"c\",\"query_response_hit_ids\":\"p1\"}}"
        )),
        "field \"query_response_hit_ids\": expected an array of strings"
    );
    assert_eq!(
        err(r#"{"action_name":"click","query_id":"q","client_id":"c","timestamp":5,"event_attributes":{}}"#),
        "missing field \"event_attributes.object.object_id\""
    );
    assert_eq!(
        err(
            r#"{"action_name":"click","query_id":"q","client_id":"c","timestamp":5,"event_attributes":{"object":{"object_id":"a"},"position":{"ordinal":-1}}}"#
        ),
        "field \"event_attributes.position.ordinal\": integer out of range"
    );
    assert_eq!(
        err(
            r#"{"action_name":"click","query_id":"q","client_id":"c","timestamp":5,"event_attributes":{"object":{"object_id":"a"},"position":{"ordinal":"2"}}}"#
        ),
        "field \"event_attributes.position.ordinal\": expected an integer"
    );
    assert_eq!(err("[1]"), "expected a JSON object");
    assert!(err("{").starts_with("invalid JSON: EOF while parsing"));
    assert_eq!(
        err(r#"{"action_name":5}"#),
        "field \"action_name\": expected a string"
    );
    // Other actions are not checked further.
    assert_eq!(
        parse_ubi_line(br#"{"action_name":"hover"}"#, &cfg),
        Ok(UbiParsed::Other {
            action: "hover".into()
        })
    );
}
