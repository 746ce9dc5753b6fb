//! The window operators: one keyed logic that runs a clock, a windower and
//! a fold per key, and the Bytewax-named operators built on it.
//!
//! Per key and value: the clock gives the value's time and the watermark
//! after it; a time below the watermark is late (reported on `late`, never
//! folded). Otherwise, in *ordered* mode (the default for `fold_window` and
//! `collect_window`), the value waits in a small per-key queue until the
//! watermark reaches its time, and is then folded in time order (ties in
//! arrival order); unordered operators fold at once. Windows the watermark
//! closes are emitted on `down` (with their id) and `meta`. At end of input
//! every queued value is folded and every window closes.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use super::clock::{Clock, ClockLogic};
use super::slots::Slots;
use super::windower::{Windower, WindowerLogic};
use super::WindowMetadata;
use crate::base::routing::Key;
use crate::dataflow::{Data, Stream};
use crate::engine::keyed::KeyedLogic;
use crate::engine::ops;
use crate::error::CodecError;
use crate::recovery::codec::{decode_value, encode_value};

/// The three outputs of a window operator (Bytewax's `WindowOut`).
pub struct WindowOut<'a, K: Key, V: Data, W: Data> {
    /// `(key, (window id, result))` for each closed window.
    pub down: Stream<'a, (K, (i64, W))>,
    /// `(key, (window id, value))` for each late value.
    pub late: Stream<'a, (K, (i64, V))>,
    /// `(key, (window id, metadata))` for each closed window.
    pub meta: Stream<'a, (K, (i64, WindowMetadata))>,
}

/// What the window logic emits, split into [`WindowOut`]'s streams.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum WindowEvent<V, W> {
    /// A closed window's result.
    Down(i64, W),
    /// A late value.
    Late(i64, V),
    /// A closed window's extent.
    Meta(i64, WindowMetadata),
}

/// A key's window state: its clock, windows, accumulators and (ordered
/// folds) queued values. The usual single open window and its accumulator
/// are inline and an empty queue is one null pointer, so a key with one
/// open window is one allocation: the keyed core holds this boxed (see
/// `KeyedLogic::State` below).
pub struct WindowState<CL, WL, V, A> {
    clock: CL,
    windower: WL,
    accs: Slots<(i64, A)>,
    // Boxed on purpose: 8 bytes per key, not a 32-byte empty `VecDeque`.
    #[allow(clippy::box_collection)]
    queue: Option<Box<VecDeque<(i64, V)>>>,
}

/// A key's window state as a snapshot holds it: clock, windower,
/// accumulators, queue.
type Saved<WL, V, A> = (i64, WL, Slots<(i64, A)>, VecDeque<(i64, V)>);

/// How a window step folds: builder, folder and merger.
struct WindowLogic<C, Wr, V, A, B, F, M> {
    clock: C,
    windower: Wr,
    ordered: bool,
    builder: B,
    folder: F,
    merger: M,
    ids: Vec<i64>,
    merges: Vec<(i64, i64)>,
    closed: Vec<(i64, WindowMetadata)>,
    _types: PhantomData<fn() -> (V, A)>,
}

