//! The window operators: one [`StatefulLogic`] per key, run through the
//! public [`Stream::stateful`] like any user operator, that holds a clock,
//! a windower and a fold; and the Bytewax-named operators built on it.
//!
//! Per key and value: the clock gives the value's time and the watermark
//! after it; a time below the watermark is late (reported on `late`, never
//! folded). Otherwise, in *ordered* mode (the default for `fold_window` and
//! `collect_window`), the value waits in a small per-key queue until the
//! watermark reaches its time, and is then folded in time order (ties in
//! arrival order) on the key's next value or wake-up (a fold that emits
//! only at close is woken for it no earlier than a window could close);
//! unordered operators fold at once. Windows the watermark
//! closes are emitted on `down` (with their id) and `meta`. At end of input
//! every queued value is folded and every window closes. With an idle
//! timeout (live inputs), a key's logic asks for a wall-clock wake-up
//! ([`Wake::WallClock`]) at its last value plus the timeout, and then
//! closes every window and is discarded.
//!
//! What all keys of a step share (clock and windower configs, the fold's
//! closures, scratch buffers) sits behind one `Rc` that each key's logic
//! points to: 8 bytes per key, never a copy of the closures.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use super::clock::{Clock, ClockLogic};
use super::keyed::Keyed;
use super::slots::Slots;
use super::windower::{Windower, WindowerLogic};
use super::WindowMetadata;
use crate::base::routing::Key;
use crate::dataflow::stateful::{IsComplete, StatefulLogic, Wake};
use crate::dataflow::{Data, Stream};

use crate::dataflow::stateless::Three;

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

/// How a window step folds each window's values, emits from it and merges
/// two windows (Bytewax's `WindowLogic`: `on_value`, `on_merge`,
/// `on_close`). One per step, shared by every key's logic.
pub(crate) trait WindowFold<V>: 'static {
    /// A window's accumulator.
    type Acc: Data;
    /// What the step emits for a window (on `down`).
    type Out: Data;
    /// An empty accumulator, for a window's first value.
    fn build(&mut self) -> Self::Acc;
    /// Adds a value to a window; may emit at once (running joins).
    fn fold(&mut self, acc: &mut Self::Acc, value: V, emit: &mut Vec<Self::Out>);
    /// Merges the later window `from` into the earlier `into` (sessions).
    fn merge(&mut self, into: &mut Self::Acc, from: Self::Acc, emit: &mut Vec<Self::Out>);
    /// The window closed (its extent `meta`): what it emits.
    fn close(&mut self, acc: Self::Acc, meta: &WindowMetadata, emit: &mut Vec<Self::Out>);
    /// Whether `fold` or `merge` may emit. A fold that emits only at close
    /// lets its key fold queued values later (on its next value or
    /// wake-up, still in time order), so the key is woken for them only
    /// when a window could close ([`super::Windower::earliest_close`]).
    fn emits_on_fold(&self) -> bool {
        true
    }
}

/// `fold_window`'s [`WindowFold`]: builder, folder and merger closures;
/// a window emits its accumulator when it closes.
struct FoldFns<B, F, M> {
    builder: B,
    folder: F,
    merger: M,
}

impl<V, A, B, F, M> WindowFold<V> for FoldFns<B, F, M>
where
    A: Data,
    B: FnMut() -> A + 'static,
    F: FnMut(&mut A, V) + 'static,
    M: FnMut(&mut A, A) + 'static,
{
    type Acc = A;
    type Out = A;

    #[inline]
    fn build(&mut self) -> A {
        (self.builder)()
    }

    #[inline]
    fn fold(&mut self, acc: &mut A, value: V, _emit: &mut Vec<A>) {
        (self.folder)(acc, value);
    }

    fn merge(&mut self, into: &mut A, from: A, _emit: &mut Vec<A>) {
        (self.merger)(into, from);
    }

    fn close(&mut self, acc: A, _meta: &WindowMetadata, emit: &mut Vec<A>) {
        emit.push(acc);
    }

    fn emits_on_fold(&self) -> bool {
        false
    }
}

