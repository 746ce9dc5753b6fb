//! `eddy._eddy`: the Rust half of Eddy's Python package. Python records a
//! dataflow (`eddy.Dataflow`); [`run`] builds it on every worker of an
//! eddy run ([`flow::build`]) and runs it with the GIL released; workers
//! take the GIL only while a Python callback runs.

mod flow;
mod io;
mod value;

use pyo3::prelude::*;

/// Runs the recorded `steps` of dataflow `flow_id` on `workers` threads;
/// an error of the run (a step's exception, with its traceback) is raised
/// as `RuntimeError`.
#[pyfunction]
fn run(py: Python<'_>, flow_id: String, steps: Vec<Bound<'_, PyAny>>, workers: usize) -> PyResult<()> {
    let steps = steps
        .iter()
        .map(flow::Step::from_py)
        .collect::<PyResult<Vec<_>>>()?;
    value::quiet_python_panics();
    let config =
        eddy::RunConfig::workers(workers.max(1)).with_worker_wrapper(eddy::WorkerWrapper::new(attached));
    let result = py.detach(move || eddy::run(&flow_id, &config, move |flow| flow::build(flow, &steps)));
    result.map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
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

/// The module.
#[pymodule]
fn _eddy(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run, m)?)?;
    Ok(())
}
