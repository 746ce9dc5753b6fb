//! The rest of Bytewax's operator set (`join`, `join_window`, `collect`,
//! `max/min_final`, `max/min_window`, `flatten`, `flat_map_value`,
//! `filter_map_value`, `inspect_debug`, `try_map`, …), each run with 1, 2
//! and 4 workers over several partitions: the output must be the
//! expected rows, the same multiset for every worker count, and in the same
//! order for each key.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy::dataflow::join::{JoinEmit, JoinInsert, JoinSide};
use eddy::testing::{run_collect_with, TestingSource};
use eddy::window::{EventClock, EventTime, SessionWindower, TumblingWindower};
use eddy::{EddyError, Key, RunConfig, Stream};

const WORKERS: [usize; 3] = [1, 2, 4];

/// Runs `build` over `parts` (one partition each) with 1, 2 and 4 workers
/// and batch sizes 1 and 3; checks that every run gives the same rows per
/// key, in the same order, and returns them (sorted by key, stable).
fn all_workers<T, K, U, F>(parts: Vec<Vec<T>>, build: F) -> Vec<(K, U)>
where
    T: eddy::Data,
    K: Key,
    U: eddy::Data + PartialEq + std::fmt::Debug,
    F: for<'a> Fn(Stream<'a, T>) -> Stream<'a, (K, U)> + Send + Sync + Clone + 'static,
{
    let mut first: Option<BTreeMap<K, Vec<U>>> = None;
    for workers in WORKERS {
        for batch in [1, 3] {
            let source = TestingSource::partitioned(parts.clone()).batch_size(batch);
            let out = run_collect_with(&RunConfig::workers(workers), source, build.clone())
                .unwrap_or_else(|e| panic!("{workers} workers: {e}"));
            let mut by_key: BTreeMap<K, Vec<U>> = BTreeMap::new();
            for (k, u) in out {
                by_key.entry(k).or_default().push(u);
            }
            match &first {
                None => first = Some(by_key),
                Some(f) => assert_eq!(&by_key, f, "{workers} workers, batch {batch}"),
            }
        }
    }
    first
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(k, us)| us.into_iter().map(move |u| (k.clone(), u)))
        .collect()
}

/// `(key, value)` rows from string literals.
fn rows<V: Clone>(pairs: &[(&str, V)]) -> Vec<(String, V)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// Two sides in one input: `Ok` values are the left side, `Err` the right.
type Either = (String, Result<i64, i64>);

/// Users' left and right values spread over three partitions.
fn sides() -> Vec<Vec<Either>> {
    let e = |k: &str, v: Result<i64, i64>| (k.to_string(), v);
    vec![
        vec![e("a", Ok(1)), e("b", Err(20)), e("a", Ok(2))],
        vec![e("c", Ok(5)), e("a", Err(10)), e("b", Ok(3))],
        vec![e("a", Err(11)), e("b", Err(21)), e("c", Ok(6))],
    ]
}

/// A keyed stream of numbers.
type Keyed<'a> = Stream<'a, (String, i64)>;

/// Splits the input into its two keyed sides.
fn split<'a>(s: &Stream<'a, Either>) -> (Keyed<'a>, Keyed<'a>) {
    (
        s.filter_map_value("left", |v: Result<i64, i64>| v.ok()),
        s.filter_map_value("right", |v: Result<i64, i64>| v.err()),
    )
}

#[test]
fn join_complete_emits_once_both_sides_are_there_then_forgets() {
    // Canonical order of the input: partitions merged by mark (the item
    // index here), then partition: a1 c5 a11 | b20 a10 b21 | a2 b3 c6.
    for (mode, want) in [
        (
            JoinInsert::Last,
            rows(&[("a", (1, 11)), ("a", (2, 10)), ("b", (3, 21))]),
        ),
        (
            JoinInsert::First,
            rows(&[("a", (1, 11)), ("a", (2, 10)), ("b", (3, 20))]),
        ),
        (
            JoinInsert::Product,
            rows(&[("a", (1, 11)), ("a", (2, 10)), ("b", (3, 20)), ("b", (3, 21))]),
        ),
    ] {
        let out = all_workers(sides(), move |s| {
            let (l, r) = split(&s);
            l.join("join", &r, mode)
        });
        assert_eq!(out, want, "{mode:?}");
    }
}

