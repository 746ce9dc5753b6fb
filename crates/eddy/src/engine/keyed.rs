//! The keyed stateful core: every stateful operator (stateful_map, the
//! `_final` folds, windows) is this operator with different logic.
//!
//! Records are exchanged to the worker that owns their key, held until the
//! input frontier has passed their tag, then taken in canonical `(tag, pos)`
//! order — so each key sees its values in an order that does not depend on
//! the number of workers, batch sizes or timing. State lives in one map per
//! operator, keyed by `K`; logic that leaves a key's state `None` drops it.
//! At end of input the remaining keys are finished in key order. Logic that
//! asks for ticks (live inputs: idle timeouts) also gets a wall-clock tick
//! for every key now and then.
//!
//! With recovery on, the operator also reads the control stream: when its
//! frontier passes a snapshot's mark it takes the records below the mark,
//! writes every key's state (re-routable by key hash, so a resume may use
//! another worker count), then goes on.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::time::{Duration, Instant};

use rustc_hash::FxHasher;
use timely::dataflow::channels::pact::{ExchangeCore, Pipeline};
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;

use crate::dataflow::{Data, FlowCtx, Scope};
use crate::engine::failure::StepScope;
use crate::engine::record::{Batcher, Rec, EOF_TAG};
use crate::engine::routing::Key;
use crate::engine::snapshot::{least, low, snapshot_error, Control, Gate};
use crate::error::EddyError;
use crate::recovery::codec;

/// Per-key state map with a fast hasher.
pub type StateMap<K, S> = HashMap<K, S, BuildHasherDefault<FxHasher>>;

