//! The reader thread that feeds a partition of a non-regular input (stdin,
//! a FIFO, a pipe) of a [`FileSource`](crate::files::FileSource), so that
//! no worker ever blocks on a slow pipe.

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::thread;

use bytes::{Bytes, BytesMut};

use crate::files::reader::{Fill, Filled};

/// A message from a reader thread.
enum Msg {
    Data(Bytes),
    Eof,
    Err(io::Error),
}

/// Blocks in flight between a reader thread and its partition.
const CHANNEL_BLOCKS: usize = 8;

/// A [`Fill`] fed by a thread that opens and reads a blocking reader
/// (stdin, a FIFO, `/dev/stdin` on a pipe, `<(command)`) into a bounded
/// channel, so that filling never blocks: it answers [`Filled::Pending`]
/// when the thread has nothing yet. The worker that owns the partition
/// thus never waits in `open` or `read`, and sees a stop at once.
///
/// When the partition is dropped, the thread ends at its next block; a thread
/// blocked opening or reading an idle pipe lives until the process ends.
pub(crate) struct ThreadFill {
    rx: Receiver<Msg>,
}

impl ThreadFill {
    /// Starts a thread reading `input` in blocks of `block` bytes.
    #[cfg(test)]
    pub(crate) fn spawn<R: Read + Send + 'static>(input: R, block: usize) -> io::Result<Self> {
        Self::spawn_opening(move || Ok(input), block)
    }

    /// Starts a thread that calls `open` (which may block: a FIFO waits for
    /// a writer), then reads what it returns in blocks of `block` bytes.
    /// An error from `open` is the first message.
    pub(crate) fn spawn_opening<R, F>(open: F, block: usize) -> io::Result<Self>
    where
        R: Read,
        F: FnOnce() -> io::Result<R> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(CHANNEL_BLOCKS);
        let block = block.max(1);
        thread::Builder::new()
            .name("eddy-input-reader".to_owned())
            .spawn(move || {
                let mut input = match open() {
                    Ok(input) => input,
                    Err(e) => {
                        let _ = tx.send(Msg::Err(e));
                        return;
                    }
                };
                loop {
                    let mut buf = BytesMut::zeroed(block);
                    let msg = match input.read(&mut buf) {
                        Ok(0) => Msg::Eof,
                        Ok(n) => {
                            buf.truncate(n);
                            Msg::Data(buf.freeze())
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => Msg::Err(e),
                    };
                    let last = !matches!(msg, Msg::Data(_));
                    if tx.send(msg).is_err() || last {
                        return;
                    }
                }
            })?;
        Ok(ThreadFill { rx })
    }
}

impl Fill for ThreadFill {
    fn fill(&mut self, buf: &mut BytesMut, _want: usize) -> io::Result<Filled> {
        match self.rx.try_recv() {
            Ok(Msg::Data(bytes)) => {
                buf.extend_from_slice(&bytes);
                Ok(Filled::Some)
            }
            Ok(Msg::Eof) => Ok(Filled::Eof),
            Ok(Msg::Err(e)) => Err(e),
            Err(TryRecvError::Empty) => Ok(Filled::Pending),
            Err(TryRecvError::Disconnected) => Err(io::Error::other("the input reader thread stopped")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::reader::{LineReader, Next, Start};
    use std::time::Duration;

    /// A reader that yields its pieces with a pause before each.
    struct Slow(Vec<&'static [u8]>);

    impl Read for Slow {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            std::thread::sleep(Duration::from_millis(5));
            if self.0.is_empty() {
                return Ok(0);
            }
            let piece = self.0.remove(0);
            buf[..piece.len()].copy_from_slice(piece);
            Ok(piece.len())
        }
    }

    #[test]
    fn thread_fill_is_pending_then_lines_then_done() {
        let fill = ThreadFill::spawn(Slow(vec![b"ab", b"c\nd", b"\n", b"e"]), 16).unwrap();
        let start = Start {
            offset: 0,
            skipping: false,
            end: None,
        };
        let mut r = LineReader::new(fill, start, 100, 16);
        let mut lines = Vec::new();
        let mut pending = 0;
        loop {
            match r.next_line().unwrap() {
                Next::Line(l) => lines.push(l.bytes),
                Next::Pending => {
                    pending += 1;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Next::Done => break,
            }
        }
        assert_eq!(lines, vec!["abc", "d", "e"]);
        assert!(pending > 0);
    }

    #[test]
    fn thread_fill_reports_read_errors() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("boom"))
            }
        }
        let mut fill = ThreadFill::spawn(Failing, 16).unwrap();
        let mut buf = BytesMut::new();
        loop {
            match fill.fill(&mut buf, 16) {
                Ok(Filled::Pending) => std::thread::sleep(Duration::from_millis(1)),
                Ok(other) => panic!("unexpected {other:?}"),
                Err(e) => {
                    assert_eq!(e.to_string(), "boom");
                    break;
                }
            }
        }
    }
}
