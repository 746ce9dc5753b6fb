//! What a window operator needs of its stream — `(key, value)` pairs —
//! and the compiler's hints for the two mistakes a newcomer makes with
//! windows: a window operator on a stream that is not keyed, and a
//! [`WindowOut`] used as if it were one stream.

use crate::base::routing::Key;
use crate::dataflow::{Data, Stream};

use super::WindowOut;

/// A stream value that is a `(key, value)` pair: the window operators
/// take `Stream<T>` where `T: Keyed<K, V>`, which only `(K, V)` is.
///
/// ```compile_fail
/// # use std::time::Duration;
/// # use eddy::window::{EventClock, SessionWindower};
/// # eddy::testing::run_collect(vec![1i64], |s| {
/// // Not keyed: "window operators work on keyed streams of `(key, value)` pairs".
/// s.collect_window("w", EventClock::new(|v: &i64| *v, Duration::ZERO), SessionWindower::new(Duration::ZERO)).down
/// # });
/// ```
#[diagnostic::on_unimplemented(
    message = "window operators work on keyed streams of `(key, value)` pairs, and `{Self}` is not one",
    label = "this stream's values are `{Self}`",
    note = "key the stream first: `.key_on(\"by_user\", |e| e.user.clone())` makes `(String, {Self})` pairs"
)]
pub trait Keyed<K: Key, V: Data>: Data {
    /// The same stream, typed as a keyed one.
    fn keyed<'a>(stream: &Stream<'a, Self>) -> Stream<'a, (K, V)>;
}

impl<K: Key, V: Data> Keyed<K, V> for (K, V) {
    fn keyed<'a>(stream: &Stream<'a, (K, V)>) -> Stream<'a, (K, V)> {
        stream.clone()
    }
}

/// Never implemented: its message says which of a [`WindowOut`]'s three
/// streams to use.
#[diagnostic::on_unimplemented(
    message = "a window operator's output is three streams, not one: use `.down` (each closed window's result), `.late` (late values) or `.meta` (each window's extent)",
    label = "pick `.down`, `.late` or `.meta` here"
)]
pub trait PickAStream {}

/// Stream operators called on a [`WindowOut`] itself: each fails to
/// compile with [`PickAStream`]'s message (rather than "`WindowOut` is not
/// an iterator").
///
/// ```compile_fail
/// # use std::time::Duration;
/// # use eddy::window::{EventClock, SessionWindower};
/// # eddy::testing::run_collect(vec![("a".to_string(), 1i64)], |s| {
/// let w = s.collect_window("w", EventClock::new(|v: &i64| *v, Duration::ZERO), SessionWindower::new(Duration::ZERO));
/// w.map("n", |(k, (_, vs))| (k, vs.len()))
/// # });
/// ```
#[doc(hidden)]
impl<'a, K: Key, V: Data, W: Data> WindowOut<'a, K, V, W> {
    /// Use `.down.map(…)`.
    pub fn map<X>(&self, _step: &str, _f: X)
    where
        Self: PickAStream,
    {
    }

    /// Use `.down.filter(…)`.
    pub fn filter<X>(&self, _step: &str, _f: X)
    where
        Self: PickAStream,
    {
    }

    /// Use `.down.filter_map(…)`.
    pub fn filter_map<X>(&self, _step: &str, _f: X)
    where
        Self: PickAStream,
    {
    }

    /// Use `.down.flat_map(…)`.
    pub fn flat_map<X>(&self, _step: &str, _f: X)
    where
        Self: PickAStream,
    {
    }

    /// Use `.down.inspect(…)`.
    pub fn inspect<X>(&self, _step: &str, _f: X)
    where
        Self: PickAStream,
    {
    }

    /// Use `.down.output(…)`.
    pub fn output<X>(&self, _step: &str, _sink: X)
    where
        Self: PickAStream,
    {
    }

    /// Use `.down.output_fn(…)`.
    pub fn output_fn<X>(&self, _step: &str, _f: X)
    where
        Self: PickAStream,
    {
    }
}
