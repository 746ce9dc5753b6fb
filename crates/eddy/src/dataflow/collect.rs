//! `collect` (Bytewax's): batch each key's values into lists, emitted when
//! a list reaches `max_size`, when `timeout` has passed since the key's
//! latest value, or at end of input. A [`StatefulLogic`] on
//! [`Stream::stateful`], so it snapshots, resumes and rescales like any
//! stateful step.

use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::base::routing::Key;
use crate::dataflow::stateful::{IsComplete, StatefulLogic, Wake};
use crate::dataflow::{Data, Stream};

/// When a key's list times out.
enum Deadline<V> {
    /// `timeout` of wall-clock time after the latest value (Bytewax's).
    WallClock,
    /// Once the input's event time passes the latest value's time (read
    /// with the function) plus `timeout`.
    EventTime(Rc<dyn Fn(&V) -> i64>),
}

impl<V> Clone for Deadline<V> {
    fn clone(&self) -> Self {
        match self {
            Deadline::WallClock => Deadline::WallClock,
            Deadline::EventTime(f) => Deadline::EventTime(f.clone()),
        }
    }
}

/// One key's list and when it is due.
struct CollectLogic<V> {
    acc: Vec<V>,
    due: Option<Wake>,
    max_size: usize,
    timeout: Duration,
    deadline: Deadline<V>,
}

/// What a snapshot holds of a key's list: the values and, for event
/// time, the time it is due (a wall-clock deadline is restarted on resume).
type Saved<V> = (Vec<V>, Option<i64>);

impl<V: Data> StatefulLogic<V> for CollectLogic<V> {
    type Out = Vec<V>;
    type State = Saved<V>;

    fn on_item(&mut self, value: V) -> (impl IntoIterator<Item = Vec<V>>, IsComplete) {
        self.due = Some(match &self.deadline {
            Deadline::WallClock => Wake::WallClock(Instant::now() + self.timeout),
            Deadline::EventTime(time_of) => {
                Wake::At(time_of(&value).saturating_add(crate::base::millis(self.timeout)))
            }
        });
        self.acc.push(value);
        if self.acc.len() >= self.max_size {
            (Some(std::mem::take(&mut self.acc)), IsComplete::Discard)
        } else {
            (None, IsComplete::Retain)
        }
    }

    fn on_notify(&mut self) -> (impl IntoIterator<Item = Vec<V>>, IsComplete) {
        let list = std::mem::take(&mut self.acc);
        ((!list.is_empty()).then_some(list), IsComplete::Discard)
    }

    fn on_eof(&mut self) -> (impl IntoIterator<Item = Vec<V>>, IsComplete) {
        self.on_notify()
    }

    fn notify_at(&self) -> Option<Wake> {
        self.due
    }

    fn snapshot(&self) -> Saved<V> {
        let at = match self.due {
            Some(Wake::At(t)) => Some(t),
            _ => None,
        };
        (self.acc.clone(), at)
    }
}

impl<'a, K: Key, V: Data> Stream<'a, (K, V)> {
    fn collect_with(
        &self,
        step: &str,
        max_size: usize,
        timeout: Duration,
        deadline: Deadline<V>,
    ) -> Stream<'a, (K, Vec<V>)> {
        let max_size = max_size.max(1);
        self.stateful(step, move |resume: Option<Saved<V>>| {
            let (acc, at) = resume.unwrap_or_default();
            let due = match (&deadline, acc.is_empty()) {
                (_, true) => None,
                (Deadline::WallClock, false) => Some(Wake::WallClock(Instant::now() + timeout)),
                (Deadline::EventTime(_), false) => at.map(Wake::At),
            };
            CollectLogic {
                acc,
                due,
                max_size,
                timeout,
                deadline: deadline.clone(),
            }
        })
    }

    /// Collects each key's values into lists of up to `max_size` (at least
    /// 1), emitted when full, when `timeout` of wall-clock time has passed
    /// since the key's latest value, or at end of input (Bytewax's
    /// `collect`). Values keep their canonical order within a list. With a
    /// bounded input that ends within `timeout`, the lists are the same
    /// for any worker count; a timeout depends on speed (live inputs) — use
    /// [`Stream::collect_timed`] for event time.
    ///
    /// ```
    /// use std::time::Duration;
    /// # use eddy::testing::run_collect;
    /// let items: Vec<(String, i64)> = (1..=5).map(|i| ("a".to_string(), i)).collect();
    /// let out = run_collect(items, |s| s.collect("batch", 2, Duration::from_secs(60)));
    /// assert_eq!(out, vec![
    ///     ("a".to_string(), vec![1, 2]),
    ///     ("a".to_string(), vec![3, 4]),
    ///     ("a".to_string(), vec![5]), // at end of input
    /// ]);
    /// ```
    pub fn collect(&self, step: &str, max_size: usize, timeout: Duration) -> Stream<'a, (K, Vec<V>)> {
        self.collect_with(step, max_size, timeout, Deadline::WallClock)
    }

    /// [`Stream::collect`] with an event-time timeout: a key's list is
    /// also emitted once the input has passed `time_of(latest value) +
    /// timeout` (the input's progress: `Flow::input_timed`'s event times).
    /// Deterministic: the same lists for any worker count and speed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy::{run, RunConfig};
    /// use eddy::testing::{TestingSink, TestingSource};
    /// // (user, time in ms)
    /// let items: Vec<(String, i64)> = [("a", 0), ("a", 1_000), ("b", 2_000), ("a", 9_000), ("b", 9_500)]
    ///     .into_iter()
    ///     .map(|(u, t)| (u.to_string(), t))
    ///     .collect();
    /// let sink = TestingSink::new();
    /// let out = sink.clone();
    /// run("c", &RunConfig::workers(2), move |flow| {
    ///     flow.input_timed("inp", TestingSource::new(items.clone()), |e: &(String, i64)| Some(e.1))
    ///         .key_on("user", |e: &(String, i64)| e.0.clone())
    ///         .map_value("time", |e: (String, i64)| e.1)
    ///         .collect_timed("batch", 10, |t: &i64| *t, Duration::from_secs(5))
    ///         .output("out", out.clone());
    ///     Ok(())
    /// })?;
    /// let mut rows = sink.take();
    /// rows.sort();
    /// assert_eq!(rows, vec![
    ///     ("a".to_string(), vec![0, 1_000]), // due at 6 000, passed at 9 000
    ///     ("a".to_string(), vec![9_000]),    // end of input
    ///     ("b".to_string(), vec![2_000]),    // due at 7 000
    ///     ("b".to_string(), vec![9_500]),
    /// ]);
    /// # Ok::<(), eddy::EddyError>(())
    /// ```
    pub fn collect_timed(
        &self,
        step: &str,
        max_size: usize,
        time_of: impl Fn(&V) -> i64 + 'static,
        timeout: Duration,
    ) -> Stream<'a, (K, Vec<V>)> {
        self.collect_with(step, max_size, timeout, Deadline::EventTime(Rc::new(time_of)))
    }
}
