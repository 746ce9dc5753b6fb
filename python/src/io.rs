//! Python inputs and outputs as eddy connectors: an iterable read by one
//! partition ([`IterSource`], what `TestingSource` gives), and a callable
//! that takes each batch ([`BatchSink`], what `TestingSink` and
//! `StdOutSink` give).

use eddy::connectors::{ConnectorError, Poll, Sink, SinkPartition, Source, SourcePartition};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyIterator, PyList};

use crate::value::{describe, PyVal};

/// What a connector's methods return.
type Result<T, E = ConnectorError> = std::result::Result<T, E>;

/// The one partition of an iterable input.
const PART: &str = "iterable";

/// Items an iterable input yields per batch.
const BATCH: usize = 256;

/// An iterable, read in order by one partition. A resume skips the items
/// yielded before the snapshot (the iterable must give the same items
/// again: a list, a range).
pub struct IterSource {
    pub iterable: Py<PyAny>,
    pub step: String,
}

impl Source<PyVal> for IterSource {
    fn list_parts(&self) -> Result<Vec<String>> {
        Ok(vec![PART.to_owned()])
    }

    fn build_part(&self, _key: &str, resume: Option<&[u8]>) -> Result<Box<dyn SourcePartition<PyVal>>> {
        let skip = match resume {
            None | Some([]) => 0,
            Some(bytes) => u64::from_le_bytes(bytes.try_into().map_err(|_| {
                ConnectorError::Resume(format!("{}: bad position in the snapshot", self.step))
            })?),
        };
        let iter = Python::attach(|py| -> PyResult<Py<PyIterator>> {
            let mut iter = self.iterable.bind(py).try_iter()?;
            for _ in 0..skip {
                if iter.next().transpose()?.is_none() {
                    break;
                }
            }
            Ok(iter.unbind())
        })
        .map_err(|e| {
            Python::attach(|py| ConnectorError::Build(format!("{}: {}", self.step, describe(py, &e))))
        })?;
        Ok(Box::new(IterPart {
            iter,
            yielded: skip,
            step: self.step.clone(),
        }))
    }
}

/// An open iterable.
struct IterPart {
    iter: Py<PyIterator>,
    yielded: u64,
    step: String,
}

impl SourcePartition<PyVal> for IterPart {
    fn next_batch(&mut self, out: &mut Vec<PyVal>, max: usize) -> Result<Poll> {
        Python::attach(|py| {
            let mut iter = self.iter.bind(py).clone();
            for _ in 0..max.min(BATCH) {
                match iter.next().transpose() {
                    Ok(Some(item)) => {
                        out.push(PyVal(item.unbind()));
                        self.yielded += 1;
                    }
                    Ok(None) => return Ok(Poll::Done),
                    Err(e) => {
                        return Err(ConnectorError::Build(format!(
                            "input {} raised:\n{}",
                            self.step,
                            describe(py, &e)
                        )))
                    }
                }
            }
            Ok(Poll::Ready)
        })
    }

    fn position(&self) -> Vec<u8> {
        self.yielded.to_le_bytes().to_vec()
    }
}

/// A callable that takes each batch of items as a list, on one worker.
pub struct BatchSink {
    pub write: Py<PyAny>,
    pub step: String,
}

impl Sink<PyVal> for BatchSink {
    fn build(&self, _worker: usize, _workers: usize) -> Result<Box<dyn SinkPartition<PyVal>>> {
        Ok(Box::new(BatchWriter {
            write: Python::attach(|py| self.write.clone_ref(py)),
            step: self.step.clone(),
        }))
    }
}

/// The writer of a [`BatchSink`].
struct BatchWriter {
    write: Py<PyAny>,
    step: String,
}

impl SinkPartition<PyVal> for BatchWriter {
    fn write_batch(&mut self, items: &mut Vec<PyVal>) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        Python::attach(|py| {
            let list = PyList::new(py, items.drain(..).map(|v| v.0))?;
            self.write.bind(py).call1((list,))?;
            Ok(())
        })
        .map_err(|e: PyErr| {
            Python::attach(|py| {
                ConnectorError::Build(format!("output {} raised:\n{}", self.step, describe(py, &e)))
            })
        })
    }

    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A Python `FixedPartitionedSource`: its `list_parts()` are the
/// partitions (spread over the workers by eddy), each opened with
/// `build_part(step_id, part, resume_state)`; a partition's
/// `next_batch()` gives items (a `StopIteration` ends it) and
/// `next_awake()` when to ask again.
pub struct PartitionedSource {
    pub source: Py<PyAny>,
    pub step: String,
}

/// A Python `DynamicSource`: one partition per worker, each built with
/// `build(step_id, worker_index, worker_count)`.
pub struct DynamicSource {
    pub source: Py<PyAny>,
    pub step: String,
    pub workers: usize,
}

/// A connector error naming the step and carrying the Python traceback.
fn raised(step: &str, e: PyErr) -> ConnectorError {
    Python::attach(|py| ConnectorError::Build(format!("{step} raised:\n{}", describe(py, &e))))
}

impl Source<PyVal> for PartitionedSource {
    fn list_parts(&self) -> Result<Vec<String>> {
        Python::attach(|py| {
            self.source
                .bind(py)
                .call_method0("list_parts")?
                .extract::<Vec<String>>()
        })
        .map_err(|e| raised(&format!("input {} (list_parts)", self.step), e))
    }

