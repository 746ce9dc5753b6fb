//! Standard output: [`StdOutSink`] writes encoded items to stdout (a
//! closed pipe ends the output quietly, as `… | head` expects). Standard
//! input is a [`FileSource`](crate::files::FileSource) partition, read by a
//! thread of its own (`files::thread_fill`).

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use crate::{ConnectorError, Result, Sink, SinkPartition};

/// Set once a [`StdOutSink`]'s reader closed the pipe early.
static PIPE_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a [`StdOutSink`] of this process found its pipe closed by the
/// reader (`| head`): the items it took after that were not written.
pub fn output_pipe_closed() -> bool {
    PIPE_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// The encoder of a sink (see [`FileSink::new`](crate::files::FileSink::new)).
type Encode<T> = Arc<dyn Fn(&T, &mut Vec<u8>) + Send + Sync>;

/// Bytes gathered before one write to stdout.
const BUFFER_BYTES: usize = 64 * 1024;

/// Writes items to standard output, encoded by a user function, from one
/// writer. When the reader of the pipe goes away (`EPIPE`), writing stops
/// without an error and later items are dropped: `search-ctr … | head` ends
/// with success.
pub struct StdOutSink<T> {
    encode: Encode<T>,
    header: Arc<[u8]>,
}

impl<T> Clone for StdOutSink<T> {
    fn clone(&self) -> Self {
        StdOutSink {
            encode: self.encode.clone(),
            header: self.header.clone(),
        }
    }
}

impl<T> std::fmt::Debug for StdOutSink<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdOutSink")
            .field("header_bytes", &self.header.len())
            .finish_non_exhaustive()
    }
}

impl<T> StdOutSink<T> {
    /// A sink writing to stdout; `encode` appends one item's bytes, line
    /// terminator included, to the buffer it is given (which starts empty).
    pub fn new(encode: impl Fn(&T, &mut Vec<u8>) + Send + Sync + 'static) -> Self {
        StdOutSink {
            encode: Arc::new(encode),
            header: Arc::from(Vec::new()),
        }
    }

    /// Bytes written once before the first item (a CSV header), even when
    /// there are no items.
    pub fn header(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.header = Arc::from(bytes.into());
        self
    }
}

impl<T: 'static> Sink<T> for StdOutSink<T> {
    fn build(&self, _worker: usize, _workers: usize) -> Result<Box<dyn SinkPartition<T>>> {
        Ok(Box::new(PipeWriter::new(
            io::stdout(),
            self.encode.clone(),
            &self.header,
        )))
    }
}

/// A buffered writer to a pipe-like output, for which `EPIPE` means "the
/// reader has had enough".
struct PipeWriter<T, W> {
    out: W,
    buf: Vec<u8>,
    scratch: Vec<u8>,
    encode: Encode<T>,
    /// The reader went away: drop everything from now on.
    broken: bool,
}

impl<T, W: Write> PipeWriter<T, W> {
    fn new(out: W, encode: Encode<T>, header: &[u8]) -> Self {
        let mut buf = Vec::with_capacity(BUFFER_BYTES);
        buf.extend_from_slice(header);
        PipeWriter {
            out,
            buf,
            scratch: Vec::new(),
            encode,
            broken: false,
        }
    }

    /// Writes the buffer out; a broken pipe ends the output without error
    /// (and is remembered: [`output_pipe_closed`]).
    fn drain(&mut self, flush: bool) -> Result<()> {
        let mut result = self.out.write_all(&self.buf);
        self.buf.clear();
        if flush && result.is_ok() {
            result = self.out.flush();
        }
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.broken = true;
                PIPE_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
            Err(e) => Err(ConnectorError::io(Path::new("-"), e)),
        }
    }
}

impl<T, W: Write> SinkPartition<T> for PipeWriter<T, W> {
    fn write_batch(&mut self, items: &mut Vec<T>) -> Result<()> {
        if self.broken {
            items.clear();
            return Ok(());
        }
        for item in items.drain(..) {
            self.scratch.clear();
            (self.encode)(&item, &mut self.scratch);
            self.buf.extend_from_slice(&self.scratch);
            if self.buf.len() >= BUFFER_BYTES {
                self.drain(false)?;
                if self.broken {
                    break;
                }
            }
        }
        // Each batch reaches the reader at once: a live run's rows must not
        // wait in a buffer (one write per batch, not per row).
        if self.broken {
            return Ok(());
        }
        self.drain(true)
    }

    fn close(&mut self) -> Result<()> {
        if self.broken {
            return Ok(());
        }
        self.drain(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Mutex;

    /// A writer that accepts `room` bytes, then fails with `kind`.
    struct Limited {
        got: Arc<Mutex<Vec<u8>>>,
        room: usize,
        kind: io::ErrorKind,
    }

    impl Write for Limited {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from(self.kind));
            }
            let n = data.len().min(self.room);
            self.room -= n;
            self.got.lock().unwrap().extend_from_slice(&data[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn writer(room: usize, kind: io::ErrorKind) -> (PipeWriter<u32, Limited>, Arc<Mutex<Vec<u8>>>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let out = Limited {
            got: got.clone(),
            room,
            kind,
        };
        let encode: Encode<u32> =
            Arc::new(|n: &u32, buf: &mut Vec<u8>| buf.extend_from_slice(format!("{n}\n").as_bytes()));
        (PipeWriter::new(out, encode, b"n\n"), got)
    }

    #[test]
    fn writes_header_and_items() {
        let (mut w, got) = writer(usize::MAX, io::ErrorKind::BrokenPipe);
        w.write_batch(&mut vec![1, 2, 3]).unwrap();
        w.close().unwrap();
        assert_eq!(&got.lock().unwrap()[..], b"n\n1\n2\n3\n");
    }

    #[test]
    fn broken_pipe_stops_quietly() {
        let (mut w, got) = writer(10, io::ErrorKind::BrokenPipe);
        let mut items: Vec<u32> = (0..100_000).collect();
        w.write_batch(&mut items).unwrap();
        assert!(items.is_empty());
        assert!(w.broken);
        w.write_batch(&mut vec![7; 10]).unwrap();
        w.close().unwrap();
        assert_eq!(got.lock().unwrap().len(), 10);
    }

    #[test]
    fn other_write_errors_fail() {
        let (mut w, _) = writer(0, io::ErrorKind::StorageFull);
        // Each batch is written out at once, so the batch reports it.
        let err = w.write_batch(&mut vec![1]).unwrap_err();
        assert!(matches!(err, ConnectorError::Io { .. }), "{err}");
        assert!(err.to_string().starts_with("-: "), "{err}");
    }
}
