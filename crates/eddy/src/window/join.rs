//! Window joins and extremes (Bytewax's `join_window`, `max_window`,
//! `min_window`), built on `fold_window` / `reduce_window`.

use super::clock::Clock;
use super::windower::Windower;
use super::WindowOut;
use crate::base::routing::Key;
use crate::dataflow::join::{insert, merge_seen, pair, rows, JoinInsert, JoinRow, JoinSide, Seen};
use crate::dataflow::{Data, Stream};

impl<'a, K: Key, V: Data> Stream<'a, (K, V)> {
    /// Joins this keyed stream with `other` within windows (Bytewax's
    /// `join_window`, emit mode `final`): when a window closes, emits its
    /// rows `(key, (window id, (left, right)))`, `None` for a side that
    /// had no value in the window. The clock reads times from either side
    /// ([`JoinSide::either`]); values are taken in time order. Session
    /// merges keep, per side, the earlier window's value (`First`), the
    /// later one's (`Last`) or both (`Product`), as Bytewax.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy::dataflow::join::{JoinInsert, JoinSide};
    /// use eddy::window::{EventTime, EventClock, TumblingWindower};
    /// # use eddy::testing::run_collect;
    /// // (user, Ok(click time) | Err(view time)), times in ms
    /// let items: Vec<(String, Result<i64, i64>)> = vec![
    ///     ("u".into(), Err(1)), ("u".into(), Ok(5)), ("u".into(), Err(12)),
    /// ];
    /// let out = run_collect(items, |s| {
    ///     let clicks = s.filter_map_value("clicks", |v: Result<i64, i64>| v.ok());
    ///     let views = s.filter_map_value("views", |v: Result<i64, i64>| v.err());
    ///     let clock = EventClock::new(|s: &JoinSide<i64, i64>| s.either(|c| *c, |v| *v), Duration::ZERO);
    ///     let windows = TumblingWindower::new(Duration::from_millis(10), EventTime::EPOCH).unwrap();
    ///     clicks.join_window("join", &views, clock, windows, JoinInsert::Last).down
    /// });
    /// assert_eq!(out, vec![
    ///     ("u".to_string(), (0, (Some(5), Some(1)))),
    ///     ("u".to_string(), (1, (None, Some(12)))),
    /// ]);
    /// ```
    pub fn join_window<W: Data, C: Clock<JoinSide<V, W>>, Wr: Windower>(
        &self,
        step: &str,
        other: &Stream<'a, (K, W)>,
        clock: C,
        windower: Wr,
        insert_mode: JoinInsert,
    ) -> WindowOut<'a, K, JoinSide<V, W>, JoinRow<V, W>> {
        let out = self.join_sides(step, other).fold_window(
            step,
            clock,
            windower,
            || -> Seen<JoinSide<V, W>> { vec![Vec::new(), Vec::new()] },
            move |seen: &mut Seen<JoinSide<V, W>>, x: JoinSide<V, W>| {
                let side = x.side();
                insert(seen, side, x, insert_mode);
            },
            move |earlier: &mut Seen<JoinSide<V, W>>, later| merge_seen(earlier, later, insert_mode),
            super::FoldOrder::ByTime,
        );
        WindowOut {
            down: out.down.flat_map(&format!("{step}_rows"), |(k, (id, seen))| {
                rows(&seen)
                    .into_iter()
                    .map(|row| (k.clone(), (id, pair(row))))
                    .collect::<Vec<_>>()
            }),
            late: out.late,
            meta: out.meta,
        }
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
    pub fn max_window_by<B: Ord, C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
        by: impl Fn(&V) -> B + Clone + 'static,
    ) -> WindowOut<'a, K, V, V> {
        self.reduce_window(
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
    pub fn min_window_by<B: Ord, C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
        by: impl Fn(&V) -> B + Clone + 'static,
    ) -> WindowOut<'a, K, V, V> {
        self.reduce_window(
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
    pub fn max_window<C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
    ) -> WindowOut<'a, K, V, V>
    where
        V: Ord,
    {
        self.reduce_window(step, clock, windower, |a, b| if b > a { b } else { a })
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
    pub fn min_window<C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
    ) -> WindowOut<'a, K, V, V>
    where
        V: Ord,
    {
        self.reduce_window(step, clock, windower, |a, b| if b < a { b } else { a })
    }
}