#[test]
fn join_final_emits_every_key_once_at_eof_with_missing_sides() {
    let out = all_workers(sides(), |s| {
        let (l, r) = split(&s);
        l.join_final("join", &r, JoinInsert::Last)
    });
    assert_eq!(
        out,
        rows(&[
            ("a", (Some(2), Some(10))),
            ("b", (Some(3), Some(21))),
            ("c", (Some(6), None)),
        ])
    );
    let out = all_workers(sides(), |s| {
        let (l, r) = split(&s);
        l.join_final("join", &r, JoinInsert::Product)
    });
    assert_eq!(
        out,
        rows(&[
            ("a", (Some(1), Some(11))),
            ("a", (Some(1), Some(10))),
            ("a", (Some(2), Some(11))),
            ("a", (Some(2), Some(10))),
            ("b", (Some(3), Some(20))),
            ("b", (Some(3), Some(21))),
            ("c", (Some(5), None)),
            ("c", (Some(6), None)),
        ])
    );
}

#[test]
fn join_running_emits_at_every_value() {
    let out = all_workers(sides(), |s| {
        let (l, r) = split(&s);
        l.join_running("join", &r, JoinInsert::First)
    });
    assert_eq!(
        out,
        rows(&[
            ("a", (Some(1), None)),
            ("a", (Some(1), Some(11))),
            ("a", (Some(1), Some(11))),
            ("a", (Some(1), Some(11))),
            ("b", (None, Some(20))),
            ("b", (None, Some(20))),
            ("b", (Some(3), Some(20))),
            ("c", (Some(5), None)),
            ("c", (Some(5), None)),
        ])
    );
}

#[test]
fn join_all_of_three_sides() {
    let parts: Vec<Vec<(String, i64)>> = vec![
        rows(&[("a", 1), ("a", 12), ("b", 2)]),
        rows(&[("b", 25), ("a", 23), ("b", 14)]),
    ];
    for (emit, want) in [
        (
            JoinEmit::Complete,
            rows(&[
                ("a", vec![Some(1), Some(12), Some(23)]),
                ("b", vec![Some(2), Some(14), Some(25)]),
            ]),
        ),
        (
            JoinEmit::Final,
            rows(&[
                ("a", vec![Some(1), Some(12), Some(23)]),
                ("b", vec![Some(2), Some(14), Some(25)]),
            ]),
        ),
    ] {
        let out = all_workers(parts.clone(), move |s| {
            let side = |n: i64| s.filter_value(&format!("side{n}"), move |v: &i64| v / 10 == n);
            side(0).join_all("join", &[side(1), side(2)], JoinInsert::Last, emit)
        });
        assert_eq!(out, want, "{emit:?}");
    }
}

#[test]
fn join_window_joins_within_tumbling_windows_and_sessions() {
    // (user, Ok(click at t) | Err(view at t)), t in ms.
    let parts: Vec<Vec<Either>> = vec![
        vec![("u".into(), Err(1)), ("u".into(), Ok(5)), ("v".into(), Ok(30))],
        vec![("v".into(), Err(2)), ("u".into(), Err(12)), ("u".into(), Ok(13))],
    ];
    let out = all_workers(parts.clone(), |s| {
        let (l, r) = split(&s);
        let clock = EventClock::new(|s: &JoinSide<i64, i64>| s.either(|c| *c, |v| *v), Duration::ZERO);
        let windows =
            TumblingWindower::new(Duration::from_millis(10), EventTime::EPOCH).expect("valid windower");
        l.join_window("join", &r, clock, windows, JoinInsert::Last, JoinEmit::Final)
            .down
    });
    assert_eq!(
        out,
        rows(&[
            ("u", (0, (Some(5), Some(1)))),
            ("u", (1, (Some(13), Some(12)))),
            ("v", (0, (None, Some(2)))),
            ("v", (3, (Some(30), None))),
        ])
    );
    // Sessions with a 5 ms gap: u's values 1, 5 and 12, 13 make two
    // sessions; with a 10 ms gap, one (the later values win in `Last`).
    for (gap, want) in [
        (
            5,
            rows(&[("u", (0, (Some(5), Some(1)))), ("u", (1, (Some(13), Some(12))))]),
        ),
        (10, rows(&[("u", (0, (Some(13), Some(12))))])),
    ] {
        let out = all_workers(parts.clone(), move |s| {
            let (l, r) = split(&s);
            let clock = EventClock::new(
                |s: &JoinSide<i64, i64>| s.either(|c| *c, |v| *v),
                Duration::from_millis(100),
            );
            l.join_window(
                "join",
                &r,
                clock,
                SessionWindower::new(Duration::from_millis(gap)),
                JoinInsert::Last,
                JoinEmit::Final,
            )
            .down
            .filter("u", |(k, _)| k == "u")
        });
        assert_eq!(out, want, "gap {gap}");
    }
}

