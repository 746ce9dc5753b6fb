//! Two small core operators: a batch-wise transform (`flat_map_batch`) and
//! a spread of records over the workers (`redistribute`).

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{ExchangeCore, Pipeline};
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::StreamVec;
use xxhash_rust::xxh3::xxh3_64;

use crate::base::record::Rec;
use crate::base::Data;
use crate::engine::batcher::Batcher;
use crate::engine::failure::StepScope;

/// Calls `logic` once per run of consecutive records with one progress
/// mark in each container this worker receives; what it returns takes the
/// mark and the position of the run's first record (so a snapshot cut,
/// which is a mark, never splits a batch).
pub(crate) fn flat_map_batch<'a, T, U, I>(
    stream: &StreamVec<'a, u64, Rec<T>>,
    name: &str,
    mut logic: impl FnMut(Vec<T>) -> I + 'static,
) -> StreamVec<'a, u64, Rec<U>>
where
    T: Data,
    U: Data,
    I: IntoIterator<Item = U>,
{
    let step = name.to_owned();
    let mut out: Vec<Rec<U>> = Vec::new();
    stream
        .clone()
        .unary::<CapacityContainerBuilder<Vec<Rec<U>>>, _, _, _>(Pipeline, name, move |_cap, _info| {
            move |input, output| {
                let _scope = StepScope(&step);
                input.for_each(|time, data| {
                    let mut recs = data.drain(..).peekable();
                    while let Some(first) = recs.next() {
                        let (tag, pos) = (first.tag, first.pos);
                        let mut batch = vec![first.val];
                        while let Some(r) = recs.next_if(|r| r.tag == tag) {
                            batch.push(r.val);
                        }
                        out.extend(logic(batch).into_iter().map(|val| Rec { tag, pos, val }));
                    }
                    if !out.is_empty() {
                        output.session(&time).give_container(&mut out);
                        out.clear();
                    }
                });
            }
        })
}

/// Sends each record to worker `xxh3(position) % workers`: the records of
/// one partition spread over every worker. Records keep their mark and
/// position, so the canonical order downstream is unchanged.
pub(crate) fn redistribute<'a, T: Data>(
    stream: &StreamVec<'a, u64, Rec<T>>,
    name: &str,
) -> StreamVec<'a, u64, Rec<T>> {
    let pact = ExchangeCore::<Batcher<Rec<T>>, _>::new_core(|r: &Rec<T>| xxh3_64(&r.pos.to_le_bytes()));
    stream
        .clone()
        .unary::<CapacityContainerBuilder<Vec<Rec<T>>>, _, _, _>(pact, name, |_cap, _info| {
            move |input, output| {
                input.for_each(|time, data| output.session(&time).give_container(data));
            }
        })
}