impl<C, Wr, V, A, B, F, M> WindowLogic<C, Wr, V, A, B, F, M>
where
    C: Clock<V>,
    Wr: Windower,
    V: Clone + 'static,
    A: 'static,
    B: FnMut() -> A + 'static,
    F: FnMut(&mut A, V) + 'static,
    M: FnMut(&mut A, A) + 'static,
{
    /// Puts a value into its windows and applies the merges this caused.
    fn insert(&mut self, st: &mut WindowState<C::Logic, Wr::Logic, V, A>, time: i64, value: V) {
        self.ids.clear();
        st.windower.open_for(time, &mut self.ids, &mut self.merges);
        let mut value = Some(value);
        let n = self.ids.len();
        for (i, id) in self.ids.iter().enumerate() {
            let v = if i + 1 == n { value.take() } else { value.clone() };
            let Some(v) = v else { break };
            let at = match st.accs.as_slice().iter().position(|(w, _)| w == id) {
                Some(at) => at,
                None => {
                    st.accs.push((*id, (self.builder)()));
                    st.accs.len() - 1
                }
            };
            (self.folder)(&mut st.accs.as_mut_slice()[at].1, v);
        }
        for (from, into) in self.merges.drain(..) {
            let Some(at) = st.accs.as_slice().iter().position(|(w, _)| *w == from) else {
                continue;
            };
            let (_, absorbed) = st.accs.remove(at);
            match st.accs.as_mut_slice().iter_mut().find(|(w, _)| *w == into) {
                Some((_, target)) => (self.merger)(target, absorbed),
                None => st.accs.push((into, absorbed)),
            }
        }
    }

    /// Folds queued values the watermark has reached (all at `i64::MAX`).
    fn flush(&mut self, st: &mut WindowState<C::Logic, Wr::Logic, V, A>, watermark: i64) {
        while let Some(queue) = st.queue.as_mut() {
            if queue.front().is_none_or(|(t, _)| *t > watermark) {
                break;
            }
            if let Some((t, v)) = queue.pop_front() {
                self.insert(st, t, v);
            }
        }
    }

    /// Emits the windows the watermark closes.
    fn close(
        &mut self,
        st: &mut WindowState<C::Logic, Wr::Logic, V, A>,
        watermark: i64,
        out: &mut Vec<WindowEvent<V, A>>,
    ) {
        st.windower.close_for(watermark, &mut self.closed);
        for (id, meta) in self.closed.drain(..) {
            let acc = match st.accs.as_slice().iter().position(|(w, _)| *w == id) {
                Some(at) => st.accs.remove(at).1,
                None => (self.builder)(),
            };
            out.push(WindowEvent::Down(id, acc));
            out.push(WindowEvent::Meta(id, meta));
        }
    }
}

impl<K, C, Wr, V, A, B, F, M> KeyedLogic<K, V, WindowEvent<V, A>> for WindowLogic<C, Wr, V, A, B, F, M>
where
    C: Clock<V>,
    Wr: Windower,
    V: Data,
    A: Data,
    B: FnMut() -> A + 'static,
    F: FnMut(&mut A, V) + 'static,
    M: FnMut(&mut A, A) + 'static,
{
    /// Boxed: the keyed core's hash table keeps a key and a pointer per
    /// slot, and its slots are 1.1–2.3× the keys (it doubles), so a large
    /// state inline would cost that factor over again.
    type State = Box<WindowState<C::Logic, Wr::Logic, V, A>>;

    fn save(&self, st: &Self::State, out: &mut Vec<u8>) -> Result<(), CodecError> {
        // The form of a `Vec` of accumulators and a `VecDeque` queue.
        let queue = st.queue.as_deref().map_or(&[][..], |q| q.as_slices().0);
        let queue_tail = st.queue.as_deref().map_or(&[][..], |q| q.as_slices().1);
        let queue: Vec<&(i64, V)> = queue.iter().chain(queue_tail).collect();
        encode_value(&(st.clock.save(), &st.windower, &st.accs, queue), out)
    }

    fn load(&mut self, bytes: &[u8]) -> Result<Self::State, CodecError> {
        let (clock, windower, accs, queue): Saved<Wr::Logic, V, A> = decode_value(bytes)?;
        Ok(Box::new(WindowState {
            clock: self.clock.restore(clock),
            windower,
            accs,
            queue: (!queue.is_empty()).then(|| Box::new(queue)),
        }))
    }

    fn on_value(
        &mut self,
        _key: &K,
        state: &mut Option<Self::State>,
        value: V,
        out: &mut Vec<WindowEvent<V, A>>,
    ) {
        let st = state.get_or_insert_with(|| {
            Box::new(WindowState {
                clock: self.clock.build(),
                windower: self.windower.build(),
                accs: Slots::Empty,
                queue: None,
            })
        });
        let (time, watermark) = self.clock.on_item(&mut st.clock, &value);
        if time < watermark {
            self.ids.clear();
            st.windower.late_for(time, &mut self.ids);
            let n = self.ids.len();
            let mut value = Some(value);
            for (i, id) in self.ids.iter().enumerate() {
                let v = if i + 1 == n { value.take() } else { value.clone() };
                if let Some(v) = v {
                    out.push(WindowEvent::Late(*id, v));
                }
            }
        } else if self.ordered {
            // Keep the queue in (time, arrival) order.
            let queue = st.queue.get_or_insert_with(Default::default);
            let at = queue.partition_point(|(t, _)| *t <= time);
            queue.insert(at, (time, value));
            self.flush(st, watermark);
        } else {
            self.insert(st, time, value);
        }
        self.close(st, watermark, out);
        if st.queue.as_ref().is_some_and(|q| q.is_empty()) {
            st.queue = None;
        }
        if st.accs.is_empty() && st.windower.is_empty() {
            // An idle key keeps only its clock and window counter.
            st.accs.shrink();
            st.windower.shrink();
        }
    }

    fn on_eof(&mut self, _key: &K, mut state: Self::State, out: &mut Vec<WindowEvent<V, A>>) {
        self.flush(&mut state, i64::MAX);
        self.close(&mut state, i64::MAX, out);
    }

    fn tick_every(&self) -> Option<Duration> {
        let idle = self.clock.idle_timeout()?;
        Some((idle / 4).clamp(Duration::from_millis(10), Duration::from_secs(1)))
    }

    fn on_tick(
        &mut self,
        _key: &K,
        state: &mut Option<Self::State>,
        now: Instant,
        out: &mut Vec<WindowEvent<V, A>>,
    ) {
        let (Some(idle), Some(st)) = (self.clock.idle_timeout(), state.as_mut()) else {
            return;
        };
        if st
            .clock
            .last_seen()
            .is_some_and(|seen| now.duration_since(seen) >= idle)
        {
            self.flush(st, i64::MAX);
            self.close(st, i64::MAX, out);
            // Forget the idle key, clock included: memory stays bounded by
            // the keys seen within the timeout.
            *state = None;
        }
    }
}

