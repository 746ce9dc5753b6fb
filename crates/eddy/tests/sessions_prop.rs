//! Property test: session windows from the engine equal those of a plain
//! reference sessionizer, as multisets, for 1 to 4 workers, random
//! batch sizes, random partitionings and both fold orders.
//!
//! This is the per-key rule alone (`EventClock::horizon(None)`: a key's
//! watermark moves only with its own events); the default rule, whose
//! watermark also follows the input's progress, has its own reference in
//! `progress_windows.rs`.
//!
//! The reference implements the contract directly: partitions are merged in
//! canonical order (each partition's event-time high-water mark, then
//! partition, then offset); per user an event is late when it is more than
//! `wait` behind the user's latest time before it; the accepted times of a
//! user split into sessions wherever two neighbours are more than `gap`
//! apart.

use std::collections::BTreeMap;
use std::time::Duration;

use eddy::testing::{TestingSink, TestingSource};
use eddy::window::{EventClock, FoldOrder, SessionWindower};
use eddy::{run, RunConfig};
use proptest::prelude::*;

type Event = (String, i64);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
enum Out {
    Session(String, Vec<i64>),
    Late(String, i64),
}

fn reference(parts: &[Vec<Event>], gap: i64, wait: i64) -> Vec<Out> {
    let mut all = Vec::new();
    for (p, part) in parts.iter().enumerate() {
        let mut hwm = i64::MIN;
        for (seq, (user, t)) in part.iter().enumerate() {
            hwm = hwm.max(*t);
            all.push(((hwm, p, seq), user.clone(), *t));
        }
    }
    all.sort();
    let mut max_seen: BTreeMap<String, i64> = BTreeMap::new();
    let mut accepted: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut out = Vec::new();
    for (_, user, t) in all {
        let m = max_seen.entry(user.clone()).or_insert(i64::MIN);
        if *m != i64::MIN && t < *m - wait {
            out.push(Out::Late(user, t));
        } else {
            *m = (*m).max(t);
            accepted.entry(user).or_default().push(t);
        }
    }
    for (user, mut times) in accepted {
        times.sort();
        let mut session = vec![times[0]];
        for t in times.into_iter().skip(1) {
            if t - session[session.len() - 1] > gap {
                out.push(Out::Session(user.clone(), std::mem::take(&mut session)));
            }
            session.push(t);
        }
        out.push(Out::Session(user, session));
    }
    out.sort();
    out
}

fn engine(
    parts: &[Vec<Event>],
    gap: i64,
    wait: i64,
    workers: usize,
    batch: usize,
    ordered: bool,
) -> Vec<Out> {
    let sink = TestingSink::new();
    let out = sink.clone();
    let parts = parts.to_vec();
    run("prop", &RunConfig::workers(workers), move |flow| {
        let source = TestingSource::partitioned(parts.clone()).batch_size(batch);
        let clock = EventClock::new(|e: &Event| e.1, Duration::from_millis(wait as u64)).horizon(None);
        let windows = flow
            .input_timed("inp", source, |e: &Event| Some(e.1))
            .key_on("user", |e: &Event| e.0.clone())
            .fold_window(
                "sessions",
                clock,
                SessionWindower::new(Duration::from_millis(gap as u64)),
                Vec::new,
                |acc: &mut Vec<i64>, e: Event| acc.push(e.1),
                |a: &mut Vec<i64>, mut b: Vec<i64>| a.append(&mut b),
                if ordered {
                    FoldOrder::ByTime
                } else {
                    FoldOrder::ByArrival
                },
            );
        let sessions = windows.down.map("rows", |(user, (_id, mut times))| {
            times.sort();
            Out::Session(user, times)
        });
        let late = windows.late.map("lates", |(user, (_id, e))| Out::Late(user, e.1));
        sessions.merge("all", &[late]).output("out", out.clone());
        Ok(())
    })
    .expect("run");
    let mut rows = sink.take();
    rows.sort();
    rows
}

/// Per partition: events with times that mostly advance, some disorder and
/// some late events, users spread over partitions.
fn partitions() -> impl Strategy<Value = Vec<Vec<Event>>> {
    // Times on a 100 ms grid, so that boundary cases (exactly `gap` apart,
    // exactly `wait` behind) come up often.
    let event = (0u8..4, 0i64..30, 0i64..5, prop::bool::weighted(0.08));
    prop::collection::vec(prop::collection::vec(event, 0..60), 1..4).prop_map(|parts| {
        parts
            .into_iter()
            .map(|events| {
                let mut clock = 0i64;
                events
                    .into_iter()
                    .map(|(user, step, jitter, late)| {
                        clock += step * 100;
                        let t = if late {
                            clock - 5_000 - jitter * 100
                        } else {
                            clock - jitter * 100
                        };
                        (format!("u{user}"), t)
                    })
                    .collect()
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn engine_sessions_equal_the_reference(
        parts in partitions(),
        gap in (5i64..60).prop_map(|g| g * 100),
        wait in (0i64..10).prop_map(|w| w * 100),
        batch in 1usize..20,
        ordered in any::<bool>(),
    ) {
        let expected = reference(&parts, gap, wait);
        for workers in 1..=4 {
            let got = engine(&parts, gap, wait, workers, batch, ordered);
            prop_assert_eq!(&got, &expected, "{} workers, batch {}", workers, batch);
        }
    }
}