/// [`Stream::fold_window_extent`]'s [`WindowFold`]: [`FoldFns`] whose
/// closed windows come with their extent.
struct WithExtent<F>(F);

impl<V, A, B, F, M> WindowFold<V> for WithExtent<FoldFns<B, F, M>>
where
    A: Data,
    B: FnMut() -> A + 'static,
    F: FnMut(&mut A, V) + 'static,
    M: FnMut(&mut A, A) + 'static,
{
    type Acc = A;
    type Out = (WindowMetadata, A);

    #[inline]
    fn build(&mut self) -> A {
        WindowFold::<V>::build(&mut self.0)
    }

    #[inline]
    fn fold(&mut self, acc: &mut A, value: V, _emit: &mut Vec<Self::Out>) {
        // `FoldFns` emits only at close.
        self.0.fold(acc, value, &mut Vec::new());
    }

    fn merge(&mut self, into: &mut A, from: A, _emit: &mut Vec<Self::Out>) {
        WindowFold::<V>::merge(&mut self.0, into, from, &mut Vec::new());
    }

    fn close(&mut self, acc: A, meta: &WindowMetadata, emit: &mut Vec<Self::Out>) {
        emit.push((meta.clone(), acc));
    }

    fn emits_on_fold(&self) -> bool {
        false
    }
}

/// What a window step shares between its keys: the clock and windower
/// configs, the fold, and scratch buffers. Each key's logic holds an `Rc`
/// to it (8 bytes), never a copy.
struct Shared<C, Wr, V, Fo: WindowFold<V>> {
    clock: C,
    windower: Wr,
    ordered: bool,
    fold: Fo,
    ids: Vec<i64>,
    merges: Vec<(i64, i64)>,
    closed: Vec<(i64, WindowMetadata)>,
    emit: Vec<Fo::Out>,
    /// What the current call emits, in reverse order (the last event
    /// first), handed to the step by [`Emits`], which pops from the end.
    out: Vec<WindowEvent<V, Fo::Out>>,
}

/// A window step's [`Shared`] half with what every call only reads kept
/// outside the `RefCell`: asking for a wake-up after each value borrows
/// nothing.
struct Step<C, Wr, V, Fo: WindowFold<V>> {
    /// The clock's idle timeout (copied from it: fixed for the run).
    idle: Option<Duration>,
    cell: RefCell<Shared<C, Wr, V, Fo>>,
}

/// The per-key [`StatefulLogic`] of every window operator: the key's clock,
/// windows, accumulators and (ordered folds) queued values, with an `Rc`
/// to the step's [`Shared`] half. Not boxed: the keyed core boxes each
/// key's state together with its key (one allocation per key), and its
/// table holds one pointer per slot.
struct KeyWindows<C: Clock<V>, Wr: Windower, V, Fo: WindowFold<V>>(KeyState<C, Wr, V, Fo>);

/// A key's window state. The usual single open window and its
/// accumulator are inline and an empty queue is one null pointer, so a key
/// with one open window is one allocation (with its key, in the keyed
/// core's table).
struct KeyState<C: Clock<V>, Wr: Windower, V, Fo: WindowFold<V>> {
    shared: Rc<Step<C, Wr, V, Fo>>,
    data: KeyData<C, Wr, V, Fo>,
}

/// A key's own window data: [`KeyState`] less the shared pointer, so that
/// a call borrows the step's half and the key's data side by side (no
/// `Rc` clone per value).
struct KeyData<C: Clock<V>, Wr: Windower, V, Fo: WindowFold<V>> {
    clock: C::Logic,
    windower: Wr::Logic,
    accs: Slots<(i64, Fo::Acc)>,
    // Boxed on purpose: 8 bytes per key, not a 32-byte empty `VecDeque`.
    #[allow(clippy::box_collection)]
    queue: Option<Box<VecDeque<(i64, V)>>>,
    /// The progress of the pending wake-up asked for (`i64::MIN`: none).
    /// While the key's next deadline is not before it, the same wake-up is
    /// asked for again, so the keyed core's wake-up set is not touched per
    /// value; when it comes early, the key closes nothing and asks again.
    asked: Cell<i64>,
}

