//! Stateless operators: each value is handled alone, on the worker that
//! holds it (no exchange), and keeps its canonical position.

use crate::base::record::Rec;
use crate::base::routing::Key;
use crate::dataflow::{Data, Stream};
use crate::engine::ops;
pub use crate::engine::ops::Three;

/// The two streams of [`Stream::branch`].
pub struct BranchOut<'a, T: Data> {
    /// Values for which the predicate held.
    pub trues: Stream<'a, T>,
    /// The others.
    pub falses: Stream<'a, T>,
}

impl<'a, T: Data> Stream<'a, T> {
    /// The building block of the stateless operators: `logic` turns one
    /// record into any number of records.
    pub(crate) fn transform<U: Data>(
        &self,
        step: &str,
        logic: impl FnMut(Rec<T>, &mut Vec<Rec<U>>) + 'static,
    ) -> Stream<'a, U> {
        let step_id = self.ctx.step_id(step);
        self.wrap(ops::transform(&self.inner, &step_id, logic))
    }

    /// Transforms each value.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![1, 2, 3], |s| s.map("inc", |x: i64| x + 1));
    /// assert_eq!(out, vec![2, 3, 4]);
    /// ```
    pub fn map<U: Data>(&self, step: &str, mut f: impl FnMut(T) -> U + 'static) -> Stream<'a, U> {
        self.transform(step, move |r, out| {
            let Rec { tag, pos, val } = r;
            out.push(Rec {
                tag,
                pos,
                val: f(val),
            });
        })
    }

    /// Keeps the values for which `f` holds.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![1, 2, 3, 4], |s| s.filter("even", |x: &i64| x % 2 == 0));
    /// assert_eq!(out, vec![2, 4]);
    /// ```
    pub fn filter(&self, step: &str, mut f: impl FnMut(&T) -> bool + 'static) -> Stream<'a, T> {
        self.transform(step, move |r, out| {
            if f(&r.val) {
                out.push(r);
            }
        })
    }

    /// Transforms each value, dropping it where `f` returns `None`.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec!["1".to_string(), "x".into()], |s| {
    ///     s.filter_map("parse", |x: String| x.parse::<i64>().ok())
    /// });
    /// assert_eq!(out, vec![1]);
    /// ```
    pub fn filter_map<U: Data>(
        &self,
        step: &str,
        mut f: impl FnMut(T) -> Option<U> + 'static,
    ) -> Stream<'a, U> {
        self.transform(step, move |r, out| {
            let Rec { tag, pos, val } = r;
            if let Some(val) = f(val) {
                out.push(Rec { tag, pos, val });
            }
        })
    }

    /// Turns each value into any number of values.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![2, 3], |s| s.flat_map("repeat", |x: i64| vec![x; x as usize]));
    /// assert_eq!(out, vec![2, 2, 3, 3, 3]);
    /// ```
    pub fn flat_map<U: Data, I: IntoIterator<Item = U>>(
        &self,
        step: &str,
        mut f: impl FnMut(T) -> I + 'static,
    ) -> Stream<'a, U> {
        self.transform(step, move |r, out| {
            let (tag, pos) = (r.tag, r.pos);
            out.extend(f(r.val).into_iter().map(|val| Rec { tag, pos, val }));
        })
    }

    /// Looks at each value, passing it on unchanged.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![1], |s| s.inspect("show", |x: &i64| assert_eq!(*x, 1)));
    /// assert_eq!(out, vec![1]);
    /// ```
    pub fn inspect(&self, step: &str, mut f: impl FnMut(&T) + 'static) -> Stream<'a, T> {
        self.transform(step, move |r, out| {
            f(&r.val);
            out.push(r);
        })
    }

    /// Splits the stream by a predicate.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![1, 2, 3], |s| s.branch("odd", |x: &i64| x % 2 == 1).falses);
    /// assert_eq!(out, vec![2]);
    /// ```
    pub fn branch(&self, step: &str, f: impl Fn(&T) -> bool + 'static) -> BranchOut<'a, T> {
        let step = self.ctx.step_id(step);
        let mut parts = ops::partition(&self.inner, &step, 2, move |v: &T| u64::from(!f(v))).into_iter();
        let (Some(trues), Some(falses)) = (parts.next(), parts.next()) else {
            unreachable!("partition(2) yields two streams")
        };
        BranchOut {
            trues: self.wrap(trues),
            falses: self.wrap(falses),
        }
    }

    /// Splits this stream into three of their own types in one step: each
    /// value goes where `route` says, converted, keeping its place in the
    /// canonical order (one operator where a `branch` and three
    /// `filter_map`s would take four and copy each value twice). The window
    /// operators split their events into `down`, `late` and `meta` so.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// use eddy::Three;
    /// let out = run_collect(vec![1, 2, 3, 4, 5, 6], |s| {
    ///     let (ones, twos, zeros) = s.split3("mod3", |x: i64| match x % 3 {
    ///         1 => Three::First(x),
    ///         2 => Three::Second(x.to_string()),
    ///         _ => Three::Third(x == 3),
    ///     });
    ///     let _ = (twos, zeros);
    ///     ones
    /// });
    /// assert_eq!(out, vec![1, 4]);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn split3<A: Data, B: Data, C: Data>(
        &self,
        step: &str,
        route: impl FnMut(T) -> Three<A, B, C> + 'static,
    ) -> (Stream<'a, A>, Stream<'a, B>, Stream<'a, C>) {
        let step = self.ctx.step_id(step);
        let (a, b, c) = ops::split3(&self.inner, &step, route);
        (self.wrap(a), self.wrap(b), self.wrap(c))
    }

    /// Merges this stream with others of the same type.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![1, 2], |s| {
    ///     let b = s.branch("split", |x: &i64| *x == 1);
    ///     b.trues.merge("join", &[b.falses.map("ten", |x: i64| x * 10)])
    /// });
    /// assert_eq!(out, vec![1, 20]);
    /// ```
    pub fn merge(&self, step: &str, others: &[Stream<'a, T>]) -> Stream<'a, T> {
        let _ = self.ctx.step_id(step);
        for other in others {
            other.consumed(true);
        }
        let mut merged = self.wrap(ops::concatenate(
            &self.inner,
            others.iter().map(|s| s.inner.clone()),
        ));
        merged.timed = self.timed && others.iter().all(|s| s.timed);
        merged
    }

    /// Makes a keyed stream: `(f(value), value)`.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![7], |s| s.key_on("k", |x: &i64| x.to_string()));
    /// assert_eq!(out, vec![("7".to_string(), 7)]);
    /// ```
    pub fn key_on<K: Key>(&self, step: &str, mut f: impl FnMut(&T) -> K + 'static) -> Stream<'a, (K, T)> {
        self.map(step, move |v| (f(&v), v))
    }
}

impl<'a, K: Key, V: Data> Stream<'a, (K, V)> {
    /// Drops the key of a keyed stream.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 1)], |s| s.key_rm("unkey"));
    /// assert_eq!(out, vec![1]);
    /// ```
    pub fn key_rm(&self, step: &str) -> Stream<'a, V> {
        self.map(step, |(_, v)| v)
    }

    /// Transforms each value of a keyed stream, keeping its key.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 1)], |s| s.map_value("inc", |v: i64| v + 1));
    /// assert_eq!(out, vec![("a".to_string(), 2)]);
    /// ```
    pub fn map_value<W: Data>(&self, step: &str, mut f: impl FnMut(V) -> W + 'static) -> Stream<'a, (K, W)> {
        self.map(step, move |(k, v)| (k, f(v)))
    }

    /// Keeps the values of a keyed stream for which `f` holds.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 1), ("b".into(), 2)], |s| {
    ///     s.filter_value("big", |v: &i64| *v > 1)
    /// });
    /// assert_eq!(out, vec![("b".to_string(), 2)]);
    /// ```
    pub fn filter_value(&self, step: &str, mut f: impl FnMut(&V) -> bool + 'static) -> Stream<'a, (K, V)> {
        self.filter(step, move |(_, v)| f(v))
    }
}
