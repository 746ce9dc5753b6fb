//! Every operator in a whole dataflow, run with 1, 2 and 4 workers: the
//! output (written by one writer in canonical order) must be exactly the
//! expected rows, in the same order, for every worker count.

use std::time::Duration;

use eddy::testing::{run_collect_with, TestingSource};
use eddy::window::{
    EventClock, EventTime, SessionWindower, SlidingWindower, TumblingWindower, WindowMetadata,
};
use eddy::{run, EddyError, RunConfig, Stream};

const WORKERS: [usize; 3] = [1, 2, 4];

/// Runs `build` over `parts` (one partition each) with 1, 2 and 4 workers
/// and batch sizes 1 and 3, checks every run gives the same output, and
/// returns it.
fn all_workers<T, U, F>(parts: Vec<Vec<T>>, build: F) -> Vec<U>
where
    T: eddy::Data,
    U: eddy::Data + PartialEq + std::fmt::Debug,
    F: for<'a> Fn(Stream<'a, T>) -> Stream<'a, U> + Send + Sync + Clone + 'static,
{
    let mut first: Option<Vec<U>> = None;
    for workers in WORKERS {
        for batch in [1, 3] {
            let source = TestingSource::partitioned(parts.clone()).batch_size(batch);
            let out = run_collect_with(&RunConfig::workers(workers), source, build.clone())
                .unwrap_or_else(|e| panic!("{workers} workers: {e}"));
            match &first {
                None => first = Some(out),
                Some(f) => assert_eq!(&out, f, "{workers} workers, batch {batch}"),
            }
        }
    }
    first.unwrap_or_default()
}

