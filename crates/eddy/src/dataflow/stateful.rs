//! Stateful keyed operators. The open one is [`Stream::stateful`]: a
//! [`StatefulLogic`] per key (Bytewax's `stateful` operator), with recovery
//! and rescaling for free; `stateful_map`, `stateful_flat_map` and the
//! `_final` folds are built on it. Underneath is the keyed core
//! (`engine::keyed`): values of one key are taken in canonical order on the
//! worker that owns the key.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::base::record::mark_time;
use crate::base::routing::Key;
use crate::dataflow::{Data, Stream};
pub use crate::engine::keyed::Wake;
use crate::engine::keyed::{keyed, KeyedLogic, Want};
use crate::error::CodecError;
use crate::recovery::codec::{decode_value, encode_value};

/// Whether a key's logic is kept after a call (Bytewax's `RETAIN` and
/// `DISCARD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsComplete {
    /// Keep the logic: more values, wake-ups or the end of input will come to it.
    Retain,
    /// Drop the logic (and its state, and its wake-up) now; the key's next
    /// value builds a fresh one with `builder(None)`.
    Discard,
}

/// One key's logic in a [`Stream::stateful`] step (Bytewax's
/// `StatefulLogic`).
///
/// The step builds it with `builder(None)` for a key's first value, or with
/// `builder(Some(state))` from what [`StatefulLogic::snapshot`] returned when
/// a run resumes (possibly on another worker: state is routed by key hash,
/// so a resume may use another worker count). Each call returns the values
/// to emit (paired with the key downstream) and whether to keep the logic.
///
/// Calls come in the canonical order: [`StatefulLogic::on_item`] for each of
/// the key's values; [`StatefulLogic::on_notify`] once the time asked for with
/// [`StatefulLogic::notify_at`] has passed (for [`Wake::At`], after every
/// value with a time up to it and before the first later one: deterministic);
/// at end of input, every pending [`Wake::At`] (the input is over, so every
/// time has passed, including times that `on_notify` asks for in turn: stop
/// asking when there is nothing left to wait for), then
/// [`StatefulLogic::on_eof`]. After every call that retains the logic, the
/// step asks [`StatefulLogic::notify_at`] again; there is one pending
/// wake-up per key. A time that was just notified is not notified again.
pub trait StatefulLogic<V>: 'static {
    /// What the logic emits.
    type Out;
    /// What a snapshot holds of the logic ([`StatefulLogic::snapshot`]).
    type State: Serialize + DeserializeOwned;

    /// Takes one value of the key.
    fn on_item(&mut self, value: V) -> (impl IntoIterator<Item = Self::Out>, IsComplete);

    /// [`StatefulLogic::on_item`] appending what it emits to `out`: the
    /// call the step makes. Override it only to emit without building an
    /// iterator (the window operators do; it must emit what `on_item`
    /// would). Default: calls `on_item`.
    #[inline]
    fn on_item_into(&mut self, value: V, out: &mut Vec<Self::Out>) -> IsComplete {
        let (emits, complete) = self.on_item(value);
        push_all(out, emits);
        complete
    }

    /// [`StatefulLogic::on_item_into`] told the input's event-time
    /// progress when the value is taken (ms since the Unix epoch): every
    /// value whose partition's event-time mark was below it has been taken,
    /// and no later value will have a lower mark — the event-time analogue
    /// of Bytewax's system time, deterministic. `None` when the step's input
    /// is not event-timed ([`Flow::input_timed`](crate::Flow::input_timed);
    /// [`Flow::input`](crate::Flow::input) marks are counts). This is what
    /// the step calls; override it for logic that advances with the input
    /// (the window operators do). Default: `on_item_into`.
    #[inline]
    fn on_item_at(&mut self, value: V, progress: Option<i64>, out: &mut Vec<Self::Out>) -> IsComplete {
        let _ = progress;
        self.on_item_into(value, out)
    }

    /// [`StatefulLogic::on_notify`] appending what it emits to `out`, told
    /// the input's event-time progress at the wake-up (at or after the time
    /// asked for; `None` for a wall-clock wake-up or an input that is not
    /// event-timed). This is what the step calls. Default: calls
    /// `on_notify`.
    fn on_notify_at(&mut self, progress: Option<i64>, out: &mut Vec<Self::Out>) -> IsComplete {
        let _ = progress;
        let (emits, complete) = self.on_notify();
        push_all(out, emits);
        complete
    }

    /// The wake-up asked for with [`StatefulLogic::notify_at`] is due.
    /// Default: nothing, retain.
    fn on_notify(&mut self) -> (impl IntoIterator<Item = Self::Out>, IsComplete) {
        (None, IsComplete::Retain)
    }

    /// End of input (after the due wake-ups). The logic is dropped after it
    /// either way (a snapshot at end of input holds the state from before
    /// it). Default: nothing.
    fn on_eof(&mut self) -> (impl IntoIterator<Item = Self::Out>, IsComplete) {
        (None, IsComplete::Retain)
    }

    /// [`StatefulLogic::notify_at`] after a value, or `None` when the
    /// wake-up this logic has pending (what it last answered) still stands:
    /// the step then leaves its wake-up set alone. An optimisation for
    /// logic that would answer after every value (the window operators);
    /// default `Some(self.notify_at())`.
    #[doc(hidden)]
    fn notify_at_after_item(&self) -> Option<Option<Wake>> {
        Some(self.notify_at())
    }

    /// When to call [`StatefulLogic::on_notify`] next (`None`, the default:
    /// never). [`Wake::At`] (event time) is deterministic; [`Wake::WallClock`]
    /// is for live inputs only.
    fn notify_at(&self) -> Option<Wake> {
        None
    }

    /// The state to save in a snapshot; `builder(Some(state))` must rebuild
    /// an equivalent logic from it.
    fn snapshot(&self) -> Self::State;
}

