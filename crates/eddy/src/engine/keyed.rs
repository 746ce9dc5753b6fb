//! The keyed stateful core: every stateful operator (stateful_map, the
//! `_final` folds, windows) is this operator with different logic.
//!
//! Records are exchanged to the worker that owns their key, held until the
//! input frontier has passed their tag, then taken in canonical `(tag, pos)`
//! order — so each key sees its values in an order that does not depend on
//! the number of workers, batch sizes or timing. State lives in one map per
//! operator, keyed by `K`; logic that leaves a key's state `None` drops it.
//! At end of input the remaining keys are finished in slices of the hash
//! space (in key order within a slice), at most [`EOF_KEYS_PER_ACTIVATION`]
//! keys per activation: each slice's values are tagged with the slice's
//! end-of-input tag ([`eof_tag`]) and the capability steps up to it, so that
//! later steps and outputs take them a slice at a time instead of the whole
//! burst at once. Until then the capability stays at or below `EOF_BASE`,
//! so that a keyed step downstream of another can still finish its keys in
//! slices after it.
//!
//! Logic may also ask to be woken ([`KeyedLogic::notify_at`], the open
//! `stateful` operator's contract): at an event time (deterministic: the
//! wake-up takes its place in the canonical order, after the key's records
//! up to that time), or at a wall-clock instant (live inputs only). Pending
//! wake-ups sit in ordered sets of `(time, key)`, so finding the due ones is
//! O(log n), not a scan of every key.
//!
//! With recovery on, the operator also reads the control stream: when its
//! frontier passes a snapshot's mark it takes the records below the mark,
//! writes every key's state (re-routable by key hash, so a resume may use
//! another worker count), then goes on.

use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasherDefault;
use std::time::Instant;

use rustc_hash::FxHasher;
use timely::dataflow::channels::pact::{ExchangeCore, Pipeline};
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;

use crate::base::record::{eof_tag, time_mark, Rec, EOF_BASE};
use crate::base::routing::{owner, Key};
use crate::base::Data;
use crate::engine::batcher::Batcher;
use crate::engine::control::snapshot_error;
use crate::engine::ctx::{FlowCtx, Scope};
use crate::engine::failure::StepScope;
use crate::engine::gate::{Drained, Gate};
use crate::engine::signal::Control;
use crate::engine::signal::{least, low};
use crate::error::{CodecError, RecoveryError};

use crate::recovery::codec;

/// Per-key map with a fast hasher.
pub type StateMap<K, S> = HashMap<K, S, BuildHasherDefault<FxHasher>>;

/// A key and its state: one allocation per tracked key.
struct Entry<K, S> {
    key: K,
    state: Option<S>,
}

/// The keyed core's state table: each key's state boxed together with
/// its key, the table holding one pointer per slot (8 bytes and a control
/// byte; hashbrown's slots are 1.1–2.3× the keys, it doubles). A key
/// inline in the table instead costs its size at that factor: a 24-byte
/// `CompactString` key and a state pointer were ~70 bytes per key at a
/// million keys; a pointer is ~19. Lookups compare keys in the box, which
/// the call that follows reads anyway.
struct KeyTable<K, S> {
    table: hashbrown::HashTable<Box<Entry<K, S>>>,
}

impl<K, S> Default for KeyTable<K, S> {
    fn default() -> Self {
        KeyTable {
            table: hashbrown::HashTable::new(),
        }
    }
}

/// A key's hash in the state table (not its routing hash).
#[inline]
fn table_hash<K: std::hash::Hash>(key: &K) -> u64 {
    use std::hash::BuildHasher;
    BuildHasherDefault::<FxHasher>::default().hash_one(key)
}

impl<K: Key, S> KeyTable<K, S> {
    /// The number of keys held.
    fn len(&self) -> usize {
        self.table.len()
    }

    /// A held key's state slot.
    #[inline]
    fn get_mut(&mut self, key: &K) -> Option<&mut Option<S>> {
        self.table
            .find_mut(table_hash(key), |e| e.key == *key)
            .map(|e| &mut e.state)
    }

