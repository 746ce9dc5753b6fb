//! Testing helpers: a source from a `Vec`, a lazy source from any
//! iterator ([`IterSource`]), a sink into shared memory, and a one-call
//! runner for examples and tests.

use std::sync::{Arc, Mutex};

use crate::connectors::ConnectorError;
use crate::connectors::{Poll, Sink, SinkPartition, Source, SourcePartition};
use crate::dataflow::run;
use crate::dataflow::{Data, Stream};
use crate::engine::run::RunConfig;
use crate::error::EddyError;

/// What a connector's methods return.
type Result<T, E = ConnectorError> = std::result::Result<T, E>;

/// A source over in-memory items (Bytewax's `TestingSource`): one partition
/// per `Vec`, read `batch_size` items at a time.
#[derive(Debug, Clone)]
pub struct TestingSource<T> {
    parts: Vec<Vec<T>>,
    batch_size: usize,
}

impl<T: Clone> TestingSource<T> {
    /// One partition holding `items`.
    pub fn new(items: impl IntoIterator<Item = T>) -> Self {
        Self::partitioned(vec![items.into_iter().collect()])
    }

    /// One partition per inner `Vec`.
    pub fn partitioned(parts: Vec<Vec<T>>) -> Self {
        TestingSource {
            parts,
            batch_size: 1024,
        }
    }

    /// Items per batch (at least 1).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }
}

/// A testing partition's index (of `parts`, named `part-N`) and the count
/// of items read before its resume position (0 on a fresh start).
fn part_and_count(key: &str, parts: usize, resume: Option<&[u8]>) -> Result<(usize, u64)> {
    let index = key
        .strip_prefix("part-")
        .and_then(|i| i.parse::<usize>().ok())
        .filter(|i| *i < parts)
        .ok_or_else(|| ConnectorError::Build(format!("no testing partition {key:?}")))?;
    let read = match resume {
        Some(b) => u64::from_le_bytes(
            b.try_into()
                .map_err(|_| ConnectorError::Resume(format!("bad resume position for {key}")))?,
        ),
        None => 0,
    };
    Ok((index, read))
}

struct TestingPartition<T> {
    items: std::vec::IntoIter<T>,
    batch_size: usize,
    read: u64,
}

impl<T: Clone + 'static> Source<T> for TestingSource<T> {
    fn list_parts(&self) -> Result<Vec<String>> {
        Ok((0..self.parts.len()).map(|i| format!("part-{i}")).collect())
    }

    fn build_part(&self, key: &str, resume: Option<&[u8]>) -> Result<Box<dyn SourcePartition<T>>> {
        let (index, skip) = part_and_count(key, self.parts.len(), resume)?;
        let items: Vec<T> = self.parts[index].iter().skip(skip as usize).cloned().collect();
        Ok(Box::new(TestingPartition {
            items: items.into_iter(),
            batch_size: self.batch_size,
            read: skip,
        }))
    }
}

impl<T> SourcePartition<T> for TestingPartition<T> {
    fn next_batch(&mut self, out: &mut Vec<T>, max: usize) -> Result<Poll> {
        let n = self.batch_size.min(max);
        let before = out.len();
        out.extend(self.items.by_ref().take(n));
        self.read += (out.len() - before) as u64;
        Ok(if self.items.len() == 0 {
            Poll::Done
        } else {
            Poll::Ready
        })
    }

    fn position(&self) -> Vec<u8> {
        self.read.to_le_bytes().to_vec()
    }
}

