//! Crash and resume: every stateful operator, every source partition and
//! the sink are snapshotted; a run that fails mid-way and is resumed —
//! with the same or another worker count — writes exactly the output of an
//! uninterrupted run. Damaged or foreign stores are refused with an error.

use std::path::Path;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use eddy::recovery::{init_store, inspect, CodecError, Owner, RecoveryConfig, RecoveryError};
use eddy::testing::{TestingSink, TestingSource};
use eddy::window::{EventClock, EventTime, SessionWindower, SlidingWindower, TumblingWindower};
use eddy::{run, EddyError, RunConfig};
use proptest::prelude::*;

mod common;
use common::{has_complete_snapshot, Crashing};

/// `(user, event time in ms)`.
type Event = (String, i64);

/// Sessions as text, late events as text, and the window output.
type SessionLines<'a> = (
    eddy::Stream<'a, String>,
    eddy::Stream<'a, String>,
    eddy::WindowOut<'a, String, Event, Vec<Event>>,
);

/// Session windows (gap 100 ms, wait 50 ms) of a keyed stream, as text.
fn session_lines<'a>(by_user: &eddy::Stream<'a, (String, Event)>) -> SessionLines<'a> {
    let sessions = by_user.collect_window(
        "sessions",
        EventClock::new(|e: &Event| e.1, Duration::from_millis(50)),
        SessionWindower::new(Duration::from_millis(100)),
    );
    let rows = sessions.down.map("s_fmt", |(u, (id, es))| {
        format!(
            "session {u} {id} {:?}",
            es.iter().map(|e| e.1).collect::<Vec<_>>()
        )
    });
    let late = sessions
        .late
        .map("late_fmt", |(u, (id, e))| format!("late {u} {id} {}", e.1));
    (rows, late, sessions)
}

/// A flow with every stateful operator, all written to one output.
fn run_flow(
    config: &RunConfig,
    parts: Vec<Vec<Event>>,
    batch: usize,
    sink: TestingSink<String>,
    budget: Option<i64>,
) -> eddy::Result<()> {
    let budget = Arc::new(AtomicI64::new(budget.unwrap_or(i64::MAX)));
    run("every_op", config, move |flow| {
        let source = TestingSource::partitioned(parts.clone()).batch_size(batch);
        let events = flow.input_timed("inp", source, |e: &Event| Some(e.1));
        let by_user = events.key_on("by_user", |e: &Event| e.0.clone());
        let (s, late, sessions) = session_lines(&by_user);
        let meta = sessions.meta.map("meta_fmt", |(u, (id, m))| {
            format!(
                "meta {u} {id} {} {} {:?}",
                m.open_time, m.close_time, m.merged_ids
            )
        });
        let tumbling = TumblingWindower::new(Duration::from_millis(200), EventTime::EPOCH).expect("valid");
        let t = by_user
            .map_value("t_time", |e: Event| e.1)
            .fold_window(
                "tumbling",
                EventClock::new(|t: &i64| *t, Duration::from_millis(50)),
                tumbling,
                Vec::new,
                |acc: &mut Vec<i64>, t| acc.push(t),
                |a: &mut Vec<i64>, mut b| a.append(&mut b),
                eddy::window::FoldOrder::ByTime,
            )
            .down
            .map("t_fmt", |(u, (id, ts))| format!("tumbling {u} {id} {ts:?}"));
        let sliding = SlidingWindower::new(
            Duration::from_millis(300),
            Duration::from_millis(100),
            EventTime::EPOCH,
        )
        .expect("valid");
        let sl = by_user
            .map_value("sl_time", |e: Event| e.1)
            .reduce_window(
                "sliding",
                EventClock::new(|t: &i64| *t, Duration::from_millis(50)),
                sliding,
                |a, b| a + b,
            )
            .down
            .map("sl_fmt", |(u, (id, sum))| format!("sliding {u} {id} {sum}"));
        let running = by_user
            .stateful_map("running", |n: &mut Option<u64>, e: Event| {
                let c = n.unwrap_or(0) + 1;
                *n = Some(c);
                (c, e.1)
            })
            .map("r_fmt", |(u, (c, t))| format!("running {u} {c} {t}"));
        let folded = by_user
            .fold_final("fold", Vec::new, |mut acc: Vec<i64>, e: Event| {
                acc.push(e.1);
                acc
            })
            .map("f_fmt", |(u, ts)| format!("fold {u} {ts:?}"));
        let counted = events
            .count_final("count", |e: &Event| e.0.clone())
            .map("c_fmt", |(u, n)| format!("count {u} {n}"));
        let reduced = by_user
            .map_value("r_time", |e: Event| e.1)
            .reduce_final("max", |a: i64, b: i64| a.max(b))
            .map("m_fmt", |(u, m)| format!("max {u} {m}"));
        s.merge("all", &[late, meta, t, sl, running, folded, counted, reduced])
            .output(
                "out",
                Crashing {
                    inner: sink.clone(),
                    budget: budget.clone(),
                },
            );
        Ok(())
    })
}