/// Where a window step's calls append their events.
type Out<V, Fo> = Vec<WindowEvent<V, <Fo as WindowFold<V>>::Out>>;

/// A key's window state as a snapshot holds it: clock, windower,
/// accumulators, queue (the form the keyed window state always had).
type Saved<WL, V, A> = ((i64, i64), WL, Slots<(i64, A)>, VecDeque<(i64, V)>);

/// What one call of a key's window logic emits: drained from the step's
/// shared buffer (kept in reverse, popped from the end), so an emitting
/// call allocates nothing.
struct Emits<'s, C, Wr, V, Fo: WindowFold<V>>(std::cell::RefMut<'s, Shared<C, Wr, V, Fo>>);

impl<C, Wr, V, Fo: WindowFold<V>> Iterator for Emits<'_, C, Wr, V, Fo> {
    type Item = WindowEvent<V, Fo::Out>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.0.out.pop()
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0.out.len(), Some(self.0.out.len()))
    }
}

impl<C, Wr, V, Fo: WindowFold<V>> Drop for Emits<'_, C, Wr, V, Fo> {
    /// What the step did not take is not the next key's to emit.
    fn drop(&mut self) {
        self.0.out.clear();
    }
}

impl<C, Wr, V, Fo> KeyData<C, Wr, V, Fo>
where
    C: Clock<V>,
    Wr: Windower,
    V: Data,
    Fo: WindowFold<V>,
{
    /// Puts a value into its windows and applies the merges this caused.
    fn insert(&mut self, sh: &mut Shared<C, Wr, V, Fo>, time: i64, value: V, out: &mut Out<V, Fo>) {
        sh.ids.clear();
        sh.windower
            .open_for(&mut self.windower, time, &mut sh.ids, &mut sh.merges);
        let mut value = Some(value);
        let n = sh.ids.len();
        for i in 0..n {
            let id = sh.ids[i];
            let v = if i + 1 == n { value.take() } else { value.clone() };
            let Some(v) = v else { break };
            let at = match self.accs.as_slice().iter().position(|(w, _)| *w == id) {
                Some(at) => at,
                None => {
                    self.accs.push((id, sh.fold.build()));
                    self.accs.len() - 1
                }
            };
            sh.fold.fold(&mut self.accs.as_mut_slice()[at].1, v, &mut sh.emit);
            sh.emit_down(id, out);
        }
        let mut merges = std::mem::take(&mut sh.merges);
        for (from, into) in merges.drain(..) {
            let Some(at) = self.accs.as_slice().iter().position(|(w, _)| *w == from) else {
                continue;
            };
            let (_, absorbed) = self.accs.remove(at);
            match self.accs.as_mut_slice().iter_mut().find(|(w, _)| *w == into) {
                Some((_, target)) => sh.fold.merge(target, absorbed, &mut sh.emit),
                None => self.accs.push((into, absorbed)),
            }
            sh.emit_down(into, out);
        }
        sh.merges = merges;
    }

    /// Folds queued values the watermark has reached (all at `i64::MAX`).
    fn flush(&mut self, sh: &mut Shared<C, Wr, V, Fo>, watermark: i64, out: &mut Out<V, Fo>) {
        while let Some(queue) = self.queue.as_mut() {
            if queue.front().is_none_or(|(t, _)| *t > watermark) {
                break;
            }
            if let Some((t, v)) = queue.pop_front() {
                self.insert(sh, t, v, out);
            }
        }
    }

    /// Emits the windows the watermark closes.
    fn close(&mut self, sh: &mut Shared<C, Wr, V, Fo>, watermark: i64, out: &mut Out<V, Fo>) {
        sh.windower
            .close_for(&mut self.windower, watermark, &mut sh.closed);
        let mut closed = std::mem::take(&mut sh.closed);
        for (id, meta) in closed.drain(..) {
            let acc = match self.accs.as_slice().iter().position(|(w, _)| *w == id) {
                Some(at) => self.accs.remove(at).1,
                None => sh.fold.build(),
            };
            sh.fold.close(acc, &meta, &mut sh.emit);
            sh.emit_down(id, out);
            out.push(WindowEvent::Meta(id, meta));
        }
        sh.closed = closed;
    }

    /// Takes one value at input progress `progress` (what `on_item` does,
    /// `sh` borrowed).
    fn take(&mut self, sh: &mut Shared<C, Wr, V, Fo>, value: V, progress: Option<i64>, out: &mut Out<V, Fo>) {
        let (time, watermark) = sh.clock.on_item(&mut self.clock, &value, progress);
        if time < watermark {
            sh.ids.clear();
            sh.windower.late_for(&self.windower, time, &mut sh.ids);
            let n = sh.ids.len();
            let mut value = Some(value);
            for i in 0..n {
                let v = if i + 1 == n { value.take() } else { value.clone() };
                if let Some(v) = v {
                    out.push(WindowEvent::Late(sh.ids[i], v));
                }
            }
        } else if sh.ordered {
            // Keep the queue in (time, arrival) order.
            let queue = self.queue.get_or_insert_with(Default::default);
            let at = queue.partition_point(|(t, _)| *t <= time);
            queue.insert(at, (time, value));
            self.flush(sh, watermark, out);
        } else {
            self.insert(sh, time, value, out);
        }
        self.close(sh, watermark, out);
        self.tidy();
    }

    /// The input's progress reached `progress` without a value of the key:
    /// folds the queued values and closes the windows its watermark
    /// reaches then.
    fn advance(&mut self, sh: &mut Shared<C, Wr, V, Fo>, progress: i64, out: &mut Out<V, Fo>) {
        let watermark = sh.clock.watermark_at(&self.clock, progress);
        self.flush(sh, watermark, out);
        self.close(sh, watermark, out);
        self.tidy();
    }

    /// Drops an emptied queue; an idle key keeps only its clock and window
    /// counter.
    fn tidy(&mut self) {
        if self.queue.as_ref().is_some_and(|q| q.is_empty()) {
            self.queue = None;
        }
        if self.accs.is_empty() && self.windower.is_empty() {
            self.accs.shrink();
            self.windower.shrink();
        }
    }

    /// Whether nothing is open or queued: a key whose watermark follows the
    /// input is then released.
    fn is_idle(&self) -> bool {
        self.queue.is_none() && self.accs.is_empty() && self.windower.is_empty()
    }

    /// The input progress at which the key next has something to do
    /// without a value of its own: its watermark reaches the first queued
    /// value's time or the next window's close (`None`: never, or the
    /// clock does not follow the input).
    fn due(&self, sh: &Shared<C, Wr, V, Fo>) -> Option<i64> {
        let close = sh.windower.next_close(&self.windower);
        let queued = self.queue.as_ref().and_then(|q| q.front()).map(|&(t, _)| {
            if sh.fold.emits_on_fold() {
                t
            } else {
                sh.windower.earliest_close(t)
            }
        });
        let target = match (close, queued) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        sh.clock.progress_for(&self.clock, target)
    }

    /// Whether the key's watermark follows the input's progress.
    fn follows(&self, sh: &Shared<C, Wr, V, Fo>) -> bool {
        sh.clock.progress_for(&self.clock, i64::MIN).is_some()
    }
}