    fn build_part(&self, key: &str, resume: Option<&[u8]>) -> Result<Box<dyn SourcePartition<PyVal>>> {
        let part = Python::attach(|py| {
            let state = match resume {
                Some(bytes) if !bytes.is_empty() => py
                    .import("pickle")?
                    .call_method1("loads", (PyBytes::new(py, bytes),))?,
                _ => py.None().into_bound(py),
            };
            self.source
                .bind(py)
                .call_method1("build_part", (self.step.as_str(), key, state))
                .map(Bound::unbind)
        })
        .map_err(|e| raised(&format!("input {} (build_part {key:?})", self.step), e))?;
        Ok(Box::new(PyPart {
            part,
            step: self.step.clone(),
            stateful: true,
            last: Vec::new(),
        }))
    }
}

impl Source<PyVal> for DynamicSource {
    fn list_parts(&self) -> Result<Vec<String>> {
        // One partition per worker: eddy gives partition `j` to worker
        // `j % workers`, so partition `j` is worker `j`'s.
        Ok((0..self.workers).map(|w| format!("worker-{w}")).collect())
    }

    fn build_part(&self, key: &str, _resume: Option<&[u8]>) -> Result<Box<dyn SourcePartition<PyVal>>> {
        let index: usize = key
            .strip_prefix("worker-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                ConnectorError::Build(format!("input {}: unknown partition {key:?}", self.step))
            })?;
        let part = Python::attach(|py| {
            self.source
                .bind(py)
                .call_method1("build", (self.step.as_str(), index, self.workers))
                .map(Bound::unbind)
        })
        .map_err(|e| raised(&format!("input {} (build)", self.step), e))?;
        Ok(Box::new(PyPart {
            part,
            step: self.step.clone(),
            stateful: false,
            last: Vec::new(),
        }))
    }
}

/// An open Python source partition.
struct PyPart {
    part: Py<PyAny>,
    step: String,
    /// A `StatefulSourcePartition`: its `snapshot()` is its position.
    stateful: bool,
    /// Its `snapshot()` after the last batch, pickled.
    last: Vec<u8>,
}

/// How long to wait when a partition has nothing and names no time.
const IDLE: std::time::Duration = std::time::Duration::from_millis(10);

impl SourcePartition<PyVal> for PyPart {
    fn next_batch(&mut self, out: &mut Vec<PyVal>, _max: usize) -> Result<Poll> {
        Python::attach(|py| -> PyResult<Poll> {
            let part = self.part.bind(py);
            let batch = match part.call_method0("next_batch") {
                Ok(b) => b,
                Err(e) if e.is_instance_of::<pyo3::exceptions::PyStopIteration>(py) => {
                    part.call_method0("close")?;
                    return Ok(Poll::Done);
                }
                Err(e) => return Err(e),
            };
            let before = out.len();
            for item in batch.try_iter()? {
                out.push(PyVal(item?.unbind()));
            }
            if self.stateful {
                // The position the engine keeps for a snapshot of the run:
                // taken now, as a closed partition cannot answer.
                let state = part.call_method0("snapshot")?;
                let bytes = py.import("pickle")?.call_method1("dumps", (state,))?;
                self.last = bytes.cast::<PyBytes>()?.as_bytes().to_vec();
            }
            if out.len() > before {
                return Ok(Poll::Ready);
            }
            // Nothing now: ask again at `next_awake()` (a datetime), or soon.
            let awake = part.call_method0("next_awake")?;
            if awake.is_none() {
                return Ok(Poll::Pending(IDLE));
            }
            let seconds: f64 = awake.call_method0("timestamp")?.extract::<f64>()?
                - py.import("time")?.call_method0("time")?.extract::<f64>()?;
            Ok(Poll::Pending(std::time::Duration::from_secs_f64(
                seconds.clamp(0.0, 3600.0),
            )))
        })
        .map_err(|e| raised(&format!("input {}", self.step), e))
    }

    /// `snapshot()` after the last batch, pickled.
    fn position(&self) -> Vec<u8> {
        self.last.clone()
    }
}

/// A Python `DynamicSink`: one writer per worker, built with
/// `build(step_id, worker_index, worker_count)`; each batch goes to its
/// `write_batch(items)`, and `close()` at the end.
pub struct DynamicSink {
    pub sink: Py<PyAny>,
    pub step: String,
}

impl Sink<PyVal> for DynamicSink {
    fn routing(&self) -> eddy::connectors::SinkRouting {
        eddy::connectors::SinkRouting::PerWorker
    }

    fn build(&self, worker: usize, workers: usize) -> Result<Box<dyn SinkPartition<PyVal>>> {
        let part = Python::attach(|py| {
            self.sink
                .bind(py)
                .call_method1("build", (self.step.as_str(), worker, workers))
                .map(Bound::unbind)
        })
        .map_err(|e| raised(&format!("output {} (build)", self.step), e))?;
        let write = Python::attach(|py| part.bind(py).getattr("write_batch").map(Bound::unbind))
            .map_err(|e| raised(&format!("output {}", self.step), e))?;
        Ok(Box::new(PySinkPart {
            batch: BatchWriter {
                write,
                step: self.step.clone(),
            },
            part,
        }))
    }
}

/// An open Python sink partition.
struct PySinkPart {
    batch: BatchWriter,
    part: Py<PyAny>,
}

impl SinkPartition<PyVal> for PySinkPart {
    fn write_batch(&mut self, items: &mut Vec<PyVal>) -> Result<()> {
        self.batch.write_batch(items)
    }

    fn close(&mut self) -> Result<()> {
        Python::attach(|py| self.part.bind(py).call_method0("close").map(drop))
            .map_err(|e| raised(&format!("output {} (close)", self.batch.step), e))
    }
}
