//! `eddy._eddy`: the Rust half of Eddy's Python package. Python records a
//! dataflow (`eddy.Dataflow`); [`run`] builds it on every worker of an
//! eddy run ([`flow::build`]) and runs it with the GIL released; workers
//! take the GIL only while a Python callback runs.

mod flow;
mod io;
mod kafka;
mod sink;
mod stateful;
mod value;

use pyo3::prelude::*;

/// Runs the recorded `steps` of dataflow `flow_id` on `workers` threads
/// (process `process_id` of the processes at `addresses`, when given;
/// snapshots into `recovery_dir` every `snapshot_ms`, keeping old ones
/// for `backup_ms`, when given); an error of the run (a step's exception,
/// with its traceback) is raised as `RuntimeError`. The run goes on a thread of its own while this (the
/// caller's, usually Python's main) thread waits with the GIL released and
/// looks at Python's signals every 50 ms: Ctrl-C stops the run (what the
/// outputs took is kept) and raises `KeyboardInterrupt`; a second Ctrl-C
/// while a callback still holds the run back returns at once.
#[pyfunction]
#[pyo3(signature = (flow_id, steps, workers, process_id=None, addresses=None, recovery_dir=None, snapshot_ms=10_000, backup_ms=0))]
#[allow(clippy::too_many_arguments)] // Python's keyword arguments
fn run(
    py: Python<'_>,
    flow_id: String,
    steps: Vec<Bound<'_, PyAny>>,
    workers: usize,
    process_id: Option<usize>,
    addresses: Option<Vec<String>>,
    recovery_dir: Option<std::path::PathBuf>,
    snapshot_ms: u64,
    backup_ms: u64,
) -> PyResult<()> {
    let steps = steps
        .iter()
        .map(flow::Step::from_py)
        .collect::<PyResult<Vec<_>>>()?;
    value::quiet_python_panics();
    let stop = eddy::StopHandle::new();
    let mut config = eddy::RunConfig::workers(workers.max(1))
        .with_worker_wrapper(eddy::WorkerWrapper::new(attached))
        .with_stop(stop.clone());
    let shape = flow::fingerprint(&steps);
    if let Some(addresses) = addresses.filter(|a| a.len() > 1) {
        let mut cluster = eddy::ClusterConfig::new(process_id.unwrap_or(0), addresses);
        cluster.fingerprint = vec![("steps".to_owned(), shape.clone())];
        config.cluster = Some(cluster);
    }
    if let Some(dir) = recovery_dir {
        let mut recovery = eddy::RecoveryConfig::new(dir);
        recovery.snapshot_interval = std::time::Duration::from_millis(snapshot_ms.max(1));
        recovery.backup_interval = std::time::Duration::from_millis(backup_ms);
        recovery.fingerprint = shape;
        config = config.with_recovery(recovery);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("eddy-run".into())
        .spawn(move || {
            let _ = tx.send(eddy::run(&flow_id, &config, move |flow| {
                flow::build(flow, &steps)
            }));
        })
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start the run: {e}")))?;
    let rx = std::sync::Mutex::new(rx);
    let wait = || {
        rx.lock()
            .map_err(|_| std::sync::mpsc::RecvTimeoutError::Disconnected)
            .and_then(|r| r.recv_timeout(std::time::Duration::from_millis(50)))
    };
    let mut interrupted: Option<PyErr> = None;
    loop {
        match py.detach(wait) {
            Ok(result) => {
                return match interrupted {
                    Some(e) => Err(e),
                    None => result.map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(with_causes(&e))),
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    if interrupted.is_some() {
                        // The second one: the run is left to the process's end.
                        return Err(e);
                    }
                    stop.stop();
                    interrupted = Some(e);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "the run's thread ended without a result",
                ))
            }
        }
    }
}

/// An error's text followed by each cause's that it does not already
/// hold (a snapshot that cannot be written says why: the pickle error).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

/// Runs a worker's whole life attached to the interpreter, with the GIL
/// released (`Python::attach`, then `Python::detach`): the callbacks'
/// own `Python::attach` then only take the GIL, on the thread state kept
/// here. Without it, each callback made and freed a thread state (its
/// frame stack mapped and unmapped): two thirds of a window flow's time.
/// The worker's life is not `Send` (timely's allocator); it runs on this
/// same thread, which `SendWrapper` checks.
fn attached(life: &mut dyn FnMut()) {
    let life = send_wrapper::SendWrapper::new(life);
    Python::attach(|py| py.detach(move || (life.take())()));
}

/// Creates an empty recovery store in `dir` (made if missing) and
/// returns its file; a store already there is an error (it may hold a
/// run's state).
#[pyfunction]
fn init_store(dir: std::path::PathBuf) -> PyResult<std::path::PathBuf> {
    std::fs::create_dir_all(&dir)
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("cannot create {}: {e}", dir.display())))?;
    eddy::recovery::init_store(&dir).map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
}

/// The recovery store's file in `dir` (it need not exist).
#[pyfunction]
fn store_file(dir: std::path::PathBuf) -> std::path::PathBuf {
    eddy::recovery::store_file(&dir)
}

/// The module.
#[pymodule]
fn _eddy(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(init_store, m)?)?;
    m.add_function(wrap_pyfunction!(store_file, m)?)?;
    m.add_function(wrap_pyfunction!(kafka::create_topic, m)?)?;
    Ok(())
}
