//! The run's outputs: rows in each format, late lines, dead letters, and the
//! sink that turns the first invalid line into the run's error.

use std::fs::File;
use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use ctr::format;
use ctr::metrics::Row;
use ctr::row_format::RowFormat;
use eddy::connectors::files::{reopen_at, sync_if_regular, FileSink};
use eddy::connectors::stdio::StdOutSink;
use eddy::connectors::{Sink, SinkPartition, SinkRouting};
use eddy::ConnectorError;
use serde::Serialize;

use super::item::BadLine;
use crate::args::Format;

/// `-` means stdout.
fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// What errors call stdout (the library's sinks say `-`).
const STDOUT: &str = "stdout";

/// A sink of `T` to a file, or to stdout for `-`; `live` (an input that may
/// not end): a file gets each batch as it comes.
pub fn bytes_sink<T: 'static>(
    path: &Path,
    header: Option<&str>,
    live: bool,
    encode: impl Fn(&T, &mut Vec<u8>) + Send + Sync + 'static,
) -> Box<dyn Sink<T>> {
    match (is_stdout(path), header) {
        (true, None) => Box::new(NamedStdout(StdOutSink::new(encode))),
        (true, Some(h)) => Box::new(NamedStdout(StdOutSink::new(encode).header(h))),
        (false, None) => Box::new(FileSink::new(path, encode).flush_each_batch(live)),
        (false, Some(h)) => Box::new(FileSink::new(path, encode).header(h).flush_each_batch(live)),
    }
}

/// [`StdOutSink`] whose errors say `stdout: …` rather than `-: …`.
struct NamedStdout<S>(S);

/// The writer of a [`NamedStdout`].
struct NamedStdoutWriter<T>(Box<dyn SinkPartition<T>>);

/// An I/O error on `-` is one on stdout.
fn name_stdout(e: ConnectorError) -> ConnectorError {
    match e {
        ConnectorError::Io { path, error } if is_stdout(&path) => ConnectorError::io(STDOUT, error),
        e => e,
    }
}

impl<T: 'static, S: Sink<T>> Sink<T> for NamedStdout<S> {
    fn routing(&self) -> SinkRouting {
        self.0.routing()
    }

    fn build(
        &self,
        worker: usize,
        workers: usize,
    ) -> eddy::Result<Box<dyn SinkPartition<T>>, eddy::ConnectorError> {
        let inner = self.0.build(worker, workers).map_err(name_stdout)?;
        Ok(Box::new(NamedStdoutWriter(inner)))
    }

    fn resume(
        &self,
        worker: usize,
        workers: usize,
        state: &[u8],
    ) -> eddy::Result<Box<dyn SinkPartition<T>>, eddy::ConnectorError> {
        let inner = self.0.resume(worker, workers, state).map_err(name_stdout)?;
        Ok(Box::new(NamedStdoutWriter(inner)))
    }
}

impl<T> SinkPartition<T> for NamedStdoutWriter<T> {
    fn write_batch(&mut self, items: &mut Vec<T>) -> eddy::Result<(), eddy::ConnectorError> {
        self.0.write_batch(items).map_err(name_stdout)
    }

    fn close(&mut self) -> eddy::Result<(), eddy::ConnectorError> {
        self.0.close().map_err(name_stdout)
    }

    fn snapshot(&mut self) -> eddy::Result<Vec<u8>, eddy::ConnectorError> {
        self.0.snapshot().map_err(name_stdout)
    }
}

/// Told each batch a tapped sink's writer is about to write.
pub type Tap<T> = Arc<dyn Fn(&[T]) + Send + Sync>;

/// A sink that shows `tap` every batch its writer writes, and an empty one
/// when a writer is opened (built or resumed, so the tap knows the output
/// exists even if nothing reaches it): how the summary counts what reached
/// an output. (A failed write fails the run, and a failed run prints no
/// summary, so what the tap saw is what was written.)
pub struct Tapped<T> {
    /// The sink written to.
    pub sink: Box<dyn Sink<T>>,
    /// Shown each batch.
    pub tap: Tap<T>,
}