    /// Holds `key` (not held yet) with `state`.
    #[inline]
    fn insert(&mut self, key: K, state: Option<S>) {
        let hash = table_hash(&key);
        self.table
            .insert_unique(hash, Box::new(Entry { key, state }), |e| table_hash(&e.key));
    }

    /// Forgets `key`, if held.
    fn remove(&mut self, key: &K) {
        if let Ok(entry) = self.table.find_entry(table_hash(key), |e| e.key == *key) {
            entry.remove();
        }
    }

    /// Every key and its state slot, in no order.
    fn iter(&self) -> impl Iterator<Item = (&K, &Option<S>)> {
        self.table.iter().map(|e| (&e.key, &e.state))
    }

    /// Holds `key` with `state`, replacing what it had.
    fn put(&mut self, key: K, state: Option<S>) {
        match self.get_mut(&key) {
            Some(slot) => *slot = state,
            None => self.insert(key, state),
        }
    }

    /// Every held key with a state, still boxed, the table freed.
    fn into_entries(self) -> impl Iterator<Item = Box<Entry<K, S>>> {
        self.table.into_iter().filter(|e| e.state.is_some())
    }
}

/// The bytes of one key's table entry (its box: key and state) for state
/// `S`, before the allocator rounds it up to a size class.
pub(crate) const fn entry_bytes<K, S>() -> usize {
    std::mem::size_of::<Entry<K, S>>()
}

/// How many keys a keyed step finishes per activation at end of input;
/// between activations the values emitted so far drain downstream.
pub const EOF_KEYS_PER_ACTIVATION: usize = 4096;

/// A held key at end of input: its end-of-input tag and its entry.
type ClosingKey<K, S> = (u64, Box<Entry<K, S>>);

/// The keys left to finish at end of input, by end-of-input tag then key
/// (still in their boxes: 16 bytes per key beside them).
type Closing<K, S> = std::iter::Peekable<std::vec::IntoIter<ClosingKey<K, S>>>;

pub use crate::base::Wake;

/// What a keyed operator does with one key's values.
pub trait KeyedLogic<K, V, O>: 'static {
    /// The per-key state.
    type State;

    /// Whether the logic ever asks for wake-ups ([`KeyedLogic::notify_at`]);
    /// `false` (the default) skips their bookkeeping.
    const WAKES: bool = false;

    /// Appends the encoding of a key's state, for a snapshot.
    fn save(&self, state: &Self::State, out: &mut Vec<u8>) -> Result<(), CodecError>;

    /// Rebuilds a key's state from what [`KeyedLogic::save`] wrote.
    fn load(&mut self, bytes: &[u8]) -> Result<Self::State, CodecError>;

    /// Takes one value of `key`, in canonical order, at progress mark
    /// `mark` (the record's tag: every record with a lower tag has been
    /// taken). `state` is `None` for a key with no state yet; leaving it
    /// `None` drops the key's state. Emitted values go to `out`.
    fn on_value(&mut self, key: &K, state: &mut Option<Self::State>, value: V, mark: u64, out: &mut Vec<O>);

    /// End of input: the key's last state; emit what is left.
    fn on_eof(&mut self, key: &K, state: Self::State, out: &mut Vec<O>);

    /// When the key wants [`KeyedLogic::on_notify`] next (asked after every
    /// call that leaves the key's state in place; only with `WAKES`).
    fn notify_at(&self, _state: &Self::State) -> Option<Wake> {
        None
    }

    /// What the key wants after a value: [`Want::Kept`] when its pending
    /// wake-up stands (the wake-up set is not touched), else what
    /// [`KeyedLogic::notify_at`] answers (the default).
    fn want_after_value(&self, state: &Self::State) -> Want {
        Want::Asked(self.notify_at(state))
    }

    /// The wake-up asked for with [`KeyedLogic::notify_at`] is due, at
    /// progress mark `mark` (`None` for a wall-clock one); leaving the state
    /// `None` drops the key's state.
    fn on_notify(
        &mut self,
        _key: &K,
        _state: &mut Option<Self::State>,
        _mark: Option<u64>,
        _out: &mut Vec<O>,
    ) {
    }
}

