//! [`FileSink`]: encoded items written to one file by one writer.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{ConnectorError, Result, Sink, SinkPartition};

/// The encoder of a sink: appends one item's bytes (with its terminator).
pub(crate) type Encode<T> = Arc<dyn Fn(&T, &mut Vec<u8>) + Send + Sync>;

/// The write buffer of a [`FileSinkWriter`].
const BUFFER_BYTES: usize = 256 * 1024;

/// Writes items to one file, encoded by a user function. All items go to one
/// writer ([`SinkRouting::Single`](crate::SinkRouting::Single)), which
/// truncates or creates the file, writes the header if any, then the items in
/// order.
///
/// ```
/// use eddy_io::files::FileSink;
/// use eddy_io::{Sink, SinkPartition};
///
/// # fn main() -> eddy_io::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("out.csv");
/// let sink = FileSink::new(&path, |(k, v): &(&str, u32), out: &mut Vec<u8>| {
///     out.extend_from_slice(format!("{k},{v}\n").as_bytes())
/// })
/// .header("key,value\n");
/// let mut writer = sink.build(0, 1)?;
/// writer.write_batch(&mut vec![("a", 1), ("b", 2)])?;
/// writer.close()?;
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "key,value\na,1\nb,2\n");
/// # Ok(())
/// # }
/// ```
pub struct FileSink<T> {
    path: PathBuf,
    encode: Encode<T>,
    header: Arc<[u8]>,
    flush_batches: bool,
}

impl<T> Clone for FileSink<T> {
    fn clone(&self) -> Self {
        FileSink {
            path: self.path.clone(),
            encode: self.encode.clone(),
            header: self.header.clone(),
            flush_batches: self.flush_batches,
        }
    }
}

impl<T> std::fmt::Debug for FileSink<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSink")
            .field("path", &self.path)
            .field("header_bytes", &self.header.len())
            .finish_non_exhaustive()
    }
}

impl<T> FileSink<T> {
    /// A sink writing to `path`; `encode` appends one item's bytes, line
    /// terminator included, to the buffer it is given (which starts empty).
    pub fn new(path: impl Into<PathBuf>, encode: impl Fn(&T, &mut Vec<u8>) + Send + Sync + 'static) -> Self {
        FileSink {
            path: path.into(),
            encode: Arc::new(encode),
            header: Arc::from(Vec::new()),
            flush_batches: false,
        }
    }

    /// Writes each batch through to the file as it comes (default: buffered
    /// until 256 KiB or the end): for an input that may not end, whose
    /// readers follow the file and whose run ends with Ctrl-C. The file then
    /// always holds whole items (lines) only.
    pub fn flush_each_batch(mut self, yes: bool) -> Self {
        self.flush_batches = yes;
        self
    }

    /// Bytes written once at the start of the file (a CSV header), even when
    /// there are no items.
    pub fn header(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.header = Arc::from(bytes.into());
        self
    }

    /// Creates (or truncates) the file and writes the header.
    pub fn open(&self) -> Result<FileSinkWriter<T>> {
        let err = |e| ConnectorError::io(&self.path, e);
        let file = File::create(&self.path).map_err(err)?;
        let mut out = BufWriter::with_capacity(BUFFER_BYTES, file);
        out.write_all(&self.header).map_err(err)?;
        let mut writer = FileSinkWriter {
            path: self.path.clone(),
            out,
            scratch: Vec::new(),
            encode: self.encode.clone(),
            written: self.header.len() as u64,
            closed: false,
            flush_batches: self.flush_batches,
            cut_to: None,
        };
        if self.flush_batches {
            writer.flush()?;
        }
        Ok(writer)
    }

    /// Reopens the file as it was at a snapshot: checks it is at least the
    /// length `state` records (see [`FileSinkWriter::snapshot`]) and goes on
    /// writing after it. A file that is missing or shorter than that length
    /// was changed by someone else: an error, never a silent restart. The
    /// bytes after that length are cut only at the writer's first write,
    /// snapshot or close — after every other output of the run was
    /// reopened too — so that a resume refused for any output changes none.
    pub fn reopen(&self, state: &[u8]) -> Result<FileSinkWriter<T>> {
        let len = decode_length(state).map_err(|m| {
            ConnectorError::Resume(format!(
                "{}: bad sink state in the snapshot: {m}",
                self.path.display()
            ))
        })?;
        let file = reopen_at(&self.path, len)?;
        Ok(FileSinkWriter {
            path: self.path.clone(),
            out: BufWriter::with_capacity(BUFFER_BYTES, file),
            scratch: Vec::new(),
            encode: self.encode.clone(),
            written: len,
            closed: false,
            flush_batches: self.flush_batches,
            cut_to: Some(len),
        })
    }
}