struct TappedWriter<T> {
    inner: Box<dyn SinkPartition<T>>,
    tap: Tap<T>,
}

impl<T: 'static> Tapped<T> {
    fn tapping(&self, inner: Box<dyn SinkPartition<T>>) -> Box<dyn SinkPartition<T>> {
        (self.tap)(&[]);
        Box::new(TappedWriter {
            inner,
            tap: self.tap.clone(),
        })
    }
}

impl<T: 'static> Sink<T> for Tapped<T> {
    fn routing(&self) -> SinkRouting {
        self.sink.routing()
    }

    fn build(
        &self,
        worker: usize,
        workers: usize,
    ) -> eddy::Result<Box<dyn SinkPartition<T>>, eddy::ConnectorError> {
        Ok(self.tapping(self.sink.build(worker, workers)?))
    }

    fn resume(
        &self,
        worker: usize,
        workers: usize,
        state: &[u8],
    ) -> eddy::Result<Box<dyn SinkPartition<T>>, eddy::ConnectorError> {
        Ok(self.tapping(self.sink.resume(worker, workers, state)?))
    }
}

impl<T> SinkPartition<T> for TappedWriter<T> {
    fn write_batch(&mut self, items: &mut Vec<T>) -> eddy::Result<(), eddy::ConnectorError> {
        (self.tap)(items);
        self.inner.write_batch(items)
    }

    fn close(&mut self) -> eddy::Result<(), eddy::ConnectorError> {
        self.inner.close()
    }

    fn snapshot(&mut self) -> eddy::Result<Vec<u8>, eddy::ConnectorError> {
        self.inner.snapshot()
    }
}

/// The row sink for `format` (`live`: see [`bytes_sink`]).
pub fn row_sink(path: &Path, format: Format, live: bool) -> Box<dyn Sink<Row>> {
    match format {
        Format::Jsonl => bytes_sink(path, None, live, Row::write_jsonl),
        Format::Csv => bytes_sink(path, Some(Row::CSV_HEADER), live, Row::write_csv),
        Format::Text => Box::new(TextSink {
            path: path.to_path_buf(),
        }),
    }
}

/// Late events: each original line, byte for byte.
pub fn late_sink(path: &Path, live: bool) -> Box<dyn Sink<Bytes>> {
    bytes_sink(path, None, live, |raw: &Bytes, out: &mut Vec<u8>| {
        if raw.is_empty() {
            // The second event of a UBI line: the line went with the first.
            return;
        }
        out.extend_from_slice(raw);
        out.push(b'\n');
    })
}

/// One dead letter, as written.
#[derive(Serialize)]
struct DeadLetter<'a> {
    /// The file, or for a Kafka message `topic/partition@offset`.
    file: &'a str,
    /// Absent for a Kafka message (its place is in `file`).
    #[serde(skip_serializing_if = "is_zero")]
    line: u64,
    reason: &'a str,
    /// The line as text (invalid UTF-8 replaced by U+FFFD).
    text: std::borrow::Cow<'a, str>,
    /// The exact bytes (standard base64), only when the line is not valid
    /// UTF-8 (`text` then cannot hold them).
    #[serde(skip_serializing_if = "Option::is_none")]
    text_base64: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl<'a> DeadLetter<'a> {
    fn of(bad: &'a BadLine) -> Self {
        use base64::Engine as _;
        let text = String::from_utf8_lossy(&bad.raw);
        let text_base64 = matches!(text, std::borrow::Cow::Owned(_))
            .then(|| base64::engine::general_purpose::STANDARD.encode(&bad.raw));
        DeadLetter {
            file: &bad.file,
            line: bad.line,
            reason: &bad.reason,
            text,
            text_base64,
        }
    }
}