impl<C, Wr, V, Fo> KeyState<C, Wr, V, Fo>
where
    C: Clock<V>,
    Wr: Windower,
    V: Data,
    Fo: WindowFold<V>,
{
    /// Takes one value at input progress `progress`, appending what it
    /// emits to `out`; whether to keep the key.
    #[inline]
    fn take_into(&mut self, value: V, progress: Option<i64>, out: &mut Out<V, Fo>) -> IsComplete {
        let mut sh = self.shared.cell.borrow_mut();
        self.data.take(&mut sh, value, progress, out);
        self.release(&sh)
    }

    /// The input's progress reached `progress` (a wake-up): appends what
    /// closes to `out`; whether to keep the key.
    fn advance_into(&mut self, progress: i64, out: &mut Out<V, Fo>) -> IsComplete {
        let mut sh = self.shared.cell.borrow_mut();
        self.data.advance(&mut sh, progress, out);
        self.release(&sh)
    }

    /// Releases a key with nothing open whose watermark follows the input
    /// (its next value starts it afresh); keeps any other.
    #[inline]
    fn release(&self, sh: &Shared<C, Wr, V, Fo>) -> IsComplete {
        if self.data.is_idle() && self.data.follows(sh) {
            IsComplete::Discard
        } else {
            IsComplete::Retain
        }
    }

    /// Takes one value: what it emits.
    fn take(&mut self, value: V) -> Emits<'_, C, Wr, V, Fo> {
        let mut sh = self.shared.cell.borrow_mut();
        let mut out = std::mem::take(&mut sh.out);
        self.data.take(&mut sh, value, None, &mut out);
        out.reverse();
        sh.out = out;
        Emits(sh)
    }

    /// Folds every queued value and closes every window (end of input, or
    /// an idle key's timeout).
    fn finish(&mut self) -> Emits<'_, C, Wr, V, Fo> {
        let mut sh = self.shared.cell.borrow_mut();
        let mut out = std::mem::take(&mut sh.out);
        self.data.flush(&mut sh, i64::MAX, &mut out);
        self.data.close(&mut sh, i64::MAX, &mut out);
        out.reverse();
        sh.out = out;
        Emits(sh)
    }
}

