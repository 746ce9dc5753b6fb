//! More of Bytewax's operators: `flat_map_batch`, `redistribute`,
//! `flatten`, `flat_map_value`, `filter_map_value`, `inspect_debug`,
//! `try_map`, `key_on_str`, `max_final` / `min_final`.
//!
//! Each keeps the canonical position of the value it came from, so its
//! output is the same for any number of workers.

use crate::base::record::Rec;
use crate::base::routing::Key;
use crate::dataflow::{Data, Stream};
use crate::error::EddyError;

/// A user error a fallible step (`try_map`, `try_filter_map`) may return:
/// anything that converts into a boxed error (`String`, `&str`,
/// `std::io::Error`, `anyhow::Error`, …).
pub type UserError = Box<dyn std::error::Error + Send + Sync>;

impl<'a, T: Data> Stream<'a, T> {
    /// Moves the items of each value up a level (Bytewax's `flatten`).
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![vec![1, 2], vec![], vec![3]], |s| s.flatten("flat"));
    /// assert_eq!(out, vec![1, 2, 3]);
    /// ```
    pub fn flatten<U: Data>(&self, step: &str) -> Stream<'a, U>
    where
        T: IntoIterator<Item = U>,
    {
        self.flat_map(step, |v| v)
    }

    /// Looks at each value with its step id, progress mark (the
    /// partition's event-time high-water mark, or the item's index for an
    /// untimed input: Bytewax's epoch) and worker index, passing it on
    /// unchanged (Bytewax's `inspect_debug` with an inspector).
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![10, 20], |s| {
    ///     s.inspect_debug_with("dbg", |step: &str, v: &i64, mark: u64, worker: usize| {
    ///         assert_eq!(step, "test.dbg");
    ///         assert_eq!(mark, (*v / 10 - 1) as u64); // untimed input: the item's index
    ///         assert_eq!(worker, 0);
    ///     })
    /// });
    /// assert_eq!(out, vec![10, 20]);
    /// ```
    pub fn inspect_debug_with(
        &self,
        step: &str,
        mut f: impl FnMut(&str, &T, u64, usize) + 'static,
    ) -> Stream<'a, T> {
        let step_id = format!("{}.{}", self.ctx.flow_id(), step);
        let worker = self.ctx.worker();
        self.transform(step, move |r: Rec<T>, out| {
            f(&step_id, &r.val, r.tag, worker);
            out.push(r);
        })
    }

    /// Prints each value to stderr as `STEP W<worker> @<mark>: <value>`
    /// and passes it on (Bytewax's `inspect_debug` with its default
    /// inspector; stderr, so that a flow writing to stdout stays clean).
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![1, 2], |s| s.inspect_debug("dbg")); // "test.dbg W0 @0: 1", …
    /// assert_eq!(out, vec![1, 2]);
    /// ```
    pub fn inspect_debug(&self, step: &str) -> Stream<'a, T>
    where
        T: std::fmt::Debug,
    {
        self.inspect_debug_with(step, |step, v, mark, worker| {
            eprintln!("{step} W{worker} @{mark}: {v:?}");
        })
    }

    /// Transforms whole batches of values (Bytewax's `flat_map_batch`): a
    /// batch is a run of values that reached this worker together with one
    /// progress mark (for an untimed input, each item has its own mark: a
    /// batch of one). For work with a per-call cost (a request, a model
    /// call). What `f` returns is emitted in the place of the batch's first
    /// value. Batches depend on worker count and speed; the output does
    /// not where `f` treats values one by one.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![1, 2, 3], |s| {
    ///     s.flat_map_batch("tens", |batch: Vec<i64>| batch.into_iter().map(|x| x * 10).collect::<Vec<_>>())
    /// });
    /// assert_eq!(out, vec![10, 20, 30]);
    /// ```
    pub fn flat_map_batch<U: Data, I: IntoIterator<Item = U>>(
        &self,
        step: &str,
        f: impl FnMut(Vec<T>) -> I + 'static,
    ) -> Stream<'a, U> {
        let step_id = self.ctx.step_id(step);
        self.wrap(crate::engine::batch::flat_map_batch(&self.inner, &step_id, f))
    }

    /// Spreads the values over every worker (Bytewax's `redistribute`), by
    /// a hash of each value's input position: for a costly stateless step
    /// after an input with fewer partitions than workers. Values keep
    /// their canonical place: outputs and stateful steps downstream give
    /// the same result.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![1, 2, 3], |s| s.redistribute("spread").map("sq", |x: i64| x * x));
    /// assert_eq!(out, vec![1, 4, 9]);
    /// ```
    pub fn redistribute(&self, step: &str) -> Stream<'a, T> {
        let step_id = self.ctx.step_id(step);
        self.wrap(crate::engine::batch::redistribute(&self.inner, &step_id))
    }

    /// Makes a keyed stream from a borrowed string key (owned for the
    /// stream): `(f(value).to_owned(), value)`.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("ann".to_string(), 3)], |s| {
    ///     s.key_on_str("user", |e: &(String, i32)| e.0.as_str())
    /// });
    /// assert_eq!(out, vec![("ann".to_string(), ("ann".to_string(), 3))]);
    /// ```
    pub fn key_on_str(
        &self,
        step: &str,
        mut f: impl for<'v> FnMut(&'v T) -> &'v str + 'static,
    ) -> Stream<'a, (String, T)> {
        self.map(step, move |v| (f(&v).to_owned(), v))
    }

    /// Transforms each value with a fallible closure. The first `Err`
    /// stops the run like a panic does: [`crate::run`] returns
    /// [`EddyError::Step`] naming this step and the worker, every worker
    /// stops, and the value (and any after it on this worker) is dropped.
    ///
    /// ```
    /// # use eddy::testing::{run_collect_with, TestingSource};
    /// # use eddy::{EddyError, RunConfig};
    /// let src = TestingSource::new(vec!["1".to_string(), "x".into()]);
    /// let err = run_collect_with(&RunConfig::workers(1), src, |s| {
    ///     s.try_map("parse", |v: String| v.parse::<i64>())
    /// })
    /// .unwrap_err();
    /// assert!(matches!(&err, EddyError::Step { step, .. } if step == "test.parse"), "{err}");
    /// ```
    pub fn try_map<U: Data, E: Into<UserError>>(
        &self,
        step: &str,
        mut f: impl FnMut(T) -> Result<U, E> + 'static,
    ) -> Stream<'a, U> {
        self.try_filter_map(step, move |v| f(v).map(Some))
    }

    /// [`Stream::filter_map`] with a fallible closure: `Ok(None)` drops
    /// the value, `Err` stops the run as [`Stream::try_map`] does.
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![1, 2, 3], |s| {
    ///     s.try_filter_map("odd", |v: i64| Ok::<_, String>((v % 2 == 1).then_some(v * 10)))
    /// });
    /// assert_eq!(out, vec![10, 30]);
    /// ```
    pub fn try_filter_map<U: Data, E: Into<UserError>>(
        &self,
        step: &str,
        mut f: impl FnMut(T) -> Result<Option<U>, E> + 'static,
    ) -> Stream<'a, U> {
        let step_id = format!("{}.{}", self.ctx.flow_id(), step);
        let worker = self.ctx.worker();
        let shared = self.ctx.shared().clone();
        let mut failed = false;
        self.transform(step, move |r: Rec<T>, out| {
            if failed {
                return;
            }
            let Rec { tag, pos, val } = r;
            match f(val) {
                Ok(Some(val)) => out.push(Rec { tag, pos, val }),
                Ok(None) => {}
                Err(e) => {
                    failed = true;
                    let e: UserError = e.into();
                    shared.fail(EddyError::Step {
                        step: step_id.clone(),
                        message: format!("{e} (worker {worker})"),
                    });
                }
            }
        })
    }
}