/// A source over iterators made on demand (Bytewax's `TestingSource` over
/// a generator): partition `p` yields the items of `make(p)`, made when the
/// partition opens on the worker that reads it, so nothing is collected or
/// cloned. A resume calls `make(p)` again and skips the items read before
/// the snapshot: `make` must give the same items each time.
///
/// ```
/// use eddy::testing::{IterSource, TestingSink};
/// use eddy::{run, RunConfig};
/// let sink = TestingSink::new();
/// let out = sink.clone();
/// run("gen", &RunConfig::workers(2), move |flow| {
///     // Two partitions, each generating its own half of the numbers.
///     let numbers = IterSource::partitioned(2, |p| (0..5u64).map(move |i| i * 2 + p as u64));
///     flow.input("numbers", numbers).map("square", |x: u64| x * x).output("out", out.clone());
///     Ok(())
/// })?;
/// let mut got = sink.take();
/// got.sort();
/// assert_eq!(got, (0..10u64).map(|x| x * x).collect::<Vec<_>>());
/// # Ok::<(), eddy::EddyError>(())
/// ```
pub struct IterSource<F> {
    parts: usize,
    make: F,
}

impl<F> IterSource<F> {
    /// One partition: the items of `make(0)`.
    pub fn new(make: F) -> Self {
        IterSource { parts: 1, make }
    }

    /// `parts` partitions (at least 1), spread over the workers: partition
    /// `p` yields the items of `make(p)`.
    pub fn partitioned(parts: usize, make: F) -> Self {
        IterSource {
            parts: parts.max(1),
            make,
        }
    }
}

impl<T, I, F> Source<T> for IterSource<F>
where
    F: Fn(usize) -> I + 'static,
    I: Iterator<Item = T> + 'static,
{
    fn list_parts(&self) -> Result<Vec<String>> {
        Ok((0..self.parts).map(|i| format!("part-{i}")).collect())
    }

    fn build_part(&self, key: &str, resume: Option<&[u8]>) -> Result<Box<dyn SourcePartition<T>>> {
        let (index, read) = part_and_count(key, self.parts, resume)?;
        let mut items = (self.make)(index);
        if read > 0 {
            // `nth(n - 1)` skips `n` items.
            let _skipped = items.nth(usize::try_from(read - 1).unwrap_or(usize::MAX));
        }
        Ok(Box::new(IterPartition {
            items: Some(items),
            read,
        }))
    }
}

/// An open [`IterSource`] partition (`None` once exhausted).
struct IterPartition<I> {
    items: Option<I>,
    read: u64,
}

impl<T, I: Iterator<Item = T>> SourcePartition<T> for IterPartition<I> {
    fn next_batch(&mut self, out: &mut Vec<T>, max: usize) -> Result<Poll> {
        let Some(items) = self.items.as_mut() else {
            return Ok(Poll::Done);
        };
        let before = out.len();
        out.extend(items.by_ref().take(max.max(1)));
        let got = out.len() - before;
        self.read += got as u64;
        if got < max.max(1) {
            self.items = None;
            return Ok(Poll::Done);
        }
        Ok(Poll::Ready)
    }

    fn position(&self) -> Vec<u8> {
        self.read.to_le_bytes().to_vec()
    }
}

/// A sink collecting every item into shared memory (Bytewax's
/// `TestingSink`); clone it to read the items after the run. With recovery
/// it is exactly-once: a resume drops the items written after the snapshot.
#[derive(Debug)]
pub struct TestingSink<T> {
    items: Arc<Mutex<Vec<T>>>,
}

impl<T> Clone for TestingSink<T> {
    fn clone(&self) -> Self {
        TestingSink {
            items: self.items.clone(),
        }
    }
}