impl<C, Wr, V, Fo: WindowFold<V>> Shared<C, Wr, V, Fo> {
    /// Moves what the fold emitted for window `id` to `out`.
    #[inline]
    fn emit_down(&mut self, id: i64, out: &mut Out<V, Fo>) {
        if self.emit.is_empty() {
            return;
        }
        for o in self.emit.drain(..) {
            out.push(WindowEvent::Down(id, o));
        }
    }
}

impl<C, Wr, V, Fo> StatefulLogic<V> for KeyWindows<C, Wr, V, Fo>
where
    C: Clock<V>,
    Wr: Windower,
    V: Data,
    Fo: WindowFold<V>,
{
    type Out = WindowEvent<V, Fo::Out>;
    type State = Saved<Wr::Logic, V, Fo::Acc>;

    fn on_item(&mut self, value: V) -> (impl IntoIterator<Item = Self::Out>, IsComplete) {
        (self.0.take(value), IsComplete::Retain)
    }

    #[inline]
    fn on_item_into(&mut self, value: V, out: &mut Vec<Self::Out>) -> IsComplete {
        self.0.take_into(value, None, out)
    }

    #[inline]
    fn on_item_at(&mut self, value: V, progress: Option<i64>, out: &mut Vec<Self::Out>) -> IsComplete {
        self.0.take_into(value, progress, out)
    }

    fn on_notify_at(&mut self, progress: Option<i64>, out: &mut Vec<Self::Out>) -> IsComplete {
        self.0.data.asked.set(i64::MIN);
        match progress {
            // The input's progress brought the key's watermark to a close.
            Some(p) => self.0.advance_into(p, out),
            // A wall-clock wake-up: the idle timeout.
            None => {
                let (emits, complete) = self.on_notify();
                out.extend(emits);
                complete
            }
        }
    }

    fn on_notify(&mut self) -> (impl IntoIterator<Item = Self::Out>, IsComplete) {
        // The idle timeout: close everything and forget the key, clock
        // included, so memory stays bounded by the keys seen within the
        // timeout.
        (self.0.finish(), IsComplete::Discard)
    }

    fn on_eof(&mut self) -> (impl IntoIterator<Item = Self::Out>, IsComplete) {
        (self.0.finish(), IsComplete::Discard)
    }

    #[inline]
    fn notify_at(&self) -> Option<Wake> {
        let sh = self.0.shared.cell.borrow();
        if let Some(idle) = self.0.shared.idle {
            let seen = sh.clock.last_seen(&self.0.data.clock)?;
            return Some(Wake::WallClock(seen + idle));
        }
        let due = self.0.data.due(&sh);
        self.0.data.asked.set(due.unwrap_or(i64::MIN));
        due.map(Wake::At)
    }

    #[inline]
    fn notify_at_after_item(&self) -> Option<Option<Wake>> {
        if self.0.shared.idle.is_some() {
            return Some(self.notify_at());
        }
        let due = self.0.data.due(&self.0.shared.cell.borrow());
        let asked = self.0.data.asked.get();
        match due {
            // The pending wake-up comes no later than needed: it stands.
            Some(due) if asked != i64::MIN && asked <= due => None,
            due => {
                self.0.data.asked.set(due.unwrap_or(i64::MIN));
                Some(due.map(Wake::At))
            }
        }
    }

    fn snapshot(&self) -> Self::State {
        let st = &self.0.data;
        let queue = st.queue.as_deref().cloned().unwrap_or_default();
        (st.clock.save(), st.windower.clone(), st.accs.clone(), queue)
    }
}

