//! [`FileSource`]: lines of files, directories, gzip files and stdin, decoded
//! by a user function, in partitions that any worker can read and resume.

use std::cell::OnceCell;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use flate2::read::MultiGzDecoder;

use super::chunks::{expand_all, is_gz, plan, Part, STDIN};
use super::line::{FirstLine, LineRef};
use super::position::Position;
use super::reader::{Fill, LineReader, Next, ReadFill, Start};
use crate::files::thread_fill::ThreadFill;
use crate::{ConnectorError, Poll, Result, Source, SourcePartition};

/// The decoder of a [`FileSource`].
type Decode<T> = Arc<dyn Fn(&LineRef<'_>) -> T + Send + Sync>;

const DEFAULT_CHUNK_BYTES: u64 = 4 * 1024 * 1024;
const DEFAULT_MAX_LINE_BYTES: usize = 1024 * 1024;
const DEFAULT_BUFFER_BYTES: usize = 256 * 1024;
/// How long a stdin partition asks to wait when no line is ready.
const PENDING_DELAY: Duration = Duration::from_millis(2);

/// Reads lines from files and hands each to a decoder.
///
/// Inputs: a file path; `-` for stdin; a directory for every regular file
/// under it at any depth, sorted by whole path (byte order), skipping hidden
/// files and directories (names starting with `.`; see
/// [`plan_report`](Self::plan_report) for how many). Symbolic links to files
/// are read, links to directories are not followed. A regular file that
/// starts with the gzip magic bytes (`1f 8b`) is decompressed on the fly,
/// whatever its name; any other file is read as is, `.gz` or not.
///
/// Partitions, in input order: a plain file larger than
/// [`chunk_bytes`](Self::chunk_bytes) is split into byte ranges, each owning
/// the lines whose first byte lies in it; any other file, a gzip file and
/// stdin are one partition each. Every partition can be resumed from its
/// [`position`](SourcePartition::position), except stdin.
///
/// A line is the bytes up to a `\n`, without it; a last line without `\n` is a
/// line; an empty file has none; blank lines are yielded.
///
/// Partition keys name the file (`file:PATH`, `chunk:START-END:PATH`,
/// `gz:PATH`, `stdin`), so paths must be valid UTF-8; an input given twice is
/// an error. A chunked file is read up to its size when it was listed. A
/// resume position of `Some(&[])` means the partition's start.
///
/// ```
/// use eddy_io::files::{FileSource, LineRef};
/// use eddy_io::{Poll, Source};
///
/// # fn main() -> eddy_io::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("in.log");
/// # std::fs::write(&path, "3\n4\nx\n").unwrap();
/// let src = FileSource::new(vec![path], |line: &LineRef<'_>| {
///     std::str::from_utf8(line.bytes())
///         .ok()
///         .and_then(|s| s.parse::<u32>().ok())
///         .ok_or_else(|| line.error("expected a number"))
/// });
/// let mut out = Vec::new();
/// for key in src.list_parts()? {
///     let mut part = src.build_part(&key, None)?;
///     while part.next_batch(&mut out, 1024)? != Poll::Done {}
/// }
/// assert_eq!(out.len(), 3);
/// assert!(out[2].as_ref().unwrap_err().to_string().ends_with("in.log:3: expected a number"));
/// # Ok(())
/// # }
/// ```
pub struct FileSource<T> {
    inputs: Vec<PathBuf>,
    decode: Decode<T>,
    chunk_bytes: u64,
    max_line_bytes: usize,
    buffer_bytes: usize,
}

impl<T> Clone for FileSource<T> {
    fn clone(&self) -> Self {
        FileSource {
            inputs: self.inputs.clone(),
            decode: self.decode.clone(),
            chunk_bytes: self.chunk_bytes,
            max_line_bytes: self.max_line_bytes,
            buffer_bytes: self.buffer_bytes,
        }
    }
}

impl<T> std::fmt::Debug for FileSource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("inputs", &self.inputs)
            .field("chunk_bytes", &self.chunk_bytes)
            .field("max_line_bytes", &self.max_line_bytes)
            .field("buffer_bytes", &self.buffer_bytes)
            .finish_non_exhaustive()
    }
}

