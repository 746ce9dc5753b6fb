//! A Python `FixedPartitionedSink` (Bytewax's interface) as an eddy
//! [`Sink`]: one writer (worker 0 of process 0) opens every partition of
//! `list_parts()` with `build_part(step_id, part, resume_state)`, routes
//! each `(key, value)` to partition `part_fn(key) % len(parts)` and gives
//! it the values. A snapshot holds every partition's `snapshot()`,
//! pickled; a resume (with any worker count) reopens each partition from
//! its state.

use eddy::connectors::{ConnectorError, Sink, SinkPartition, SinkRouting};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::value::{describe, pair_of, PyVal};

/// What a connector's methods return.
type Result<T, E = ConnectorError> = std::result::Result<T, E>;

/// The sink, as the Python side recorded it.
pub struct PartitionedSink {
    pub sink: Py<PyAny>,
    pub step: String,
}

/// A connector error naming the step and carrying the Python traceback.
fn raised(py: Python<'_>, step: &str, e: &PyErr) -> ConnectorError {
    ConnectorError::Build(format!("output {step} raised:\n{}", describe(py, e)))
}

impl PartitionedSink {
    /// Opens every partition, each from its state in `states` (a dict by
    /// partition name) when given.
    fn open(&self, states: Option<&[u8]>) -> Result<Box<dyn SinkPartition<PyVal>>> {
        Python::attach(|py| {
            let opened = || -> PyResult<PartitionedWriter> {
                let sink = self.sink.bind(py);
                let names: Vec<String> = sink.call_method0("list_parts")?.extract()?;
                let states = match states {
                    Some(bytes) => Some(
                        py.import("pickle")?
                            .call_method1("loads", (PyBytes::new(py, bytes),))?
                            .cast_into::<PyDict>()?,
                    ),
                    None => None,
                };
                let mut parts = Vec::with_capacity(names.len());
                for name in &names {
                    let state = match &states {
                        Some(d) => d.get_item(name)?.unwrap_or_else(|| py.None().into_bound(py)),
                        None => py.None().into_bound(py),
                    };
                    parts.push(
                        sink.call_method1("build_part", (self.step.as_str(), name.as_str(), state))?
                            .unbind(),
                    );
                }
                Ok(PartitionedWriter {
                    part_fn: sink.getattr("part_fn")?.unbind(),
                    names,
                    parts,
                    step: self.step.clone(),
                })
            };
            opened()
                .map(|w| Box::new(w) as Box<dyn SinkPartition<PyVal>>)
                .map_err(|e| raised(py, &self.step, &e))
        })
    }
}

impl Sink<PyVal> for PartitionedSink {
    fn routing(&self) -> SinkRouting {
        SinkRouting::Single
    }

    fn build(&self, _worker: usize, _workers: usize) -> Result<Box<dyn SinkPartition<PyVal>>> {
        self.open(None)
    }

    fn resume(&self, _worker: usize, _workers: usize, state: &[u8]) -> Result<Box<dyn SinkPartition<PyVal>>> {
        self.open(Some(state))
    }
}

/// The open partitions.
struct PartitionedWriter {
    part_fn: Py<PyAny>,
    names: Vec<String>,
    parts: Vec<Py<PyAny>>,
    step: String,
}

impl PartitionedWriter {
    /// Writes `items` (`(key, value)` tuples), each partition's values in
    /// one `write_batch` call, in their order.
    fn write(&self, py: Python<'_>, items: Vec<PyVal>) -> PyResult<()> {
        if self.parts.is_empty() {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "the sink's list_parts() is empty: there is nowhere to write",
            ));
        }
        let mut batches: Vec<Vec<Py<PyAny>>> = self.parts.iter().map(|_| Vec::new()).collect();
        for item in items {
            let item = item.0.into_bound(py);
            let pair = pair_of(&item, "a FixedPartitionedSink takes (key, value) 2-tuples")?;
            let hash: i128 = self.part_fn.bind(py).call1((pair.get_item(0)?,))?.extract()?;
            let index = usize::try_from(hash.rem_euclid(self.parts.len() as i128)).unwrap_or(0);
            batches[index].push(pair.get_item(1)?.unbind());
        }
        for (part, batch) in self.parts.iter().zip(batches) {
            if !batch.is_empty() {
                part.bind(py)
                    .call_method1("write_batch", (PyList::new(py, batch)?,))?;
            }
        }
        Ok(())
    }
}

impl SinkPartition<PyVal> for PartitionedWriter {
    fn write_batch(&mut self, items: &mut Vec<PyVal>) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let items = std::mem::take(items);
        Python::attach(|py| self.write(py, items).map_err(|e| raised(py, &self.step, &e)))
    }

    fn close(&mut self) -> Result<()> {
        Python::attach(|py| {
            for part in &self.parts {
                part.bind(py)
                    .call_method0("close")
                    .map_err(|e| raised(py, &self.step, &e))?;
            }
            Ok(())
        })
    }

    fn snapshot(&mut self) -> Result<Vec<u8>> {
        Python::attach(|py| {
            let taken = || -> PyResult<Vec<u8>> {
                let states = PyDict::new(py);
                for (name, part) in self.names.iter().zip(&self.parts) {
                    states.set_item(name, part.bind(py).call_method0("snapshot")?)?;
                }
                let bytes = py.import("pickle")?.call_method1("dumps", (states,))?;
                Ok(bytes.cast::<PyBytes>()?.as_bytes().to_vec())
            };
            taken().map_err(|e| raised(py, &self.step, &e))
        })
    }
}
