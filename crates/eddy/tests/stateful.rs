//! The open stateful operator (`Stream::stateful`, Bytewax's
//! `StatefulLogic`): event-time wake-ups take their canonical place,
//! discarding drops a key's logic, end of input fires what is pending and
//! then `on_eof`, and a run that crashes and resumes on another worker
//! count gives the uninterrupted output — the same for 1, 2 and 4 workers.

use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy::dataflow::stateful::{IsComplete, StatefulLogic, Wake};
use eddy::recovery::{init_store, RecoveryConfig};
use eddy::testing::{TestingSink, TestingSource};
use eddy::{run, RunConfig};
use serde::{Deserialize, Serialize};

mod common;
use common::{has_complete_snapshot, Crashing};

/// `(user, event time in ms)`.
type Event = (String, i64);

/// A logic that reports every call: items, wake-ups 250 ms after the first
/// item since the last wake-up, a discard at the 4th item, end of input.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Trace {
    count: u32,
    wake: Option<i64>,
}

impl StatefulLogic<i64> for Trace {
    type Out = String;
    type State = Trace;

    fn on_item(&mut self, t: i64) -> (impl IntoIterator<Item = String>, IsComplete) {
        self.count += 1;
        let mut out = vec![format!("item {t}")];
        if self.wake.is_none() {
            self.wake = Some(t + 250);
        }
        if self.count == 4 {
            out.push("discard".to_string());
            return (out, IsComplete::Discard);
        }
        (out, IsComplete::Retain)
    }

    fn notify_at(&self) -> Option<Wake> {
        self.wake.map(Wake::At)
    }

    fn on_notify(&mut self) -> (impl IntoIterator<Item = String>, IsComplete) {
        let out = self.wake.take().map(|w| format!("notify {w}"));
        (out, IsComplete::Retain)
    }

    fn on_eof(&mut self) -> (impl IntoIterator<Item = String>, IsComplete) {
        (Some(format!("eof {}", self.count)), IsComplete::Discard)
    }

    fn snapshot(&self) -> Trace {
        Trace {
            count: self.count,
            wake: self.wake,
        }
    }
}

/// Runs `Trace` over `parts` (timed by the events' times) and returns the
/// output lines `"user what"` in the order the one output wrote them.
fn run_trace(config: &RunConfig, parts: Vec<Vec<Event>>, batch: usize) -> eddy::Result<Vec<String>> {
    let sink = TestingSink::new();
    let out = sink.clone();
    run("trace", config, move |flow| {
        let source = TestingSource::partitioned(parts.clone()).batch_size(batch);
        flow.input_timed("inp", source, |e: &Event| Some(e.1))
            .stateful("trace", |resume: Option<Trace>| resume.unwrap_or_default())
            .map("fmt", |(user, line)| format!("{user} {line}"))
            .output("out", out.clone());
        Ok(())
    })?;
    Ok(sink.take())
}

fn events(list: &[(&str, i64)]) -> Vec<Event> {
    list.iter().map(|(u, t)| (u.to_string(), *t)).collect()
}