impl<C, Wr, V, Fo> KeyWindows<C, Wr, V, Fo>
where
    C: Clock<V>,
    Wr: Windower,
    V: Data,
    Fo: WindowFold<V>,
{
    /// A key's logic: fresh, or from a snapshot.
    fn build(shared: &Rc<Step<C, Wr, V, Fo>>, resume: Option<Saved<Wr::Logic, V, Fo::Acc>>) -> Self {
        let sh = shared.cell.borrow();
        let (clock, windower, accs, queue) = match resume {
            Some((clock, windower, accs, queue)) => (
                sh.clock.restore(clock),
                windower,
                accs,
                (!queue.is_empty()).then(|| Box::new(queue)),
            ),
            None => (sh.clock.build(), sh.windower.build(), Slots::default(), None),
        };
        KeyWindows(KeyState {
            shared: Rc::clone(shared),
            data: KeyData {
                clock,
                windower,
                accs,
                queue,
                asked: Cell::new(i64::MIN),
            },
        })
    }
}

impl<'a, K: Key, V: Data> Stream<'a, (K, V)> {
    /// The window step: one [`KeyWindows`] per key through
    /// [`Stream::stateful`] (the public path), split into [`WindowOut`].
    pub(crate) fn window_step<C, Wr, Fo>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
        fold: Fo,
        order: FoldOrder,
    ) -> WindowOut<'a, K, V, Fo::Out>
    where
        C: Clock<V>,
        Wr: Windower,
        Fo: WindowFold<V>,
    {
        let idle = clock.idle_timeout();
        let shared = Rc::new(Step {
            idle,
            cell: RefCell::new(Shared {
                clock,
                windower,
                ordered: order == FoldOrder::ByTime,
                fold,
                ids: Vec::new(),
                merges: Vec::new(),
                closed: Vec::new(),
                emit: Vec::new(),
                out: Vec::new(),
            }),
        });
        let events = self.stateful(step, move |resume| KeyWindows::build(&shared, resume));
        // Split into the three typed streams in one operator.
        let (down, late, meta) = events.split3(&format!("{step}_split"), |(k, e)| match e {
            WindowEvent::Down(id, w) => Three::First((k, (id, w))),
            WindowEvent::Late(id, v) => Three::Second((k, (id, v))),
            WindowEvent::Meta(id, m) => Three::Third((k, (id, m))),
        });
        WindowOut { down, late, meta }
    }
}

