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
    let config = eddy::RunConfig::workers(workers.max(1));
    let result = py.detach(move || eddy::run(&flow_id, &config, move |flow| flow::build(flow, &steps)));
    result.map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
}

/// The module.
#[pymodule]
fn _eddy(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run, m)?)?;
    Ok(())
}