#[test]
fn join_window_emit_modes_complete_final_running() {
    // (user, Ok(click at t) | Err(view at t)), t in ms, over two
    // partitions; a 100 ms wait, so values are joined in time order.
    let parts: Vec<Vec<Either>> = vec![
        vec![("u".into(), Err(1)), ("u".into(), Ok(5)), ("v".into(), Ok(30))],
        vec![
            ("v".into(), Err(2)),
            ("u".into(), Err(7)),
            ("u".into(), Ok(13)),
            ("u".into(), Err(14)),
        ],
    ];
    let join = |insert_mode: JoinInsert, emit_mode: JoinEmit| {
        all_workers(parts.clone(), move |s| {
            let (l, r) = split(&s);
            let clock = EventClock::new(
                |s: &JoinSide<i64, i64>| s.either(|c| *c, |v| *v),
                Duration::from_millis(100),
            );
            let windows =
                TumblingWindower::new(Duration::from_millis(10), EventTime::EPOCH).expect("valid windower");
            l.join_window("join", &r, clock, windows, insert_mode, emit_mode)
                .down
        })
    };
    // Final: once per window, at its close.
    assert_eq!(
        join(JoinInsert::Last, JoinEmit::Final),
        rows(&[
            ("u", (0, (Some(5), Some(7)))),
            ("u", (1, (Some(13), Some(14)))),
            ("v", (0, (None, Some(2)))),
            ("v", (3, (Some(30), None))),
        ])
    );
    // Complete: as soon as both sides are there, then the window starts
    // over (u's view at 7 finds no click); v never has both in one window.
    assert_eq!(
        join(JoinInsert::Last, JoinEmit::Complete),
        rows(&[("u", (0, (Some(5), Some(1)))), ("u", (1, (Some(13), Some(14))))])
    );
    // Running: at every value, with what each side holds so far.
    assert_eq!(
        join(JoinInsert::Last, JoinEmit::Running),
        rows(&[
            ("u", (0, (None, Some(1)))),
            ("u", (0, (Some(5), Some(1)))),
            ("u", (0, (Some(5), Some(7)))),
            ("u", (1, (Some(13), None))),
            ("u", (1, (Some(13), Some(14)))),
            ("v", (0, (None, Some(2)))),
            ("v", (3, (Some(30), None))),
        ])
    );
    // Insert modes as `join`: `First` keeps the view at 1; `Product` keeps
    // both views, so the running row count grows.
    assert_eq!(
        join(JoinInsert::First, JoinEmit::Running)[..3],
        rows(&[
            ("u", (0, (None, Some(1)))),
            ("u", (0, (Some(5), Some(1)))),
            ("u", (0, (Some(5), Some(1)))),
        ])[..]
    );
    assert_eq!(
        join(JoinInsert::Product, JoinEmit::Final)[..2],
        rows(&[("u", (0, (Some(5), Some(1)))), ("u", (0, (Some(5), Some(7))))])[..]
    );
}