/// The bytes one key of a [`Stream::stateful`] step with logic `L` holds
/// in the step's table (the key and its logic, one allocation, before the
/// allocator rounds it up to a size class); the table adds a pointer and a
/// control byte per slot. What a tracked key costs.
///
/// ```
/// # use eddy::dataflow::stateful::key_bytes;
/// assert!(key_bytes::<u64, (u64, u64)>() >= 24);
/// ```
pub const fn key_bytes<K, L>() -> usize {
    crate::engine::keyed::entry_bytes::<K, L>()
}

/// Runs a [`StatefulLogic`] per key on the keyed core.
struct Stateful<B, L> {
    builder: B,
    /// The input's marks are event times (tell the logic its progress).
    timed: bool,
    _logic: PhantomData<fn() -> L>,
}

impl<K, V, B, L> KeyedLogic<K, V, L::Out> for Stateful<B, L>
where
    B: FnMut(Option<L::State>) -> L + 'static,
    L: StatefulLogic<V>,
{
    type State = L;
    const WAKES: bool = true;

    fn save(&self, logic: &L, out: &mut Vec<u8>) -> Result<(), CodecError> {
        encode_value(&logic.snapshot(), out)
    }

    fn load(&mut self, bytes: &[u8]) -> Result<L, CodecError> {
        Ok((self.builder)(Some(decode_value(bytes)?)))
    }

    #[inline]
    fn on_value(&mut self, _key: &K, slot: &mut Option<L>, value: V, mark: u64, out: &mut Vec<L::Out>) {
        let logic = slot.get_or_insert_with(|| (self.builder)(None));
        let progress = self.timed.then(|| mark_time(mark));
        if logic.on_item_at(value, progress, out) == IsComplete::Discard {
            *slot = None;
        }
    }

    fn on_eof(&mut self, _key: &K, mut logic: L, out: &mut Vec<L::Out>) {
        push_all(out, logic.on_eof().0);
    }

    #[inline]
    fn notify_at(&self, logic: &L) -> Option<Wake> {
        logic.notify_at()
    }

    #[inline]
    fn want_after_value(&self, logic: &L) -> Want {
        match logic.notify_at_after_item() {
            Some(wake) => Want::Asked(wake),
            None => Want::Kept,
        }
    }

    fn on_notify(&mut self, _key: &K, slot: &mut Option<L>, mark: Option<u64>, out: &mut Vec<L::Out>) {
        if let Some(logic) = slot.as_mut() {
            let progress = mark.filter(|_| self.timed).map(mark_time);
            if logic.on_notify_at(progress, out) == IsComplete::Discard {
                *slot = None;
            }
        }
    }
}