impl<T> FileSource<T> {
    /// A source reading `inputs` (files, directories, `-`), decoding every
    /// line with `decode`.
    pub fn new(inputs: Vec<PathBuf>, decode: impl Fn(&LineRef<'_>) -> T + Send + Sync + 'static) -> Self {
        FileSource {
            inputs,
            decode: Arc::new(decode),
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            buffer_bytes: DEFAULT_BUFFER_BYTES,
        }
    }

    /// Splits plain files larger than `n` bytes into chunks of `n` bytes
    /// (default 4 MiB); 0 never splits.
    pub fn chunk_bytes(mut self, n: u64) -> Self {
        self.chunk_bytes = n;
        self
    }

    /// Cuts lines longer than `n` bytes to their first `n` bytes, marked
    /// [`too_long`](LineRef::too_long) (default 1 MiB).
    pub fn max_line_bytes(mut self, n: usize) -> Self {
        self.max_line_bytes = n;
        self
    }

    /// Reads `n` bytes at a time (default 256 KiB; at least 1). A partition
    /// holds at most `max_line_bytes + n` bytes, plus the lines the decoded
    /// items still reference.
    pub fn buffer_bytes(mut self, n: usize) -> Self {
        self.buffer_bytes = n.max(1);
        self
    }

    /// The identity of every input file (see [`InputIdentity`](super::InputIdentity)),
    /// for a recovery store to compare when the run resumes (eddy's
    /// `RecoveryConfig::inputs`).
    /// Stdin and special files are an error: they cannot be read again.
    pub fn identities(&self) -> Result<Vec<super::InputIdentity>> {
        super::input_identities(&self.inputs, self.chunk_bytes)
    }

    /// What the inputs stand for, without reading them: how many files, how
    /// many hidden entries were skipped in directories, and the total size
    /// when every input is a plain regular file. Walks the inputs as
    /// [`list_parts`](Source::list_parts) does, with the same errors.
    pub fn plan_report(&self) -> Result<PlanReport> {
        let expanded = expand_all(&self.inputs)?;
        let mut plain_bytes = Some(0u64);
        for file in &expanded.files {
            if file.as_os_str() == STDIN {
                plain_bytes = None;
                continue;
            }
            let meta = std::fs::metadata(file).map_err(|e| ConnectorError::io(file, e))?;
            if !meta.is_file() || is_gz(file)? {
                plain_bytes = None;
            }
            plain_bytes = plain_bytes.map(|total| total.saturating_add(meta.len()));
        }
        Ok(PlanReport {
            files: expanded.files.len(),
            hidden_files: expanded.hidden_files,
            hidden_dirs: expanded.hidden_dirs,
            plain_bytes,
        })
    }
}

/// What a [`FileSource`]'s inputs stand for: see [`FileSource::plan_report`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanReport {
    /// Files to read (stdin counts as one).
    pub files: usize,
    /// Hidden files (name starting with `.`) skipped inside directories.
    pub hidden_files: u64,
    /// Hidden directories skipped inside directories; what they hold is not
    /// looked at, so not counted.
    pub hidden_dirs: u64,
    /// The total size of the inputs, when all are plain regular files (no
    /// stdin, no pipe, no gzip): what a progress bar can count to.
    pub plain_bytes: Option<u64>,
}

impl<T: 'static> Source<T> for FileSource<T> {
    fn list_parts(&self) -> Result<Vec<String>> {
        Ok(plan(&self.inputs, self.chunk_bytes)?
            .iter()
            .map(Part::key)
            .collect())
    }

    fn continues_previous(&self, key: &str) -> bool {
        matches!(Part::parse(key), Some(Part::Chunk { start, .. }) if start > 0)
    }

    fn build_part(&self, key: &str, resume: Option<&[u8]>) -> Result<Box<dyn SourcePartition<T>>> {
        let part = Part::parse(key)
            .ok_or_else(|| ConnectorError::Build(format!("unknown file partition key {key:?}")))?;
        let path = part.path();
        let invalid = |kind, message: String| ConnectorError::io(&*path, io::Error::new(kind, message));
        let resume = match resume {
            None | Some([]) => None,
            Some(bytes) => Some(Position::decode(bytes).map_err(|m| invalid(io::ErrorKind::InvalidData, m))?),
        };
        let open = || File::open(&path).map_err(|e| ConnectorError::io(&*path, e));
        let (fill, pos, end, first): (Box<dyn Fill + Send>, _, _, _) = match &part {
            Part::Stdin => {
                if resume.is_some_and(|p| p != Position::default()) {
                    return Err(invalid(
                        io::ErrorKind::Unsupported,
                        "stdin cannot be resumed".to_owned(),
                    ));
                }
                let fill = ThreadFill::spawn_opening(|| Ok(io::stdin()), self.buffer_bytes)
                    .map_err(|e| ConnectorError::io(&*path, e))?;
                (Box::new(fill), Position::default(), None, FirstLine::Known(1))
            }
            Part::Whole(_) if std::fs::metadata(&path).is_ok_and(|m| !m.is_file()) => {
                // A FIFO, `/dev/stdin` on a pipe, `<(command)`: opening it
                // waits for a writer and reading waits for data, so both
                // happen on a reader thread (see `ThreadFill`). Such an
                // input cannot be resumed (`identities` refuses it).
                let opened = path.clone();
                let fill = ThreadFill::spawn_opening(move || File::open(&opened), self.buffer_bytes)
                    .map_err(|e| ConnectorError::io(&*path, e))?;
                (Box::new(fill), Position::default(), None, FirstLine::Known(1))
            }
            Part::Whole(_) => {
                let mut file = open()?;
                let pos = resume.unwrap_or_default();
                if pos.offset > 0 {
                    file.seek(SeekFrom::Start(pos.offset))
                        .map_err(|e| ConnectorError::io(&*path, e))?;
                }
                (Box::new(ReadFill(file)), pos, None, FirstLine::Known(1))
            }
            Part::Chunk { start, end, .. } => {
                let mut file = open()?;
                let pos = resume.unwrap_or(Position {
                    offset: start.saturating_sub(1),
                    skipping: *start > 0,
                    lines: 0,
                });
                file.seek(SeekFrom::Start(pos.offset))
                    .map_err(|e| ConnectorError::io(&*path, e))?;
                let first = if *start == 0 {
                    FirstLine::Known(1)
                } else {
                    // The chunk's first line follows the first '\n' at or
                    // after `start - 1`.
                    FirstLine::Counted {
                        path: path.clone(),
                        after: start - 1,
                        cell: OnceCell::new(),
                    }
                };
                (Box::new(ReadFill(file)), pos, Some(*end), first)
            }
            Part::Gz(_) => {
                let mut gz = MultiGzDecoder::new(open()?);
                let pos = resume.unwrap_or_default();
                let skipped = io::copy(&mut (&mut gz).take(pos.offset), &mut io::sink())
                    .map_err(|e| ConnectorError::io(&*path, e))?;
                if skipped != pos.offset {
                    return Err(invalid(
                        io::ErrorKind::InvalidData,
                        format!(
                            "resume position {} is past the end of the decompressed file ({skipped} bytes)",
                            pos.offset
                        ),
                    ));
                }
                (Box::new(ReadFill(gz)), pos, None, FirstLine::Known(1))
            }
        };
        let start = Start {
            offset: pos.offset,
            skipping: pos.skipping,
            end,
        };
        Ok(Box::new(FilePartition {
            reader: LineReader::new(fill, start, self.max_line_bytes, self.buffer_bytes),
            gz: matches!(part, Part::Gz(_)),
            regular: !matches!(part, Part::Stdin) && std::fs::metadata(&path).is_ok_and(|m| m.is_file()),
            path,
            first,
            lines: pos.lines,
            decode: self.decode.clone(),
            done: false,
        }))
    }
}

