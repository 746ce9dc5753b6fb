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

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::time::{Duration, Instant};

use rustc_hash::FxHasher;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::Capability;
use timely::scheduling::Scheduler;

use crate::dataflow::{Data, Scope};
use crate::engine::record::{Rec, EOF_TAG};
use crate::engine::routing::Key;
use crate::engine::stash::Stash;

/// Per-key state map with a fast hasher.
pub type StateMap<K, S> = HashMap<K, S, BuildHasherDefault<FxHasher>>;

/// What a keyed operator does with one key's values.
pub trait KeyedLogic<K, V, O>: 'static {
    /// The per-key state.
    type State;

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
    stream: &timely::dataflow::Stream<Scope<'a>, Rec<(K, V)>>,
    name: &str,
    mut logic: L,
) -> timely::dataflow::Stream<Scope<'a>, Rec<(K, O)>>
where
    K: Key,
    V: Data,
    O: Data,
    L: KeyedLogic<K, V, O>,
{
    let pact = Exchange::new(|r: &Rec<(K, V)>| r.val.0.route_hash());
    let scope = stream.scope();
    stream.unary_frontier(pact, name, move |init_cap, info| {
        let tick = logic.tick_every();
        let activator = tick.map(|_| scope.activator_for(&info.address[..]));
        let mut last_tick = Instant::now();
        let mut cap: Option<Capability<u64>> = Some(init_cap);
        let mut stash: Stash<(K, V)> = Stash::default();
        let mut ready: Vec<Rec<(K, V)>> = Vec::new();
        let mut buf = Vec::new();
        let mut states: StateMap<K, Option<L::State>> = StateMap::default();
        let mut emitted: Vec<O> = Vec::new();
        move |input, output| {
            input.for_each(|_time, data| {
                data.swap(&mut buf);
                stash.push(&mut buf);
            });
            let frontier = input.frontier().frontier().iter().min().copied();
            stash.take(frontier, &mut ready);
            if !ready.is_empty() {
                if let Some(cap) = cap.as_ref() {
                    let mut session = output.session(cap);
                    for rec in ready.drain(..) {
                        let Rec {
                            tag,
                            pos,
                            val: (key, value),
                        } = rec;
                        if let Some(slot) = states.get_mut(&key) {
                            logic.on_value(&key, slot, value, &mut emitted);
                            if slot.is_none() {
                                states.remove(&key);
                            }
                        } else {
                            let mut slot = None;
                            logic.on_value(&key, &mut slot, value, &mut emitted);
                            if slot.is_some() {
                                states.insert(key.clone(), slot);
                            }
                        }
                        for o in emitted.drain(..) {
                            session.give(Rec {
                                tag,
                                pos,
                                val: (key.clone(), o),
                            });
                        }
                    }
                }
                ready.clear();
            }
            if let (Some(every), Some(c), Some(activator)) = (tick, cap.as_ref(), activator.as_ref()) {
                let now = Instant::now();
                if now.duration_since(last_tick) >= every {
                    last_tick = now;
                    let mut session = output.session(c);
                    states.retain(|key, slot| {
                        logic.on_tick(key, slot, now, &mut emitted);
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
                        let mut session = output.session(&c);
                        for key in keys {
                            if let Some(Some(state)) = states.remove(&key) {
                                logic.on_eof(&key, state, &mut emitted);
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
    })
}
