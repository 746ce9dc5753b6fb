//! Window joins and extremes (Bytewax's `join_window`, `max_window`,
//! `min_window`): the join is its own window fold (it emits as its emit
//! mode says), the extremes are `reduce_window`s.

use std::marker::PhantomData;

use super::clock::Clock;
use super::keyed::Keyed;
use super::operator::WindowFold;
use super::windower::Windower;
use super::{FoldOrder, WindowMetadata, WindowOut};
use crate::base::routing::Key;
use crate::dataflow::join::{insert, merge_seen, pair, rows, JoinEmit, JoinInsert, JoinRow, JoinSide, Seen};
use crate::dataflow::{Data, Stream};

/// `join_window`'s [`WindowFold`]: a window keeps the values of each side
/// as `insert_mode` says, and emits rows as `emit_mode` says (Bytewax's
/// `_JoinWindowLogic`).
struct JoinFold<V, W> {
    insert_mode: JoinInsert,
    emit_mode: JoinEmit,
    _sides: PhantomData<fn() -> (V, W)>,
}

impl<V: Data, W: Data> JoinFold<V, W> {
    /// After an update: `Complete` emits once every side has a value and
    /// then empties the window's state; `Running` emits what it holds.
    fn check(&self, seen: &mut Seen<JoinSide<V, W>>, emit: &mut Vec<JoinRow<V, W>>) {
        match self.emit_mode {
            JoinEmit::Complete if seen.iter().all(|side| !side.is_empty()) => {
                emit.extend(rows(seen).into_iter().map(pair));
                seen.iter_mut().for_each(Vec::clear);
            }
            JoinEmit::Running => emit.extend(rows(seen).into_iter().map(pair)),
            JoinEmit::Complete | JoinEmit::Final => {}
        }
    }
}

impl<V: Data, W: Data> WindowFold<JoinSide<V, W>> for JoinFold<V, W> {
    type Acc = Seen<JoinSide<V, W>>;
    type Out = JoinRow<V, W>;

    fn build(&mut self) -> Self::Acc {
        vec![Vec::new(), Vec::new()]
    }

    fn fold(&mut self, acc: &mut Self::Acc, value: JoinSide<V, W>, emit: &mut Vec<JoinRow<V, W>>) {
        let side = value.side();
        insert(acc, side, value, self.insert_mode);
        self.check(acc, emit);
    }

    fn merge(&mut self, into: &mut Self::Acc, from: Self::Acc, emit: &mut Vec<JoinRow<V, W>>) {
        merge_seen(into, from, self.insert_mode);
        self.check(into, emit);
    }

    fn close(&mut self, acc: Self::Acc, _meta: &WindowMetadata, emit: &mut Vec<JoinRow<V, W>>) {
        if self.emit_mode == JoinEmit::Final {
            emit.extend(rows(&acc).into_iter().map(pair));
        }
    }
}

impl<'a, T: Data> Stream<'a, T> {
    /// Joins this keyed stream with `other` within windows (Bytewax's
    /// `join_window`). Rows are `(key, (window id, (left, right)))`, `None`
    /// for a side without a value; with [`JoinInsert::Product`] every
    /// combination, left varying slowest. When rows come (`emit_mode`, as
    /// Bytewax's `emit_mode`):
    ///
    /// - [`JoinEmit::Final`] (Bytewax's default for windows): once, when the
    ///   window closes, with `None` for a side that had no value in it.
    /// - [`JoinEmit::Complete`]: as soon as every side has a value in the
    ///   window; then the window's values are dropped (a later value starts
    ///   a new row in the same window). Nothing at the close.
    /// - [`JoinEmit::Running`]: at every value (and session merge), with what
    ///   each side holds in the window so far.
    ///
    /// The clock reads times from either side ([`JoinSide::either`]);
    /// values are taken in time order. Session merges keep, per side, the
    /// earlier window's value (`First`), the later one's (`Last`) or both
    /// (`Product`), as Bytewax. Rows per key come in the same order for any
    /// number of workers (the values of one key reach the window in
    /// canonical order).
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy::dataflow::join::{JoinEmit, JoinInsert, JoinSide};
    /// use eddy::window::{EventTime, EventClock, TumblingWindower};
    /// # use eddy::testing::run_collect;
    /// // (user, Ok(click time) | Err(view time)), times in ms
    /// let items: Vec<(String, Result<i64, i64>)> = vec![
    ///     ("u".into(), Err(1)), ("u".into(), Ok(5)), ("u".into(), Err(7)), ("u".into(), Err(12)),
    /// ];
    /// let join = |emit: JoinEmit| {
    ///     run_collect(items.clone(), move |s| {
    ///         let clicks = s.filter_map_value("clicks", |v: Result<i64, i64>| v.ok());
    ///         let views = s.filter_map_value("views", |v: Result<i64, i64>| v.err());
    ///         let clock = EventClock::new(|s: &JoinSide<i64, i64>| s.either(|c| *c, |v| *v), Duration::ZERO);
    ///         let windows = TumblingWindower::new(Duration::from_millis(10), EventTime::EPOCH).unwrap();
    ///         clicks.join_window("join", &views, clock, windows, JoinInsert::Last, emit).down
    ///     })
    /// };
    /// let u = |id, row| ("u".to_string(), (id, row));
    /// // When each window closes, its last value per side.
    /// assert_eq!(join(JoinEmit::Final), vec![u(0, (Some(5), Some(7))), u(1, (None, Some(12)))]);
    /// // As soon as both sides are there (then the window starts over).
    /// assert_eq!(join(JoinEmit::Complete), vec![u(0, (Some(5), Some(1)))]);
    /// // At every value.
    /// assert_eq!(join(JoinEmit::Running), vec![
    ///     u(0, (None, Some(1))), u(0, (Some(5), Some(1))), u(0, (Some(5), Some(7))), u(1, (None, Some(12))),
    /// ]);
    /// ```
    pub fn join_window<K: Key, V: Data, W: Data, C: Clock<JoinSide<V, W>>, Wr: Windower>(
        &self,
        step: &str,
        other: &Stream<'a, (K, W)>,
        clock: C,
        windower: Wr,
        insert_mode: JoinInsert,
        emit_mode: JoinEmit,
    ) -> WindowOut<'a, K, JoinSide<V, W>, JoinRow<V, W>>
    where
        T: Keyed<K, V>,
    {
        let s = T::keyed(self);
        let fold = JoinFold {
            insert_mode,
            emit_mode,
            _sides: PhantomData,
        };
        s.join_sides(step, other)
            .window_step(step, clock, windower, fold, FoldOrder::ByTime)
    }