/// In what order [`Stream::fold_window`] folds a key's values (Bytewax's
/// `ordered` flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FoldOrder {
    /// In time order: a value waits (at most `wait`) until the watermark
    /// reaches its time; ties in arrival order (Bytewax's default,
    /// `ordered=True`).
    #[default]
    ByTime,
    /// In arrival (canonical) order, at once (`ordered=False`): no queue,
    /// for folds where order does not matter (sums, counts).
    ByArrival,
}

impl<'a, K: Key, V: Data> Stream<'a, (K, V)> {
    /// Folds each key's values into windows (Bytewax's `fold_window`).
    ///
    /// `builder` makes an empty accumulator, `folder` adds a value,
    /// `merger(earlier, later)` merges two session windows; `order` says
    /// whether values are folded in time order ([`FoldOrder::ByTime`],
    /// Bytewax's default) or in arrival order.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy::window::{EventClock, FoldOrder, SessionWindower};
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 0i64), ("a".into(), 4_000), ("a".into(), 60_000)], |s| {
    ///     let clock = EventClock::new(|v: &i64| *v, Duration::ZERO);
    ///     s.fold_window("sum", clock, SessionWindower::new(Duration::from_secs(10)),
    ///                   || 0i64, |acc, v| *acc += v, |a, b| *a += b, FoldOrder::ByArrival)
    ///      .down
    /// });
    /// assert_eq!(out, vec![("a".to_string(), (0, 4_000)), ("a".to_string(), (1, 60_000))]);
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn fold_window<A: Data, C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
        builder: impl FnMut() -> A + 'static,
        folder: impl FnMut(&mut A, V) + 'static,
        merger: impl FnMut(&mut A, A) + 'static,
        order: FoldOrder,
    ) -> WindowOut<'a, K, V, A> {
        let logic = WindowLogic {
            clock,
            windower,
            ordered: order == FoldOrder::ByTime,
            builder,
            folder,
            merger,
            ids: Vec::new(),
            merges: Vec::new(),
            closed: Vec::new(),
            _types: PhantomData,
        };
        let step_id = step.to_owned();
        let events = self.keyed_step(step, logic);
        let parts = ops::partition(
            &events.inner,
            &step_id,
            3,
            |(_, e): &(K, WindowEvent<V, A>)| match e {
                WindowEvent::Down(..) => 0,
                WindowEvent::Late(..) => 1,
                WindowEvent::Meta(..) => 2,
            },
        );
        let mut parts = parts.into_iter().map(|s| self.wrap(s));
        let (Some(down), Some(late), Some(meta)) = (parts.next(), parts.next(), parts.next()) else {
            unreachable!("partition(3) yields three streams")
        };
        WindowOut {
            down: down.unsplit(&format!("{step}_down"), |s| match s {
                WindowEvent::Down(id, w) => Some((id, w)),
                _ => None,
            }),
            late: late.unsplit(&format!("{step}_late"), |s| match s {
                WindowEvent::Late(id, v) => Some((id, v)),
                _ => None,
            }),
            meta: meta.unsplit(&format!("{step}_meta"), |s| match s {
                WindowEvent::Meta(id, m) => Some((id, m)),
                _ => None,
            }),
        }
    }

    /// Collects each window's values, in time order (Bytewax's
    /// `collect_window`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy::window::{EventTime, EventClock, TumblingWindower};
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 8i64), ("a".into(), 4), ("a".into(), 13)], |s| {
    ///     let clock = EventClock::new(|v: &i64| *v, Duration::from_millis(100));
    ///     let w = TumblingWindower::new(Duration::from_millis(10), EventTime::EPOCH).unwrap();
    ///     s.collect_window("collect", clock, w).down
    /// });
    /// assert_eq!(out, vec![("a".to_string(), (0, vec![4, 8])), ("a".to_string(), (1, vec![13]))]);
    /// ```
    pub fn collect_window<C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
    ) -> WindowOut<'a, K, V, Vec<V>> {
        self.fold_window(
            step,
            clock,
            windower,
            Vec::new,
            |acc: &mut Vec<V>, v| acc.push(v),
            |a: &mut Vec<V>, mut b: Vec<V>| a.append(&mut b),
            FoldOrder::ByTime,
        )
    }

    /// Combines each window's values pairwise, in arrival order (Bytewax's
    /// `reduce_window`; the reducer also merges sessions).
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy::window::{EventTime, EventClock, TumblingWindower};
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 1i64), ("a".into(), 2), ("a".into(), 12)], |s| {
    ///     let clock = EventClock::new(|v: &i64| *v, Duration::ZERO);
    ///     let w = TumblingWindower::new(Duration::from_millis(10), EventTime::EPOCH).unwrap();
    ///     s.reduce_window("sum", clock, w, |a, b| a + b).down
    /// });
    /// assert_eq!(out, vec![("a".to_string(), (0, 3)), ("a".to_string(), (1, 12))]);
    /// ```
    pub fn reduce_window<C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
        reducer: impl FnMut(V, V) -> V + Clone + 'static,
    ) -> WindowOut<'a, K, V, V> {
        let mut merge_reducer = reducer.clone();
        let mut fold_reducer = reducer;
        let out = self.fold_window(
            step,
            clock,
            windower,
            || None,
            move |acc: &mut Option<V>, v| {
                *acc = Some(match acc.take() {
                    Some(a) => fold_reducer(a, v),
                    None => v,
                });
            },
            move |a: &mut Option<V>, b: Option<V>| {
                *a = match (a.take(), b) {
                    (Some(x), Some(y)) => Some(merge_reducer(x, y)),
                    (x, y) => x.or(y),
                };
            },
            FoldOrder::ByArrival,
        );
        WindowOut {
            down: out
                .down
                .filter_map(&format!("{step}_value"), |(k, (id, v))| v.map(|v| (k, (id, v)))),
            late: out.late,
            meta: out.meta,
        }
    }
}

