//! Builds an eddy dataflow from the steps a Python `Dataflow` recorded.
//!
//! The Python side (`pysrc/eddy/dataflow.py`) records each step as an
//! object with `kind`, `step_id`, `ups` (the indexes of the streams it
//! reads), `outs` (how many streams it makes) and `args` (its callables
//! and settings). Every worker builds the same graph from that list:
//! streams are numbered in the order the steps make them. Values are
//! [`PyVal`]s; keyed operators split `(key, value)` 2-tuples (the key a
//! `str`, as in Bytewax) and give 2-tuples back.

use eddy::{Flow, Stream};
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::io::{BatchSink, IterSource};
use crate::value::{call, PyVal};

/// One recorded step.
pub struct Step {
    kind: String,
    step_id: String,
    ups: Vec<usize>,
    args: Vec<Py<PyAny>>,
}

impl Step {
    /// Reads a step object of the Python side.
    pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Step> {
        Ok(Step {
            kind: obj.getattr("kind")?.extract()?,
            step_id: obj.getattr("step_id")?.extract()?,
            ups: obj.getattr("ups")?.extract()?,
            args: obj.getattr("args")?.extract()?,
        })
    }

    /// Its `i`th argument.
    fn arg(&self, i: usize) -> eddy::Result<Py<PyAny>> {
        self.args
            .get(i)
            .map(|a| Python::attach(|py| a.clone_ref(py)))
            .ok_or_else(|| eddy::EddyError::Build(format!("step {}: argument {i} missing", self.step_id)))
    }
}

/// Splits a `(key, value)` 2-tuple; anything else stops the step, naming
/// what it got.
fn split(v: PyVal) -> (String, PyVal) {
    call(|py| {
        let item = v.bind(py);
        let pair = item
            .cast::<PyTuple>()
            .ok()
            .filter(|t| t.len() == 2)
            .ok_or_else(|| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "a keyed step takes (key, value) 2-tuples, got {}",
                    item.repr().map_or_else(|_| "?".to_owned(), |r| r.to_string())
                ))
            })?;
        let key = pair.get_item(0)?;
        let key: String = key
            .cast::<PyString>()
            .map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "a key must be a str, got {}",
                    key.repr().map_or_else(|_| "?".to_owned(), |r| r.to_string())
                ))
            })?
            .to_string();
        Ok((key, PyVal(pair.get_item(1)?.unbind())))
    })
}

/// `(key, value)` as a Python 2-tuple.
fn pair(key: String, value: PyVal) -> PyVal {
    call(|py| {
        let items = [PyString::new(py, &key).into_any(), value.0.into_bound(py)];
        Ok(PyVal(PyTuple::new(py, items)?.into_any().unbind()))
    })
}

/// Builds `steps` into `flow` (on each worker).
pub fn build(flow: &mut Flow<'_>, steps: &[Step]) -> eddy::Result<()> {
    let mut streams: Vec<Stream<'_, PyVal>> = Vec::new();
    for step in steps {
        let up = |i: usize| -> eddy::Result<Stream<'_, PyVal>> {
            step.ups
                .get(i)
                .and_then(|&u| streams.get(u))
                .cloned()
                .ok_or_else(|| eddy::EddyError::Build(format!("step {}: unknown upstream", step.step_id)))
        };
        let id = step.step_id.as_str();
        match step.kind.as_str() {
            "input" => {
                let source = IterSource {
                    iterable: step.arg(0)?,
                    step: id.to_owned(),
                };
                streams.push(flow.input(id, source));
            }
            "output" => {
                let sink = BatchSink {
                    write: step.arg(0)?,
                    step: id.to_owned(),
                };
                up(0)?.output(id, sink);
            }
            "map" => {
                let f = step.arg(0)?;
                streams.push(up(0)?.map(id, move |v| {
                    call(|py| Ok(PyVal(f.bind(py).call1((v.0,))?.unbind())))
                }));
            }
            "filter" => {
                let f = step.arg(0)?;
                streams.push(up(0)?.filter(id, move |v| {
                    call(|py| f.bind(py).call1((v.bind(py),))?.is_truthy())
                }));
            }
            "flat_map" => {
                let f = step.arg(0)?;
                streams.push(up(0)?.flat_map(id, move |v| {
                    call(|py| {
                        f.bind(py)
                            .call1((v.0,))?
                            .try_iter()?
                            .map(|x| x.map(|x| PyVal(x.unbind())))
                            .collect::<PyResult<Vec<_>>>()
                    })
                }));
            }
            "inspect" => {
                let f = step.arg(0)?;
                streams
                    .push(up(0)?.inspect(id, move |v| call(|py| f.bind(py).call1((v.bind(py),)).map(drop))));
            }
            "merge" => {
                let first = up(0)?;
                let rest: Vec<Stream<'_, PyVal>> =
                    (1..step.ups.len()).map(up).collect::<eddy::Result<_>>()?;
                streams.push(first.merge(id, &rest));
            }
            "stateful_map" => {
                let f = step.arg(0)?;
                let keyed = up(0)?.map(&format!("{id}:split"), split);
                let out = keyed.stateful_map(id, move |state: &mut Option<PyVal>, v: PyVal| {
                    call(|py| {
                        let old = state.take().map_or_else(|| py.None(), |s| s.0);
                        let got = f.bind(py).call1((old, v.0))?;
                        let t = got
                            .cast::<PyTuple>()
                            .ok()
                            .filter(|t| t.len() == 2)
                            .ok_or_else(|| {
                                pyo3::exceptions::PyTypeError::new_err(
                                    "stateful_map's mapper must return a (state, value) 2-tuple",
                                )
                            })?;
                        let new = t.get_item(0)?;
                        if !new.is_none() {
                            *state = Some(PyVal(new.unbind()));
                        }
                        Ok(PyVal(t.get_item(1)?.unbind()))
                    })
                });
                streams.push(out.map(&format!("{id}:pair"), |(k, v)| pair(k, v)));
            }
            other => {
                return Err(eddy::EddyError::Build(format!(
                    "step {id}: unknown kind {other:?}"
                )));
            }
        }
    }
    Ok(())
}
