//! One failure path: a panic in a step's logic, on any worker or process,
//! stops the whole run and `run` returns it with its message and step; a
//! `StopHandle` stops a run that would never end.
//!
//! Every run is made in a thread and the test fails if it has not returned
//! after 20 s: a guard against hangs (the old behaviour), not a speed test.

use std::sync::mpsc;
use std::time::Duration;

use eddy::connectors::{Poll, Source, SourcePartition};
use eddy::testing::{TestingSink, TestingSource};
use eddy::window::{EventClock, EventTime, TumblingWindower};
use eddy::{run, ClusterConfig, EddyError, RunConfig, StopHandle};

const HANG: Duration = Duration::from_secs(20);

/// Runs `f` in a thread; its result, or a test failure after [`HANG`].
fn returns<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("{what}: run did not return within {HANG:?}"))
}

/// `(user, time ms)` events over four partitions (one per worker of 4).
fn events() -> TestingSource<(String, i64)> {
    let parts = (0..4)
        .map(|p| {
            (0..50)
                .map(|i| (format!("u{}", (i * 7 + p) % 13), i64::from(i) * 1_000))
                .collect()
        })
        .collect();
    TestingSource::partitioned(parts)
}

/// Checks a run's result: a panic of `step` with message `boom`.
fn assert_panic(result: eddy::Result<()>, step: &str, what: &str) {
    let err = match result {
        Ok(()) => panic!("{what}: the run succeeded"),
        Err(e) => e,
    };
    let text = err.to_string();
    assert!(
        matches!(&err, EddyError::Panic { step: Some(s), message, .. } if s == step && message == "boom u7"),
        "{what}: {text}"
    );
    assert!(
        text.starts_with(&format!("step {step} panicked on worker ")) && text.ends_with(": boom u7"),
        "{what}: {text}"
    );
}

#[test]
fn a_panicking_map_stops_every_worker_with_its_message_and_step() {
    for workers in [1, 2, 4] {
        let result = returns("map", move || {
            run("failing", &RunConfig::workers(workers), |flow| {
                flow.input("inp", events())
                    .map("calc", |(u, t): (String, i64)| {
                        if u == "u7" {
                            panic!("boom {u}");
                        }
                        (u, t)
                    })
                    .output("out", TestingSink::new());
                Ok(())
            })
        });
        assert_panic(result, "failing.calc", &format!("map, {workers} workers"));
    }
}

#[test]
fn a_panicking_stateful_map_stops_every_worker_with_its_message_and_step() {
    for workers in [1, 2, 4] {
        let result = returns("stateful_map", move || {
            run("failing", &RunConfig::workers(workers), |flow| {
                flow.input("inp", events())
                    .key_on("key", |e: &(String, i64)| e.0.clone())
                    .stateful_map("count", |n: &mut Option<u64>, (u, _t): (String, i64)| {
                        let seen = n.unwrap_or(0) + 1;
                        *n = Some(seen);
                        // A message built at run time: a `String` payload.
                        assert!(!(u == "u7" && seen == 3), "boom {u}");
                        seen
                    })
                    .output("out", TestingSink::new());
                Ok(())
            })
        });
        assert_panic(
            result,
            "failing.count",
            &format!("stateful_map, {workers} workers"),
        );
    }
}

#[test]
fn a_panicking_window_folder_stops_every_worker_with_its_message_and_step() {
    for workers in [1, 2, 4] {
        let result = returns("fold_window", move || {
            run("failing", &RunConfig::workers(workers), |flow| {
                let clock = EventClock::new(|e: &(String, i64)| e.1, Duration::ZERO);
                let windower = TumblingWindower::new(Duration::from_secs(10), EventTime::EPOCH)?;
                flow.input("inp", events())
                    .key_on("key", |e: &(String, i64)| e.0.clone())
                    .fold_window(
                        "sums",
                        clock,
                        windower,
                        || 0_i64,
                        |acc: &mut i64, (u, t): (String, i64)| {
                            if u == "u7" && t >= 20_000 {
                                panic!("boom {u}");
                            }
                            *acc += t;
                        },
                        |a, b| *a += b,
                        eddy::window::FoldOrder::ByTime,
                    )
                    .down
                    .output("out", TestingSink::new());
                Ok(())
            })
        });
        assert_panic(result, "failing.sums", &format!("fold_window, {workers} workers"));
    }
}

#[test]
fn a_panic_without_a_text_payload_still_names_the_step() {
    let result = returns("panic_any", || {
        run("failing", &RunConfig::workers(2), |flow| {
            flow.input("inp", TestingSource::new(vec![1_i64, 2, 3]))
                .inspect("look", |x: &i64| {
                    if *x == 2 {
                        std::panic::panic_any(42_u32);
                    }
                })
                .output("out", TestingSink::new());
            Ok(())
        })
    });
    let err = result.expect_err("the run must fail");
    assert!(
        matches!(&err, EddyError::Panic { step: Some(s), message, .. } if s == "failing.look" && message == "panicked"),
        "{err}"
    );
}

/// Yields one item, then nothing, forever: a run over it never ends by
/// itself.
struct Endless;

struct EndlessPart(bool);

impl Source<i64> for Endless {
    fn list_parts(&self) -> eddy::Result<Vec<String>, eddy::ConnectorError> {
        Ok(vec!["endless".into()])
    }

    fn build_part(
        &self,
        _key: &str,
        _resume: Option<&[u8]>,
    ) -> eddy::Result<Box<dyn SourcePartition<i64>>, eddy::ConnectorError> {
        Ok(Box::new(EndlessPart(false)))
    }
}