/// Appends what a call emitted. Most calls emit nothing: one `next()`
/// answers that, without `Vec::extend`'s reserve-and-loop setup (the
/// window operators measured ~70 instructions per value for it).
#[inline]
fn push_all<O>(out: &mut Vec<O>, emits: impl IntoIterator<Item = O>) {
    let mut emits = emits.into_iter();
    if let Some(first) = emits.next() {
        out.push(first);
        out.extend(emits);
    }
}

/// The snapshot of the closure operators' logic: a state that a retained
/// logic always has, encoded as the state itself (the part format these
/// operators have always written).
struct Present<S>(Option<S>);

impl<S: Serialize> Serialize for Present<S> {
    fn serialize<Se: Serializer>(&self, ser: Se) -> Result<Se::Ok, Se::Error> {
        match &self.0 {
            Some(state) => state.serialize(ser),
            None => Err(serde::ser::Error::custom(
                "a discarded key's state cannot be saved",
            )),
        }
    }
}

impl<'de, S: Deserialize<'de>> Deserialize<'de> for Present<S> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        S::deserialize(de).map(|s| Present(Some(s)))
    }
}

/// `stateful_flat_map`'s logic for one key: its state and the shared closure.
struct FlatMapLogic<F, S> {
    state: Option<S>,
    f: Rc<RefCell<F>>,
}

impl<V, S, W, I, F> StatefulLogic<V> for FlatMapLogic<F, S>
where
    F: FnMut(&mut Option<S>, V) -> I + 'static,
    I: IntoIterator<Item = W>,
    S: Data,
{
    type Out = W;
    type State = Present<S>;

    #[inline]
    fn on_item(&mut self, value: V) -> (impl IntoIterator<Item = W>, IsComplete) {
        let emits = (self.f.borrow_mut())(&mut self.state, value);
        let complete = match self.state {
            Some(_) => IsComplete::Retain,
            None => IsComplete::Discard,
        };
        (emits, complete)
    }

    fn snapshot(&self) -> Present<S> {
        Present(self.state.clone())
    }
}

/// The `_final` folds' logic for one key: fold every value, emit once at
/// end of input.
struct FoldFinalLogic<F, A> {
    acc: Option<A>,
    folder: Rc<RefCell<F>>,
}

impl<V, A, F> StatefulLogic<V> for FoldFinalLogic<F, A>
where
    F: FnMut(A, V) -> A + 'static,
    A: Data,
{
    type Out = A;
    type State = Present<A>;

    #[inline]
    fn on_item(&mut self, value: V) -> (impl IntoIterator<Item = A>, IsComplete) {
        if let Some(acc) = self.acc.take() {
            self.acc = Some((self.folder.borrow_mut())(acc, value));
        }
        (None, IsComplete::Retain)
    }

    fn on_eof(&mut self) -> (impl IntoIterator<Item = A>, IsComplete) {
        (self.acc.take(), IsComplete::Discard)
    }

    fn snapshot(&self) -> Present<A> {
        Present(self.acc.clone())
    }
}