/// What a keyed operator does with one key's values.
pub trait KeyedLogic<K, V, O>: 'static {
    /// The per-key state.
    type State;

    /// Appends the encoding of a key's state, for a snapshot.
    fn save(&self, state: &Self::State, out: &mut Vec<u8>) -> Result<(), String>;

    /// Rebuilds a key's state from what [`KeyedLogic::save`] wrote.
    fn load(&mut self, bytes: &[u8]) -> Result<Self::State, String>;

    /// Takes one value of `key`, in canonical order. `state` is `None` for a
    /// key with no state yet; leaving it `None` drops the key's state.
    /// Emitted values go to `out`.
    fn on_value(&mut self, key: &K, state: &mut Option<Self::State>, value: V, out: &mut Vec<O>);

    /// End of input: the key's last state; emit what is left.
    fn on_eof(&mut self, key: &K, state: Self::State, out: &mut Vec<O>);

    /// How often [`KeyedLogic::on_tick`] should run (`None`, the default:
    /// never). Only for live inputs: a tick reads the wall clock.
    fn tick_every(&self) -> Option<Duration> {
        None
    }

    /// A wall-clock tick, for every key with state; leaving it `None` drops
    /// the key's state.
    fn on_tick(&mut self, _key: &K, _state: &mut Option<Self::State>, _now: Instant, _out: &mut Vec<O>) {}
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
    let mut states: StateMap<K, Option<L::State>> = StateMap::default();
    let rec = ctx.recovery().cloned();
    if let Some(rec) = rec.as_ref() {
        rec.participate();
        let restored = rec
            .load_keyed::<K>(name, ctx.worker(), ctx.workers())
            .and_then(|saved| {
                for (key, bytes) in saved {
                    let state = logic.load(&bytes).map_err(|m| {
                        EddyError::Recovery(format!("step {name}: a key's snapshotted state: {m}"))
                    })?;
                    states.insert(key, Some(state));
                }
                Ok(())
            });
        if let Err(e) = restored {
            ctx.record(e);
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
                let tick = logic.tick_every();
                let activator = tick.map(|_| scope.activator_for(info.address.clone()));
                let mut last_tick = Instant::now();
                let mut cap: Option<Capability<u64>> = Some(init_cap);
                let mut gate: Gate<(K, V)> = Gate::new(groups);
                let mut ready: Vec<Rec<(K, V)>> = Vec::new();
                let mut emitted: Vec<O> = Vec::new();
                move |(input, input_frontier), (control, control_frontier), output| {
                    let _scope = StepScope(&step);
                    input.for_each(|_time, data| {
                        meter.received(data.len());
                        gate.push(data)
                    });
                    control.for_each(|_time, snaps| gate.announce(snaps));
                    let frontier = least(low(input_frontier), low(control_frontier));
                    // Up to each due snapshot, then up to the frontier: the state at
                    // a mark holds exactly the records below it.
                    loop {
                        let snap = gate.release(frontier, &mut ready);
                        if let Some(cap) = cap.as_ref().filter(|_| !ready.is_empty()) {
                            let mut session = output.session_with_builder(cap);
                            let n = apply(&mut logic, &mut states, &mut ready, &mut emitted, |r| {
                                session.give(r)
                            });
                            meter.emitted(n);
                        }
                        ready.clear();
                        let Some((epoch, _)) = snap else { break };
                        if let Some(rec) = rec.as_ref().filter(|_| !shared.aborted()) {
                            let saved = save_states(&logic, &states)
                                .and_then(|part| rec.save_sealed(epoch, &step, worker, part))
                                .map_err(|e| snapshot_error(&step, e));
                            if let Err(e) = saved {
                                shared.fail(e);
                                return;
                            }
                        }
                    }
                    if let (Some(every), Some(c), Some(activator)) = (tick, cap.as_ref(), activator.as_ref())
                    {
                        let now = Instant::now();
                        if now.duration_since(last_tick) >= every {
                            last_tick = now;
                            let mut session = output.session_with_builder(c);
                            states.retain(|key, slot| {
                                logic.on_tick(key, slot, now, &mut emitted);
                                meter.emitted(emitted.len());
                                for o in emitted.drain(..) {
                                    // Wall-clock results have no canonical place:
                                    // tag 0 lets every later step release them at
                                    // once instead of waiting for a live input's
                                    // frontier to move.
                                    session.give(Rec {
                                        tag: 0,
                                        pos: key.route_hash(),
                                        val: (key.clone(), o),
                                    });
                                }
                                slot.is_some()
                            });
                        }
                        activator.activate_after(every);
                    }
                    meter.holding(states.len());
                    match frontier {
                        Some(f) => {
                            if let Some(c) = cap.as_mut() {
                                if *c.time() < f {
                                    c.downgrade(&f);
                                }
                            }
                        }
                        None => {
                            if let Some(c) = cap.take() {
                                let mut keys: Vec<K> = states.keys().cloned().collect();
                                keys.sort();
                                let mut session = output.session_with_builder(&c);
                                for key in keys {
                                    if let Some(Some(state)) = states.remove(&key) {
                                        logic.on_eof(&key, state, &mut emitted);
                                        meter.emitted(emitted.len());
                                        let pos = key.route_hash();
                                        for o in emitted.drain(..) {
                                            session.give(Rec {
                                                tag: EOF_TAG,
                                                pos,
                                                val: (key.clone(), o),
                                            });
                                        }
                                    }
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
    states: &mut StateMap<K, Option<L::State>>,
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
            logic.on_value(&key, slot, value, emitted);
            if slot.is_none() {
                states.remove(&key);
            }
        } else {
            let mut slot = None;
            logic.on_value(&key, &mut slot, value, emitted);
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

/// Every key's state, as a sealed snapshot part: framed `(key, state)`
/// pairs, encoded straight into one buffer.
fn save_states<K: Key, V, O, L: KeyedLogic<K, V, O>>(
    logic: &L,
    states: &StateMap<K, Option<L::State>>,
) -> crate::error::Result<Vec<u8>> {
    let mut part = codec::unsealed();
    for (key, slot) in states {
        if let Some(state) = slot {
            codec::framed(&mut part, |out| codec::encode_value(key, out))
                .and_then(|()| codec::framed(&mut part, |out| logic.save(state, out)))
                .map_err(|m| EddyError::Recovery(format!("a key's state cannot be saved: {m}")))?;
        }
    }
    Ok(codec::seal(part))
}
