//! Input and output steps: where a flow meets its sources and sinks (the
//! operators themselves are the engine's: partitions, progress marks,
//! backpressure, canonical-order writing, snapshots).

use std::sync::Arc;

use crate::connectors::{Sink, SinkPartition, SinkRouting, Source};
use crate::dataflow::{Data, Flow, Stream};
use crate::engine::input::build_input;
use crate::engine::output::build_output;

impl<'a> Flow<'a> {
    /// Adds an input step reading `source`. Items get progress marks by
    /// count; several partitions are interleaved by item count. Prefer
    /// [`Flow::input_timed`] for event-time data read from several
    /// partitions.
    pub fn input<T: Data, S: Source<T>>(&mut self, step: &str, source: S) -> Stream<'a, T> {
        let step_id = self.ctx().step_id(step);
        let edge = build_input(&self.graph, &step_id, source, None);
        self.stream(edge, &step_id, false)
    }

    /// Adds an input step whose items carry an event time (ms since the
    /// Unix epoch; `None` for items without one). Items are then ordered
    /// across partitions by event time (each partition's high-water mark),
    /// which is what per-key lateness needs (see `ARCHITECTURE.md`).
    pub fn input_timed<T: Data, S: Source<T>>(
        &mut self,
        step: &str,
        source: S,
        time_of: impl Fn(&T) -> Option<i64> + Send + Sync + 'static,
    ) -> Stream<'a, T> {
        let step_id = self.ctx().step_id(step);
        let edge = build_input(&self.graph, &step_id, source, Some(Arc::new(time_of)));
        self.stream(edge, &step_id, true)
    }
}

impl<T: Data> Stream<'_, T> {
    /// Writes the stream to `sink`; the last step of a branch.
    pub fn output<S: Sink<T>>(&self, step: &str, sink: S) {
        let step_id = self.ctx.step_id(step);
        self.consumed(false);
        if self.ctx.describing() {
            return;
        }
        build_output(&self.inner, &self.ctx, &self.scoped, &step_id, sink);
    }

    /// Writes the stream with a callback, on every worker: `make(worker,
    /// workers)` makes that worker's writer, a function given each batch
    /// of the items that reach the worker (in their order there; drain
    /// it). Nothing is kept for a resume: after one, the writers see again
    /// what came after the snapshot. A panic in a writer stops the run,
    /// naming the step and the worker.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use eddy::testing::TestingSource;
    /// use eddy::{run, RunConfig};
    /// let total = Arc::new(AtomicU64::new(0));
    /// let sum = total.clone();
    /// run("sum", &RunConfig::workers(2), move |flow| {
    ///     let sum = sum.clone();
    ///     flow.input("inp", TestingSource::new(1..=100u64))
    ///         .output_fn("add", move |_worker, _workers| {
    ///             let sum = sum.clone();
    ///             move |batch: &mut Vec<u64>| {
    ///                 sum.fetch_add(batch.drain(..).sum(), Ordering::Relaxed);
    ///             }
    ///         });
    ///     Ok(())
    /// })?;
    /// assert_eq!(total.load(Ordering::Relaxed), 5050);
    /// # Ok::<(), eddy::EddyError>(())
    /// ```
    pub fn output_fn<W>(&self, step: &str, make: impl Fn(usize, usize) -> W + 'static)
    where
        W: FnMut(&mut Vec<T>) + 'static,
    {
        self.output(step, FnSink(make));
    }
}

/// [`Stream::output_fn`]'s sink: one writer per worker, made by the
/// function it holds.
struct FnSink<M>(M);

impl<T, W, M> Sink<T> for FnSink<M>
where
    M: Fn(usize, usize) -> W + 'static,
    W: FnMut(&mut Vec<T>) + 'static,
{
    fn routing(&self) -> SinkRouting {
        SinkRouting::PerWorker
    }

    fn build(
        &self,
        worker: usize,
        workers: usize,
    ) -> crate::Result<Box<dyn SinkPartition<T>>, crate::ConnectorError> {
        Ok(Box::new(FnWriter((self.0)(worker, workers))))
    }
}

/// One worker's writer of an [`FnSink`].
struct FnWriter<W>(W);

impl<T, W: FnMut(&mut Vec<T>)> SinkPartition<T> for FnWriter<W> {
    fn write_batch(&mut self, items: &mut Vec<T>) -> crate::Result<(), crate::ConnectorError> {
        (self.0)(items);
        items.clear();
        Ok(())
    }

    fn close(&mut self) -> crate::Result<(), crate::ConnectorError> {
        Ok(())
    }
}
