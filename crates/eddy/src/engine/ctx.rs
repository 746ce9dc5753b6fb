//! The per-worker build context every stream of a flow shares
//! ([`FlowCtx`]), and the scope it is built in.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use timely::dataflow::ProbeHandle;

use crate::base::signal::RunShared;
use crate::base::steps::Graph as Graph_;
use crate::engine::chunk_order::ChunkGroups;
use crate::engine::input_log::InputLog;
use crate::error::{EddyError, Result};
use crate::recovery::WorkerRecovery;

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

    /// Takes every input step's partition logs (the input snapshotter's).
    pub(crate) fn take_input_logs(&self) -> Vec<(String, InputLog)> {
        self.logs.borrow_mut().drain(..).collect()
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

/// Checks a flow or step name: non-empty, no `.` (it separates the parts
/// of a full step id).
pub(crate) fn validate_step_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('.') {
        return Err(EddyError::Build(format!(
            "step id {name:?} must be non-empty and must not contain '.'"
        )));
    }
    Ok(())
}