/// Invalid lines as JSON objects with file, line, reason and text, plus
/// `text_base64` (the exact bytes) for a line that is not valid UTF-8.
pub fn dead_letter_sink(path: &Path, live: bool) -> Box<dyn Sink<BadLine>> {
    bytes_sink(path, None, live, write_dead_letter)
}

/// Appends one dead letter's JSON line (with its `\n`).
pub fn write_dead_letter(bad: &BadLine, out: &mut Vec<u8>) {
    let letter = DeadLetter::of(bad);
    if serde_json::to_writer(&mut *out, &letter).is_ok() {
        out.push(b'\n');
    }
}

/// `--on-invalid fail`: the first invalid line (in input order) is the
/// run's error.
pub struct FailOnInvalid;

impl Sink<BadLine> for FailOnInvalid {
    fn build(
        &self,
        _worker: usize,
        _workers: usize,
    ) -> eddy::Result<Box<dyn SinkPartition<BadLine>>, eddy::ConnectorError> {
        Ok(Box::new(FailOnInvalid))
    }
}

impl SinkPartition<BadLine> for FailOnInvalid {
    fn write_batch(&mut self, items: &mut Vec<BadLine>) -> eddy::Result<(), eddy::ConnectorError> {
        match items.drain(..).next() {
            // A Kafka message: `topic/partition@offset: reason`.
            Some(bad) if bad.line == 0 => Err(ConnectorError::io(
                bad.file,
                std::io::Error::new(ErrorKind::InvalidData, bad.reason),
            )),
            Some(bad) => Err(ConnectorError::Input {
                path: PathBuf::from(bad.file),
                line: bad.line,
                message: bad.reason,
            }),
            None => Ok(()),
        }
    }

    fn close(&mut self) -> eddy::Result<(), eddy::ConnectorError> {
        Ok(())
    }
}

/// The tutorial's text style: a `User …: … searches, … clicks` line per
/// row as rows come, then every `('user', clicks_per_search)` line at the
/// end (as the tutorial prints them).
struct TextSink {
    path: PathBuf,
}

struct TextWriter {
    path: PathBuf,
    out: Option<BufWriter<Box<dyn Write>>>,
    /// The file, to sync and measure at snapshots (`None` for stdout).
    file: Option<File>,
    written: u64,
    tuples: Vec<u8>,
    buf: Vec<u8>,
    /// A resumed file's length at the snapshot: what follows it is cut
    /// before the first write, snapshot or close (see `reopen_at`).
    cut_to: Option<u64>,
}

impl TextSink {
    fn open(&self, resume: Option<(u64, Vec<u8>)>) -> eddy::Result<TextWriter, eddy::ConnectorError> {
        let err = |e| ConnectorError::io(&self.path, e);
        let (out, file, written): (Box<dyn Write>, _, _) = if is_stdout(&self.path) {
            (Box::new(std::io::stdout()), None, 0)
        } else {
            let file = match resume.as_ref() {
                None => File::create(&self.path).map_err(err)?,
                // The file sink's resume, for this format.
                Some((len, _)) => reopen_at(&self.path, *len)?,
            };
            let handle = file.try_clone().map_err(err)?;
            (Box::new(file), Some(handle), resume.as_ref().map_or(0, |r| r.0))
        };
        let cut_to = file.is_some().then(|| resume.as_ref().map(|r| r.0)).flatten();
        Ok(TextWriter {
            path: if file.is_some() {
                self.path.clone()
            } else {
                PathBuf::from(STDOUT)
            },
            out: Some(BufWriter::with_capacity(256 << 10, out)),
            file,
            written,
            cut_to,
            tuples: resume.map(|r| r.1).unwrap_or_default(),
            buf: Vec::new(),
        })
    }
}

impl Sink<Row> for TextSink {
    fn build(
        &self,
        _worker: usize,
        _workers: usize,
    ) -> eddy::Result<Box<dyn SinkPartition<Row>>, eddy::ConnectorError> {
        Ok(Box::new(self.open(None)?))
    }