/// Reopens an output file to resume it after a snapshot at which it had
/// `len` bytes: checks it has at least that many and positions at `len`,
/// changing nothing. The caller cuts the bytes after `len`
/// (`file.set_len(len)`) before its first write and at the latest when it
/// closes, once every output of the run has been reopened: a resume
/// refused for one output then changes none. A file that is missing or
/// shorter was changed by someone else: an error, never a silent restart;
/// the message says what to do.
pub fn reopen_at(path: &Path, len: u64) -> Result<File> {
    let err = |e| ConnectorError::io(path, e);
    let mut file = OpenOptions::new().write(true).open(path).map_err(|e| {
        ConnectorError::Resume(format!(
            "{}: cannot reopen the output to resume it ({e}); it had {len} bytes at the snapshot",
            path.display()
        ))
    })?;
    let actual = file.metadata().map_err(err)?.len();
    if actual < len {
        return Err(ConnectorError::Resume(format!(
            "{}: the output has {actual} bytes, fewer than the {len} it had at the snapshot; \
             it was changed outside this run, so the run cannot resume: put the file back as the \
             run left it, or start afresh with an empty recovery store (a new --recovery-dir)",
            path.display()
        )));
    }
    file.seek(SeekFrom::Start(len)).map_err(err)?;
    Ok(file)
}

/// Makes what was written to `file` durable; only regular files can be
/// synced (`/dev/null` or a pipe cannot, and need not be).
pub fn sync_if_regular(file: &File, path: &Path) -> Result<()> {
    if file.metadata().is_ok_and(|m| m.is_file()) {
        file.sync_data().map_err(|e| ConnectorError::io(path, e))?;
    }
    Ok(())
}

/// Version byte of a file sink's snapshot state.
const STATE_VERSION: u8 = 1;

/// `[version][length u64 LE]`.
fn encode_length(len: u64) -> Vec<u8> {
    let mut out = vec![STATE_VERSION];
    out.extend_from_slice(&len.to_le_bytes());
    out
}

fn decode_length(state: &[u8]) -> std::result::Result<u64, String> {
    match state {
        [STATE_VERSION, rest @ ..] => rest
            .try_into()
            .map(u64::from_le_bytes)
            .map_err(|_| format!("expected 9 bytes, got {}", state.len())),
        [v, ..] => Err(format!("state version {v}, expected {STATE_VERSION}")),
        [] => Err("empty state".to_owned()),
    }
}

impl<T: 'static> Sink<T> for FileSink<T> {
    fn build(&self, _worker: usize, _workers: usize) -> Result<Box<dyn SinkPartition<T>>> {
        Ok(Box::new(self.open()?))
    }

    fn resume(&self, _worker: usize, _workers: usize, state: &[u8]) -> Result<Box<dyn SinkPartition<T>>> {
        Ok(Box::new(self.reopen(state)?))
    }
}

/// The open writer of a [`FileSink`].
pub struct FileSinkWriter<T> {
    path: PathBuf,
    out: BufWriter<File>,
    scratch: Vec<u8>,
    encode: Encode<T>,
    written: u64,
    closed: bool,
    flush_batches: bool,
    /// A resumed file's length at the snapshot: what follows it is cut at
    /// the first write, snapshot or close (see [`FileSink::reopen`]).
    cut_to: Option<u64>,
}

impl<T> std::fmt::Debug for FileSinkWriter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSinkWriter")
            .field("path", &self.path)
            .field("written", &self.written)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl<T> FileSinkWriter<T> {
    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes written so far, header included (some may still be buffered:
    /// [`flush`](Self::flush) first to have them all in the file).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes the buffered bytes to the file.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| ConnectorError::io(&self.path, e))
    }

    /// Makes the written bytes durable; only regular files can be synced
    /// (`/dev/null` or a pipe cannot, and need not be).
    fn sync(&self) -> Result<()> {
        sync_if_regular(self.out.get_ref(), &self.path)
    }

    /// Cuts a resumed file back to its length at the snapshot (once).
    fn cut_back(&mut self) -> Result<()> {
        if let Some(len) = self.cut_to.take() {
            self.out
                .get_ref()
                .set_len(len)
                .map_err(|e| ConnectorError::io(&self.path, e))?;
        }
        Ok(())
    }

    fn closed_error(&self) -> ConnectorError {
        ConnectorError::io(&self.path, io::Error::other("write after close"))
    }
}

impl<T> SinkPartition<T> for FileSinkWriter<T> {
    fn write_batch(&mut self, items: &mut Vec<T>) -> Result<()> {
        if self.closed {
            return Err(self.closed_error());
        }
        self.cut_back()?;
        for item in items.drain(..) {
            self.scratch.clear();
            (self.encode)(&item, &mut self.scratch);
            self.out
                .write_all(&self.scratch)
                .map_err(|e| ConnectorError::io(&self.path, e))?;
            self.written += self.scratch.len() as u64;
        }
        if self.flush_batches {
            self.flush()?;
        }
        Ok(())
    }

    /// Flushes and fsyncs the file; closing twice is harmless.
    fn close(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.cut_back()?;
        self.flush()?;
        self.sync()?;
        self.closed = true;
        Ok(())
    }

    /// Flushes and syncs the data, and returns the file's length: the
    /// output a resume keeps.
    fn snapshot(&mut self) -> Result<Vec<u8>> {
        if !self.closed {
            self.cut_back()?;
            self.flush()?;
            self.sync()?;
        }
        Ok(encode_length(self.written))
    }
}
