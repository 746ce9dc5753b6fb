//! Property tests: on random logs, the incremental path — sessions split
//! into parts fed in arrival order, merged in random orders, snapshotted
//! and restored midway, records spread over partial aggregates merged in
//! random orders, or into the first stage's per-(window, query)
//! accumulators — gives exactly the rows of the plain reference.

use std::collections::BTreeMap;

use ctr::analytics::aggregate::{Aggregates, QueryWindowAcc, WindowAggs};
use ctr::analytics::reference::{reference_rows, ReferenceConfig};
use ctr::analytics::rows::WindowRows;
use ctr::analytics::searches::{SearchRecord, SessionSearches};
use ctr::analytics::window::Window;
use ctr::event::{Detail, Event, EventKind};
use ctr::metrics::SessionMetrics;
use proptest::prelude::*;

const GAP: i64 = 100;
const WAIT: i64 = 10;
const WINDOW: i64 = 50;

/// SplitMix64, for the test's own random choices.
struct Mix(u64);
impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const QUERIES: [&str; 6] = ["a", "A", " a ", "b", "ｂ", "c  d"];
const ITEMS: [&str; 4] = ["x", "y", "z", "w"];

fn event_of(user: usize, time_ms: i64, pick: (u8, u8, Vec<u8>)) -> Event {
    let (k, n, list) = pick;
    let (kind, detail) = match k % 7 {
        0 | 1 => (
            EventKind::Search,
            Some(Detail::Query(QUERIES[n as usize % QUERIES.len()].into())),
        ),
        2 => (
            EventKind::Results,
            Some(Detail::Items(
                list.iter().map(|&i| ITEMS[i as usize % ITEMS.len()]).collect(),
            )),
        ),
        3 | 4 => (
            EventKind::ClickResult,
            Some(Detail::Click {
                // "v" is never listed.
                item: ["x", "y", "z", "v"][n as usize % 4].into(),
                position: (n >= 200).then_some(u32::from(n % 3) + 1),
            }),
        ),
        5 => (EventKind::AppOpen, None),
        _ => (EventKind::AppClose, None),
    };
    Event {
        user: format!("u{user}").into(),
        time_ms,
        kind,
        integer_time: true,
        detail: detail.map(Box::new),
    }
}

/// A log of up to 3 users, each with bounded disorder (never late) and
/// gaps that cut sessions, interleaved at random.
fn log() -> impl Strategy<Value = Vec<Event>> {
    let step = prop_oneof![8 => -WAIT..=WAIT, 1 => GAP - 5..=3 * GAP];
    let ev = (any::<u8>(), any::<u8>(), prop::collection::vec(any::<u8>(), 0..4));
    let user = (-200i64..200, prop::collection::vec((step, ev), 0..40));
    (prop::collection::vec(user, 1..4), any::<u64>()).prop_map(|(users, seed)| {
        let mut per_user: Vec<Vec<Event>> = users
            .into_iter()
            .enumerate()
            .map(|(u, (start, steps))| {
                let mut max = start;
                steps
                    .into_iter()
                    .map(|(step, pick)| {
                        let t = (max + step).max(max - WAIT);
                        max = max.max(t);
                        event_of(u, t, pick)
                    })
                    .collect()
            })
            .collect();
        let mut rng = Mix(seed);
        let mut out = Vec::new();
        while per_user.iter().any(|v| !v.is_empty()) {
            let live: Vec<usize> = (0..per_user.len()).filter(|&u| !per_user[u].is_empty()).collect();
            let u = live[rng.below(live.len())];
            out.push(per_user[u].remove(0));
        }
        out
    })
}

fn snapshot<T: serde::Serialize + serde::de::DeserializeOwned>(x: &T) -> T {
    let json = serde_json::to_string(x).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"))
}

/// One session's records, the engine's way with random choices: events up
/// to `merge_at` go to parts cut by time, the parts merge in a random
/// order, the rest arrive at the merged session; a snapshot round trip on
/// the way. The session's totals from the same accumulator are checked
/// against [`SessionMetrics`] fed the same events (a run with analytics
/// takes its session rows from them).
fn session_records(events: &[&Event], rng: &mut Mix) -> Vec<SearchRecord> {
    let mut times: Vec<i64> = events.iter().map(|e| e.time_ms).collect();
    times.sort_unstable();
    times.dedup();
    let mut cuts: Vec<i64> = (0..rng.below(4)).map(|_| times[rng.below(times.len())]).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let part_of = |t: i64| cuts.iter().filter(|&&c| c <= t).count();
    let merge_at = rng.below(events.len() + 1);
    let mut parts: Vec<SessionSearches> = (0..=cuts.len()).map(|_| SessionSearches::new(WAIT)).collect();
    for e in &events[..merge_at] {
        parts[part_of(e.time_ms)].push_event(e);
    }
    if rng.below(2) == 0 {
        parts = parts.iter().map(snapshot).collect();
    }
    while parts.len() > 1 {
        let i = rng.below(parts.len() - 1);
        let later = parts.remove(i + 1);
        let earlier = parts.remove(i);
        parts.insert(i, SessionSearches::merge(earlier, later));
    }
    let mut merged = parts.remove(0);
    for (n, e) in events[merge_at..].iter().enumerate() {
        if n % 2 == 0 {
            merged.push_event(e);
        } else {
            merged.push_event_owned((*e).clone());
        }
        if n == 0 {
            merged = snapshot(&merged);
        }
    }
    let mut metrics = SessionMetrics::new(WAIT);
    for e in events {
        metrics.push(e.time_ms, e.kind);
    }
    let (summary, records) = merged.finish_with_summary();
    assert_eq!(summary, metrics.finish(), "session totals of {events:?}");
    records
}