fn keyed(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn map_filter_filter_map_flat_map_inspect() {
    let out = all_workers(vec![(0..20).collect::<Vec<i64>>()], |s| {
        s.map("double", |x| x * 2)
            .filter("small", |x| *x < 30)
            .filter_map("odd_tens", |x| (x % 4 == 0).then_some(x / 4))
            .flat_map("twice", |x| [x, -x])
            .inspect("look", |x| assert!(x.abs() < 10))
    });
    let expected: Vec<i64> = (0..8).flat_map(|x| [x, -x]).collect();
    assert_eq!(out, expected);
}

#[test]
fn branch_and_merge() {
    let out = all_workers(vec![(0..10).collect::<Vec<i64>>()], |s| {
        let b = s.branch("even", |x| x % 2 == 0);
        let odds = b.falses.map("neg", |x| -x);
        b.trues.merge("both", &[odds])
    });
    assert_eq!(out, vec![0, -1, 2, -3, 4, -5, 6, -7, 8, -9]);
}

#[test]
fn key_on_map_value_key_rm() {
    let out = all_workers(vec![vec![3i64, 14, 25]], |s| {
        s.key_on("tens", |x| x / 10)
            .map_value("ones", |x| x % 10)
            .filter_value("not_four", |x| *x != 4)
            .key_rm("unkey")
    });
    assert_eq!(out, vec![3, 5]);
}

#[test]
fn stateful_map_sees_each_key_in_input_order() {
    let input = keyed(&[("a", 1), ("b", 10), ("a", 2), ("a", 3), ("b", 20)]);
    let out = all_workers(vec![input], |s| {
        s.stateful_map("running", |sum: &mut Option<i64>, v| {
            let t = sum.unwrap_or(0) + v;
            *sum = Some(t);
            t
        })
    });
    assert_eq!(out, keyed(&[("a", 1), ("b", 10), ("a", 3), ("a", 6), ("b", 30)]));
}

#[test]
fn stateful_map_can_drop_state() {
    let input = keyed(&[("a", 1), ("a", 0), ("a", 5)]);
    let out = all_workers(vec![input], |s| {
        s.stateful_map("reset_on_zero", |sum: &mut Option<i64>, v| {
            let t = sum.unwrap_or(0) + v;
            *sum = (v != 0).then_some(t);
            t
        })
    });
    assert_eq!(out, keyed(&[("a", 1), ("a", 1), ("a", 5)]));
}

#[test]
fn final_folds_emit_once_per_key_at_end() {
    let input = keyed(&[("b", 2), ("a", 1), ("b", 5), ("c", 7), ("a", 4)]);
    let folded = all_workers(vec![input.clone()], |s| {
        s.fold_final("collect", Vec::new, |mut acc: Vec<i64>, v| {
            acc.push(v);
            acc
        })
    });
    let mut folded = folded;
    folded.sort();
    assert_eq!(
        folded,
        vec![
            ("a".to_string(), vec![1, 4]),
            ("b".into(), vec![2, 5]),
            ("c".into(), vec![7])
        ]
    );
    let mut reduced = all_workers(vec![input.clone()], |s| s.reduce_final("max", |a, b| a.max(b)));
    reduced.sort();
    assert_eq!(reduced, keyed(&[("a", 4), ("b", 5), ("c", 7)]));
    let mut counted = all_workers(vec![input], |s| s.count_final("count", |(k, _)| k.clone()));
    counted.sort();
    assert_eq!(
        counted,
        vec![("a".to_string(), 2), ("b".to_string(), 2), ("c".to_string(), 1)]
    );
}

#[test]
fn partitions_are_spread_and_all_read() {
    let parts: Vec<Vec<i64>> = (0..5).map(|p| (0..50).map(|i| p * 100 + i).collect()).collect();
    let mut out = all_workers(parts, |s| s.map("id", |x| x));
    out.sort();
    let mut expected: Vec<i64> = (0..5).flat_map(|p| (0..50).map(move |i| p * 100 + i)).collect();
    expected.sort();
    assert_eq!(out, expected);
}

#[test]
fn session_windows_with_late_values() {
    // (key, time ms); wait 1 s, gap 10 s.
    let input = keyed(&[
        ("a", 0),
        ("a", 5_000),
        ("b", 1_000),
        ("a", 3_000), // out of order but within wait? no: 3 s < 5 s − 1 s → late
        ("a", 4_500), // within wait
        ("a", 30_000),
        ("b", 12_000), // 11 s after b's last: a new session
    ]);
    let clock = || EventClock::new(|v: &(String, i64)| v.1, Duration::from_secs(1));
    let down = all_workers(vec![input.clone()], move |s| {
        s.key_on("key", |v: &(String, i64)| v.0.clone())
            .map_value("time", |v| v)
            .collect_window("sessions", clock(), SessionWindower::new(Duration::from_secs(10)))
            .down
            .map_value("times", |(id, vs)| {
                (id, vs.into_iter().map(|v| v.1).collect::<Vec<_>>())
            })
    });
    let mut down = down;
    down.sort();
    assert_eq!(
        down,
        vec![
            ("a".to_string(), (0, vec![0, 4_500, 5_000])),
            ("a".to_string(), (1, vec![30_000])),
            ("b".to_string(), (0, vec![1_000])),
            ("b".to_string(), (1, vec![12_000])),
        ]
    );
    let late = all_workers(vec![input.clone()], move |s| {
        s.key_on("key", |v: &(String, i64)| v.0.clone())
            .collect_window("sessions", clock(), SessionWindower::new(Duration::from_secs(10)))
            .late
            .map_value("time", |(id, v)| (id, v.1))
    });
    assert_eq!(late, vec![("a".to_string(), (-1, 3_000))]);
    let mut meta = all_workers(vec![input], move |s| {
        s.key_on("key", |v: &(String, i64)| v.0.clone())
            .collect_window("sessions", clock(), SessionWindower::new(Duration::from_secs(10)))
            .meta
    });
    meta.sort_by_key(|(k, (id, _))| (k.clone(), *id));
    assert_eq!(meta[0], ("a".to_string(), (0, WindowMetadata::new(0, 5_000))));
    assert_eq!(meta[2], ("b".to_string(), (0, WindowMetadata::new(1_000, 1_000))));
    assert_eq!(meta.len(), 4);
}

#[test]
fn tumbling_and_sliding_windows() {
    let input = keyed(&[
        ("a", 1),
        ("a", 4),
        ("a", 8),
        ("a", 12),
        ("a", 13),
        ("a", 14),
        ("a", 16),
    ]);
    let clock = || EventClock::new(|v: &(String, i64)| v.1, Duration::ZERO);
    let tumbling = all_workers(vec![input.clone()], move |s| {
        let w = TumblingWindower::new(Duration::from_millis(10), EventTime::EPOCH).expect("valid");
        s.count_window("count", clock(), w, |v: &(String, i64)| v.0.clone())
            .down
    });
    assert_eq!(
        tumbling,
        vec![("a".to_string(), (0, 3)), ("a".to_string(), (1, 4))]
    );
    let sliding = all_workers(vec![input], |s| {
        let w = SlidingWindower::new(
            Duration::from_millis(10),
            Duration::from_millis(5),
            EventTime::EPOCH,
        )
        .expect("valid");
        s.key_on("k", |v: &(String, i64)| v.0.clone())
            .map_value("t", |v| v.1)
            .fold_window(
                "sum",
                EventClock::new(|v: &i64| *v, Duration::ZERO),
                w,
                Vec::new,
                |acc: &mut Vec<i64>, v| acc.push(v),
                |a, mut b| a.append(&mut b),
                eddy::window::FoldOrder::ByTime,
            )
            .down
    });
    assert_eq!(
        sliding,
        vec![
            ("a".to_string(), (-1, vec![1, 4])),
            ("a".to_string(), (0, vec![1, 4, 8])),
            ("a".to_string(), (1, vec![8, 12, 13, 14])),
            ("a".to_string(), (2, vec![12, 13, 14, 16])),
            ("a".to_string(), (3, vec![16])),
        ]
    );
}

#[test]
fn reduce_window_sums_per_window() {
    let input = keyed(&[("a", 1), ("a", 2), ("b", 3), ("a", 11)]);
    let mut out = all_workers(vec![input], |s| {
        let clock = EventClock::new(|v: &i64| *v, Duration::ZERO);
        let w = TumblingWindower::new(Duration::from_millis(10), EventTime::EPOCH).expect("valid");
        s.reduce_window("sum", clock, w, |a, b| a + b).down
    });
    out.sort();
    assert_eq!(
        out,
        vec![
            ("a".to_string(), (0, 3)),
            ("a".into(), (1, 11)),
            ("b".into(), (0, 3))
        ]
    );
}

#[test]
fn duplicate_step_ids_fail_the_build() {
    let err = run("flow", &RunConfig::workers(2), |flow| {
        let s = flow.input("inp", TestingSource::new(vec![1i64]));
        s.map("same", |x| x).map("same", |x| x);
        Ok(())
    })
    .expect_err("duplicate ids");
    assert!(
        matches!(&err, EddyError::Build(m) if m.contains("duplicate step id \"flow.same\"")),
        "{err}"
    );
}

#[test]
fn bad_step_names_fail_the_build() {
    let err = run("flow", &RunConfig::workers(1), |flow| {
        flow.input("a.b", TestingSource::new(vec![1i64]));
        Ok(())
    })
    .expect_err("dotted id");
    assert!(err.to_string().contains("must not contain '.'"), "{err}");
}

/// A sink whose writer fails on the first batch.
struct FailingSink;

impl eddy::connectors::Sink<i64> for FailingSink {
    fn build(
        &self,
        _w: usize,
        _n: usize,
    ) -> eddy::Result<Box<dyn eddy::connectors::SinkPartition<i64>>, eddy::ConnectorError> {
        Ok(Box::new(FailingWriter))
    }
}

struct FailingWriter;

impl eddy::connectors::SinkPartition<i64> for FailingWriter {
    fn write_batch(&mut self, _items: &mut Vec<i64>) -> eddy::Result<(), eddy::ConnectorError> {
        Err(eddy::ConnectorError::io(
            "out.txt",
            std::io::Error::new(std::io::ErrorKind::StorageFull, "disk on fire"),
        ))
    }
    fn close(&mut self) -> eddy::Result<(), eddy::ConnectorError> {
        Ok(())
    }
}

#[test]
fn a_failing_sink_stops_every_worker_with_its_error() {
    for workers in WORKERS {
        let err = run("flow", &RunConfig::workers(workers), |flow| {
            flow.input("inp", TestingSource::new(0..100_000i64).batch_size(7))
                .map("id", |x| x)
                .output("out", FailingSink);
            Ok(())
        })
        .expect_err("sink fails");
        assert!(
            matches!(&err, EddyError::Connector(eddy::ConnectorError::Io { path, error })
                if path.as_os_str() == "out.txt" && error.kind() == std::io::ErrorKind::StorageFull),
            "{err:?}"
        );
    }
}