#[test]
fn max_and_min_final_and_window() {
    let parts: Vec<Vec<(String, i64)>> = vec![
        rows(&[("a", 4), ("b", 9), ("a", 17)]),
        rows(&[("a", 7), ("b", 2), ("b", 12)]),
    ];
    assert_eq!(
        all_workers(parts.clone(), |s| s.max_final("max")),
        rows(&[("a", 17), ("b", 12)])
    );
    assert_eq!(
        all_workers(parts.clone(), |s| s.min_final("min")),
        rows(&[("a", 4), ("b", 2)])
    );
    // Ties: the first value in canonical order wins (a4 before a7, by the
    // last digit: 4 → 4, 7 → 7, 17 → 7).
    assert_eq!(
        all_workers(parts.clone(), |s| s.max_final_by("max", |v: &i64| v % 10)),
        rows(&[("a", 7), ("b", 9)])
    );
    let clock = || EventClock::new(|v: &i64| *v, Duration::from_millis(100));
    let tumbling =
        || TumblingWindower::new(Duration::from_millis(10), EventTime::EPOCH).expect("valid windower");
    assert_eq!(
        all_workers(parts.clone(), move |s| s
            .max_window("max", clock(), tumbling())
            .down),
        rows(&[("a", (0, 7)), ("a", (1, 17)), ("b", (0, 9)), ("b", (1, 12))])
    );
    assert_eq!(
        all_workers(parts, move |s| s.min_window("min", clock(), tumbling()).down),
        rows(&[("a", (0, 4)), ("a", (1, 17)), ("b", (0, 2)), ("b", (1, 12))])
    );
}

#[test]
fn flatten_flat_map_value_filter_map_value() {
    let parts: Vec<Vec<(String, String)>> = vec![
        rows(&[("a", "1 2 x".to_string()), ("b", "3".to_string())]),
        rows(&[("a", "4".to_string()), ("b", "y 5".to_string())]),
    ];
    let out = all_workers(parts, |s| {
        s.flat_map_value("words", |v: String| {
            v.split(' ').map(String::from).collect::<Vec<_>>()
        })
        .filter_map_value("ints", |w: String| w.parse::<i64>().ok())
        .map("pairs", |(k, v)| vec![(k.clone(), v), (k, -v)])
        .flatten("flat")
    });
    assert_eq!(
        out,
        rows(&[
            ("a", 1),
            ("a", -1),
            ("a", 2),
            ("a", -2),
            ("a", 4),
            ("a", -4),
            ("b", 3),
            ("b", -3),
            ("b", 5),
            ("b", -5)
        ])
    );
}

#[test]
fn inspect_debug_sees_step_mark_and_worker() {
    for workers in WORKERS {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let source = TestingSource::partitioned(vec![vec![0i64, 1], vec![10, 11], vec![20], vec![30]]);
        let out = run_collect_with(&RunConfig::workers(workers), source, move |s| {
            let log = log.clone();
            s.inspect_debug_with("dbg", move |step: &str, v: &i64, mark: u64, worker: usize| {
                if let Ok(mut l) = log.lock() {
                    l.push((step.to_string(), *v, mark, worker));
                }
            })
        })
        .expect("run");
        assert_eq!(out.len(), 6);
        let mut seen = seen.lock().map(|v| v.clone()).unwrap_or_default();
        seen.sort_by_key(|s| s.1);
        // Partition j is read by worker j % workers; the mark of an untimed
        // input is the item's index in its partition.
        let want: Vec<(String, i64, u64, usize)> = [
            (0, 0, 0),
            (1, 1, 0),
            (10, 0, 1),
            (11, 1, 1),
            (20, 0, 2),
            (30, 0, 3),
        ]
        .into_iter()
        .map(|(v, mark, part)| ("test.dbg".to_string(), v, mark, part % workers))
        .collect();
        assert_eq!(seen, want, "{workers} workers");
    }
}

#[test]
fn try_map_err_stops_the_run_naming_the_step() {
    for workers in WORKERS {
        let source =
            TestingSource::partitioned(vec![(0..1000i64).collect(), (0..1000).collect()]).batch_size(7);
        let err = run_collect_with(&RunConfig::workers(workers), source, |s| {
            s.try_map("check", |v: i64| {
                if v == 500 {
                    Err(format!("bad value {v}"))
                } else {
                    Ok(v)
                }
            })
        })
        .expect_err("an Err stops the run");
        match &err {
            EddyError::Step { step, message } => {
                assert_eq!(step, "test.check");
                assert!(message.starts_with("bad value 500 (worker "), "{message}");
            }
            other => panic!("{workers} workers: expected EddyError::Step, got {other:?}"),
        }
    }
}