fn recovery(dir: &Path, interval_ms: u64) -> RecoveryConfig {
    RecoveryConfig {
        snapshot_interval: Duration::from_millis(interval_ms),
        ..RecoveryConfig::new(dir)
    }
}

/// Events of `users` users in `parts` partitions, a little out of order,
/// with a few late ones.
fn events(n: usize, users: usize, parts: usize) -> Vec<Vec<Event>> {
    let mut out = vec![Vec::new(); parts];
    for i in 0..n {
        let u = (i * 7 + i / 3) % users;
        let mut t = (i as i64) * 10 + ((i * 13) % 5) as i64 * 7;
        if i % 97 == 0 {
            t -= 400; // late
        }
        out[(i * 5 + u) % parts].push((format!("u{u}"), t));
    }
    out
}

/// The uninterrupted run's output, sorted: values that different steps
/// emit at the same canonical place (end of input, same key) may reach the
/// merged output in either order.
fn reference(parts: &[Vec<Event>]) -> Vec<String> {
    let sink = TestingSink::new();
    run_flow(&RunConfig::workers(1), parts.to_vec(), 64, sink.clone(), None).expect("reference run");
    sorted(sink.take())
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Runs the stages (workers, crash budget) one after another on one store
/// and returns the final output and how many runs resumed from a snapshot.
fn crash_and_resume(
    parts: &[Vec<Event>],
    batch: usize,
    interval_ms: u64,
    stages: &[(usize, Option<i64>)],
) -> (Vec<String>, usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    init_store(dir.path()).expect("init");
    let sink = TestingSink::new();
    let mut resumed = 0;
    for &(workers, budget) in stages {
        if has_complete_snapshot(dir.path()) {
            resumed += 1;
        }
        let config = RunConfig::workers(workers).with_recovery(recovery(dir.path(), interval_ms));
        match run_flow(&config, parts.to_vec(), batch, sink.clone(), budget) {
            Ok(()) => {}
            Err(e) => assert!(
                e.to_string().contains("simulated disk full"),
                "unexpected error: {e}"
            ),
        }
    }
    // The last stage has no budget: it finishes.
    (sorted(sink.take()), resumed)
}

#[test]
fn crash_and_resume_every_operator_at_1_2_4_1_workers() {
    let parts = events(6000, 40, 3);
    let expected = reference(&parts);
    assert!(
        expected.iter().any(|r| r.starts_with("late")),
        "the input has late events"
    );
    let stages = [(1, Some(1500)), (2, Some(1500)), (4, Some(1500)), (1, None)];
    let (got, resumed) = crash_and_resume(&parts, 5, 1, &stages);
    assert!(resumed >= 2, "runs resumed from a snapshot: {resumed}");
    assert_eq!(got.len(), expected.len());
    assert_eq!(got, expected);
}

#[test]
fn uninterrupted_run_with_snapshots_is_unchanged_and_a_rerun_rewrites_the_same() {
    let parts = events(2000, 15, 2);
    let expected = reference(&parts);
    let dir = tempfile::tempdir().expect("tempdir");
    init_store(dir.path()).expect("init");
    let sink = TestingSink::new();
    let config = RunConfig::workers(2).with_recovery(recovery(dir.path(), 0));
    run_flow(&config, parts.clone(), 3, sink.clone(), None).expect("run");
    let info = inspect(dir.path()).expect("inspect");
    let last = info
        .epochs
        .iter()
        .rev()
        .find(|e| e.complete())
        .expect("a complete snapshot");
    assert_eq!(last.mark, u64::MAX, "the last snapshot is at the end of input");
    // Every step that holds state wrote a part per worker.
    for step in [
        "every_op.inp",
        "every_op.sessions",
        "every_op.running",
        "every_op.out",
    ] {
        assert!(
            info.steps.iter().any(|(s, parts, _)| s == step && *parts == 2),
            "{step}: {:?}",
            info.steps
        );
    }
    // The same run again resumes at the end: the output is rewritten to the
    // same, once.
    run_flow(
        &RunConfig::workers(3).with_recovery(recovery(dir.path(), 0)),
        parts,
        3,
        sink.clone(),
        None,
    )
    .expect("rerun");
    assert_eq!(sorted(sink.take()), expected);
}

/// Sessions and late events of a CSV file (`user,time` lines; anything
/// else is invalid), read in chunks of `chunk` bytes, to a crashing sink.
fn run_chunked(
    config: &RunConfig,
    path: &Path,
    chunk: u64,
    sink: TestingSink<String>,
    budget: Option<i64>,
) -> eddy::Result<()> {
    use eddy::connectors::files::{FileSource, LineRef};
    fn decode(line: &LineRef<'_>) -> Option<Event> {
        let text = std::str::from_utf8(line.bytes()).ok()?;
        let (user, time) = text.split_once(',')?;
        Some((user.to_string(), time.parse().ok()?))
    }
    let budget = Arc::new(AtomicI64::new(budget.unwrap_or(i64::MAX)));
    let path = path.to_path_buf();
    run("chunked", config, move |flow| {
        let source = FileSource::new(vec![path.clone()], decode)
            .chunk_bytes(chunk)
            .buffer_bytes(512);
        let items = flow.input_timed("inp", source, |e: &Option<Event>| e.as_ref().map(|e| e.1));
        let invalid = items
            .filter("invalid", |e: &Option<Event>| e.is_none())
            .map("i_fmt", |_| "invalid".to_string());
        let by_user = items
            .filter_map("valid", |e| e)
            .key_on("by_user", |e: &Event| e.0.clone());
        let (rows, late, _) = session_lines(&by_user);
        rows.merge("all", &[late, invalid]).output(
            "out",
            Crashing {
                inner: sink.clone(),
                budget: budget.clone(),
            },
        );
        Ok(())
    })
}

/// Regression (trust issue, "one file, one answer"): a file read in chunks,
/// with disorder far beyond `wait` across chunk boundaries, crashed and
/// resumed at 2 → 4 → 1 workers, gives exactly the output of reading it
/// whole on one worker without a crash.
#[test]
fn crash_and_resume_of_a_chunked_file_gives_the_whole_file_output() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("events.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    for i in 0..20_000i64 {
        let jitter = (i.wrapping_mul(2_654_435_761) >> 7) % 3_000; // up to 3 s behind: wait is 50 ms
        if i % 211 == 0 {
            writeln!(file, "garbage").expect("write");
        }
        writeln!(file, "u{},{}", (i * 31) % 47, i * 5 - jitter).expect("write");
    }
    drop(file);
    let whole = TestingSink::new();
    run_chunked(&RunConfig::workers(1), &path, 0, whole.clone(), None).expect("reference");
    let expected = sorted(whole.take());
    assert!(
        expected.iter().any(|r| r.starts_with("late")),
        "the input has late events: {} rows, {:?}",
        expected.len(),
        expected.iter().rev().take(3).collect::<Vec<_>>()
    );
    let store = tempfile::tempdir().expect("tempdir");
    init_store(store.path()).expect("init");
    let sink = TestingSink::new();
    let mut resumed = 0;
    for (workers, budget) in [(2, Some(1500)), (4, Some(1500)), (1, None)] {
        if has_complete_snapshot(store.path()) {
            resumed += 1;
        }
        let config = RunConfig::workers(workers).with_recovery(recovery(store.path(), 0));
        if let Err(e) = run_chunked(&config, &path, 4096, sink.clone(), budget) {
            assert!(
                e.to_string().contains("simulated disk full"),
                "unexpected error: {e}"
            );
        }
    }
    assert!(resumed >= 1, "runs resumed from a snapshot: {resumed}");
    assert_eq!(sorted(sink.take()), expected);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random inputs, batch sizes, snapshot intervals and crash points, with
    /// random worker counts at each resume: always the uninterrupted output.
    #[test]
    fn resume_gives_the_uninterrupted_output(
        n in 0usize..1500,
        users in 1usize..20,
        nparts in 1usize..4,
        batch in 1usize..20,
        interval_ms in 0u64..3,
        stages in prop::collection::vec((1usize..5, 1i64..400), 0..4),
        last_workers in 1usize..5,
    ) {
        let parts = events(n, users, nparts);
        let expected = reference(&parts);
        let mut all: Vec<(usize, Option<i64>)> = stages.into_iter().map(|(w, b)| (w, Some(b))).collect();
        all.push((last_workers, None));
        let (got, _) = crash_and_resume(&parts, batch, interval_ms, &all);
        prop_assert_eq!(got, expected);
    }
}