impl SourcePartition<i64> for EndlessPart {
    fn next_batch(&mut self, out: &mut Vec<i64>, _max: usize) -> eddy::Result<Poll, eddy::ConnectorError> {
        if !self.0 {
            self.0 = true;
            out.push(1);
            return Ok(Poll::Ready);
        }
        Ok(Poll::Pending(Duration::from_millis(5)))
    }

    fn position(&self) -> Vec<u8> {
        Vec::new()
    }
}

#[test]
fn a_stop_handle_interrupts_a_run_that_would_never_end() {
    let stop = StopHandle::new();
    let (seen_tx, seen_rx) = mpsc::sync_channel::<()>(1);
    let config = RunConfig::workers(2).with_stop(stop.clone());
    let running = std::thread::spawn(move || {
        run("endless", &config, move |flow| {
            let seen = seen_tx.clone();
            flow.input("inp", Endless)
                .inspect("seen", move |_: &i64| {
                    let _ = seen.try_send(());
                })
                .output("out", TestingSink::new());
            Ok(())
        })
    });
    // The run is mid-way: it has handed on its one item.
    seen_rx.recv_timeout(HANG).expect("the item was seen");
    stop.stop();
    let result = returns("stop", move || running.join().expect("run thread"));
    assert!(matches!(result, Err(EddyError::Interrupted)), "{result:?}");
}

/// `n` loopback addresses whose ports were free a moment ago.
fn free_ports(n: usize) -> Vec<String> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    listeners
        .iter()
        .map(|l| format!("127.0.0.1:{}", l.local_addr().expect("addr").port()))
        .collect()
}

#[test]
fn a_panic_in_one_process_stops_the_other_with_a_peer_failure() {
    let addresses = free_ports(2);
    let process = |id: usize| {
        let config = RunConfig {
            workers: 1,
            cluster: Some(ClusterConfig::new(id, addresses.clone())),
            recovery: None,
            stop: None,
            ..RunConfig::workers(1)
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let result = run("duo", &config, move |flow| {
                // Partition 1 is read by worker 1 (process 1), which
                // panics on its first item: process 1 cannot finish.
                flow.input(
                    "inp",
                    TestingSource::partitioned(vec![vec![1_i64; 100], vec![2; 100]]),
                )
                .map("calc", move |x: i64| {
                    if id == 1 {
                        panic!("boom {x}");
                    }
                    x
                })
                .output("out", TestingSink::new());
                Ok(())
            });
            let _ = tx.send(result);
        });
        rx
    };
    let (p0, p1) = (process(0), process(1));
    let r1 = p1.recv_timeout(HANG).expect("process 1 returned");
    let r0 = p0.recv_timeout(HANG).expect("process 0 returned");
    match r1 {
        Err(EddyError::Panic {
            step: Some(step),
            worker: 1,
            message,
        }) => assert_eq!((step.as_str(), message.as_str()), ("duo.calc", "boom 2")),
        other => panic!("process 1: {other:?}"),
    }
    let text = r0.expect_err("process 0 must fail").to_string();
    assert!(
        text.contains(&format!("lost connection to process 1 ({})", addresses[1])),
        "process 0: {text}"
    );
}

/// `RunConfig::with_worker_wrapper`: each worker thread runs its whole
/// life inside the wrapper, once, on its own thread (what the Python front
/// keeps its interpreter thread state with); a step that panics inside it
/// is still the run's error, naming the step.
#[test]
fn a_worker_wrapper_holds_each_workers_whole_life() {
    use std::cell::Cell;
    use std::sync::{Arc, Mutex};

    thread_local! {
        static INSIDE: Cell<bool> = const { Cell::new(false) };
    }
    let entered: Arc<Mutex<Vec<std::thread::ThreadId>>> = Arc::default();
    let seen = entered.clone();
    let wrapper = eddy::WorkerWrapper::new(move |life| {
        seen.lock().unwrap().push(std::thread::current().id());
        INSIDE.with(|i| i.set(true));
        life();
        INSIDE.with(|i| i.set(false));
    });
    let config = RunConfig::workers(3).with_worker_wrapper(wrapper);
    let out: Vec<i64> = eddy::testing::run_collect_with(
        &config,
        TestingSource::new((0..100i64).collect::<Vec<i64>>()),
        |s| {
            s.map("inside", |x: i64| {
                assert!(INSIDE.with(Cell::get), "a step ran outside the wrapper");
                x * 2
            })
        },
    )
    .expect("run");
    assert_eq!(out, (0..100i64).map(|x| x * 2).collect::<Vec<_>>());
    let mut threads = entered.lock().unwrap().clone();
    assert_eq!(threads.len(), 3, "once per worker");
    threads.sort_by_key(|t| format!("{t:?}"));
    threads.dedup();
    assert_eq!(threads.len(), 3, "each on its own thread");

    let wrapper = eddy::WorkerWrapper::new(|life| life());
    let config = RunConfig::workers(2).with_worker_wrapper(wrapper);
    let err = eddy::testing::run_collect_with(&config, TestingSource::new(vec![1i64, 2]), |s| {
        s.map("boom", |x: i64| -> i64 { panic!("bad value {x}") })
    })
    .map(|out: Vec<i64>| out)
    .expect_err("a panic");
    assert!(
        err.to_string().contains("boom") && err.to_string().contains("bad value"),
        "{err}"
    );
}
