//! The stateless core operators: the transform every stateless operator
//! is, partition (branch), the three-way split (the window operators'
//! outputs) and concatenate (merge). Records keep their canonical place.

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::generic::OutputBuilder;
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
                    // Timely takes the container it is given, so `out` starts
                    // empty each batch: one allocation of the batch's size
                    // instead of growing (and copying) by doubling.
                    out.reserve(data.len());
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
    let mut builder = OperatorBuilder::new(step_id.to_owned(), edge.scope());
    let mut input = builder.new_input(edge.clone(), Pipeline);
    let (outputs, edges): (Vec<_>, Vec<_>) = (0..n)
        .map(|_| {
            let (output, edge) = builder.new_output::<Vec<Rec<T>>>();
            (OutputBuilder::<_, Batcher<Rec<T>>>::from(output), edge)
        })
        .unzip();
    let mut outputs = outputs;
    let step = step_id.to_owned();
    builder.build(move |_caps| {
        move |_frontiers| {
            let _scope = StepScope(&step);
            let mut handles: Vec<_> = outputs.iter_mut().map(|o| o.activate()).collect();
            input.for_each(|cap, data| {
                let mut sessions: Vec<_> = handles.iter_mut().map(|h| h.session_with_builder(&cap)).collect();
                for rec in data.drain(..) {
                    // Each record straight into its output's container (timely's
                    // `partition` first gathered them in fresh, growing vectors).
                    let at = usize::try_from(route(&rec.val)).unwrap_or(usize::MAX);
                    match sessions.get_mut(at) {
                        Some(session) => session.give(rec),
                        None => panic!("step {step}: partition route {at} is not below {n}"),
                    }
                }
            });
        }
    });
    edges
}

/// Where [`split3`] sends a record's value, converted to that edge's type.
pub enum Three<A, B, C> {
    /// To the first edge.
    First(A),
    /// To the second edge.
    Second(B),
    /// To the third edge.
    Third(C),
}

/// Splits `edge` into three edges of their own types: each record's value
/// goes where `route` says, converted, keeping its canonical place. One
/// operator of step `step_id` where a `partition` and three `filter_map`s
/// would take four and copy each record twice.
#[allow(clippy::type_complexity)]
pub(crate) fn split3<'a, T: Data, A: Data, B: Data, C: Data>(
    edge: &Edge<'a, T>,
    step_id: &str,
    mut route: impl FnMut(T) -> Three<A, B, C> + 'static,
) -> (Edge<'a, A>, Edge<'a, B>, Edge<'a, C>) {
    let mut builder = OperatorBuilder::new(step_id.to_owned(), edge.scope());
    let mut input = builder.new_input(edge.clone(), Pipeline);
    let (a_out, a) = builder.new_output::<Vec<Rec<A>>>();
    let (b_out, b) = builder.new_output::<Vec<Rec<B>>>();
    let (c_out, c) = builder.new_output::<Vec<Rec<C>>>();
    let mut a_out = OutputBuilder::<_, Batcher<Rec<A>>>::from(a_out);
    let mut b_out = OutputBuilder::<_, Batcher<Rec<B>>>::from(b_out);
    let mut c_out = OutputBuilder::<_, Batcher<Rec<C>>>::from(c_out);
    let step = step_id.to_owned();
    builder.build(move |_caps| {
        move |_frontiers| {
            let _scope = StepScope(&step);
            let (mut a_h, mut b_h, mut c_h) = (a_out.activate(), b_out.activate(), c_out.activate());
            input.for_each(|cap, data| {
                let mut a_s = a_h.session_with_builder(&cap);
                let mut b_s = b_h.session_with_builder(&cap);
                let mut c_s = c_h.session_with_builder(&cap);
                for Rec { tag, pos, val } in data.drain(..) {
                    match route(val) {
                        Three::First(val) => a_s.give(Rec { tag, pos, val }),
                        Three::Second(val) => b_s.give(Rec { tag, pos, val }),
                        Three::Third(val) => c_s.give(Rec { tag, pos, val }),
                    }
                }
            });
        }
    });
    (a, b, c)
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
