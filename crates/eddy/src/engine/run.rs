//! Running a dataflow: worker threads and processes on timely, and the
//! shared stop signal that turns the first error on any worker (a panic
//! included, see [`crate::engine::failure`]) or a stop asked from outside
//! into the run's result.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::any::Any;
use std::sync::mpsc;

use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::ProcessBuilder;
use timely::communication::{AllocatorBuilder, Config as CommConfig, Hooks};
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;
use timely::WorkerConfig;

use crate::base::signal::RunShared;
use crate::engine::cluster::{self, ClusterConfig, Heartbeat, Relays};
use crate::engine::ctx::{validate_step_name, FlowCtx};
use crate::engine::failure::{self, StopHandle};
use crate::engine::graph::Graph;
use crate::error::{EddyError, Result};
use crate::recovery::writer::StoreWriter;
use crate::recovery::{self, RecoveryConfig, WorkerRecovery};
use std::rc::Rc;

/// How many workers, and in how many processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunConfig {
    /// Worker threads in this process (`-w`).
    pub workers: usize,
    /// The cluster, when the dataflow spans several processes.
    pub cluster: Option<ClusterConfig>,
    /// Snapshots for crash recovery (`None`: none are taken).
    pub recovery: Option<RecoveryConfig>,
    /// Lets another thread stop the run (`run` then returns
    /// [`EddyError::Interrupted`]).
    pub stop: Option<StopHandle>,
    /// How long a live input partition may answer `Poll::Pending` before
    /// it counts as idle: its progress mark then follows the highest mark
    /// of its input's other partitions (on every worker and process), so
    /// that it does not hold the others back (`None`: never; default
    /// [`DEFAULT_PARTITION_IDLE`]). Bounded sources never answer
    /// `Pending`, so this never changes a bounded run.
    pub partition_idle: Option<Duration>,
    /// What each worker thread runs its worker inside (`None`: nothing;
    /// see [`RunConfig::with_worker_wrapper`]).
    pub worker_wrapper: Option<WorkerWrapper>,
}

/// What each worker thread runs its worker inside: given the worker's
/// whole life as a function, it must call it once, on the same thread.
/// For an embedder with per-thread setup to keep for the thread's life
/// (the Python front keeps each worker attached to the interpreter, so
/// that its callbacks do not make and free a thread state each). Compared
/// by identity.
#[derive(Clone)]
pub struct WorkerWrapper(Arc<WrapFn>);

/// The function inside a [`WorkerWrapper`].
type WrapFn = dyn Fn(&mut dyn FnMut()) + Send + Sync;

impl WorkerWrapper {
    /// Wraps `f`, which must call the function it is given exactly once.
    pub fn new(f: impl Fn(&mut dyn FnMut()) + Send + Sync + 'static) -> Self {
        WorkerWrapper(Arc::new(f))
    }
}

impl std::fmt::Debug for WorkerWrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkerWrapper(..)")
    }
}

impl PartialEq for WorkerWrapper {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for WorkerWrapper {}

/// How long a live partition answers `Poll::Pending` before it is idle
/// ([`RunConfig::partition_idle`]).
pub const DEFAULT_PARTITION_IDLE: Duration = Duration::from_secs(5);

impl RunConfig {
    /// `n` worker threads in this one process.
    pub fn workers(n: usize) -> Self {
        RunConfig {
            workers: n.max(1),
            cluster: None,
            recovery: None,
            stop: None,
            partition_idle: Some(DEFAULT_PARTITION_IDLE),
            worker_wrapper: None,
        }
    }

    /// The same, each worker thread running its worker inside `wrapper`.
    pub fn with_worker_wrapper(mut self, wrapper: WorkerWrapper) -> Self {
        self.worker_wrapper = Some(wrapper);
        self
    }

    /// The same, with idle live partitions following their input's others
    /// after `idle` of `Poll::Pending` (`None`: never; see
    /// [`RunConfig::partition_idle`]).
    pub fn with_partition_idle(mut self, idle: Option<Duration>) -> Self {
        self.partition_idle = idle;
        self
    }

    /// The same, stopping (with [`EddyError::Interrupted`]) when `stop` is
    /// told to.
    pub fn with_stop(mut self, stop: StopHandle) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The same, snapshotting for recovery as `recovery` says.
    pub fn with_recovery(mut self, recovery: RecoveryConfig) -> Self {
        self.recovery = Some(recovery);
        self
    }

