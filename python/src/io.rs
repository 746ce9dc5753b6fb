//! Python inputs and outputs as eddy connectors: an iterable read by one
//! partition ([`IterSource`], what `TestingSource` gives), and a callable
//! that takes each batch ([`BatchSink`], what `TestingSink` and
//! `StdOutSink` give).

use eddy::connectors::{ConnectorError, Poll, Result, Sink, SinkPartition, Source, SourcePartition};
use pyo3::prelude::*;
use pyo3::types::{PyIterator, PyList};

use crate::value::{describe, PyVal};

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
