//! The output step: hands records to a sink in canonical order.
//!
//! Records are routed to their writer (worker 0 for a single-writer sink,
//! the same worker otherwise), held until the frontier has passed their tag
//! and written in `(tag, pos)` order — so a single-writer sink's output is
//! the same, line for line, for any number of workers. At end of input the
//! writer is closed; a write error stops the run.
//!
//! With recovery on, each snapshot asks the writer for its state (a file:
//! its length, after a flush and sync) once everything below the mark is
//! written; a resume reopens the writer from it (a file is truncated back).

use std::sync::Arc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{ExchangeCore, ParallelizationContract, Pipeline};
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::Probe;

use crate::engine::control::snapshot_error;
use crate::engine::gate::{Drained, Gate};
use crate::engine::signal::{least, low};
use crate::recovery::WorkerRecovery;
use std::rc::Rc;

use crate::base::record::Rec;
use crate::base::signal::RunShared;
use crate::base::Data;
use crate::connectors::{Sink, SinkPartition, SinkRouting};
use crate::engine::batcher::Batcher;
use crate::engine::ctx::FlowCtx;
use crate::engine::failure::StepScope;
use crate::engine::graph::{Edge, Scoped};

struct Writer<T> {
    sink: Option<Box<dyn SinkPartition<T>>>,
    shared: Arc<RunShared>,
    values: Vec<T>,
}

impl<T> Writer<T> {
    fn write(&mut self, ready: &mut Vec<Rec<T>>) {
        if self.shared.aborted() {
            // A failed run's inputs stop early: what would follow is not
            // the output of the data.
            ready.clear();
            return;
        }
        self.values.extend(ready.drain(..).map(|r| r.val));
        if let Some(sink) = self.sink.as_mut() {
            if !self.values.is_empty() {
                if let Err(e) = sink.write_batch(&mut self.values) {
                    self.shared.fail(e);
                    self.sink = None;
                }
            }
        }
        self.values.clear();
    }

    /// The writer's state for a snapshot (`None` on a worker that does
    /// not write).
    fn snapshot(&mut self) -> crate::error::Result<Option<Vec<u8>>> {
        // A failed write stops the run: no snapshot may then record this
        // writer's state.
        if self.shared.aborted() {
            return Err(crate::error::RecoveryError::Stopping.into());
        }
        match self.sink.as_mut() {
            Some(sink) => Ok(sink.snapshot().map(Some)?),
            None => Ok(None),
        }
    }

    fn close(&mut self) {
        if let Some(mut sink) = self.sink.take() {
            if let Err(e) = sink.close() {
                self.shared.fail(e);
            }
        }
    }
}

/// Builds the output step `step` writing `inner` to `sink` (`Stream::output`).
pub(crate) fn build_output<'a, T: Data, S: Sink<T>>(
    inner: &Edge<'a, T>,
    ctx: &FlowCtx,
    scoped: &Scoped<'a>,
    step: &str,
    sink: S,
) {
    let step_id = step;
    let routing = sink.routing();
    let (worker, workers) = (ctx.worker(), ctx.workers());
    let mut writer = Writer {
        sink: None,
        shared: ctx.shared().clone(),
        values: Vec::new(),
    };
    let rec = ctx.recovery().cloned();
    if let Some(rec) = rec.as_ref() {
        rec.participate();
    }
    if routing == SinkRouting::PerWorker || worker == 0 {
        let opened =
            resume_state(rec.as_deref(), step_id, worker, workers, routing).and_then(|state| match state {
                Some(state) => Ok(sink.resume(worker, workers, &state)?),
                None => Ok(sink.build(worker, workers)?),
            });
        match opened {
            Ok(w) => writer.sink = Some(w),
            Err(e) => ctx.record(e),
        }
    }
    match routing {
        SinkRouting::Single => write_with(
            inner,
            ctx,
            scoped,
            ExchangeCore::<Batcher<Rec<T>>, _>::new_core(|_: &Rec<T>| 0),
            step_id,
            writer,
            rec,
        ),
        SinkRouting::PerWorker => write_with(inner, ctx, scoped, Pipeline, step_id, writer, rec),
    }
}

/// The output operator proper, over `pact` (one writer or one per worker).
#[allow(clippy::too_many_arguments)]
fn write_with<'a, T: Data, P>(
    inner: &Edge<'a, T>,
    ctx: &FlowCtx,
    scoped: &Scoped<'a>,
    pact: P,
    step_id: &str,
    mut writer: Writer<T>,
    rec: Option<Rc<WorkerRecovery>>,
) where
    P: ParallelizationContract<u64, Vec<Rec<T>>>,
{
    let probe = ctx.probe().clone();
    let mut gate: Gate<T> = Gate::new(ctx.chunk_groups().clone());
    let mut ready: Vec<Rec<T>> = Vec::new();
    let worker = ctx.worker();
    let step = step_id.to_owned();
    let meter = crate::metrics::global().meter(step_id);
    let _ = inner
        .clone()
        .probe_with(&probe)
        .binary_frontier::<_, CapacityContainerBuilder<Vec<()>>, _, _, _, _>(
            scoped.control.clone(),
            pact,
            Pipeline,
            step_id,
            move |_cap, _info| {
                move |(input, input_frontier), (control, control_frontier), _output| {
                    let _scope = StepScope(&step);
                    input.for_each(|_t, data| {
                        meter.received(data.len());
                        gate.push(data)
                    });
                    control.for_each(|_t, snaps| gate.announce(snaps));
                    let frontier = least(low(input_frontier), low(control_frontier));
                    let going = gate.drain(frontier, &mut ready, |drained| match drained {
                        Drained::Ready(ready, _) => {
                            if !ready.is_empty() {
                                writer.write(ready);
                            }
                            true
                        }
                        Drained::Snapshot(epoch) => {
                            let Some(rec) = rec.as_ref() else { return true };
                            let saved = writer
                                .snapshot()
                                .and_then(|state| rec.save(epoch, &step, worker, &state))
                                .map_err(|e| snapshot_error(&step, e));
                            match saved {
                                Ok(()) => true,
                                Err(e) => {
                                    writer.shared.fail(e);
                                    writer.sink = None;
                                    false
                                }
                            }
                        }
                    });
                    if !going {
                        return;
                    }
                    if frontier.is_none() {
                        writer.close();
                    }
                }
            },
        );
}

/// The writer state a resume reopens `worker`'s writer from: `None` to
/// start afresh (no snapshot, or a new worker of a per-worker sink).
fn resume_state(
    rec: Option<&WorkerRecovery>,
    step: &str,
    worker: usize,
    workers: usize,
    routing: SinkRouting,
) -> crate::error::Result<Option<Vec<u8>>> {
    let Some(rec) = rec.filter(|r| r.resume.is_some()) else {
        return Ok(None);
    };
    let parts = rec.load::<Option<Vec<u8>>>(step)?;
    if routing == SinkRouting::PerWorker {
        if let Some((w, _)) = parts.iter().find(|(w, state)| *w >= workers && state.is_some()) {
            return Err(crate::error::RecoveryError::Mismatch {
                detail: format!(
                    "step {step} writes one output per worker and worker {w}'s output is in the \
                     snapshot: resume it with at least {} workers",
                    w + 1
                ),
            }
            .into());
        }
    }
    Ok(parts
        .into_iter()
        .find(|(w, _)| *w == worker)
        .and_then(|(_, state)| state))
}