    /// The communication builders (one per local worker), what must live
    /// as long as they do, and (with several processes) the network: the
    /// connections are made and agreed upon (`engine::cluster`), handed to
    /// `shared`, which closes them when the run fails, relayed to timely,
    /// whose network threads are marked as `shared`'s, and watched by a
    /// heartbeat.
    fn allocators(&self, flow_id: &str, shared: &Arc<RunShared>) -> Result<Allocators> {
        let workers = self.workers.max(1);
        match &self.cluster {
            Some(c) if c.addresses.len() > 1 => {
                if c.process_id >= c.addresses.len() {
                    return Err(EddyError::Build(format!(
                        "process id {} is out of range for {} addresses",
                        c.process_id,
                        c.addresses.len()
                    )));
                }
                let mut identity = vec![
                    ("dataflow".to_owned(), flow_id.to_owned()),
                    ("eddy version".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
                ];
                identity.extend(c.fingerprint.iter().cloned());
                identity.push(("workers per process".to_owned(), workers.to_string()));
                let recovery = if self.recovery.is_some() { "on" } else { "off" };
                identity.push(("recovery".to_owned(), recovery.to_owned()));
                let stop = self.stop.clone();
                let stopped = move || stop.as_ref().is_some_and(StopHandle::is_stopped);
                let conns = cluster::connect(c, &identity, &stopped)?;
                shared.watch_links(conns.all());
                let heartbeat = Heartbeat::start(
                    conns.heartbeat,
                    &c.addresses,
                    c.peer_timeout,
                    Arc::downgrade(shared),
                )?;
                let (sockets, relays) = cluster::relay(conns.data, &c.addresses, shared)?;
                let (weak, addresses) = (Arc::downgrade(shared), c.addresses.clone());
                // Timely calls this on each network thread as it starts.
                let mark = move |setup: timely::communication::logging::CommunicationSetup| {
                    if let Some(peer) = setup.remote {
                        let address = addresses.get(peer).cloned().unwrap_or_else(|| "?".into());
                        failure::mark_network_thread(weak.clone(), peer, address);
                    }
                    None
                };
                let hooks = Hooks {
                    log_fn: Arc::new(mark),
                    ..Hooks::default()
                };
                // Workers of one process pass typed data (no serialization),
                // as `CommConfig::Process` does.
                let local =
                    ProcessBuilder::new_typed_vector(workers, hooks.refill.clone(), hooks.spill.clone());
                let (builders, comms) =
                    initialize_networking_from_sockets(local, sockets, c.process_id, workers, hooks)
                        .map_err(|e| EddyError::network("cannot start networking", e))?;
                let builders = builders.into_iter().map(AllocatorBuilder::Tcp).collect();
                let network = Network {
                    comms: Box::new(comms),
                    relays,
                    heartbeat,
                };
                Ok((builders, Box::new(()), Some(network)))
            }
            _ => {
                let config = if workers == 1 {
                    CommConfig::Thread
                } else {
                    CommConfig::Process(workers)
                };
                let (builders, others) = config.try_build().map_err(EddyError::Engine)?;
                Ok((builders, others, None))
            }
        }
    }
}

/// The communication builders (one per local worker), what must live as
/// long as they do, and a clustered run's network.
type Allocators = (Vec<AllocatorBuilder>, Box<dyn Any + Send>, Option<Network>);

/// A clustered run's network, kept apart from timely's worker guards so
/// that the end of the run decides how it is taken down.
struct Network {
    /// Timely's network threads (joined when dropped).
    comms: Box<dyn Any + Send>,
    relays: Relays,
    /// Dropped last: it says goodbye to the peers.
    heartbeat: Heartbeat,
}

impl Network {
    /// After the workers of a successful run returned: waits for timely's
    /// network threads (everything sent, every peer's end received). A
    /// peer lost only now does not fail a run whose workers
    /// all finished; its network thread's panic, re-raised by timely's
    /// join, is caught here, quietly.
    fn finish(self) {
        self.relays.release();
        let comms = self.comms;
        let _ = failure::quietly(move || drop(comms));
        drop(self.heartbeat);
    }