fn run_on(dir: &Path, flow_id: &str, fingerprint: &str) -> eddy::Result<Vec<i64>> {
    let sink = TestingSink::new();
    let out = sink.clone();
    let config = RunConfig::workers(1).with_recovery(RecoveryConfig {
        fingerprint: fingerprint.to_owned(),
        ..recovery(dir, 0)
    });
    run(flow_id, &config, move |flow| {
        flow.input("inp", TestingSource::new(0..100i64))
            .key_on("k", |x: &i64| (x % 3).to_string())
            .stateful_map("sum", |s: &mut Option<i64>, x: i64| {
                *s = Some(s.unwrap_or(0) + x);
                s.unwrap_or(0)
            })
            .map("v", |(_, v)| v)
            .output("out", out.clone());
        Ok(())
    })?;
    Ok(sink.take())
}

fn recovery_error(r: eddy::Result<Vec<i64>>) -> RecoveryError {
    match r {
        Err(EddyError::Recovery(e)) => e,
        other => panic!("expected a recovery error, got {other:?}"),
    }
}

#[test]
fn missing_store_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nowhere = dir.path().join("nowhere");
    let err = recovery_error(run_on(&nowhere, "f", ""));
    assert!(
        matches!(&err, RecoveryError::Missing { dir, .. } if dir == &nowhere),
        "{err:?}"
    );
    assert!(init_store(dir.path()).is_ok());
    let again = init_store(dir.path()).expect_err("a second init");
    assert!(matches!(again, RecoveryError::Exists { .. }), "{again:?}");
}