impl<'a, K: Key, V: Data> Stream<'a, (K, V)> {
    /// Turns each value of a keyed stream into any number of values,
    /// keeping its key (Bytewax's `flat_map_value`).
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("k".to_string(), "hello world".to_string())], |s| {
    ///     s.flat_map_value("words", |v: String| v.split(' ').map(String::from).collect::<Vec<_>>())
    /// });
    /// assert_eq!(out, vec![("k".to_string(), "hello".to_string()), ("k".into(), "world".into())]);
    /// ```
    pub fn flat_map_value<W: Data, I: IntoIterator<Item = W>>(
        &self,
        step: &str,
        mut f: impl FnMut(V) -> I + 'static,
    ) -> Stream<'a, (K, W)> {
        self.flat_map(step, move |(k, v)| {
            f(v).into_iter().map(|w| (k.clone(), w)).collect::<Vec<_>>()
        })
    }

    /// Transforms each value of a keyed stream, dropping it where `f`
    /// returns `None` (Bytewax's `filter_map_value`).
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 1), ("b".into(), 2)], |s| {
    ///     s.filter_map_value("even", |v: i64| (v % 2 == 0).then(|| v.to_string()))
    /// });
    /// assert_eq!(out, vec![("b".to_string(), "2".to_string())]);
    /// ```
    pub fn filter_map_value<W: Data>(
        &self,
        step: &str,
        mut f: impl FnMut(V) -> Option<W> + 'static,
    ) -> Stream<'a, (K, W)> {
        self.filter_map(step, move |(k, v)| f(v).map(|w| (k, w)))
    }

    /// The largest value of each key by `by`, emitted at end of input;
    /// of equal values the first one wins (Bytewax's `max_final(by=…)`).
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), (1, 'x')), ("a".into(), (3, 'y')), ("a".into(), (3, 'z'))], |s| {
    ///     s.max_final_by("max", |v: &(i32, char)| v.0)
    /// });
    /// assert_eq!(out, vec![("a".to_string(), (3, 'y'))]);
    /// ```
    pub fn max_final_by<B: Ord>(&self, step: &str, by: impl Fn(&V) -> B + 'static) -> Stream<'a, (K, V)> {
        self.reduce_final(step, move |a, b| if by(&b) > by(&a) { b } else { a })
    }

    /// The smallest value of each key by `by`, emitted at end of input;
    /// of equal values the first one wins (Bytewax's `min_final(by=…)`).
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), (1, 'x')), ("a".into(), (1, 'y')), ("a".into(), (3, 'z'))], |s| {
    ///     s.min_final_by("min", |v: &(i32, char)| v.0)
    /// });
    /// assert_eq!(out, vec![("a".to_string(), (1, 'x'))]);
    /// ```
    pub fn min_final_by<B: Ord>(&self, step: &str, by: impl Fn(&V) -> B + 'static) -> Stream<'a, (K, V)> {
        self.reduce_final(step, move |a, b| if by(&b) < by(&a) { b } else { a })
    }

    /// The largest value of each key, emitted at end of input (Bytewax's
    /// `max_final`).
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 3), ("a".into(), 7), ("a".into(), 5)], |s| s.max_final("max"));
    /// assert_eq!(out, vec![("a".to_string(), 7)]);
    /// ```
    pub fn max_final(&self, step: &str) -> Stream<'a, (K, V)>
    where
        V: Ord,
    {
        self.reduce_final(step, |a, b| if b > a { b } else { a })
    }

    /// The smallest value of each key, emitted at end of input (Bytewax's
    /// `min_final`).
    ///
    /// ```
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 3), ("a".into(), 7), ("a".into(), 1)], |s| s.min_final("min"));
    /// assert_eq!(out, vec![("a".to_string(), 1)]);
    /// ```
    pub fn min_final(&self, step: &str) -> Stream<'a, (K, V)>
    where
        V: Ord,
    {
        self.reduce_final(step, |a, b| if b < a { b } else { a })
    }
}
