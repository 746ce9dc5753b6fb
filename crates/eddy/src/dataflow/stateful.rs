//! Stateful keyed operators, each a [`KeyedLogic`] for the keyed core
//! (`engine::keyed`): values of one key are taken in canonical order on the
//! worker that owns the key.

use std::marker::PhantomData;

use crate::dataflow::{Data, Stream};
use crate::engine::keyed::{keyed, KeyedLogic};
use crate::engine::routing::Key;
use crate::recovery::codec::{decode_value, encode_value};

/// `stateful_flat_map`'s logic: a closure over `(state, value)`.
struct FlatMapLogic<F, S, W> {
    f: F,
    _types: PhantomData<fn() -> (S, W)>,
}

impl<K, V, S, W, I, F> KeyedLogic<K, V, W> for FlatMapLogic<F, S, W>
where
    F: FnMut(&mut Option<S>, V) -> I + 'static,
    I: IntoIterator<Item = W>,
    S: Data,
    W: 'static,
{
    type State = S;

    fn save(&self, state: &S, out: &mut Vec<u8>) -> Result<(), String> {
        encode_value(state, out)
    }

    fn load(&mut self, bytes: &[u8]) -> Result<S, String> {
        decode_value(bytes)
    }

    fn on_value(&mut self, _key: &K, state: &mut Option<S>, value: V, out: &mut Vec<W>) {
        out.extend((self.f)(state, value));
    }

    fn on_eof(&mut self, _key: &K, _state: S, _out: &mut Vec<W>) {}
}

/// The `_final` folds: fold every value, emit once at end of input.
struct FoldFinalLogic<B, F, A> {
    builder: B,
    folder: F,
    _types: PhantomData<fn() -> A>,
}

impl<K, V, A, B, F> KeyedLogic<K, V, A> for FoldFinalLogic<B, F, A>
where
    B: FnMut() -> A + 'static,
    F: FnMut(A, V) -> A + 'static,
    A: Data,
{
    type State = A;

    fn save(&self, state: &A, out: &mut Vec<u8>) -> Result<(), String> {
        encode_value(state, out)
    }

    fn load(&mut self, bytes: &[u8]) -> Result<A, String> {
        decode_value(bytes)
    }

    fn on_value(&mut self, _key: &K, state: &mut Option<A>, value: V, _out: &mut Vec<A>) {
        let acc = state.take().unwrap_or_else(&mut self.builder);
        *state = Some((self.folder)(acc, value));
    }

    fn on_eof(&mut self, _key: &K, state: A, out: &mut Vec<A>) {
        out.push(state);
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
        self.keyed_step(
            step,
            FlatMapLogic {
                f,
                _types: PhantomData,
            },
        )
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
        self.keyed_step(
            step,
            FoldFinalLogic {
                builder,
                folder,
                _types: PhantomData,
            },
        )
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