#[test]
fn foreign_stores_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    init_store(dir.path()).expect("init");
    run_on(dir.path(), "flow_a", "v1").expect("first run");
    let err = recovery_error(run_on(dir.path(), "flow_b", "v1"));
    assert!(
        matches!(&err, RecoveryError::Foreign { owner: Owner::Dataflow { theirs, ours }, .. }
            if theirs == "flow_a" && ours == "flow_b"),
        "{err:?}"
    );
    let err = recovery_error(run_on(dir.path(), "flow_a", "v2"));
    assert!(
        matches!(&err, RecoveryError::Foreign { owner: Owner::Parameters { theirs, .. }, .. } if theirs == "v1"),
        "{err:?}"
    );
    // Another SQLite database.
    let other = tempfile::tempdir().expect("tempdir");
    let conn = rusqlite::Connection::open(other.path().join("recovery.sqlite3")).expect("sqlite");
    conn.execute_batch("CREATE TABLE t (x);").expect("table");
    drop(conn);
    let err = recovery_error(run_on(other.path(), "flow_a", "v1"));
    assert!(
        matches!(
            err,
            RecoveryError::Foreign {
                owner: Owner::NotEddy,
                ..
            }
        ),
        "{err:?}"
    );
    // Another version of the store.
    let conn = rusqlite::Connection::open(dir.path().join("recovery.sqlite3")).expect("sqlite");
    conn.execute_batch("PRAGMA user_version = 99;").expect("version");
    drop(conn);
    let err = recovery_error(run_on(dir.path(), "flow_a", "v1"));
    assert!(
        matches!(
            err,
            RecoveryError::OtherVersion {
                found: 99,
                expected: 6,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn damaged_stores_are_refused() {
    let good = tempfile::tempdir().expect("tempdir");
    init_store(good.path()).expect("init");
    let expected = run_on(good.path(), "f", "").expect("first run");
    let file = good.path().join("recovery.sqlite3");
    let bytes = std::fs::read(&file).expect("read store");
    assert!(bytes.len() > 4096, "store of {} bytes", bytes.len());

    // Truncated.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("recovery.sqlite3"), &bytes[..bytes.len() / 2]).expect("write");
    let err = recovery_error(run_on(dir.path(), "f", ""));
    assert!(
        matches!(err, RecoveryError::Damaged { .. } | RecoveryError::Sqlite { .. }),
        "{err:?}"
    );

    // Garbage, not a database at all.
    std::fs::write(
        dir.path().join("recovery.sqlite3"),
        b"hello, not a database at all",
    )
    .expect("write");
    let err = recovery_error(run_on(dir.path(), "f", ""));
    assert!(matches!(err, RecoveryError::Damaged { .. }), "{err:?}");

    // A snapshot part with a flipped byte: the checksum catches it.
    std::fs::write(dir.path().join("recovery.sqlite3"), &bytes).expect("write");
    let conn = rusqlite::Connection::open(dir.path().join("recovery.sqlite3")).expect("sqlite");
    conn.execute_batch("UPDATE parts SET data = CAST(substr(data, 1, 20) || x'ff' || substr(data, 22) AS BLOB) WHERE step = 'f.sum';")
        .expect("damage");
    drop(conn);
    let err = recovery_error(run_on(dir.path(), "f", ""));
    let cause = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<CodecError>());
    assert!(
        matches!(err, RecoveryError::Damaged { .. }) && matches!(cause, Some(CodecError::Checksum)),
        "{err:?}"
    );

    // Pages overwritten in the middle of the file.
    let mut damaged = bytes.clone();
    let mid = damaged.len() / 2;
    for b in &mut damaged[mid..mid + 2048] {
        *b = 0xA5;
    }
    // What a rerun of the finished run gives on the intact store: nothing
    // new (it resumes from the end snapshot).
    let intact = tempfile::tempdir().expect("tempdir");
    std::fs::write(intact.path().join("recovery.sqlite3"), &bytes).expect("write");
    let rerun = run_on(intact.path(), "f", "").expect("rerun");
    assert!(rerun.is_empty() && !expected.is_empty());
    std::fs::write(dir.path().join("recovery.sqlite3"), &damaged).expect("write");
    match run_on(dir.path(), "f", "") {
        // Either refused, or (if only free pages were hit) what the intact
        // store gives.
        Ok(out) => assert_eq!(out, rerun),
        Err(e) => assert!(matches!(e, EddyError::Recovery(_)), "{e}"),
    }
}

#[test]
fn backup_interval_keeps_old_snapshots() {
    let parts = events(3000, 10, 2);
    let mut kept = Vec::new();
    for backup in [Duration::ZERO, Duration::from_secs(86_400)] {
        let dir = tempfile::tempdir().expect("tempdir");
        init_store(dir.path()).expect("init");
        let config = RunConfig::workers(2).with_recovery(RecoveryConfig {
            backup_interval: backup,
            ..recovery(dir.path(), 0)
        });
        run_flow(&config, parts.clone(), 2, TestingSink::new(), None).expect("run");
        let info = inspect(dir.path()).expect("inspect");
        let last = info.epochs.last().expect("an epoch").epoch;
        kept.push((info.epochs.len() as u64, last));
    }
    let ((dropped, taken0), (all, taken1)) = (kept[0], kept[1]);
    assert!(taken0 > 3 && taken1 > 3, "snapshots taken: {kept:?}");
    assert_eq!(dropped, 1, "without a backup interval old snapshots go: {kept:?}");
    assert_eq!(all, taken1, "with one, every snapshot is kept: {kept:?}");
}