/// A value type deriving serde through eddy's re-export (no serde
/// dependency of its own needed).
#[derive(Debug, Clone, PartialEq, eddy::serde::Serialize, eddy::serde::Deserialize)]
#[serde(crate = "eddy::serde")]
struct Click {
    user: String,
    page: String,
}

#[test]
fn tuple_and_borrowed_string_keys() {
    let click = |u: &str, p: &str| Click {
        user: u.into(),
        page: p.into(),
    };
    let parts = vec![
        vec![click("ann", "home"), click("bob", "home"), click("ann", "cart")],
        vec![click("ann", "home"), click("bob", "cart")],
    ];
    let out = all_workers(parts.clone(), |s| {
        s.count_final("per_page", |c: &Click| (c.user.clone(), c.page.clone()))
    });
    let pair = |u: &str, p: &str, n: u64| ((u.to_string(), p.to_string()), n);
    assert_eq!(
        out,
        vec![
            pair("ann", "cart", 1),
            pair("ann", "home", 2),
            pair("bob", "cart", 1),
            pair("bob", "home", 1)
        ]
    );
    let out = all_workers(parts, |s| {
        s.key_on_str("user", |c: &Click| c.user.as_str())
            .map_value("page", |c: Click| c.page)
            .map("user_page", |(u, p)| ((u, p.len() as u32), p))
            .count_final("n", |(k, _): &((String, u32), String)| k.clone())
    });
    // (user, page name length): every page name here has 4 letters.
    assert_eq!(
        out,
        vec![(("ann".to_string(), 4), 3), (("bob".to_string(), 4), 2)]
    );
}

#[test]
fn collect_batches_by_size_and_at_end_of_input() {
    let parts: Vec<Vec<(String, i64)>> = vec![
        rows(&[("a", 1), ("b", 1), ("a", 2), ("a", 3)]),
        rows(&[("a", 10), ("b", 10), ("a", 20)]),
    ];
    // Canonical order per key: a: 1 10 2 20 3; b: 1 10.
    let out = all_workers(parts, |s| s.collect("batch", 2, Duration::from_secs(3600)));
    assert_eq!(
        out,
        rows(&[
            ("a", vec![1, 10]),
            ("a", vec![2, 20]),
            ("a", vec![3]),
            ("b", vec![1, 10])
        ])
    );
}

