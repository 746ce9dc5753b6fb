//! Eddy's connectors: partitioned, resumable sources and sinks, and the
//! connector error ([`ConnectorError`]). No engine here: the `eddy` crate drives these
//! traits from its timely operators.
//!
//! A [`Source`] is a fixed, ordered list of partitions (a file, a chunk of a
//! big file, stdin). Every worker lists the same partitions and builds only
//! the ones assigned to it (partition `j` of `n` goes to worker `j % workers`),
//! so reading is spread over all workers of all processes. Each partition can
//! report its resume position ([`SourcePartition::position`]) for recovery.
//!
//! Kafka topics are sources and sinks too (`kafka`, with the `kafka` cargo
//! feature, on by default): a topic partition is a source partition, its
//! offset the resume position. Without the feature librdkafka is not built.
//!
//! A [`Sink`] is written by one writer (all items routed to worker 0) or one
//! writer per worker; see [`SinkRouting`].

pub mod error;
pub mod files;
pub mod input_record;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod stdio;

pub use error::{ConnectorError, Result};
pub use files::{FileSink, FileSinkWriter, FileSource, LineRef};
pub use input_record::{InputRecord, RecordedInput};
pub use stdio::StdOutSink;

use std::time::Duration;

/// What a partition said after a call to [`SourcePartition::next_batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// Items may have been added; call again soon.
    Ready,
    /// Nothing available now (a live source); call again after the delay.
    Pending(Duration),
    /// The partition is exhausted: it will never yield again.
    Done,
}

/// A partitioned input: the description, built on every worker.
pub trait Source<T>: 'static {
    /// The partition keys, in a fixed order that is the same on every worker
    /// and does not depend on the number of workers.
    fn list_parts(&self) -> Result<Vec<String>>;
    /// Opens one partition, at its start or at a resume position previously
    /// returned by [`SourcePartition::position`].
    fn build_part(&self, key: &str, resume: Option<&[u8]>) -> Result<Box<dyn SourcePartition<T>>>;
    /// Whether the partition `key` continues the one listed just before it
    /// (the next byte range of the same file): the engine then orders their
    /// items as one partition, in byte order, however they are spread over
    /// workers. The default: every partition stands alone.
    fn continues_previous(&self, key: &str) -> bool {
        let _ = key;
        false
    }
}

/// One open partition of a [`Source`].
pub trait SourcePartition<T> {
    /// Appends at most `max` items to `out`.
    fn next_batch(&mut self, out: &mut Vec<T>, max: usize) -> Result<Poll>;
    /// The position to resume from after everything yielded so far.
    fn position(&self) -> Vec<u8>;
    /// Whether the partition can be closed and built again at its
    /// [`position`](SourcePartition::position) without losing anything (a
    /// regular file: yes; stdin or a pipe: no). The engine closes such
    /// partitions while others are read, so that the number of open files
    /// stays bounded whatever the number of partitions.
    fn reopenable(&self) -> bool {
        false
    }
    /// A count that grows by the bytes of source data this open partition
    /// consumes (a file: its read offset), or 0 when it does not know; only
    /// its differences across one `next_batch` are used. The engine weighs
    /// each batch it has in flight by the bytes read for it (plus the items'
    /// own size), so that its read-ahead is bounded in bytes.
    fn bytes_read(&self) -> u64 {
        0
    }
}

/// Where a sink's items are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkRouting {
    /// All items are routed to worker 0 of process 0, which alone writes:
    /// one complete output, whatever the number of workers.
    Single,
    /// Each worker writes its own part.
    PerWorker,
}

/// A partitioned output: the description, built on every worker.
pub trait Sink<T>: 'static {
    /// How items reach the writers.
    fn routing(&self) -> SinkRouting {
        SinkRouting::Single
    }
    /// Opens the writer of worker `worker` (of `workers`). Called only on
    /// workers that write (worker 0 alone under [`SinkRouting::Single`]).
    fn build(&self, worker: usize, workers: usize) -> Result<Box<dyn SinkPartition<T>>>;
    /// Reopens the writer of worker `worker` from the state its
    /// [`SinkPartition::snapshot`] returned, dropping whatever was written
    /// after that snapshot (a file is truncated back). The default opens a
    /// fresh writer: right for sinks that cannot take output back (stdout),
    /// which are then at-least-once after a resume.
    fn resume(&self, worker: usize, workers: usize, state: &[u8]) -> Result<Box<dyn SinkPartition<T>>> {
        let _ = state;
        self.build(worker, workers)
    }
}

/// One open writer of a [`Sink`].
pub trait SinkPartition<T> {
    /// Writes (and consumes) a batch of items, in order.
    fn write_batch(&mut self, items: &mut Vec<T>) -> Result<()>;
    /// Flushes and closes at end of input.
    fn close(&mut self) -> Result<()>;
    /// Makes everything written so far durable and returns the state that
    /// [`Sink::resume`] takes back (for a file, its length). Called at each
    /// recovery snapshot; the default keeps nothing.
    fn snapshot(&mut self) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
}

impl<T, S: Sink<T> + ?Sized> Sink<T> for Box<S> {
    fn routing(&self) -> SinkRouting {
        (**self).routing()
    }

    fn build(&self, worker: usize, workers: usize) -> Result<Box<dyn SinkPartition<T>>> {
        (**self).build(worker, workers)
    }

    fn resume(&self, worker: usize, workers: usize, state: &[u8]) -> Result<Box<dyn SinkPartition<T>>> {
        (**self).resume(worker, workers, state)
    }
}