/// The bytes one key of a [`Stream::fold_window`] step holds: its table
/// entry in the keyed core (the key and its window state, one allocation;
/// the allocator rounds it up to a size class), for keys `K`, values `V`,
/// accumulators `A`. What a tracked key costs, less the table's pointer
/// (8 bytes and a control byte per slot).
pub fn fold_window_key_bytes<K: Key, V: Data, A: Data, C: Clock<V>, Wr: Windower>() -> usize {
    type Fns<V, A> = FoldFns<fn() -> A, fn(&mut A, V), fn(&mut A, A)>;
    crate::dataflow::stateful::key_bytes::<K, KeyWindows<C, Wr, V, Fns<V, A>>>()
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

impl<'a, T: Data> Stream<'a, T> {
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
    pub fn fold_window<K: Key, V: Data, A: Data, C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
        builder: impl FnMut() -> A + 'static,
        folder: impl FnMut(&mut A, V) + 'static,
        merger: impl FnMut(&mut A, A) + 'static,
        order: FoldOrder,
    ) -> WindowOut<'a, K, V, A>
    where
        T: Keyed<K, V>,
    {
        let s = T::keyed(self);
        s.window_step(
            step,
            clock,
            windower,
            FoldFns {
                builder,
                folder,
                merger,
            },
            order,
        )
    }

    /// [`Stream::fold_window`] whose closed windows come with their extent:
    /// `down` is `(key, (window id, (metadata, result)))`, so that the
    /// window's open and close times (and merged ids) travel with its result
    /// instead of being joined from `meta`. The other window operators are
    /// folds, and have this form through it (a count: `|| 0`, `|n, _| *n +=
    /// 1`, `|a, b| *a += b`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy::window::{EventClock, FoldOrder, SessionWindower};
    /// # use eddy::testing::run_collect;
    /// let out = run_collect(vec![("a".to_string(), 1_000i64), ("a".into(), 4_000)], |s| {
    ///     let clock = EventClock::new(|v: &i64| *v, Duration::ZERO);
    ///     s.fold_window_extent("count", clock, SessionWindower::new(Duration::from_secs(10)),
    ///                          || 0u64, |n, _| *n += 1, |a, b| *a += b, FoldOrder::ByArrival)
    ///      .down
    ///      .map("show", |(k, (id, (meta, n)))| (k, id, meta.open_time, meta.close_time, n))
    /// });
    /// assert_eq!(out, vec![("a".to_string(), 0, 1_000, 4_000, 2)]);
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn fold_window_extent<K: Key, V: Data, A: Data, C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
        builder: impl FnMut() -> A + 'static,
        folder: impl FnMut(&mut A, V) + 'static,
        merger: impl FnMut(&mut A, A) + 'static,
        order: FoldOrder,
    ) -> WindowOut<'a, K, V, (WindowMetadata, A)>
    where
        T: Keyed<K, V>,
    {
        let s = T::keyed(self);
        s.window_step(
            step,
            clock,
            windower,
            WithExtent(FoldFns {
                builder,
                folder,
                merger,
            }),
            order,
        )
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
    pub fn collect_window<K: Key, V: Data, C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
    ) -> WindowOut<'a, K, V, Vec<V>>
    where
        T: Keyed<K, V>,
    {
        let s = T::keyed(self);
        s.fold_window(
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
    pub fn reduce_window<K: Key, V: Data, C: Clock<V>, Wr: Windower>(
        &self,
        step: &str,
        clock: C,
        windower: Wr,
        reducer: impl FnMut(V, V) -> V + Clone + 'static,
    ) -> WindowOut<'a, K, V, V>
    where
        T: Keyed<K, V>,
    {
        let s = T::keyed(self);
        let mut merge_reducer = reducer.clone();
        let mut fold_reducer = reducer;
        let out = s.fold_window(
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::window::{EventClock, SessionWindower};

    type Sum = FoldFns<fn() -> i64, fn(&mut i64, i64), fn(&mut i64, i64)>;
    type Logic = KeyWindows<EventClock<i64>, SessionWindower, i64, Sum>;
    type SharedStep = Rc<Step<EventClock<i64>, SessionWindower, i64, Sum>>;

    fn shared(idle: Option<Duration>) -> SharedStep {
        let mut clock = EventClock::new(|t: &i64| *t, Duration::from_millis(5));
        if let Some(idle) = idle {
            clock = clock.idle_timeout(idle);
        }
        Rc::new(Step {
            idle,
            cell: RefCell::new(Shared {
                clock,
                windower: SessionWindower::new(Duration::from_millis(10)),
                ordered: true,
                fold: FoldFns {
                    builder: (|| 0) as fn() -> i64,
                    folder: (|a: &mut i64, v: i64| *a += v) as fn(&mut i64, i64),
                    merger: (|a: &mut i64, b: i64| *a += b) as fn(&mut i64, i64),
                },
                ids: Vec::new(),
                merges: Vec::new(),
                closed: Vec::new(),
                emit: Vec::new(),
                out: Vec::new(),
            }),
        })
    }

    fn downs(events: impl IntoIterator<Item = WindowEvent<i64, i64>>) -> Vec<(i64, i64)> {
        events
            .into_iter()
            .filter_map(|e| match e {
                WindowEvent::Down(id, sum) => Some((id, sum)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_keys_logic_shares_the_steps_closures() {
        // The step's table entry holds `Option<logic>`: no room for the
        // `None` (the shared pointer's niche).
        assert_eq!(std::mem::size_of::<Option<Logic>>(), std::mem::size_of::<Logic>());
        // A key of a session step summing `i64`s: its key (24 bytes), the
        // shared pointer, clock (16), windower (40: one session inline),
        // one accumulator inline with its window id, the queue pointer, the
        // pending wake-up (8).
        let bytes =
            fold_window_key_bytes::<compact_str::CompactString, i64, i64, EventClock<i64>, SessionWindower>();
        assert!(bytes <= 128, "{bytes} bytes per key");
        let sh = shared(None);
        let a = Logic::build(&sh, None);
        let b = Logic::build(&sh, None);
        assert!(Rc::ptr_eq(&a.0.shared, &b.0.shared));
        assert_eq!(Rc::strong_count(&sh), 3);
    }

    #[test]
    fn a_snapshot_resumes_with_the_same_windows_and_queue() {
        let sh = shared(None);
        let mut logic = Logic::build(&sh, None);
        for t in [100, 103, 101] {
            assert!(downs(logic.on_item(t).0).is_empty());
        }
        let saved = logic.snapshot();
        // Queued values (within the 5 ms wait) are in the snapshot, in time
        // order.
        assert_eq!(
            saved.3.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            vec![100, 101, 103]
        );
        let mut resumed = Logic::build(&sh, Some(saved));
        // A value past the session's gap closes it, in both.
        assert_eq!(downs(logic.on_item(200).0), vec![(0, 304)]);
        assert_eq!(downs(resumed.on_item(200).0), vec![(0, 304)]);
        assert_eq!(downs(resumed.on_eof().0), vec![(1, 200)]);
    }

    #[test]
    fn on_item_into_emits_what_on_item_emits_in_the_same_order() {
        fn show(events: impl IntoIterator<Item = WindowEvent<i64, i64>>) -> Vec<String> {
            events.into_iter().map(|e| format!("{e:?}")).collect()
        }
        let sh = shared(None);
        let (mut by_iter, mut by_push) = (Logic::build(&sh, None), Logic::build(&sh, None));
        let mut seen = String::new();
        // Queued, merged, closed (down and meta), then late values.
        for t in [100, 103, 101, 200, 120, 500, 300, 90] {
            let want = show(by_iter.on_item(t).0);
            let mut got = vec![WindowEvent::Down(-1, -1)];
            assert_eq!(by_push.on_item_into(t, &mut got), IsComplete::Retain);
            // Appended after what `out` held.
            assert_eq!(show(got.drain(1..)), want, "value {t}");
            seen.extend(want);
        }
        for kind in ["Down(", "Late(", "Meta("] {
            assert!(seen.contains(kind), "{kind} never emitted: {seen}");
        }
        assert_eq!(show(by_iter.on_eof().0), show(by_push.on_eof().0));
    }

    #[test]
    fn an_idle_timeout_asks_for_a_wall_clock_wake_up_that_closes_everything() {
        assert_eq!(Logic::build(&shared(None), None).notify_at(), None);
        let sh = shared(Some(Duration::from_secs(30)));
        let mut logic = Logic::build(&sh, None);
        let _ = downs(logic.on_item(100).0);
        let seen = logic
            .0
            .shared
            .cell
            .borrow()
            .clock
            .last_seen(&logic.0.data.clock)
            .expect("tracked with an idle timeout");
        assert_eq!(
            logic.notify_at(),
            Some(Wake::WallClock(seen + Duration::from_secs(30)))
        );
        let (events, complete) = logic.on_notify();
        assert_eq!(downs(events), vec![(0, 100)]);
        assert_eq!(complete, IsComplete::Discard);
    }
}