    fn resume(
        &self,
        _worker: usize,
        _workers: usize,
        state: &[u8],
    ) -> eddy::Result<Box<dyn SinkPartition<Row>>, eddy::ConnectorError> {
        let bad = || {
            ConnectorError::Resume(format!(
                "{}: bad text sink state in the snapshot",
                self.path.display()
            ))
        };
        let (len, tuples) = match state {
            [1, rest @ ..] if rest.len() >= 8 => {
                let (len, tuples) = rest.split_at(8);
                (
                    u64::from_le_bytes(len.try_into().map_err(|_| bad())?),
                    tuples.to_vec(),
                )
            }
            _ => return Err(bad()),
        };
        Ok(Box::new(self.open(Some((len, tuples)))?))
    }
}

impl TextWriter {
    /// Cuts a resumed file back to its length at the snapshot (once).
    fn cut_back(&mut self) -> eddy::Result<(), eddy::ConnectorError> {
        if let (Some(len), Some(file)) = (self.cut_to.take(), self.file.as_ref()) {
            file.set_len(len).map_err(|e| ConnectorError::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Writes `bytes`; a closed pipe ends the output quietly.
    fn put(&mut self, bytes: &[u8]) -> eddy::Result<(), eddy::ConnectorError> {
        self.cut_back()?;
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        match out.write_all(bytes) {
            Ok(()) => {
                self.written += bytes.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                self.out = None;
                Ok(())
            }
            Err(e) => Err(ConnectorError::io(&self.path, e)),
        }
    }
}

impl TextWriter {
    /// Hands what is buffered to the reader (a live run's rows must not
    /// wait); a closed pipe is not an error.
    fn flush(&mut self) -> eddy::Result<(), eddy::ConnectorError> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        match out.flush() {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                self.out = None;
                Ok(())
            }
            Err(e) => Err(ConnectorError::io(&self.path, e)),
            Ok(()) => Ok(()),
        }
    }
}

impl SinkPartition<Row> for TextWriter {
    fn write_batch(&mut self, items: &mut Vec<Row>) -> eddy::Result<(), eddy::ConnectorError> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        for row in items.drain(..) {
            format::write_text_summary(&row, &mut buf);
            format::write_text_tuple(&row, &mut self.tuples);
        }
        let r = self.put(&buf).and_then(|()| self.flush());
        self.buf = buf;
        r
    }

    fn close(&mut self) -> eddy::Result<(), eddy::ConnectorError> {
        let tuples = std::mem::take(&mut self.tuples);
        self.put(&tuples)?;
        self.flush()?;
        self.out = None;
        Ok(())
    }

    /// `[1][file length u64 LE][the tuples still to print]`, after a flush
    /// and a sync.
    fn snapshot(&mut self) -> eddy::Result<Vec<u8>, eddy::ConnectorError> {
        self.cut_back()?;
        self.flush()?;
        if let Some(file) = self.file.as_ref() {
            sync_if_regular(file, &self.path)?;
        }
        let mut state = vec![1];
        state.extend_from_slice(&self.written.to_le_bytes());
        state.extend_from_slice(&self.tuples);
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(raw: &'static [u8]) -> serde_json::Value {
        let bad = BadLine {
            file: "in.log".into(),
            line: 3,
            reason: "not JSON".into(),
            raw: Bytes::from_static(raw),
        };
        serde_json::to_value(DeadLetter::of(&bad)).unwrap()
    }

    #[test]
    fn dead_letters_keep_the_exact_bytes_of_non_utf8_lines() {
        let v = letter(b"{\"type\":\xff\xfe}");
        assert_eq!(v["text"], "{\"type\":\u{fffd}\u{fffd}}");
        assert_eq!(v["text_base64"], "eyJ0eXBlIjr//n0=");
        let v = letter(b"caf\xc3\xa9 ok");
        assert_eq!(v["text"], "café ok");
        assert!(v.get("text_base64").is_none(), "{v}");
    }
}