/// What a key wants after a value.
pub(crate) enum Want {
    /// Its pending wake-up, as it is.
    Kept,
    /// This one (`None`: none).
    Asked(Option<Wake>),
}

/// A scheduled wake-up: an effective progress mark, or a wall-clock instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sched {
    At(u64),
    Wall(Instant),
}

/// The pending wake-ups of one keyed operator, ordered by time then key.
struct Wakes<K> {
    by_mark: BTreeSet<(u64, K)>,
    by_wall: BTreeSet<(Instant, K)>,
    of_key: StateMap<K, Sched>,
}

impl<K: Key> Wakes<K> {
    fn new() -> Self {
        Wakes {
            by_mark: BTreeSet::new(),
            by_wall: BTreeSet::new(),
            of_key: StateMap::default(),
        }
    }

    /// Schedules `key` at `want` (`None`: no wake-up), replacing what it had.
    /// Inlined: the common call (nothing wanted, nothing pending) is one
    /// test at the call site, once per record.
    #[inline]
    fn set(&mut self, key: &K, want: Option<Sched>) {
        if want.is_none() && self.of_key.is_empty() {
            return;
        }
        self.replace(key, want);
    }

    /// [`Wakes::set`] past its fast path.
    #[inline(never)]
    fn replace(&mut self, key: &K, want: Option<Sched>) {
        let current = self.of_key.get(key).copied();
        if current == want {
            return;
        }
        match current {
            Some(Sched::At(m)) => {
                self.by_mark.remove(&(m, key.clone()));
            }
            Some(Sched::Wall(i)) => {
                self.by_wall.remove(&(i, key.clone()));
            }
            None => {}
        }
        match want {
            Some(s) => {
                match s {
                    Sched::At(m) => self.by_mark.insert((m, key.clone())),
                    Sched::Wall(i) => self.by_wall.insert((i, key.clone())),
                };
                self.of_key.insert(key.clone(), s);
            }
            None => {
                self.of_key.remove(key);
            }
        }
    }

    /// The earliest event-time wake-up below `bound` (`None`: no bound),
    /// removed.
    #[inline]
    fn pop_mark_below(&mut self, bound: Option<u64>) -> Option<(u64, K)> {
        let &(m, _) = self.by_mark.first()?;
        if bound.is_some_and(|b| m >= b) {
            return None;
        }
        let (m, key) = self.by_mark.pop_first()?;
        self.of_key.remove(&key);
        Some((m, key))
    }

    /// Whether an event-time wake-up is due below `bound`.
    fn any_mark_below(&self, bound: Option<u64>) -> bool {
        self.by_mark
            .first()
            .is_some_and(|&(m, _)| bound.is_none_or(|b| m < b))
    }

    /// Every wall-clock wake-up due at `now`, removed.
    fn pop_wall_due(&mut self, now: Instant, due: &mut Vec<K>) {
        while self.by_wall.first().is_some_and(|(i, _)| *i <= now) {
            if let Some((_, key)) = self.by_wall.pop_first() {
                self.of_key.remove(&key);
                due.push(key);
            }
        }
    }

    /// The next wall-clock wake-up.
    fn next_wall(&self) -> Option<Instant> {
        self.by_wall.first().map(|(i, _)| *i)
    }
}

/// Where a key's wake-up goes after a call at progress mark `at`: an event
/// time takes effect no earlier than `at` (a time already passed wakes the
/// key right after the records at `at`); after a notification (`strict`),
/// a time not later than `at` has been notified and is dropped.
fn sched(want: Option<Wake>, at: u64, strict: bool) -> Option<Sched> {
    match want? {
        Wake::At(ms) => {
            let m = time_mark(ms);
            if strict {
                (m > at).then_some(Sched::At(m))
            } else {
                Some(Sched::At(m.max(at)))
            }
        }
        Wake::WallClock(i) => Some(Sched::Wall(i)),
    }
}

