//! A live input with several partitions, one of which never produces: once
//! it has answered `Pending` for `RunConfig::partition_idle`, its progress
//! mark follows the input's other partitions, so the rows of the others
//! come out while the input is still open (without the rule they would
//! wait for the end of input).

use std::time::Duration;

use eddy::window::EventClock;
use eddy::RunConfig;

mod common;

use common::live::{Event, LiveSessions, Rows};

/// Runs a live session flow over `parts` and returns the rows seen before
/// the input was closed (waiting up to `open_for` for `want` of them), and
/// all rows. No wall-clock idle timeout: a session closes when its user's
/// next event, or the input's progress, moves the user's watermark past it.
fn live_run(config: RunConfig, parts: Vec<Vec<Event>>, want: usize, open_for: Duration) -> (Rows, Rows) {
    let clock = || EventClock::new(|e: &Event| e.1, Duration::ZERO);
    let run = LiveSessions::start("idle_parts", config, parts, clock, Duration::from_secs(10));
    let seen = run.rows_while_open(open_for, |seen| seen.len() >= want);
    let mut all = seen.clone();
    all.extend(run.finish());
    all.sort();
    (seen, all)
}

/// Users `a` (partition 1) and `b` (partition 3) each have a session that
/// their next event, 100 s later, closes; partitions 0 and 2 never
/// produce. With two workers, the silent partitions are both on worker 0
/// and the busy ones on worker 1. The busy partitions go idle too once
/// their events are read: every mark ends up at the highest one.
fn parts() -> Vec<Vec<Event>> {
    vec![
        Vec::new(),
        vec![("a".into(), 1_000), ("a".into(), 2_000), ("a".into(), 102_000)],
        Vec::new(),
        vec![("b".into(), 1_500), ("b".into(), 101_500)],
    ]
}

fn closed_sessions() -> Rows {
    vec![("a".to_string(), 2), ("b".to_string(), 1)]
}

fn idle_partitions_do_not_stall(workers: usize) {
    let config = RunConfig::workers(workers).with_partition_idle(Some(Duration::from_millis(1)));
    // Generous: the bound only guards against a hang, it measures nothing.
    let (before_close, all) = live_run(config, parts(), 2, Duration::from_secs(10));
    assert_eq!(
        before_close,
        closed_sessions(),
        "closed sessions must come out while the input is open"
    );
    let mut expected = closed_sessions();
    expected.extend([("a".to_string(), 1), ("b".to_string(), 1)]);
    expected.sort();
    assert_eq!(
        all, expected,
        "the open sessions at the end of input, every row once"
    );
}

#[test]
fn an_idle_partition_does_not_stall_the_others_one_worker() {
    idle_partitions_do_not_stall(1);
}

#[test]
fn an_idle_partition_does_not_stall_the_others_two_workers() {
    idle_partitions_do_not_stall(2);
}

/// The partition that never produces sits alone on its worker: its mark
/// can only follow what the other worker reports.
#[test]
fn an_idle_partition_follows_marks_from_another_worker() {
    let config = RunConfig::workers(2).with_partition_idle(Some(Duration::from_millis(1)));
    let parts = vec![
        vec![("a".into(), 1_000), ("a".into(), 2_000), ("a".into(), 102_000)],
        Vec::new(),
    ];
    let (before_close, _) = live_run(config, parts, 1, Duration::from_secs(10));
    assert_eq!(before_close, vec![("a".to_string(), 2)]);
}

#[test]
fn without_the_rule_an_idle_partition_holds_the_others_back() {
    // What the rule changes: with it off, the closed sessions wait for the
    // end of input (nothing can come out, however long the run stays open).
    let config = RunConfig::workers(2).with_partition_idle(None);
    let (before_close, all) = live_run(config, parts(), 2, Duration::from_millis(300));
    assert!(before_close.is_empty(), "{before_close:?}");
    assert_eq!(all.len(), 4, "{all:?}");
}