impl<'a, T: Data> Stream<'a, T> {
    /// Counts values per key and window (Bytewax's `count_window`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy::window::{EventTime, EventClock, TumblingWindower};
    /// # use eddy::testing::run_collect;
    /// let items: Vec<(char, i64)> = vec![('a', 0), ('a', 4), ('b', 8), ('a', 12)];
    /// let out = run_collect(items, |s| {
    ///     let clock = EventClock::new(|v: &(char, i64)| v.1, Duration::ZERO);
    ///     let w = TumblingWindower::new(Duration::from_millis(10), EventTime::EPOCH).unwrap();
    ///     s.count_window("count", clock, w, |v: &(char, i64)| v.0.to_string()).down
    /// });
    /// assert_eq!(out, vec![("a".to_string(), (0, 2)), ("b".to_string(), (0, 1)), ("a".to_string(), (1, 1))]);
    /// ```
    pub fn count_window<K: Key, C: Clock<T>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
        key: impl FnMut(&T) -> K + 'static,
    ) -> WindowOut<'a, K, T, u64> {
        self.key_on(&format!("{step}_key"), key).fold_window(
            step,
            clock,
            windower,
            || 0u64,
            |n: &mut u64, _| *n += 1,
            |a: &mut u64, b| *a += b,
            FoldOrder::ByArrival,
        )
    }
}

impl<'a, K: Key, V: Data, W: Data> Stream<'a, (K, WindowEvent<V, W>)> {
    /// Narrows one partition of the window events to its own type.
    fn unsplit<U: Data>(
        &self,
        step: &str,
        f: impl Fn(WindowEvent<V, W>) -> Option<U> + 'static,
    ) -> Stream<'a, (K, U)> {
        self.filter_map(step, move |(k, e)| f(e).map(|u| (k, u)))
    }
}
