//! The stateless core operators: the transform every stateless operator
//! is, partition (branch, the window operator's three outputs) and
//! concatenate (merge). Records keep their canonical place.

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::core::Partition;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::Concatenate;

use crate::base::record::Rec;
use crate::base::Data;
use crate::engine::batcher::Batcher;
use crate::engine::failure::StepScope;
use crate::engine::graph::Edge;

/// The transform step `step_id`: `logic` turns one record into any number
/// of records, on the worker that holds it.
pub(crate) fn transform<'a, T: Data, U: Data>(
    edge: &Edge<'a, T>,
    step_id: &str,
    mut logic: impl FnMut(Rec<T>, &mut Vec<Rec<U>>) + 'static,
) -> Edge<'a, U> {
    let mut out = Vec::new();
    let step = step_id.to_owned();
    let meter = crate::metrics::global().meter(step_id);
    edge.clone()
        .unary::<CapacityContainerBuilder<Vec<Rec<U>>>, _, _, _>(Pipeline, step_id, move |_cap, _info| {
            move |input, output| {
                let _scope = StepScope(&step);
                input.for_each(|time, data| {
                    meter.received(data.len());
                    for rec in data.drain(..) {
                        logic(rec, &mut out);
                    }
                    if !out.is_empty() {
                        meter.emitted(out.len());
                        output.session(&time).give_container(&mut out);
                        out.clear();
                    }
                });
            }
        })
}

/// Splits `edge` into `n` edges: record `r` goes to `route(&r.val)` (below
/// `n`), in the step `step_id` (named in a panic of `route`).
pub(crate) fn partition<'a, T: Data>(
    edge: &Edge<'a, T>,
    step_id: &str,
    n: u64,
    route: impl Fn(&T) -> u64 + 'static,
) -> Vec<Edge<'a, T>> {
    let step = step_id.to_owned();
    edge.clone()
        .partition::<Batcher<Rec<T>>, _, _>(n, move |r: Rec<T>| {
            let _scope = StepScope(&step);
            (route(&r.val), r)
        })
}

/// One edge with the records of all of `edges` (at least one).
pub(crate) fn concatenate<'a, T: Data>(
    first: &Edge<'a, T>,
    others: impl IntoIterator<Item = Edge<'a, T>>,
) -> Edge<'a, T> {
    let mut all = vec![first.clone()];
    all.extend(others);
    first.scope().concatenate(all)
}