    /// The largest value by `by` of each key and window (Bytewax's
    /// `max_window(by=…)`); of equal values the first to arrive wins.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy::window::{EventTime, EventClock, TumblingWindower};
    /// # use eddy::testing::run_collect;
    /// // (time ms, amount)
    /// let items = vec![("a".to_string(), (1i64, 5u32)), ("a".into(), (2, 9)), ("a".into(), (11, 3))];
    /// let out = run_collect(items, |s| {
    ///     let clock = EventClock::new(|v: &(i64, u32)| v.0, Duration::ZERO);
    ///     let w = TumblingWindower::new(Duration::from_millis(10), EventTime::EPOCH).unwrap();
    ///     s.max_window_by("max", clock, w, |v: &(i64, u32)| v.1).down
    /// });
    /// assert_eq!(out, vec![("a".to_string(), (0, (2, 9))), ("a".to_string(), (1, (11, 3)))]);
    /// ```
    pub fn max_window_by<K: Key, V: Data, B: Ord, C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
        by: impl Fn(&V) -> B + Clone + 'static,
    ) -> WindowOut<'a, K, V, V>
    where
        T: Keyed<K, V>,
    {
        let s = T::keyed(self);
        s.reduce_window(
            step,
            clock,
            windower,
            move |a, b| if by(&b) > by(&a) { b } else { a },
        )
    }

    /// The smallest value by `by` of each key and window (Bytewax's
    /// `min_window(by=…)`); of equal values the first to arrive wins.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy::window::{EventTime, EventClock, TumblingWindower};
    /// # use eddy::testing::run_collect;
    /// let items = vec![("a".to_string(), (1i64, 5u32)), ("a".into(), (2, 9)), ("a".into(), (11, 3))];
    /// let out = run_collect(items, |s| {
    ///     let clock = EventClock::new(|v: &(i64, u32)| v.0, Duration::ZERO);
    ///     let w = TumblingWindower::new(Duration::from_millis(10), EventTime::EPOCH).unwrap();
    ///     s.min_window_by("min", clock, w, |v: &(i64, u32)| v.1).down
    /// });
    /// assert_eq!(out, vec![("a".to_string(), (0, (1, 5))), ("a".to_string(), (1, (11, 3)))]);
    /// ```
    pub fn min_window_by<K: Key, V: Data, B: Ord, C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
        by: impl Fn(&V) -> B + Clone + 'static,
    ) -> WindowOut<'a, K, V, V>
    where
        T: Keyed<K, V>,
    {
        let s = T::keyed(self);
        s.reduce_window(
            step,
            clock,
            windower,
            move |a, b| if by(&b) < by(&a) { b } else { a },
        )
    }

    /// The largest value of each key and window (Bytewax's `max_window`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy::window::{EventTime, EventClock, TumblingWindower};
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 4i64), ("a".into(), 7), ("a".into(), 12)], |s| {
    ///     let clock = EventClock::new(|v: &i64| *v, Duration::ZERO);
    ///     let w = TumblingWindower::new(Duration::from_millis(10), EventTime::EPOCH).unwrap();
    ///     s.max_window("max", clock, w).down
    /// });
    /// assert_eq!(out, vec![("a".to_string(), (0, 7)), ("a".to_string(), (1, 12))]);
    /// ```
    pub fn max_window<K: Key, V: Data + Ord, C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
    ) -> WindowOut<'a, K, V, V>
    where
        T: Keyed<K, V>,
    {
        let s = T::keyed(self);
        s.reduce_window(step, clock, windower, |a, b| if b > a { b } else { a })
    }

    /// The smallest value of each key and window (Bytewax's `min_window`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy::window::{EventTime, EventClock, TumblingWindower};
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 4i64), ("a".into(), 7), ("a".into(), 12)], |s| {
    ///     let clock = EventClock::new(|v: &i64| *v, Duration::ZERO);
    ///     let w = TumblingWindower::new(Duration::from_millis(10), EventTime::EPOCH).unwrap();
    ///     s.min_window("min", clock, w).down
    /// });
    /// assert_eq!(out, vec![("a".to_string(), (0, 4)), ("a".to_string(), (1, 12))]);
    /// ```
    pub fn min_window<K: Key, V: Data + Ord, C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
    ) -> WindowOut<'a, K, V, V>
    where
        T: Keyed<K, V>,
    {
        let s = T::keyed(self);
        s.reduce_window(step, clock, windower, |a, b| if b < a { b } else { a })
    }
}
