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

pub mod stateful;
pub mod stateless;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;

use timely::communication::Allocator;
use timely::dataflow::scopes::Child;
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

use crate::engine::record::Rec;
use crate::engine::run::{validate_step_name, RunShared};
use crate::error::{EddyError, Result};

/// What a stream may carry: cloneable, sendable between threads and
/// serializable between processes.
pub trait Data: timely::ExchangeData {}
impl<T: timely::ExchangeData> Data for T {}

/// The timely scope every eddy dataflow is built in (timestamps are
/// progress marks, see `ARCHITECTURE.md`).
pub type Scope<'a> = Child<'a, Worker<Allocator>, u64>;

/// Per-worker build context, shared by every stream of one flow.
pub struct FlowCtx {
    flow_id: Arc<str>,
    worker: usize,
    workers: usize,
    shared: Arc<RunShared>,
    probe: ProbeHandle<u64>,
    steps: RefCell<BTreeSet<String>>,
    error: RefCell<Option<EddyError>>,
    inputs: RefCell<u32>,
}

impl FlowCtx {
    pub(crate) fn new(
        flow_id: Arc<str>,
        worker: usize,
        workers: usize,
        shared: Arc<RunShared>,
        probe: ProbeHandle<u64>,
    ) -> Rc<Self> {
        Rc::new(FlowCtx {
            flow_id,
            worker,
            workers,
            shared,
            probe,
            steps: RefCell::new(BTreeSet::new()),
            error: RefCell::new(None),
            inputs: RefCell::new(0),
        })
    }

    /// This worker's index among all workers of all processes.
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// Number of workers across all processes.
    pub fn workers(&self) -> usize {
        self.workers
    }

    pub(crate) fn shared(&self) -> &Arc<RunShared> {
        &self.shared
    }

    pub(crate) fn probe(&self) -> &ProbeHandle<u64> {
        &self.probe
    }

    /// Registers a step and returns its full id (`flow.step`). A bad or
    /// duplicate id is remembered and fails the build.
    pub(crate) fn step_id(&self, name: &str) -> String {
        let full = format!("{}.{}", self.flow_id, name);
        if let Err(e) = validate_step_name(name) {
            self.record(e);
        } else if !self.steps.borrow_mut().insert(full.clone()) {
            self.record(EddyError::Build(format!("duplicate step id {full:?}")));
        }
        full
    }

    /// Remembers the first build error.
    pub(crate) fn record(&self, error: EddyError) {
        let mut slot = self.error.borrow_mut();
        if slot.is_none() {
            *slot = Some(error);
        }
    }

    /// The next input index (inputs are numbered in build order, the same on
    /// every worker).
    pub(crate) fn next_input(&self) -> u32 {
        let mut n = self.inputs.borrow_mut();
        *n += 1;
        *n - 1
    }

    pub(crate) fn build_result(&self) -> Result<()> {
        match self.error.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// A dataflow under construction on one worker: the place inputs are added.
pub struct Flow<'a> {
    scope: Scope<'a>,
    ctx: Rc<FlowCtx>,
}

impl<'a> Flow<'a> {
    pub(crate) fn new(scope: Scope<'a>, ctx: Rc<FlowCtx>) -> Self {
        Flow { scope, ctx }
    }

    /// The build context (worker index, worker count).
    pub fn ctx(&self) -> &FlowCtx {
        &self.ctx
    }

    pub(crate) fn scope(&self) -> &Scope<'a> {
        &self.scope
    }

    pub(crate) fn ctx_rc(&self) -> &Rc<FlowCtx> {
        &self.ctx
    }
}

/// A typed stream of values; keyed streams are `Stream<(K, V)>`.
pub struct Stream<'a, T: Data> {
    pub(crate) inner: timely::dataflow::Stream<Scope<'a>, Rec<T>>,
    pub(crate) ctx: Rc<FlowCtx>,
}

impl<T: Data> Clone for Stream<'_, T> {
    fn clone(&self) -> Self {
        Stream {
            inner: self.inner.clone(),
            ctx: self.ctx.clone(),
        }
    }
}

impl<'a, T: Data> Stream<'a, T> {
    pub(crate) fn wrap<U: Data>(&self, inner: timely::dataflow::Stream<Scope<'a>, Rec<U>>) -> Stream<'a, U> {
        Stream {
            inner,
            ctx: self.ctx.clone(),
        }
    }

    /// The build context (worker index, worker count).
    pub fn ctx(&self) -> &FlowCtx {
        &self.ctx
    }
}
