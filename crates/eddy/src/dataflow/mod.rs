//! The user API: a [`Flow`] of named steps and typed [`Stream`]s.
//!
//! Operators are methods on [`Stream`]; keyed operators are methods on
//! `Stream<(K, V)>` (a keyed stream, Bytewax's `KeyedStream`). Every step
//! takes its step id first; ids are unique within the flow (a duplicate is
//! a build error returned by [`crate::run`]).
//!
//! - [`stateless`]: map, filter, filter_map, flat_map, inspect, merge,
//!   branch, key_on, key_rm, map_value, …
//! - [`stateful`]: stateful_map, stateful_flat_map, fold_final,
//!   reduce_final, count_final.
//! - input and output steps live on [`Flow::input`] and [`Stream::output`].

pub mod collect;
pub mod extra;
pub mod join;
pub mod stateful;
pub mod stateless;

pub mod io;

use std::rc::Rc;

use crate::engine::graph::{Edge, Graph, Scoped};
use crate::engine::run::{execute, RunConfig};
use crate::error::Result;

pub use crate::base::Data;
pub use crate::engine::ctx::FlowCtx;

/// A dataflow under construction on one worker: the place inputs are added.
pub struct Flow<'a> {
    pub(crate) graph: Graph<'a>,
}

impl<'a> Flow<'a> {
    /// The build context (worker index, worker count).
    pub fn ctx(&self) -> &FlowCtx {
        self.graph.ctx()
    }

    /// A stream of the flow over an engine edge, made by step `from`;
    /// `timed`: its marks are event times.
    pub(crate) fn stream<T: Data>(&self, inner: Edge<'a, T>, from: &str, timed: bool) -> Stream<'a, T> {
        Stream {
            inner,
            ctx: self.graph.ctx_rc().clone(),
            scoped: self.graph.scoped().clone(),
            from: Rc::from(from),
            timed,
        }
    }

    /// Completes the dataflow (the control stream) without running it.
    pub(crate) fn finish(&self) {
        self.graph.finish();
    }
}

/// Builds the dataflow `flow_id` with `build` on every worker and runs it to
/// completion (end of every input), or until the first error.
///
/// `build` runs once per worker and must build the same steps on each.
///
/// A panic in a step's logic, on any worker (of any process), stops every
/// worker and is returned as [`EddyError::Panic`](crate::EddyError::Panic) with its message and the
/// step; [`RunConfig::with_stop`]'s handle stops the run with
/// [`EddyError::Interrupted`](crate::EddyError::Interrupted).
///
/// ```
/// use eddy::{run, RunConfig};
/// use eddy::testing::{TestingSink, TestingSource};
///
/// let sink = TestingSink::new();
/// let out = sink.clone();
/// run("double", &RunConfig::workers(2), move |flow| {
///     flow.input("inp", TestingSource::new(vec![1, 2, 3]))
///         .map("double", |x: i64| x * 2)
///         .output("out", out.clone());
///     Ok(())
/// })
/// .unwrap();
/// let mut got = sink.take();
/// got.sort();
/// assert_eq!(got, vec![2, 4, 6]);
/// ```
pub fn run<F>(flow_id: &str, config: &RunConfig, build: F) -> Result<()>
where
    F: Fn(&mut Flow<'_>) -> Result<()> + Send + Sync + 'static,
{
    execute(flow_id, config, move |graph| build(&mut Flow { graph }))
}

/// A typed stream of values; keyed streams are `Stream<(K, V)>`.
pub struct Stream<'a, T: Data> {
    pub(crate) inner: Edge<'a, T>,
    pub(crate) ctx: Rc<FlowCtx>,
    pub(crate) scoped: Rc<Scoped<'a>>,
    /// The id of the step that produced this stream (for [`Flow::describe`]).
    pub(crate) from: Rc<str>,
    /// Whether the stream's progress marks are event times (every input
    /// it comes from is [`Flow::input_timed`]): then stateful steps can
    /// tell their logic the input's event-time progress.
    pub(crate) timed: bool,
}

impl<T: Data> Clone for Stream<'_, T> {
    fn clone(&self) -> Self {
        Stream {
            inner: self.inner.clone(),
            ctx: self.ctx.clone(),
            scoped: self.scoped.clone(),
            from: self.from.clone(),
            timed: self.timed,
        }
    }
}

impl<'a, T: Data> Stream<'a, T> {
    pub(crate) fn wrap<U: Data>(&self, inner: Edge<'a, U>) -> Stream<'a, U> {
        Stream {
            inner,
            ctx: self.ctx.clone(),
            scoped: self.scoped.clone(),
            from: self.consumed(true),
            timed: self.timed,
        }
    }

    /// Records that the step building now (the one registered last)
    /// consumes this stream (and whether it `produces` a stream of it);
    /// returns that step's id. Every operator calls it through
    /// [`Stream::wrap`]; steps with no output stream or several inputs
    /// (outputs, merge) call it themselves.
    pub(crate) fn consumed(&self, produces: bool) -> Rc<str> {
        self.ctx.consume(&self.from, produces)
    }

    /// The build context (worker index, worker count).
    pub fn ctx(&self) -> &FlowCtx {
        &self.ctx
    }
}