impl<T> Default for TestingSink<T> {
    fn default() -> Self {
        TestingSink {
            items: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl<T> TestingSink<T> {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the items collected so far, in the order written.
    pub fn take(&self) -> Vec<T> {
        self.items
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// A panic while another writer held the sink's lock.
fn poisoned() -> ConnectorError {
    ConnectorError::io("testing sink", std::io::Error::other("lock poisoned"))
}

struct TestingWriter<T> {
    items: Arc<Mutex<Vec<T>>>,
}

impl<T: 'static> Sink<T> for TestingSink<T> {
    /// A fresh start writes the output from empty, as a file sink truncates
    /// its file: what a run that crashed before its first snapshot had
    /// written is not kept (take the items between runs to keep them).
    fn build(&self, _worker: usize, _workers: usize) -> Result<Box<dyn SinkPartition<T>>> {
        self.items.lock().map_err(|_| poisoned())?.clear();
        Ok(Box::new(TestingWriter {
            items: self.items.clone(),
        }))
    }

    /// Exactly-once, like a file: drops what was written after the
    /// snapshot (its state is the item count).
    fn resume(&self, _worker: usize, _workers: usize, state: &[u8]) -> Result<Box<dyn SinkPartition<T>>> {
        let n = state
            .try_into()
            .map(u64::from_le_bytes)
            .map_err(|_| ConnectorError::Resume("bad testing sink state".into()))?;
        self.items.lock().map_err(|_| poisoned())?.truncate(n as usize);
        Ok(Box::new(TestingWriter {
            items: self.items.clone(),
        }))
    }
}

impl<T> SinkPartition<T> for TestingWriter<T> {
    fn write_batch(&mut self, items: &mut Vec<T>) -> Result<()> {
        let mut v = self.items.lock().map_err(|_| poisoned())?;
        v.append(items);
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        Ok(())
    }

    fn snapshot(&mut self) -> Result<Vec<u8>> {
        let n = self.items.lock().map_err(|_| poisoned())?.len();
        Ok((n as u64).to_le_bytes().to_vec())
    }
}

/// Runs `items` through the steps `build` adds, on one worker, and returns
/// the output in order. For examples and tests.
pub fn run_collect<T, U, F>(items: Vec<T>, build: F) -> Vec<U>
where
    T: Data,
    U: Data,
    F: for<'a> Fn(Stream<'a, T>) -> Stream<'a, U> + Send + Sync + 'static,
{
    run_collect_with(&RunConfig::workers(1), TestingSource::new(items), build)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `source` through the steps `build` adds with `config`, and returns
/// the output (written by one writer, in canonical order).
pub fn run_collect_with<T, U, F>(
    config: &RunConfig,
    source: TestingSource<T>,
    build: F,
) -> Result<Vec<U>, EddyError>
where
    T: Data,
    U: Data,
    F: for<'a> Fn(Stream<'a, T>) -> Stream<'a, U> + Send + Sync + 'static,
{
    let sink = TestingSink::new();
    let out = sink.clone();
    run("test", config, move |flow| {
        let input = flow.input("inp", source.clone());
        build(input).output("out", out.clone());
        Ok(())
    })?;
    Ok(sink.take())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resumed partition skips exactly what was read before.
    #[test]
    fn an_iterator_partition_resumes_after_what_it_read() -> Result<()> {
        let source = IterSource::new(|_| 0..10u32);
        let mut part = source.build_part("part-0", None)?;
        let mut out = Vec::new();
        assert_eq!(part.next_batch(&mut out, 4)?, Poll::Ready);
        let at = part.position();
        let mut resumed = source.build_part("part-0", Some(&at))?;
        let mut rest = Vec::new();
        while resumed.next_batch(&mut rest, 3)? == Poll::Ready {}
        assert_eq!((out, rest), (vec![0, 1, 2, 3], vec![4, 5, 6, 7, 8, 9]));
        assert!(source.build_part("part-1", None).is_err());
        Ok(())
    }

    /// Regression (recovery tests, about half the runs under load): a run
    /// that crashed before its first snapshot starts over, and its output
    /// with it; a resume keeps what the snapshot covered.
    #[test]
    fn a_fresh_start_writes_from_empty_and_a_resume_keeps_the_snapshot() -> Result<()> {
        let sink = TestingSink::new();
        let mut first = sink.build(0, 1)?;
        first.write_batch(&mut vec![1, 2])?;
        let state = first.snapshot()?;
        first.write_batch(&mut vec![3])?;
        drop(first);
        let mut resumed = sink.resume(0, 1, &state)?;
        resumed.write_batch(&mut vec![4])?;
        assert_eq!(sink.take(), vec![1, 2, 4]);
        sink.build(0, 1)?.write_batch(&mut vec![5])?;
        let _fresh = sink.build(0, 1)?;
        assert_eq!(
            sink.take(),
            Vec::<i32>::new(),
            "a fresh start drops what an earlier run wrote"
        );
        Ok(())
    }
}
