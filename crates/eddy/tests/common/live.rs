//! A live source for tests: partitions that yield their items, then nothing
//! (`Pending`) until `close` is set — an input that has not ended.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eddy::connectors::{Poll, Source, SourcePartition};

/// `(key, event time in ms)`.
pub type Event = (String, i64);

/// Partition `i` yields `parts[i]`, then nothing (`Pending`) until `close`
/// is set. An empty partition never produces anything.
#[derive(Clone)]
pub struct LiveSource {
    /// Each partition's items.
    pub parts: Vec<Vec<Event>>,
    /// Ends every partition once set.
    pub close: Arc<AtomicBool>,
}

struct LivePartition {
    items: std::vec::IntoIter<Event>,
    close: Arc<AtomicBool>,
}

impl Source<Event> for LiveSource {
    fn list_parts(&self) -> eddy::Result<Vec<String>, eddy::ConnectorError> {
        Ok((0..self.parts.len()).map(|i| format!("p{i}")).collect())
    }

    fn build_part(
        &self,
        key: &str,
        _resume: Option<&[u8]>,
    ) -> eddy::Result<Box<dyn SourcePartition<Event>>, eddy::ConnectorError> {
        // An unknown key reads as an empty partition.
        let i: usize = key.trim_start_matches('p').parse().unwrap_or(usize::MAX);
        Ok(Box::new(LivePartition {
            items: self.parts.get(i).cloned().unwrap_or_default().into_iter(),
            close: self.close.clone(),
        }))
    }
}

impl SourcePartition<Event> for LivePartition {
    fn next_batch(&mut self, out: &mut Vec<Event>, max: usize) -> eddy::Result<Poll, eddy::ConnectorError> {
        let before = out.len();
        out.extend(self.items.by_ref().take(max));
        if out.len() > before {
            Ok(Poll::Ready)
        } else if self.close.load(Ordering::SeqCst) {
            Ok(Poll::Done)
        } else {
            Ok(Poll::Pending(Duration::from_millis(2)))
        }
    }

    fn position(&self) -> Vec<u8> {
        Vec::new()
    }
}

/// `(user, session size)` rows.
pub type Rows = Vec<(String, usize)>;

/// A session-window flow over a [`LiveSource`], running on its own thread:
/// `(user, number of events)` per closed session. The input stays open
/// until [`LiveSessions::finish`].
pub struct LiveSessions {
    /// The rows written so far (take them to see what came while the input
    /// was open).
    pub sink: eddy::testing::TestingSink<(String, usize)>,
    close: Arc<AtomicBool>,
    runner: std::thread::JoinHandle<eddy::Result<()>>,
}

impl LiveSessions {
    /// Starts flow `flow_id` (sessions step `FLOW_ID.sessions`) on `config`
    /// over `parts`, with the clock `clock()` makes and session `gap`.
    pub fn start(
        flow_id: &str,
        config: eddy::RunConfig,
        parts: Vec<Vec<Event>>,
        clock: impl Fn() -> eddy::window::EventClock<Event> + Send + Sync + 'static,
        gap: Duration,
    ) -> Self {
        let close = Arc::new(AtomicBool::new(false));
        let source = LiveSource {
            parts,
            close: close.clone(),
        };
        let sink = eddy::testing::TestingSink::new();
        let out = sink.clone();
        let flow_id = flow_id.to_owned();
        let runner = std::thread::spawn(move || {
            eddy::run(&flow_id, &config, move |flow| {
                flow.input_timed("inp", source.clone(), |e: &Event| Some(e.1))
                    .key_on("user", |e: &Event| e.0.clone())
                    .collect_window("sessions", clock(), eddy::window::SessionWindower::new(gap))
                    .down
                    .map("size", |(user, (_id, events))| (user, events.len()))
                    .output("out", out.clone());
                Ok(())
            })
        });
        LiveSessions { sink, close, runner }
    }

    /// The rows written while the input is open: collected until `enough`
    /// says so or `patience` has passed (with `enough` never true, that is
    /// how long the input stays open). Sorted.
    pub fn rows_while_open(&self, patience: Duration, enough: impl Fn(&Rows) -> bool) -> Rows {
        let started = std::time::Instant::now();
        let mut seen = Vec::new();
        while started.elapsed() < patience && !enough(&seen) {
            seen.extend(self.sink.take());
            std::thread::sleep(Duration::from_millis(10));
        }
        seen.sort();
        seen
    }

    /// Ends the input and waits for the run: the rows written since the
    /// last take, sorted.
    pub fn finish(self) -> Rows {
        self.close.store(true, Ordering::SeqCst);
        self.runner.join().expect("runner").expect("run");
        let mut rest = self.sink.take();
        rest.sort();
        rest
    }
}