    /// After a failed run: timely's network threads learn of every broken
    /// connection and end by themselves (joining them would re-raise
    /// their panics) once the relays are released.
    fn abandon(self) {
        self.relays.release();
        std::mem::forget(self.comms);
        drop(self.heartbeat);
    }
}

/// How long an idle worker sleeps before it looks at the stop flag again.
const PARK: Duration = Duration::from_millis(50);

/// Runs the dataflow that `build` makes on every worker (see `crate::run`).
pub(crate) fn execute<F>(flow_id: &str, config: &RunConfig, build: F) -> Result<()>
where
    F: for<'a> Fn(Graph<'a>) -> Result<()> + Send + Sync + 'static,
{
    validate_step_name(flow_id)?;
    let process = config.cluster.as_ref().map_or(0, |c| c.process_id);
    // The lock is held until `run` returns.
    let (resume, _lock, announce) = match &config.recovery {
        Some(rc) => {
            let (resume, lock, latest) = recovery::prepare(rc, flow_id, process)?;
            let announce = latest.zip(rc.on_resume.clone());
            (Some(resume), Some(lock), announce)
        }
        None => (None, None, None),
    };
    // "Resuming from snapshot N": said by the process's first worker once
    // its dataflow is built (every output it writes has checked its state).
    let announce = Mutex::new(announce);
    let recovery_config = config.recovery.clone();
    let shared = Arc::new(RunShared::default());
    let writer = match &config.recovery {
        Some(rc) => Some(StoreWriter::start(rc, shared.clone())?),
        None => None,
    };
    let writer_tx = writer.as_ref().map(StoreWriter::sender);
    failure::install_hook();
    let (builders, others, network) = config.allocators(flow_id, &shared)?;
    let local_workers = builders.len();
    let first_local = process * local_workers;
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let done_tx = Mutex::new(done_tx);
    let worker_shared = shared.clone();
    let flow_id: Arc<str> = Arc::from(flow_id);
    let stop = config.stop.clone();
    let partition_idle = config.partition_idle;
    let last_snapshot = config.recovery.is_some() && network.is_none();
    let stop_timeout = config
        .recovery
        .as_ref()
        .map_or(Duration::ZERO, |r| r.stop_timeout);
    let worker_wrapper = config.worker_wrapper.clone();
    let guards = timely::communication::initialize_from(builders, others, move |allocator| {
        // Tells `run` this worker is finished, even if it panics.
        let _done = done_tx.lock().ok().map(|tx| Done(tx.clone()));
        let shared = worker_shared.clone();
        let index = allocator.index();
        let wrapper = worker_wrapper.clone();
        failure::run_worker(&shared, index, || {
            let mut body = Some(|| {
                // A timer, so that `activate_after` waits (without one, timely
                // activates at once).
                let mut worker = Worker::new(WorkerConfig::default(), allocator, Some(Instant::now()));
                let probe = ProbeHandle::new();
                let rec = match (&recovery_config, resume, &writer_tx) {
                    (Some(rc), Some(from), Some(tx)) => match WorkerRecovery::open(rc, from, tx.clone()) {
                        Ok(r) => Some(Rc::new(r)),
                        Err(e) => {
                            shared.fail(e);
                            return;
                        }
                    },
                    _ => None,
                };
                let ctx = FlowCtx::new(
                    flow_id.clone(),
                    worker.index(),
                    worker.peers(),
                    shared.clone(),
                    probe.clone(),
                    rec,
                    partition_idle,
                );
                let built = worker.dataflow::<u64, _, _>(|scope| {
                    let graph = Graph::new(scope, ctx.clone());
                    build(graph.clone())?;
                    graph.finish();
                    ctx.build_result()
                });
                if let Err(e) = built {
                    shared.fail(e);
                    return;
                }
                if index == first_local {
                    if let Some((epoch, hook)) = announce.lock().ok().and_then(|mut a| a.take()) {
                        hook.call(&epoch);
                    }
                }
                let mut stopping: Option<Instant> = None;
                while !shared.aborted() {
                    if stop.as_ref().is_some_and(StopHandle::is_stopped) {
                        // With recovery (one process), a last snapshot first:
                        // the resume then repeats as little as possible.
                        let started = *stopping.get_or_insert_with(|| {
                            if last_snapshot {
                                shared.last_snapshot.request();
                            }
                            Instant::now()
                        });
                        if !last_snapshot || shared.last_snapshot.done() || started.elapsed() >= stop_timeout
                        {
                            shared.fail(EddyError::Interrupted);
                            break;
                        }
                    }
                    if !worker.step_or_park(Some(PARK)) {
                        break;
                    }
                }
            });
            // The worker's whole life, inside the embedder's wrapper if any.
            let mut once = || {
                if let Some(b) = body.take() {
                    b();
                }
            };
            match &wrapper {
                Some(w) => (w.0)(&mut once),
                None => once(),
            }
        });
    })
    .map_err(EddyError::Engine)?;

    for _ in 0..local_workers {
        if done_rx.recv().is_err() {
            break;
        }
    }
    if let Some(writer) = writer {
        // Every part the workers handed over is written (or the run failed).
        writer.finish();
    }
    if let Some(e) = shared.take_error() {
        match network {
            Some(network) => {
                // The workers have returned; timely's threads are left to
                // end by themselves.
                network.abandon();
                std::mem::forget(guards);
            }
            None => drop(guards.join()),
        }
        return Err(e);
    }
    let joined = guards.join();
    if let Some(network) = network {
        network.finish();
    }
    for (worker, joined) in joined.into_iter().enumerate() {
        if let Err(p) = joined {
            // Not reached: `run_worker` catches a worker's panics.
            return Err(EddyError::Panic {
                step: None,
                worker,
                message: p,
            });
        }
    }
    Ok(())
}

/// Sends on drop: one per worker, so `run` knows when every worker is done.
struct Done(mpsc::Sender<()>);

impl Drop for Done {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}
