//! Input and output steps: where a flow meets its sources and sinks (the
//! operators themselves are the engine's: partitions, progress marks,
//! backpressure, canonical-order writing, snapshots).

use std::sync::Arc;

use crate::connectors::{Sink, Source};
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
}