impl<'a, K: Key, V: Data> Stream<'a, (K, V)> {
    /// Adds the keyed core running `logic` as step `step` (snapshotted
    /// with the flow's control stream when the run recovers).
    pub(crate) fn keyed_step<O: Data, L: KeyedLogic<K, V, O>>(
        &self,
        step: &str,
        logic: L,
    ) -> Stream<'a, (K, O)> {
        let step_id = self.ctx.step_id(step);
        self.wrap(keyed(
            &self.inner,
            &self.scoped.control,
            &self.ctx,
            &step_id,
            logic,
        ))
    }

    /// Runs a [`StatefulLogic`] per key (Bytewax's `stateful`): the open
    /// stateful operator, the one `stateful_map`, `stateful_flat_map` and the
    /// `_final` folds are built on. `builder(None)` makes a key's logic at
    /// its first value, `builder(Some(state))` rebuilds it from a snapshot.
    /// Recovery and rescaling come for free: each key's
    /// [`StatefulLogic::snapshot`] is saved and routed by the key's hash.
    ///
    /// A custom operator: alert when a user clicks 5 times within 10 s. The
    /// logic keeps the times of the user's recent clicks and asks to be woken
    /// when the oldest one is 10 s old, to forget it; a user with no recent
    /// click is discarded.
    ///
    /// ```
    /// use std::collections::VecDeque;
    /// use eddy::dataflow::stateful::{IsComplete, StatefulLogic, Wake};
    /// use eddy::testing::{TestingSink, TestingSource};
    /// use eddy::{run, RunConfig};
    ///
    /// const WINDOW_MS: i64 = 10_000;
    ///
    /// /// One user's clicks (ms) in the last 10 s.
    /// struct Burst(VecDeque<i64>);
    ///
    /// impl StatefulLogic<i64> for Burst {
    ///     type Out = i64; // the time of the fifth click
    ///     type State = VecDeque<i64>;
    ///
    ///     fn on_item(&mut self, t: i64) -> (impl IntoIterator<Item = i64>, IsComplete) {
    ///         self.0.push_back(t);
    ///         let alert = (self.0.len() >= 5).then(|| {
    ///             self.0.clear(); // one alert per burst
    ///             t
    ///         });
    ///         (alert, IsComplete::Retain)
    ///     }
    ///
    ///     fn notify_at(&self) -> Option<Wake> {
    ///         self.0.front().map(|first| Wake::At(first + WINDOW_MS))
    ///     }
    ///
    ///     fn on_notify(&mut self) -> (impl IntoIterator<Item = i64>, IsComplete) {
    ///         // Event time has passed `first + 10 s`: forget the old clicks.
    ///         if let Some(&last) = self.0.back() {
    ///             self.0.retain(|t| *t > last - WINDOW_MS);
    ///         }
    ///         let done = if self.0.is_empty() { IsComplete::Discard } else { IsComplete::Retain };
    ///         (None, done)
    ///     }
    ///
    ///     fn snapshot(&self) -> VecDeque<i64> {
    ///         self.0.clone()
    ///     }
    /// }
    ///
    /// // (user, click time in ms): "ann" clicks 5 times within 10 s, "bob" 5
    /// // times over 40 s.
    /// let clicks: Vec<(String, i64)> = [
    ///     ("ann", 1_000), ("bob", 1_000), ("ann", 2_000), ("ann", 3_000), ("bob", 11_000),
    ///     ("ann", 4_000), ("ann", 9_000), ("bob", 21_000), ("bob", 31_000), ("bob", 41_000),
    /// ]
    /// .into_iter()
    /// .map(|(u, t)| (u.to_string(), t))
    /// .collect();
    /// let sink = TestingSink::new();
    /// let out = sink.clone();
    /// run("clicks", &RunConfig::workers(2), move |flow| {
    ///     flow.input_timed("inp", TestingSource::new(clicks.clone()), |c: &(String, i64)| Some(c.1))
    ///         .stateful("bursts", |resume: Option<VecDeque<i64>>| Burst(resume.unwrap_or_default()))
    ///         .output("alerts", out.clone());
    ///     Ok(())
    /// })?;
    /// assert_eq!(sink.take(), vec![("ann".to_string(), 9_000)]);
    /// # Ok::<(), eddy::EddyError>(())
    /// ```
    pub fn stateful<L>(
        &self,
        step: &str,
        builder: impl FnMut(Option<L::State>) -> L + 'static,
    ) -> Stream<'a, (K, L::Out)>
    where
        L: StatefulLogic<V>,
        L::Out: Data,
    {
        self.keyed_step(
            step,
            Stateful {
                builder,
                timed: self.timed,
                _logic: PhantomData,
            },
        )
    }

    /// Per-key state machine that emits any number of values per input.
    /// `f` gets the key's state (`None` at first; leave it `None` to drop
    /// it) and the value, and returns what to emit.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 1), ("a".into(), 2)], |s| {
    ///     s.stateful_flat_map("pairs", |last: &mut Option<i64>, v: i64| {
    ///         let out = last.map(|l| (l, v));
    ///         *last = Some(v);
    ///         out
    ///     })
    /// });
    /// assert_eq!(out, vec![("a".to_string(), (1, 2))]);
    /// ```
    pub fn stateful_flat_map<S, W, I>(
        &self,
        step: &str,
        f: impl FnMut(&mut Option<S>, V) -> I + 'static,
    ) -> Stream<'a, (K, W)>
    where
        S: Data,
        W: Data,
        I: IntoIterator<Item = W>,
    {
        let f = Rc::new(RefCell::new(f));
        self.stateful(step, move |resume: Option<Present<S>>| FlatMapLogic {
            state: resume.and_then(|p| p.0),
            f: f.clone(),
        })
    }

    /// Per-key state machine that emits one value per input (Bytewax's
    /// `stateful_map`).
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 1), ("a".into(), 2), ("b".into(), 5)], |s| {
    ///     s.stateful_map("running_sum", |sum: &mut Option<i64>, v: i64| {
    ///         let total = sum.unwrap_or(0) + v;
    ///         *sum = Some(total);
    ///         total
    ///     })
    /// });
    /// assert_eq!(out, vec![("a".to_string(), 1), ("a".into(), 3), ("b".into(), 5)]);
    /// ```
    pub fn stateful_map<S: Data, W: Data>(
        &self,
        step: &str,
        mut f: impl FnMut(&mut Option<S>, V) -> W + 'static,
    ) -> Stream<'a, (K, W)> {
        self.stateful_flat_map(step, move |s, v| Some(f(s, v)))
    }

    /// Folds each key's values into an accumulator, emitted once at end of
    /// input.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 1), ("a".into(), 2)], |s| {
    ///     s.fold_final("collect", Vec::new, |mut acc: Vec<i64>, v| { acc.push(v); acc })
    /// });
    /// assert_eq!(out, vec![("a".to_string(), vec![1, 2])]);
    /// ```
    pub fn fold_final<A: Data>(
        &self,
        step: &str,
        builder: impl FnMut() -> A + 'static,
        folder: impl FnMut(A, V) -> A + 'static,
    ) -> Stream<'a, (K, A)> {
        let mut builder = builder;
        let folder = Rc::new(RefCell::new(folder));
        self.stateful(step, move |resume: Option<Present<A>>| FoldFinalLogic {
            acc: Some(match resume.and_then(|p| p.0) {
                Some(acc) => acc,
                None => builder(),
            }),
            folder: folder.clone(),
        })
    }

    /// Combines each key's values pairwise, emitted once at end of input.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 3), ("a".into(), 4)], |s| {
    ///     s.reduce_final("max", |a: i64, b: i64| a.max(b))
    /// });
    /// assert_eq!(out, vec![("a".to_string(), 4)]);
    /// ```
    pub fn reduce_final(
        &self,
        step: &str,
        mut reducer: impl FnMut(V, V) -> V + 'static,
    ) -> Stream<'a, (K, V)> {
        self.fold_final(
            step,
            || None,
            move |acc: Option<V>, v| {
                Some(match acc {
                    Some(a) => reducer(a, v),
                    None => v,
                })
            },
        )
        .filter_map(&format!("{step}_some"), |(k, v)| v.map(|v| (k, v)))
    }
}

impl<'a, T: Data> Stream<'a, T> {
    /// Counts values by key, emitted once at end of input (Bytewax's
    /// `count_final`).
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let words: Vec<String> = ["x", "y", "x"].map(String::from).to_vec();
    /// let mut out = run_collect(words, |s| s.count_final("count", |w: &String| w.clone()));
    /// out.sort(); // end-of-input results come in key-hash order
    /// assert_eq!(out, vec![("x".to_string(), 2), ("y".to_string(), 1)]);
    /// ```
    pub fn count_final<K: Key>(
        &self,
        step: &str,
        key: impl FnMut(&T) -> K + 'static,
    ) -> Stream<'a, (K, u64)> {
        self.key_on(&format!("{step}_key"), key)
            .fold_final(step, || 0u64, |n, _| n + 1)
    }
}
