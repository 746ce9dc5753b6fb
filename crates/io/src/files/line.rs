//! [`LineRef`]: one input line as the decoder sees it, with its file, offset
//! and (lazily computed) line number for error messages.

use std::cell::OnceCell;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use crate::ConnectorError;

/// One line handed to a [`FileSource`](super::FileSource)'s decoder.
#[derive(Debug)]
pub struct LineRef<'a> {
    bytes: Bytes,
    too_long: bool,
    /// The whole line's length (without `\n`).
    len: u64,
    offset: u64,
    path: &'a Arc<Path>,
    number: Number<'a>,
}

/// How a line's number is known.
#[derive(Debug, Clone, Copy)]
enum Number<'a> {
    /// Already known.
    Known(u64),
    /// `index` lines after the first line of a chunk whose own line number
    /// is counted on demand.
    Lazy { first: &'a FirstLine, index: u64 },
}

impl<'a> LineRef<'a> {
    /// A line with a known line number, for testing decoders.
    pub fn new(path: &'a Arc<Path>, line_number: u64, offset: u64, bytes: Bytes) -> Self {
        LineRef {
            len: bytes.len() as u64,
            bytes,
            too_long: false,
            offset,
            path,
            number: Number::Known(line_number),
        }
    }

    /// The `index`-th (0-based) line of a partition whose first line has line
    /// number `first`; `len` is its whole length, `bytes` its kept head.
    pub(crate) fn in_partition(
        path: &'a Arc<Path>,
        first: &'a FirstLine,
        index: u64,
        offset: u64,
        bytes: Bytes,
        too_long: bool,
        len: u64,
    ) -> Self {
        let number = match first {
            FirstLine::Known(n) => Number::Known(n.saturating_add(index)),
            lazy @ FirstLine::Counted { .. } => Number::Lazy { first: lazy, index },
        };
        LineRef {
            bytes,
            too_long,
            len,
            offset,
            path,
            number,
        }
    }

    /// The line without its `\n` (a `\r` before it is kept): a zero-copy
    /// slice of the read buffer. Only the first `max_line_bytes` bytes when
    /// [`too_long`](Self::too_long).
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The line had more than `max_line_bytes` bytes; the rest was skipped.
    pub fn too_long(&self) -> bool {
        self.too_long
    }

    /// The whole line's length in bytes, without its `\n`: for a
    /// [`too_long`](Self::too_long) line, more than [`bytes`](Self::bytes)
    /// holds (which is then exactly the `max_line_bytes` limit).
    pub fn line_len(&self) -> u64 {
        self.len
    }

    /// The file the line is in (`-` for stdin).
    pub fn path(&self) -> &Arc<Path> {
        self.path
    }

    /// Byte offset of the line's start in the (decompressed) file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// 1-based line number in the whole file. In a chunk of a split file the
    /// first call counts the newlines before the chunk (once per partition),
    /// so call it on error paths only; 0 if that count failed (the file can
    /// no longer be read).
    pub fn line_number(&self) -> u64 {
        match self.number {
            Number::Known(n) => n,
            Number::Lazy { first, index } => first.get().map_or(0, |n| n.saturating_add(index)),
        }
    }

    /// An [`ConnectorError::Input`] at this line: `FILE:LINE: message`.
    pub fn error(&self, message: impl Into<String>) -> ConnectorError {
        ConnectorError::Input {
            path: self.path.to_path_buf(),
            line: self.line_number(),
            message: message.into(),
        }
    }
}

/// The line number of a partition's first line.
#[derive(Debug)]
pub(crate) enum FirstLine {
    /// Known: the partition starts at a known line (a whole file, chunk 0).
    Known(u64),
    /// The line after the first `\n` at or after offset `after`: number
    /// 2 + (the number of `\n` in the file's bytes `[0, after)`), counted on
    /// first use.
    Counted {
        /// The file to count in.
        path: Arc<Path>,
        /// End of the counted range.
        after: u64,
        /// The line number, once counted (`None` if counting failed).
        cell: OnceCell<Option<u64>>,
    },
}

impl FirstLine {
    /// The first line's number, counting if needed.
    fn get(&self) -> Option<u64> {
        match self {
            FirstLine::Known(n) => Some(*n),
            FirstLine::Counted { path, after, cell } => {
                *cell.get_or_init(|| count_newlines(path, *after).ok().map(|n| n + 2))
            }
        }
    }
}

/// The number of `\n` in the first `upto` bytes of the file at `path`.
fn count_newlines(path: &Path, upto: u64) -> io::Result<u64> {
    let mut file = File::open(path)?.take(upto);
    let mut buf = vec![0u8; 256 * 1024];
    let mut count = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(count),
            Ok(n) => count += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn lazy_number_counts_once() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"a\nb\nc\nd\n").unwrap();
        let path: Arc<Path> = Arc::from(f.path());
        let first = FirstLine::Counted {
            path: path.clone(),
            after: 3,
            cell: OnceCell::new(),
        };
        // Lines after the first '\n' at or after byte 3: "c" (line 3), "d".
        let line = LineRef::in_partition(&path, &first, 1, 6, Bytes::from_static(b"d"), false, 1);
        assert_eq!(line.line_number(), 4);
        // Cached: a changed file does not change the answer.
        f.as_file().set_len(0).unwrap();
        assert_eq!(line.line_number(), 4);
        let err = line.error("bad").to_string();
        assert!(err.ends_with(":4: bad"), "{err}");
    }

    #[test]
    fn unreadable_file_gives_zero() {
        let path: Arc<Path> = Arc::from(Path::new("/nonexistent/eddy/file"));
        let first = FirstLine::Counted {
            path: path.clone(),
            after: 5,
            cell: OnceCell::new(),
        };
        let line = LineRef::in_partition(&path, &first, 0, 0, Bytes::new(), false, 0);
        assert_eq!(line.line_number(), 0);
    }
}