/// One open partition of a [`FileSource`].
struct FilePartition<T> {
    reader: LineReader<Box<dyn Fill + Send>>,
    path: Arc<Path>,
    first: FirstLine,
    /// Lines read so far in this partition (before any resume included).
    lines: u64,
    decode: Decode<T>,
    done: bool,
    /// A gzip file: a read error is most likely damaged data.
    gz: bool,
    /// A regular file, which can be closed and opened again at a position.
    regular: bool,
}

impl<T> FilePartition<T> {
    /// A read error, saying where in the file it happened: `corrupt gzip
    /// data after line 1234: …` for a damaged gzip file.
    fn read_error(&self, e: io::Error) -> ConnectorError {
        // The number of the last line yielded, where it is known without
        // counting (not in a chunk after the first).
        let at = match self.first {
            FirstLine::Known(first) if self.lines > 0 => {
                format!(" after line {}", first.saturating_add(self.lines - 1))
            }
            FirstLine::Known(_) => " before the first line".to_owned(),
            FirstLine::Counted { .. } => String::new(),
        };
        let damaged = matches!(
            e.kind(),
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
        );
        let what = if self.gz && damaged {
            "corrupt gzip data"
        } else {
            "read error"
        };
        ConnectorError::io(&*self.path, io::Error::new(e.kind(), format!("{what}{at}: {e}")))
    }
}

impl<T> SourcePartition<T> for FilePartition<T> {
    /// Decodes up to `max` lines. [`Poll::Done`] and [`Poll::Pending`] are
    /// returned only by calls that added nothing.
    fn next_batch(&mut self, out: &mut Vec<T>, max: usize) -> Result<Poll> {
        if self.done {
            return Ok(Poll::Done);
        }
        let mut added = 0;
        while added < max {
            let next = match self.reader.next_line() {
                Ok(next) => next,
                Err(e) => return Err(self.read_error(e)),
            };
            match next {
                Next::Line(raw) => {
                    let line = LineRef::in_partition(
                        &self.path,
                        &self.first,
                        self.lines,
                        raw.offset,
                        raw.bytes,
                        raw.too_long,
                        raw.len,
                    );
                    out.push((self.decode)(&line));
                    self.lines = self.lines.saturating_add(1);
                    added += 1;
                }
                Next::Pending if added == 0 => return Ok(Poll::Pending(PENDING_DELAY)),
                Next::Pending => break,
                Next::Done => {
                    self.done = true;
                    return Ok(if added == 0 { Poll::Done } else { Poll::Ready });
                }
            }
        }
        Ok(Poll::Ready)
    }

    fn reopenable(&self) -> bool {
        self.regular
    }

    fn bytes_read(&self) -> u64 {
        self.reader.state().0
    }

    fn position(&self) -> Vec<u8> {
        let (offset, skipping) = self.reader.state();
        Position {
            offset,
            skipping,
            lines: self.lines,
        }
        .encode()
    }
}
