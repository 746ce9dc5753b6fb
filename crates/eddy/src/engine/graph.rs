//! The timely side of a flow under construction: the scope, the build
//! context every stream shares ([`FlowCtx`]), the control stream and the
//! inputs' progress ([`Scoped`]), and the [`Graph`] the API's `Flow` wraps.
//! The API (`dataflow`) holds these without naming timely.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use timely::dataflow::operators::feedback::Handle;
use timely::dataflow::operators::vec::{Broadcast, Map};
use timely::dataflow::operators::{Concatenate, ConnectLoop, Feedback};
use timely::dataflow::{ProbeHandle, StreamVec};

use crate::base::record::Rec;
use crate::base::signal::RunShared;
use crate::base::steps::Graph as Graph_;
use crate::engine::chunk_order::ChunkGroups;
use crate::engine::control::{build_control, Control, Signal};
use crate::engine::input_log::{build_input_snapshots, ChunkEnd, InputLog};
use crate::engine::run::validate_step_name;
use crate::error::{EddyError, Result};
use crate::recovery::WorkerRecovery;

/// A stream of records in the engine: what the API's `Stream` holds.
pub(crate) type Edge<'a, T> = StreamVec<'a, u64, Rec<T>>;

/// The timely scope every eddy dataflow is built in (timestamps are
/// progress marks, see `ARCHITECTURE.md`).
pub(crate) type Scope<'a> = timely::dataflow::Scope<'a, u64>;

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
    recovery: Option<Rc<WorkerRecovery>>,
    logs: RefCell<Vec<(String, InputLog)>>,
    chunks: Rc<ChunkGroups>,
    graph: RefCell<Graph_>,
    describing: std::cell::Cell<bool>,
    partition_idle: Option<Duration>,
}

impl FlowCtx {
    pub(crate) fn new(
        flow_id: Arc<str>,
        worker: usize,
        workers: usize,
        shared: Arc<RunShared>,
        probe: ProbeHandle<u64>,
        recovery: Option<Rc<WorkerRecovery>>,
        partition_idle: Option<Duration>,
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
            recovery,
            logs: RefCell::new(Vec::new()),
            chunks: Rc::default(),
            graph: RefCell::default(),
            describing: std::cell::Cell::new(false),
            partition_idle,
        })
    }

    /// How long a live partition answers `Pending` before its mark follows
    /// its input's others (`RunConfig::partition_idle`).
    pub(crate) fn partition_idle(&self) -> Option<Duration> {
        self.partition_idle
    }

    /// This worker's recovery side, when the run snapshots.
    pub(crate) fn recovery(&self) -> Option<&Rc<WorkerRecovery>> {
        self.recovery.as_ref()
    }

    /// Which partitions are chunks continuing a file (filled by inputs).
    pub(crate) fn chunk_groups(&self) -> &Rc<ChunkGroups> {
        &self.chunks
    }

    /// Registers an input step's partition logs (for its snapshots).
    pub(crate) fn add_input_log(&self, step: &str, log: InputLog) {
        self.logs.borrow_mut().push((step.to_owned(), log));
    }

    /// The flow's id (the prefix of every step id).
    pub fn flow_id(&self) -> &str {
        &self.flow_id
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
        self.graph.borrow_mut().step(&full);
        full
    }

    /// The step graph built so far, as Mermaid text (`crate::describe`).
    pub(crate) fn describe(&self) -> String {
        self.graph.borrow().mermaid(&self.flow_id)
    }

    /// Marks this build as one that is only described, never run: outputs
    /// open no sink (`crate::describe`).
    pub(crate) fn describe_only(&self) {
        self.describing.set(true);
    }

    /// Whether this build is only described ([`FlowCtx::describe_only`]).
    pub(crate) fn describing(&self) -> bool {
        self.describing.get()
    }

    /// Records that the step building now (the one registered last)
    /// consumes a stream made by step `from` (and whether it `produces` a
    /// stream of it); returns that step's id.
    pub(crate) fn consume(&self, from: &Rc<str>, produces: bool) -> Rc<str> {
        let mut graph = self.graph.borrow_mut();
        graph.consume(from, produces);
        graph.current().map_or_else(|| from.clone(), Rc::from)
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

/// The scope-bound parts of a flow that every stream shares: the control
/// stream (snapshot announcements, chunk ends), and the inputs' progress
/// streams the coordinator follows.
pub(crate) struct Scoped<'a> {
    /// Control signals (a closed stream when the run neither snapshots nor
    /// reads chunked files).
    pub control: Control<'a>,
    handle: RefCell<Option<Handle<'a, u64, Vec<Signal>>>>,
    progress: RefCell<Vec<StreamVec<'a, u64, ChunkEnd>>>,
}

impl<'a> Scoped<'a> {
    /// Registers an input's progress stream (its frontier is the input's;
    /// its data, the ends of its partitions).
    pub fn add_progress(&self, stream: StreamVec<'a, u64, ChunkEnd>) {
        self.progress.borrow_mut().push(stream);
    }
}

/// A dataflow under construction on one worker (cheap to clone: handles).
#[derive(Clone)]
pub(crate) struct Graph<'a> {
    scope: Scope<'a>,
    ctx: Rc<FlowCtx>,
    scoped: Rc<Scoped<'a>>,
}

impl<'a> Graph<'a> {
    pub(crate) fn new(scope: Scope<'a>, ctx: Rc<FlowCtx>) -> Self {
        // What feeds the control stream is known once every input is
        // (`finish`).
        let (handle, control) = scope.feedback::<Vec<Signal>>(0);
        let scoped = Rc::new(Scoped {
            control,
            handle: RefCell::new(Some(handle)),
            progress: RefCell::new(Vec::new()),
        });
        Graph { scope, ctx, scoped }
    }

    /// Builds the control stream once the user's steps are in: the ends of
    /// chunks (when a file is read in chunks), and for snapshots the
    /// coordinator over every input's progress and the input snapshotter.
    pub(crate) fn finish(&self) {
        let Some(handle) = self.scoped.handle.borrow_mut().take() else {
            return;
        };
        let progress = self
            .scope
            .concatenate(self.scoped.progress.borrow_mut().drain(..));
        let mut signals: Vec<Control<'a>> = Vec::new();
        let groups = self.ctx.chunks.clone();
        if groups.any() {
            signals.push(
                progress
                    .clone()
                    .broadcast()
                    .map(|(part, mark)| Signal::ChunkEnd { part, mark }),
            );
        }
        let rec = self.ctx.recovery.clone();
        if let Some(rec) = rec.as_ref() {
            signals.push(build_control(&self.scope, &self.ctx, rec, &progress));
        }
        let control = self.scope.concatenate(signals);
        if let Some(rec) = rec.as_ref() {
            let logs = self.ctx.logs.borrow_mut().drain(..).collect();
            build_input_snapshots(&self.ctx, rec, &control, logs, groups);
        }
        control.connect_loop(handle);
    }

    pub(crate) fn scoped(&self) -> &Rc<Scoped<'a>> {
        &self.scoped
    }

    /// The build context (worker index, worker count).
    pub(crate) fn ctx(&self) -> &FlowCtx {
        &self.ctx
    }

    pub(crate) fn scope(&self) -> &Scope<'a> {
        &self.scope
    }

    pub(crate) fn ctx_rc(&self) -> &Rc<FlowCtx> {
        &self.ctx
    }
}