/// Builds the keyed operator named `name` over `stream`.
pub fn keyed<'a, K, V, O, L>(
    stream: &StreamVec<'a, u64, Rec<(K, V)>>,
    control: &Control<'a>,
    ctx: &FlowCtx,
    name: &str,
    mut logic: L,
) -> StreamVec<'a, u64, Rec<(K, O)>>
where
    K: Key,
    V: Data,
    O: Data,
    L: KeyedLogic<K, V, O>,
{
    let mut states: KeyTable<K, L::State> = KeyTable::default();
    let rec = ctx.recovery().cloned();
    if let Some(rec) = rec.as_ref() {
        rec.participate();
        let (me, workers) = (ctx.worker(), ctx.workers());
        let restored = rec
            .load_keyed::<K>(name, |key| owner(key.route_hash(), workers) == me)
            .and_then(|saved| {
                for (key, bytes) in saved {
                    let state = logic.load(&bytes).map_err(|source| RecoveryError::Codec {
                        step: name.to_owned(),
                        what: "a key's snapshotted state".into(),
                        source,
                    })?;
                    states.put(key, Some(state));
                }
                Ok(())
            });
        if let Err(e) = restored {
            ctx.record(e);
        }
    }
    let mut wakes: Wakes<K> = Wakes::new();
    if L::WAKES {
        // Restored keys ask again; what they ask for lies at or after the
        // snapshot's mark (an earlier one would have fired before it).
        for (key, slot) in states.iter() {
            if let Some(state) = slot {
                wakes.set(key, sched(logic.notify_at(state), 0, false));
            }
        }
    }
    let (worker, shared) = (ctx.worker(), ctx.shared().clone());
    let step = name.to_owned();
    let mut meter = crate::metrics::global().meter(name);
    let groups = ctx.chunk_groups().clone();
    let pact = ExchangeCore::<Batcher<Rec<(K, V)>>, _>::new_core(|r: &Rec<(K, V)>| r.val.0.route_hash());
    let scope: Scope<'a> = stream.scope();
    let out = stream
        .clone()
        .binary_frontier::<_, Batcher<Rec<(K, O)>>, _, _, _, _>(
            control.clone(),
            pact,
            Pipeline,
            name,
            move |init_cap, info| {
                let activator = scope.activator_for(info.address.clone());
                let mut closing: Option<Closing<K, L::State>> = None;
                let mut cap: Option<Capability<u64>> = Some(init_cap);
                let mut gate: Gate<(K, V)> = Gate::new(groups);
                let mut ready: Vec<Rec<(K, V)>> = Vec::new();
                let mut emitted: Vec<O> = Vec::new();
                let mut due: Vec<K> = Vec::new();
                move |(input, input_frontier), (control, control_frontier), output| {
                    let _scope = StepScope(&step);
                    input.for_each(|_time, data| {
                        meter.received(data.len());
                        gate.push(data)
                    });
                    control.for_each(|_time, snaps| gate.announce(snaps));
                    let frontier = least(low(input_frontier), low(control_frontier));
                    // Up to each due snapshot, then up to the frontier: the state at
                    // a mark holds exactly the records (and event-time wake-ups)
                    // below it.
                    let going = gate.drain(frontier, &mut ready, |drained| match drained {
                        Drained::Ready(ready, bound) => {
                            let Some(cap) = cap.as_ref() else { return true };
                            if ready.is_empty() && !(L::WAKES && wakes.any_mark_below(bound)) {
                                return true;
                            }
                            let floor = *cap.time();
                            let mut session = output.session_with_builder(cap);
                            let n = if L::WAKES {
                                let mut n = 0;
                                apply_waking(
                                    &mut logic,
                                    &mut states,
                                    &mut wakes,
                                    ready,
                                    bound,
                                    floor,
                                    &mut emitted,
                                    &mut |r| {
                                        n += 1;
                                        session.give(r)
                                    },
                                );
                                n
                            } else {
                                apply(&mut logic, &mut states, ready, &mut emitted, |r| session.give(r))
                            };
                            meter.emitted(n);
                            true
                        }
                        Drained::Snapshot(epoch) => {
                            let Some(rec) = rec.as_ref().filter(|_| !shared.aborted()) else {
                                return true;
                            };
                            let saved = save_states(&step, &logic, &states)
                                .and_then(|part| rec.save_sealed(epoch, &step, worker, part))
                                .map_err(|e| snapshot_error(&step, e));
                            match saved {
                                Ok(()) => true,
                                Err(e) => {
                                    shared.fail(e);
                                    false
                                }
                            }
                        }
                    });
                    if !going {
                        return;
                    }
                    // The wall clock is read only while a wall-clock wake-up
                    // is pending (live inputs with an idle timeout).
                    let wall = L::WAKES && wakes.next_wall().is_some();
                    if let (true, Some(c), true) = (wall, cap.as_ref(), closing.is_none()) {
                        let now = Instant::now();
                        wakes.pop_wall_due(now, &mut due);
                        if !due.is_empty() {
                            let mut session = output.session_with_builder(c);
                            for key in due.drain(..) {
                                // Wall-clock results have no canonical place:
                                // tag 0 lets every later step release them at
                                // once instead of waiting for a live input's
                                // frontier to move.
                                notify(
                                    &mut logic,
                                    &mut states,
                                    &mut wakes,
                                    key,
                                    0,
                                    &mut emitted,
                                    &mut |r| session.give(r),
                                );
                            }
                        }
                        if let Some(next) = wakes.next_wall() {
                            activator.activate_after(next.saturating_duration_since(now));
                        }
                    }
                    meter.holding(states.len());
                    match frontier {
                        Some(f) => {
                            // Never past the end-of-input tags: this step's own
                            // end-of-input values go there.
                            let f = f.min(EOF_BASE);
                            if let Some(c) = cap.as_mut() {
                                if *c.time() < f {
                                    c.downgrade(&f);
                                }
                            }
                        }
                        None => {
                            let Some(c) = cap.as_mut() else { return };
                            let rest = closing.get_or_insert_with(|| {
                                // Moved out, not cloned: the table goes at once,
                                // the states stay in their boxes.
                                let mut all: Vec<ClosingKey<K, L::State>> = std::mem::take(&mut states)
                                    .into_entries()
                                    .map(|e| (eof_tag(e.key.route_hash()), e))
                                    .collect();
                                all.sort_unstable_by(|a, b| (a.0, &a.1.key).cmp(&(b.0, &b.1.key)));
                                all.into_iter().peekable()
                            });
                            if let Some(&(tag, _)) = rest.peek() {
                                if *c.time() < tag {
                                    c.downgrade(&tag);
                                }
                                let mut session = output.session_with_builder(&*c);
                                for (tag, entry) in rest.by_ref().take(EOF_KEYS_PER_ACTIVATION) {
                                    let Entry { key, state } = *entry;
                                    let Some(state) = state else { continue };
                                    logic.on_eof(&key, state, &mut emitted);
                                    meter.emitted(emitted.len());
                                    let pos = key.route_hash();
                                    for o in emitted.drain(..) {
                                        session.give(Rec {
                                            tag,
                                            pos,
                                            val: (key.clone(), o),
                                        });
                                    }
                                }
                            }
                            match rest.peek() {
                                // What is emitted so far can be taken downstream.
                                Some(&(next, _)) => {
                                    if *c.time() < next {
                                        c.downgrade(&next);
                                    }
                                    activator.activate();
                                }
                                None => {
                                    cap = None;
                                    closing = None;
                                }
                            }
                        }
                    }
                }
            },
        );
    out
}

