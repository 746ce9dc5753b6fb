//! The output step: hands records to a sink in canonical order.
//!
//! Records are routed to their writer (worker 0 for a single-writer sink,
//! the same worker otherwise), held until the frontier has passed their tag
//! and written in `(tag, pos)` order — so a single-writer sink's output is
//! the same, line for line, for any number of workers. At end of input the
//! writer is closed; a write error stops the run.

use std::sync::Arc;

use timely::dataflow::channels::pact::{Exchange, ParallelizationContract, Pipeline};
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::Probe;

use crate::connectors::{Sink, SinkPartition, SinkRouting};
use crate::dataflow::{Data, Stream};
use crate::engine::record::Rec;
use crate::engine::run::RunShared;
use crate::engine::stash::Stash;

struct Writer<T> {
    sink: Option<Box<dyn SinkPartition<T>>>,
    shared: Arc<RunShared>,
    values: Vec<T>,
}

impl<T> Writer<T> {
    fn write(&mut self, ready: &mut Vec<Rec<T>>) {
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

    fn close(&mut self) {
        if let Some(mut sink) = self.sink.take() {
            if let Err(e) = sink.close() {
                self.shared.fail(e);
            }
        }
    }
}

impl<T: Data> Stream<'_, T> {
    /// Writes the stream to `sink`; the last step of a branch.
    pub fn output<S: Sink<T>>(&self, step: &str, sink: S) {
        let step_id = self.ctx.step_id(step);
        let routing = sink.routing();
        let (worker, workers) = (self.ctx.worker(), self.ctx.workers());
        let mut writer = Writer {
            sink: None,
            shared: self.ctx.shared().clone(),
            values: Vec::new(),
        };
        if routing == SinkRouting::PerWorker || worker == 0 {
            match sink.build(worker, workers) {
                Ok(w) => writer.sink = Some(w),
                Err(e) => self.ctx.record(e),
            }
        }
        match routing {
            SinkRouting::Single => self.write_with(Exchange::new(|_: &Rec<T>| 0), &step_id, writer),
            SinkRouting::PerWorker => self.write_with(Pipeline, &step_id, writer),
        }
    }

    fn write_with<P>(&self, pact: P, step_id: &str, mut writer: Writer<T>)
    where
        P: ParallelizationContract<u64, Rec<T>>,
    {
        let mut probe = self.ctx.probe().clone();
        let mut stash: Stash<T> = Stash::default();
        let mut ready: Vec<Rec<T>> = Vec::new();
        let mut buf: Vec<Rec<T>> = Vec::new();
        self.inner
            .probe_with(&mut probe)
            .sink(pact, step_id, move |input| {
                input.for_each(|_t, data| {
                    data.swap(&mut buf);
                    stash.push(&mut buf);
                });
                let frontier = input.frontier().frontier().iter().min().copied();
                stash.take(frontier, &mut ready);
                if !ready.is_empty() {
                    writer.write(&mut ready);
                }
                if frontier.is_none() {
                    writer.close();
                }
            });
    }
}