#[test]
fn wakeups_come_after_the_items_up_to_their_time_and_before_later_ones() {
    let input = events(&[
        ("a", 100),
        ("b", 150),
        ("a", 200),
        ("a", 360),
        ("b", 600),
        ("a", 700),
        ("a", 800),
    ]);
    let expected: Vec<String> = [
        "a item 100",
        "b item 150",
        "a item 200",
        // The frontier passes 350 at a's next item (360): not before the
        // items up to 350, not after the later ones.
        "a notify 350",
        "a item 360",
        "b notify 400",
        "b item 600",
        "a notify 610",
        "a item 700",
        "a discard",
        // A fresh logic for a (count 1 again).
        "a item 800",
        // Passed by b's frontier alone? No: nothing comes after 800, so these
        // fire at end of input, still in time order, then on_eof.
        "b notify 850",
        "a notify 1050",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for workers in [1, 2, 4] {
        let mut got = run_trace(&RunConfig::workers(workers), vec![input.clone()], 2).expect("run");
        // End of input: one eof per key, in key-hash order.
        let mut eofs: Vec<String> = got.split_off(expected.len());
        eofs.sort();
        assert_eq!(got, expected, "{workers} workers");
        assert_eq!(eofs, vec!["a eof 1", "b eof 2"], "{workers} workers");
    }
}

#[test]
fn a_wakeup_fires_when_other_keys_move_the_frontier_past_it() {
    // Key "x" asks for 350 and never gets another item; "y"'s items move
    // the input's frontier past 350, which wakes "x" between y's items at
    // 300 and 400 — before end of input.
    let input = events(&[("x", 100), ("y", 300), ("y", 400), ("y", 500)]);
    for workers in [1, 2, 4] {
        let got = run_trace(&RunConfig::workers(workers), vec![input.clone()], 1).expect("run");
        let at = |line: &str| got.iter().position(|l| l == line).unwrap_or(usize::MAX);
        assert!(at("y item 300") < at("x notify 350"), "{got:?}");
        assert!(at("x notify 350") < at("y item 400"), "{got:?}");
        assert!(at("x notify 350") < at("x eof 1"), "{got:?}");
    }
}

/// A logic that, once woken, asks again 100 ms later, three times, then
/// discards itself from `on_notify`.
#[derive(Default, Serialize, Deserialize)]
struct Chain {
    next: Option<i64>,
    rings: u32,
}

impl StatefulLogic<i64> for Chain {
    type Out = String;
    type State = (Option<i64>, u32);

    fn on_item(&mut self, t: i64) -> (impl IntoIterator<Item = String>, IsComplete) {
        self.next = Some(t + 100);
        (None, IsComplete::Retain)
    }

    fn notify_at(&self) -> Option<Wake> {
        self.next.map(Wake::At)
    }

    fn on_notify(&mut self) -> (impl IntoIterator<Item = String>, IsComplete) {
        self.rings += 1;
        let now = self.next.unwrap_or_default();
        self.next = Some(now + 100);
        let done = if self.rings == 3 {
            IsComplete::Discard
        } else {
            IsComplete::Retain
        };
        (Some(format!("ring {now}")), done)
    }

    fn on_eof(&mut self) -> (impl IntoIterator<Item = String>, IsComplete) {
        (Some("eof".to_string()), IsComplete::Discard)
    }

    fn snapshot(&self) -> (Option<i64>, u32) {
        (self.next, self.rings)
    }
}

#[test]
fn end_of_input_fires_pending_chains_then_eof_and_discarded_keys_get_no_eof() {
    for workers in [1, 2, 4] {
        let sink = TestingSink::new();
        let out = sink.clone();
        let input = events(&[("k", 0), ("m", 1_000), ("m", 1_050)]);
        run("chain", &RunConfig::workers(workers), move |flow| {
            flow.input_timed("inp", TestingSource::new(input.clone()), |e: &Event| Some(e.1))
                .stateful("chain", |resume: Option<(Option<i64>, u32)>| {
                    let (next, rings) = resume.unwrap_or_default();
                    Chain { next, rings }
                })
                .map("fmt", |(user, line)| format!("{user} {line}"))
                .output("out", out.clone());
            Ok(())
        })
        .expect("run");
        // k rings at 100, 200, 300 (moved by m's items), discards itself: no
        // eof. m's item at 1050 moves its wake-up to 1150 (one per key);
        // after it only end of input: 1150, 1250, 1350, then discarded.
        assert_eq!(
            sink.take(),
            [
                "k ring 100",
                "k ring 200",
                "k ring 300",
                "m ring 1150",
                "m ring 1250",
                "m ring 1350"
            ],
            "{workers} workers"
        );
    }
}

/// A logic that asks for a wall-clock wake-up that is already due.
#[derive(Default)]
struct Wall(bool);

impl StatefulLogic<i64> for Wall {
    type Out = String;
    type State = bool;

    fn on_item(&mut self, _t: i64) -> (impl IntoIterator<Item = String>, IsComplete) {
        (None, IsComplete::Retain)
    }

    fn notify_at(&self) -> Option<Wake> {
        // Already passed: due at once (the test depends on no timing).
        (!self.0).then(|| Wake::WallClock(Instant::now()))
    }

    fn on_notify(&mut self) -> (impl IntoIterator<Item = String>, IsComplete) {
        self.0 = true;
        (Some("woken".to_string()), IsComplete::Retain)
    }

    fn snapshot(&self) -> bool {
        self.0
    }
}

#[test]
fn a_due_wall_clock_wakeup_fires_once() {
    let sink = TestingSink::new();
    let out = sink.clone();
    let input = events(&[("p", 1), ("q", 2), ("p", 3)]);
    run("wall", &RunConfig::workers(2), move |flow| {
        flow.input_timed("inp", TestingSource::new(input.clone()), |e: &Event| Some(e.1))
            .stateful("wall", |resume: Option<bool>| Wall(resume.unwrap_or_default()))
            .output("out", out.clone());
        Ok(())
    })
    .expect("run");
    let mut got = sink.take();
    got.sort();
    assert_eq!(
        got,
        [
            ("p".to_string(), "woken".to_string()),
            ("q".into(), "woken".into())
        ]
    );
}

/// `n` events of `users` users over `parts` partitions, a little out of
/// order.
fn many(n: usize, users: usize, parts: usize) -> Vec<Vec<Event>> {
    let mut out = vec![Vec::new(); parts];
    for i in 0..n {
        let u = (i * 7 + i / 3) % users;
        let t = (i as i64) * 10 + ((i * 13) % 5) as i64 * 40;
        out[(i * 5 + u) % parts].push((format!("u{u}"), t));
    }
    out
}

#[test]
fn the_output_is_the_same_for_1_2_and_4_workers_and_any_batch_size() {
    let parts = many(3000, 37, 4);
    let expected = run_trace(&RunConfig::workers(1), parts.clone(), 64).expect("reference");
    assert!(expected.iter().any(|l| l.ends_with("discard")));
    assert!(expected.iter().any(|l| l.contains("notify")));
    for (workers, batch) in [(1, 1), (2, 7), (4, 3), (4, 500)] {
        let got = run_trace(&RunConfig::workers(workers), parts.clone(), batch).expect("run");
        assert_eq!(got, expected, "{workers} workers, batches of {batch}");
    }
}

#[test]
fn crash_at_2_workers_and_resume_at_3_gives_the_uninterrupted_output() {
    let parts = many(4000, 41, 3);
    let expected = run_trace(&RunConfig::workers(1), parts.clone(), 64).expect("reference");
    let dir = tempfile::tempdir().expect("tempdir");
    init_store(dir.path()).expect("init");
    let sink = TestingSink::new();
    let mut resumed = 0;
    for (workers, budget) in [(2, Some(1200)), (3, Some(1200)), (3, None)] {
        if has_complete_snapshot(dir.path()) {
            resumed += 1;
        }
        let config = RunConfig::workers(workers).with_recovery(RecoveryConfig {
            snapshot_interval: Duration::from_millis(1),
            ..RecoveryConfig::new(dir.path())
        });
        let parts = parts.clone();
        let budget = Arc::new(AtomicI64::new(budget.unwrap_or(i64::MAX)));
        let out = sink.clone();
        let result = run("trace", &config, move |flow| {
            let source = TestingSource::partitioned(parts.clone()).batch_size(5);
            flow.input_timed("inp", source, |e: &Event| Some(e.1))
                .stateful("trace", |resume: Option<Trace>| resume.unwrap_or_default())
                .map("fmt", |(user, line)| format!("{user} {line}"))
                .output(
                    "out",
                    Crashing {
                        inner: out.clone(),
                        budget: budget.clone(),
                    },
                );
            Ok(())
        });
        if let Err(e) = result {
            assert!(
                e.to_string().contains("simulated disk full"),
                "unexpected error: {e}"
            );
        }
    }
    assert!(resumed >= 1, "runs resumed from a snapshot: {resumed}");
    assert_eq!(sink.take(), expected);
}