/// Runs a timed flow (`input_timed` over `(key, time)`) with 1, 2 and 4
/// workers; checks every run gives the same rows per key, in the same
/// order, and returns them.
fn timed_all_workers<U, F>(parts: Vec<Vec<(String, i64)>>, build: F) -> Vec<(String, U)>
where
    U: eddy::Data + PartialEq + std::fmt::Debug,
    F: for<'a> Fn(Keyed<'a>) -> Stream<'a, (String, U)> + Send + Sync + Clone + 'static,
{
    let mut first: Option<BTreeMap<String, Vec<U>>> = None;
    for workers in WORKERS {
        let sink = eddy::testing::TestingSink::new();
        let out = sink.clone();
        let (parts, build) = (parts.clone(), build.clone());
        eddy::run("timed", &RunConfig::workers(workers), move |flow| {
            let input = flow.input_timed(
                "inp",
                TestingSource::partitioned(parts.clone()),
                |e: &(String, i64)| Some(e.1),
            );
            build(input).output("out", out.clone());
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{workers} workers: {e}"));
        let mut by_key: BTreeMap<String, Vec<U>> = BTreeMap::new();
        for (k, u) in sink.take() {
            by_key.entry(k).or_default().push(u);
        }
        match &first {
            None => first = Some(by_key),
            Some(f) => assert_eq!(&by_key, f, "{workers} workers"),
        }
    }
    first
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(k, us)| us.into_iter().map(move |u| (k.clone(), u)))
        .collect()
}

#[test]
fn collect_timed_emits_when_the_event_time_passes_the_timeout() {
    // (user, time ms) in two partitions, read in event-time order.
    let parts: Vec<Vec<(String, i64)>> = vec![
        rows(&[("a", 0), ("a", 3_000), ("b", 4_000), ("a", 20_000)]),
        rows(&[("b", 1_000), ("a", 9_000), ("b", 30_000)]),
    ];
    let out = timed_all_workers(parts, |s| {
        s.collect_timed("batch", 100, |t: &i64| *t, Duration::from_secs(5))
    });
    assert_eq!(
        out,
        rows(&[
            // a: 0, 3 000 (due 8 000, passed when the input reaches 9 000);
            // 9 000 (due 14 000); 20 000 at end of input.
            ("a", vec![0, 3_000]),
            ("a", vec![9_000]),
            ("a", vec![20_000]),
            ("b", vec![1_000, 4_000]),
            ("b", vec![30_000]),
        ])
    );
}

/// Yields its items, then nothing (`Pending`) until `release` is set, then
/// its later items, then ends.
#[derive(Clone)]
struct Gated {
    first: Vec<(String, i64)>,
    then: Vec<(String, i64)>,
    release: Arc<std::sync::atomic::AtomicBool>,
}

struct GatedPartition {
    first: std::vec::IntoIter<(String, i64)>,
    then: std::vec::IntoIter<(String, i64)>,
    release: Arc<std::sync::atomic::AtomicBool>,
}

impl eddy::connectors::Source<(String, i64)> for Gated {
    fn list_parts(&self) -> eddy::Result<Vec<String>, eddy::ConnectorError> {
        Ok(vec!["live".into()])
    }

    fn build_part(
        &self,
        _key: &str,
        _resume: Option<&[u8]>,
    ) -> eddy::Result<Box<dyn eddy::connectors::SourcePartition<(String, i64)>>, eddy::ConnectorError> {
        Ok(Box::new(GatedPartition {
            first: self.first.clone().into_iter(),
            then: self.then.clone().into_iter(),
            release: self.release.clone(),
        }))
    }
}

impl eddy::connectors::SourcePartition<(String, i64)> for GatedPartition {
    fn next_batch(
        &mut self,
        out: &mut Vec<(String, i64)>,
        max: usize,
    ) -> eddy::Result<eddy::connectors::Poll, eddy::ConnectorError> {
        use eddy::connectors::Poll;
        let before = out.len();
        out.extend(self.first.by_ref().take(max));
        if out.len() > before {
            return Ok(Poll::Ready);
        }
        if !self.release.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(Poll::Pending(Duration::from_millis(5)));
        }
        out.extend(self.then.by_ref());
        Ok(Poll::Done)
    }

    fn position(&self) -> Vec<u8> {
        Vec::new()
    }
}

#[test]
fn collect_times_out_on_the_wall_clock_while_the_input_is_open() {
    let release = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let source = Gated {
        first: rows(&[("a", 1), ("a", 2)]),
        then: rows(&[("a", 3)]),
        release: release.clone(),
    };
    let sink = eddy::testing::TestingSink::new();
    let out = sink.clone();
    let runner = std::thread::spawn(move || {
        eddy::run("live", &RunConfig::workers(2), move |flow| {
            flow.input("inp", source.clone())
                .collect("batch", 10, Duration::from_millis(50))
                .output("out", out.clone());
            Ok(())
        })
    });
    // The input stays open until the first list is out: only the timeout
    // can have emitted it. (The bound only guards against a hang.)
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    while seen.is_empty() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
        seen.extend(sink.take());
    }
    release.store(true, std::sync::atomic::Ordering::SeqCst);
    runner.join().expect("runner").expect("run");
    assert_eq!(
        seen,
        rows(&[("a", vec![1, 2])]),
        "emitted by the timeout, before the input ended"
    );
    assert_eq!(sink.take(), rows(&[("a", vec![3])]), "the rest at end of input");
}