/// Feeds ready records, in canonical order, to their keys' logic.
fn apply<K, V, O, L>(
    logic: &mut L,
    states: &mut KeyTable<K, L::State>,
    ready: &mut Vec<Rec<(K, V)>>,
    emitted: &mut Vec<O>,
    mut give: impl FnMut(Rec<(K, O)>),
) -> usize
where
    K: Key,
    L: KeyedLogic<K, V, O>,
{
    let mut n = 0;
    for rec in ready.drain(..) {
        let Rec {
            tag,
            pos,
            val: (key, value),
        } = rec;
        if let Some(slot) = states.get_mut(&key) {
            logic.on_value(&key, slot, value, tag, emitted);
            if slot.is_none() {
                states.remove(&key);
            }
        } else {
            let mut slot = None;
            logic.on_value(&key, &mut slot, value, tag, emitted);
            if slot.is_some() {
                states.insert(key.clone(), slot);
            }
        }
        n += emitted.len();
        for o in emitted.drain(..) {
            give(Rec {
                tag,
                pos,
                val: (key.clone(), o),
            });
        }
    }
    n
}

/// [`apply`] for logic that asks for wake-ups: event-time wake-ups take
/// their place in the canonical order — one at mark `m` runs after every
/// record with a tag up to `m` and before the first one above it — and
/// those below `bound` (the frontier or a snapshot's mark; `None`: end of
/// input, every one, including those they ask for in turn) run after the
/// records. Ties between keys go in key order.
#[allow(clippy::too_many_arguments)]
fn apply_waking<K, V, O, L>(
    logic: &mut L,
    states: &mut KeyTable<K, L::State>,
    wakes: &mut Wakes<K>,
    ready: &mut Vec<Rec<(K, V)>>,
    bound: Option<u64>,
    floor: u64,
    emitted: &mut Vec<O>,
    give: &mut impl FnMut(Rec<(K, O)>),
) where
    K: Key,
    L: KeyedLogic<K, V, O>,
{
    for rec in ready.drain(..) {
        let Rec {
            tag,
            pos,
            val: (key, value),
        } = rec;
        while let Some((m, woken)) = wakes.pop_mark_below(Some(tag)) {
            notify(logic, states, wakes, woken, m.max(floor), emitted, give);
        }
        let want = match states.get_mut(&key) {
            Some(slot) => {
                logic.on_value(&key, slot, value, tag, emitted);
                slot.as_ref().map(|state| logic.want_after_value(state))
            }
            None => {
                let mut slot = None;
                logic.on_value(&key, &mut slot, value, tag, emitted);
                let want = slot.as_ref().map(|state| logic.want_after_value(state));
                if slot.is_some() {
                    states.insert(key.clone(), slot);
                }
                want
            }
        };
        match want {
            Some(Want::Kept) => {}
            Some(Want::Asked(want)) => wakes.set(&key, sched(want, tag, false)),
            None => {
                states.remove(&key);
                wakes.set(&key, None);
            }
        }
        for o in emitted.drain(..) {
            give(Rec {
                tag,
                pos,
                val: (key.clone(), o),
            });
        }
    }
    while let Some((m, woken)) = wakes.pop_mark_below(bound) {
        notify(logic, states, wakes, woken, m.max(floor), emitted, give);
    }
}

