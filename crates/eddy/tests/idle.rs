//! A live input that never ends: with an idle timeout, a user's session is
//! emitted after that much wall-clock silence, while the input is still
//! open; without one, it waits for the end of input.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy::connectors::{Poll, Source, SourcePartition};
use eddy::testing::TestingSink;
use eddy::window::{EventClock, SessionWindower};
use eddy::{run, RunConfig};

/// Yields its items, then nothing (`Pending`) until `close` is set.
#[derive(Clone)]
struct LiveSource {
    items: Vec<(String, i64)>,
    close: Arc<AtomicBool>,
}

struct LivePartition {
    items: std::vec::IntoIter<(String, i64)>,
    close: Arc<AtomicBool>,
}

impl Source<(String, i64)> for LiveSource {
    fn list_parts(&self) -> eddy::connectors::Result<Vec<String>> {
        Ok(vec!["live".into()])
    }

    fn build_part(
        &self,
        _key: &str,
        _resume: Option<&[u8]>,
    ) -> eddy::connectors::Result<Box<dyn SourcePartition<(String, i64)>>> {
        Ok(Box::new(LivePartition {
            items: self.items.clone().into_iter(),
            close: self.close.clone(),
        }))
    }
}

impl SourcePartition<(String, i64)> for LivePartition {
    fn next_batch(&mut self, out: &mut Vec<(String, i64)>, max: usize) -> eddy::connectors::Result<Poll> {
        let before = out.len();
        out.extend(self.items.by_ref().take(max));
        if out.len() > before {
            Ok(Poll::Ready)
        } else if self.close.load(Ordering::SeqCst) {
            Ok(Poll::Done)
        } else {
            Ok(Poll::Pending(Duration::from_millis(5)))
        }
    }

    fn position(&self) -> Vec<u8> {
        Vec::new()
    }
}

/// Runs a live flow; returns what the sink held just before the input was
/// closed (after `open_for`), and everything at the end.
/// Session sizes per user.
type Rows = Vec<(String, usize)>;

fn live_run(idle: Option<Duration>, open_for: Duration) -> (Rows, Rows) {
    let close = Arc::new(AtomicBool::new(false));
    let source = LiveSource {
        items: vec![("a".into(), 1_000), ("a".into(), 2_000), ("b".into(), 1_500)],
        close: close.clone(),
    };
    let sink = TestingSink::new();
    let out = sink.clone();
    let runner = std::thread::spawn(move || {
        run("live", &RunConfig::workers(2), move |flow| {
            let mut clock = EventClock::new(|e: &(String, i64)| e.1, Duration::from_secs(1));
            if let Some(d) = idle {
                clock = clock.idle_timeout(d);
            }
            flow.input_timed("inp", source.clone(), |e: &(String, i64)| Some(e.1))
                .key_on("user", |e: &(String, i64)| e.0.clone())
                .collect_window("sessions", clock, SessionWindower::new(Duration::from_secs(60)))
                .down
                .map("size", |(user, (_id, events))| (user, events.len()))
                .output("out", out.clone());
            Ok(())
        })
    });
    let started = Instant::now();
    let mut seen = Vec::new();
    // Wait for the rows (or the whole `open_for`, when none are expected).
    while started.elapsed() < open_for {
        seen.extend(sink.take());
        if idle.is_some() && seen.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    close.store(true, Ordering::SeqCst);
    runner.join().expect("runner").expect("run");
    let mut all = seen.clone();
    all.extend(sink.take());
    seen.sort();
    all.sort();
    (seen, all)
}

#[test]
fn idle_users_sessions_close_while_the_input_is_open() {
    // Generous: the bound only guards against a hang, it measures nothing.
    let (before_close, all) = live_run(Some(Duration::from_millis(100)), Duration::from_secs(60));
    let expected = vec![("a".to_string(), 2), ("b".to_string(), 1)];
    assert_eq!(before_close, expected, "rows must come before the input ends");
    assert_eq!(all, expected, "and only once");
}

#[test]
fn without_an_idle_timeout_sessions_wait_for_the_end_of_input() {
    let (before_close, all) = live_run(None, Duration::from_millis(500));
    assert!(before_close.is_empty(), "{before_close:?}");
    assert_eq!(all, vec![("a".to_string(), 2), ("b".to_string(), 1)]);
}