/// Every session's records, each session the engine's way
/// ([`session_records`]), users in order.
fn all_records(events: &[Event], rng: &mut Mix) -> Vec<SearchRecord> {
    let mut out = Vec::new();
    let mut users: Vec<&str> = events.iter().map(|e| e.user.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    for user in users {
        let mine: Vec<&Event> = events.iter().filter(|e| e.user == user).collect();
        let mut times: Vec<i64> = mine.iter().map(|e| e.time_ms).collect();
        times.sort_unstable();
        let mut starts = vec![times[0]];
        starts.extend(times.windows(2).filter(|w| w[1] - w[0] > GAP).map(|w| w[1]));
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(i64::MAX);
            let session: Vec<&Event> = mine
                .iter()
                .copied()
                .filter(|e| e.time_ms >= start && e.time_ms < end)
                .collect();
            out.extend(session_records(&session, rng));
        }
    }
    out
}

fn incremental(events: &[Event], seed: u64) -> Vec<WindowRows> {
    let mut rng = Mix(seed);
    let window = Window::from_ms(WINDOW).unwrap_or_default();
    let mut partials: Vec<Aggregates> = (0..3).map(|_| Aggregates::new(window)).collect();
    for r in all_records(events, &mut rng) {
        let n = partials.len();
        partials[rng.below(n)].add(&r);
    }
    let mut total = Aggregates::new(window);
    while !partials.is_empty() {
        let p = partials.remove(rng.below(partials.len()));
        total.merge(&snapshot(&p));
    }
    total.finish(2)
}

/// The dataflow's way: one [`QueryWindowAcc`] per (window, query), fed
/// in order or shuffled (a snapshot round trip midway), then turned into
/// window accumulators and merged per window.
fn staged(events: &[Event], seed: u64) -> Vec<WindowRows> {
    let mut rng = Mix(seed);
    let window = Window::from_ms(WINDOW).unwrap_or_default();
    let mut records = all_records(events, &mut rng);
    if rng.below(2) == 0 {
        // Otherwise in order: runs of one list are more likely.
        for i in (1..records.len()).rev() {
            records.swap(i, rng.below(i + 1));
        }
    }
    let mut accs: BTreeMap<(i64, String), QueryWindowAcc> = BTreeMap::new();
    let half = records.len() / 2;
    for (n, r) in records.into_iter().enumerate() {
        if n == half {
            accs = snapshot(&accs.into_iter().collect::<Vec<_>>())
                .into_iter()
                .collect();
        }
        let key = (window.start_of(r.time_ms), r.query.to_string());
        accs.entry(key).or_default().add(r);
    }
    let mut windows: BTreeMap<i64, WindowAggs> = BTreeMap::new();
    for ((start, query), acc) in accs {
        windows
            .entry(start)
            .or_default()
            .merge(&acc.into_window_aggs(&query));
    }
    windows.iter().map(|(start, w)| w.rows(*start, 2)).collect()
}

/// Every row as JSON Lines.
fn jsonl(windows: &[WindowRows]) -> String {
    use ctr::row_format::RowFormat;
    let mut out = Vec::new();
    for w in windows {
        w.queries.iter().for_each(|r| r.write_jsonl(&mut out));
        w.positions.iter().for_each(|r| r.write_jsonl(&mut out));
        w.judgments.iter().for_each(|r| r.write_jsonl(&mut out));
    }
    String::from_utf8_lossy(&out).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn incremental_rows_equal_the_reference(events in log(), seed in any::<u64>()) {
        let cfg = ReferenceConfig {
            gap_ms: GAP,
            wait_ms: WAIT,
            window: Window::from_ms(WINDOW).unwrap_or_default(),
            min_impressions: 2,
        };
        let expected = reference_rows(&events, &cfg);
        let got = incremental(&events, seed);
        // Bytes too: float equality would not tell -0.0 from 0.0.
        prop_assert_eq!(jsonl(&got), jsonl(&expected));
        prop_assert_eq!(got, expected.clone());
        // Any other set of random choices, the same rows.
        prop_assert_eq!(incremental(&events, seed ^ 0x5555), expected.clone());
        // The first stage's accumulator, too.
        let got = staged(&events, seed);
        prop_assert_eq!(jsonl(&got), jsonl(&expected));
        prop_assert_eq!(got, expected);
    }
}