#[test]
fn flat_map_batch_gets_runs_of_one_mark_and_keeps_the_output() {
    // Timed: the items of one event time share a mark, so they may come
    // as one batch; the output per key is the same for every worker count.
    let parts: Vec<Vec<(String, i64)>> = vec![
        rows(&[("a", 1), ("b", 1), ("c", 1), ("d", 2)]),
        rows(&[("e", 1), ("f", 3)]),
    ];
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let log = sizes.clone();
    let out = timed_all_workers(parts, move |s| {
        let log = log.clone();
        s.flat_map_batch("tens", move |batch: Vec<(String, i64)>| {
            if let Ok(mut l) = log.lock() {
                l.push(batch.len());
            }
            batch.into_iter().map(|(k, t)| (k, t * 10)).collect::<Vec<_>>()
        })
    });
    assert_eq!(
        out,
        rows(&[("a", 10), ("b", 10), ("c", 10), ("d", 20), ("e", 10), ("f", 30)])
    );
    let sizes = sizes.lock().map(|v| v.clone()).unwrap_or_default();
    // How the input cuts its sends is its own business; values of one mark
    // sent together come as one batch.
    assert!(
        sizes.iter().any(|n| *n > 1),
        "values of mark 1 batched: {sizes:?}"
    );
    assert_eq!(sizes.iter().sum::<usize>(), 6 * WORKERS.len());
}

#[test]
fn redistribute_spreads_one_partition_over_every_worker() {
    for workers in WORKERS {
        let seen = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
        let log = seen.clone();
        let source = TestingSource::new((0..200i64).collect::<Vec<_>>());
        let out = run_collect_with(&RunConfig::workers(workers), source, move |s| {
            let log = log.clone();
            s.redistribute("spread")
                .inspect_debug_with("where", move |_: &str, _: &i64, _: u64, worker: usize| {
                    if let Ok(mut l) = log.lock() {
                        l.insert(worker);
                    }
                })
                .map("sq", |x: i64| x * x)
        })
        .expect("run");
        assert_eq!(
            out,
            (0..200i64).map(|x| x * x).collect::<Vec<_>>(),
            "{workers} workers"
        );
        let seen = seen.lock().map(|v| v.clone()).unwrap_or_default();
        assert_eq!(seen, (0..workers).collect(), "{workers} workers");
    }
}

#[test]
fn describe_draws_every_step_and_stream_without_running() {
    let picture = eddy::describe("shop", |flow| {
        let s = flow.input("inp", TestingSource::new(sides().concat()));
        let (l, r) = split(&s);
        l.join("join", &r, JoinInsert::Last)
            .inspect("never", |_| panic!("describe does not run the flow"))
            .output("out", eddy::testing::TestingSink::new());
        Ok(())
    })
    .expect("described");
    assert!(picture.starts_with("flowchart TD\n"), "{picture}");
    assert!(picture.trim_end().ends_with("end"), "{picture}");
    for label in [
        "\"inp (input)\"",
        "\"left\"",
        "\"right\"",
        "\"join_left\"",
        "\"join_right\"",
        "\"join_merge\"",
        "\"join\"",
        "\"join_pairs\"",
        "\"never\"",
        "\"out (output)\"",
    ] {
        assert!(picture.contains(label), "{label} in {picture}");
    }
    // inp feeds both sides; both sides feed the merge.
    let id = |name: &str| {
        picture
            .lines()
            .find(|l| l.contains(&format!("[\"{name}")))
            .and_then(|l| l.trim().split('[').next())
            .map(str::to_owned)
            .unwrap_or_default()
    };
    for (from, to) in [
        ("inp", "left"),
        ("inp", "right"),
        ("join_left", "join_merge"),
        ("join_right", "join_merge"),
        ("never", "out"),
    ] {
        let arrow = format!("{} --> {}", id(from), id(to));
        assert!(picture.contains(&arrow), "{from} -> {to}: {arrow} in {picture}");
    }
    let err = eddy::describe("bad", |flow| {
        let s = flow.input("inp", TestingSource::new(vec![1i64]));
        s.map("x", |v| v).map("x", |v| v);
        Ok(())
    })
    .expect_err("duplicate step");
    assert!(matches!(err, EddyError::Build(_)), "{err}");
}