/// Runs one key's due wake-up at mark `at` (0 for wall-clock ones): its
/// output is tagged `at`, placed by the key's hash.
fn notify<K, V, O, L>(
    logic: &mut L,
    states: &mut KeyTable<K, L::State>,
    wakes: &mut Wakes<K>,
    key: K,
    at: u64,
    emitted: &mut Vec<O>,
    give: &mut impl FnMut(Rec<(K, O)>),
) where
    K: Key,
    L: KeyedLogic<K, V, O>,
{
    let Some(slot) = states.get_mut(&key) else {
        return;
    };
    logic.on_notify(&key, slot, (at != 0).then_some(at), emitted);
    match slot.as_ref() {
        Some(state) => wakes.set(&key, sched(logic.notify_at(state), at, true)),
        None => {
            states.remove(&key);
            wakes.set(&key, None);
        }
    }
    let pos = key.route_hash();
    for o in emitted.drain(..) {
        give(Rec {
            tag: at,
            pos,
            val: (key.clone(), o),
        });
    }
}

/// Every key's state, as a sealed snapshot part: framed `(key, state)`
/// pairs, encoded straight into one buffer.
fn save_states<K: Key, V, O, L: KeyedLogic<K, V, O>>(
    step: &str,
    logic: &L,
    states: &KeyTable<K, L::State>,
) -> crate::error::Result<Vec<u8>> {
    let mut part = codec::unsealed();
    for (key, slot) in states.iter() {
        if let Some(state) = slot {
            codec::framed(&mut part, |out| codec::encode_value(key, out))
                .and_then(|()| codec::framed(&mut part, |out| logic.save(state, out)))
                .map_err(|source| RecoveryError::Codec {
                    step: step.to_owned(),
                    what: "a key's state cannot be saved".into(),
                    source,
                })?;
        }
    }
    Ok(codec::seal(part))
}
