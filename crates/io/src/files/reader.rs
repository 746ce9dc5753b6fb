//! Splitting a byte stream into lines with bounded memory.
//!
//! [`LineReader`] reads blocks into one [`BytesMut`] and hands out each line
//! as a [`Bytes`] slice of it (`split_to` + `freeze`: no per-line allocation;
//! the buffer's memory is reused as soon as no line of it is referenced any
//! more). A line longer than `max_line` bytes is cut to its first `max_line`
//! bytes and the rest is skipped (counted, to report the line's length, but
//! not kept), so the buffer never holds more than `max_line + block` bytes.
//!
//! A reader's first line comes from a small first read ([`FIRST_FILL`]
//! bytes, doubled until a line is found): the engine reads each partition's
//! first line at the start and keeps it until that partition's turn comes,
//! and a line pins the block it was cut from — a full block per partition
//! would hold `block` bytes for each of hundreds of chunks.

use std::io::{self, Read};

use bytes::{Bytes, BytesMut};

/// What a [`Fill`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filled {
    /// Some bytes were appended.
    Some,
    /// Nothing is available yet (a live source); try again later.
    Pending,
    /// The end of the stream: nothing will ever be appended.
    Eof,
}

/// A source of bytes for a [`LineReader`].
pub(crate) trait Fill {
    /// Appends up to about `want` bytes to `buf`.
    fn fill(&mut self, buf: &mut BytesMut, want: usize) -> io::Result<Filled>;
}

impl<F: Fill + ?Sized> Fill for Box<F> {
    fn fill(&mut self, buf: &mut BytesMut, want: usize) -> io::Result<Filled> {
        (**self).fill(buf, want)
    }
}

/// A [`Fill`] over any blocking reader.
pub(crate) struct ReadFill<R>(pub(crate) R);

impl<R: Read> Fill for ReadFill<R> {
    fn fill(&mut self, buf: &mut BytesMut, want: usize) -> io::Result<Filled> {
        let len = buf.len();
        buf.resize(len + want.max(1), 0);
        loop {
            match self.0.read(&mut buf[len..]) {
                Ok(0) => {
                    buf.truncate(len);
                    return Ok(Filled::Eof);
                }
                Ok(n) => {
                    buf.truncate(len + n);
                    return Ok(Filled::Some);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    buf.truncate(len);
                    return Err(e);
                }
            }
        }
    }
}

/// One line, as cut by the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawLine {
    /// The line without its `\n`; only the first `max_line` bytes when
    /// `too_long`.
    pub(crate) bytes: Bytes,
    /// The line had more than `max_line` bytes.
    pub(crate) too_long: bool,
    /// Offset of the line's first byte in the stream.
    pub(crate) offset: u64,
    /// The whole line's length, without its `\n` (more than `bytes.len()`
    /// when `too_long`).
    pub(crate) len: u64,
}

/// A too-long line whose end has not been read yet.
#[derive(Debug)]
struct Long {
    /// Its first `max_line` bytes.
    head: Bytes,
    /// Offset of its first byte.
    offset: u64,
    /// Its length so far.
    len: u64,
}

/// What [`LineReader::next_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// The next line.
    Line(RawLine),
    /// No complete line yet (live source).
    Pending,
    /// No more lines.
    Done,
}

/// Where a [`LineReader`] starts, and where its lines stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Start {
    /// Stream offset of the first byte the fill will produce.
    pub(crate) offset: u64,
    /// Skip through the first `\n` (at or after `offset`) before the first
    /// line: the reader starts inside a line that is not its own.
    pub(crate) skipping: bool,
    /// Lines starting at or after this offset are not yielded.
    pub(crate) end: Option<u64>,
}

/// Bytes of a reader's first read, before it has yielded a line.
pub(crate) const FIRST_FILL: usize = 4096;

/// Splits the bytes of a [`Fill`] into lines.
pub(crate) struct LineReader<F> {
    fill: F,
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    offset: u64,
    /// `buf[..scanned]` holds no `\n` (only meaningful when not skipping).
    scanned: usize,
    skipping: bool,
    eof: bool,
    end: Option<u64>,
    max_line: usize,
    block: usize,
    /// A too-long line being skipped to its end.
    long: Option<Long>,
    /// No line yielded yet: reads are small (see [`FIRST_FILL`]).
    fresh: bool,
}

impl<F: Fill> LineReader<F> {
    /// A reader of `fill`, reading `block` bytes at a time.
    pub(crate) fn new(fill: F, start: Start, max_line: usize, block: usize) -> Self {
        LineReader {
            fill,
            buf: BytesMut::new(),
            offset: start.offset,
            scanned: 0,
            skipping: start.skipping,
            eof: false,
            end: start.end,
            max_line,
            block: block.max(1),
            long: None,
            fresh: true,
        }
    }

    /// Where reading would resume: the offset of the first unconsumed byte,
    /// and whether the reader is skipping the rest of a line there.
    pub(crate) fn state(&self) -> (u64, bool) {
        match &self.long {
            // Not yielded yet: it is read again from its start.
            Some(long) => (long.offset, false),
            None => (self.offset, self.skipping),
        }
    }

    fn consume(&mut self, n: usize) {
        let _ = self.buf.split_to(n);
        self.offset += n as u64;
        self.scanned = 0;
    }

    /// Reads more; `Ok(false)` when the fill has nothing yet.
    fn more(&mut self) -> io::Result<bool> {
        let want = if self.fresh {
            // Doubles with what is buffered, so a long first line is not
            // read in many small pieces.
            FIRST_FILL.max(self.buf.len()).min(self.block)
        } else {
            self.block
        };
        match self.fill.fill(&mut self.buf, want)? {
            Filled::Some => Ok(true),
            Filled::Eof => {
                self.eof = true;
                Ok(true)
            }
            Filled::Pending => Ok(false),
        }
    }

    fn cut(&mut self, len: usize, keep: usize, too_long: bool) -> Next {
        self.fresh = false;
        let mut bytes = self.buf.split_to(len).freeze();
        bytes.truncate(keep);
        let offset = self.offset;
        self.offset += len as u64;
        self.scanned = 0;
        Next::Line(RawLine {
            bytes,
            too_long,
            offset,
            // `len` counts the `\n` when there is one (then `len > keep`).
            len: (len - usize::from(len > keep)) as u64,
        })
    }

    /// The too-long line being skipped, now that its end is known.
    fn finish_long(&mut self) -> Next {
        self.fresh = false;
        match self.long.take() {
            Some(long) => Next::Line(RawLine {
                bytes: long.head,
                too_long: true,
                offset: long.offset,
                len: long.len,
            }),
            None => Next::Done,
        }
    }

    /// The next line, [`Next::Pending`] if the fill has no complete line yet,
    /// or [`Next::Done`] at the end (and after it).
    pub(crate) fn next_line(&mut self) -> io::Result<Next> {
        loop {
            if let Some(long) = &mut self.long {
                if let Some(i) = memchr::memchr(b'\n', &self.buf) {
                    long.len += i as u64;
                    self.consume(i + 1);
                    return Ok(self.finish_long());
                }
                let all = self.buf.len();
                long.len += all as u64;
                self.consume(all);
                if self.eof {
                    return Ok(self.finish_long());
                }
                if !self.more()? {
                    return Ok(Next::Pending);
                }
                continue;
            }
            if self.skipping {
                if let Some(i) = memchr::memchr(b'\n', &self.buf) {
                    self.consume(i + 1);
                    self.skipping = false;
                    continue;
                }
                let all = self.buf.len();
                self.consume(all);
                // A `\n` still to come is at `offset` or later, so the line
                // after it starts at `offset + 1` or later: at or past
                // `end`, it is the next chunk's. Stopping here keeps a chunk
                // inside one long line from reading on to that line's end
                // (every chunk of a 1 GiB line did: quadratic).
                if self.eof || self.end.is_some_and(|end| self.offset + 1 >= end) {
                    return Ok(Next::Done);
                }
                if !self.more()? {
                    return Ok(Next::Pending);
                }
                continue;
            }
            if self.end.is_some_and(|end| self.offset >= end) {
                return Ok(Next::Done);
            }
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.scanned..]) {
                let i = self.scanned + i;
                let too_long = i > self.max_line;
                let keep = if too_long { self.max_line } else { i };
                return Ok(self.cut(i + 1, keep, too_long));
            }
            self.scanned = self.buf.len();
            if self.buf.len() > self.max_line {
                // Too long and no end in sight: keep the head, count the
                // rest up to the line's end without keeping it.
                let head = self.buf.split_to(self.max_line).freeze();
                self.long = Some(Long {
                    head,
                    offset: self.offset,
                    len: self.max_line as u64,
                });
                self.offset += self.max_line as u64;
                self.scanned = 0;
                continue;
            }
            if self.eof {
                if self.buf.is_empty() {
                    return Ok(Next::Done);
                }
                let len = self.buf.len();
                return Ok(self.cut(len, len, false));
            }
            if !self.more()? {
                return Ok(Next::Pending);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A fill that hands out its data a few bytes at a time, with a pending
    /// answer between pieces.
    struct Drip {
        data: Vec<u8>,
        at: usize,
        step: usize,
        pending_next: bool,
    }

    impl Fill for Drip {
        fn fill(&mut self, buf: &mut BytesMut, _want: usize) -> io::Result<Filled> {
            if self.pending_next {
                self.pending_next = false;
                return Ok(Filled::Pending);
            }
            self.pending_next = true;
            if self.at == self.data.len() {
                return Ok(Filled::Eof);
            }
            let end = (self.at + self.step).min(self.data.len());
            buf.extend_from_slice(&self.data[self.at..end]);
            self.at = end;
            Ok(Filled::Some)
        }
    }

    /// The reference: `split('\n')` without the empty piece after a final
    /// newline, each line cut to `max` bytes.
    fn reference(data: &[u8], max: usize) -> Vec<RawLine> {
        let mut out = Vec::new();
        let mut offset = 0u64;
        let mut pieces: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        if data.is_empty() || data.ends_with(b"\n") {
            pieces.pop();
        }
        for p in pieces {
            let too_long = p.len() > max;
            let keep = if too_long { &p[..max] } else { p };
            out.push(RawLine {
                bytes: Bytes::copy_from_slice(keep),
                too_long,
                offset,
                len: p.len() as u64,
            });
            offset += p.len() as u64 + 1;
        }
        out
    }

    fn read_all<F: Fill>(mut r: LineReader<F>) -> Vec<RawLine> {
        let mut out = Vec::new();
        loop {
            match r.next_line() {
                Ok(Next::Line(l)) => out.push(l),
                Ok(Next::Pending) => {}
                Ok(Next::Done) => return out,
                Err(e) => panic!("{e}"),
            }
        }
    }

    fn start() -> Start {
        Start {
            offset: 0,
            skipping: false,
            end: None,
        }
    }

    /// A fill over a slice that counts the bytes it hands out.
    struct Counted<'a> {
        data: &'a [u8],
        at: usize,
    }

    impl Fill for Counted<'_> {
        fn fill(&mut self, buf: &mut BytesMut, want: usize) -> io::Result<Filled> {
            if self.at == self.data.len() {
                return Ok(Filled::Eof);
            }
            let end = (self.at + want.max(1)).min(self.data.len());
            buf.extend_from_slice(&self.data[self.at..end]);
            self.at = end;
            Ok(Filled::Some)
        }
    }

    impl Fill for &mut Counted<'_> {
        fn fill(&mut self, buf: &mut BytesMut, want: usize) -> io::Result<Filled> {
            (**self).fill(buf, want)
        }
    }

    /// Issue 25, item 9: a chunk inside one long line reads its own bytes
    /// (and at most one block more), not the rest of the line: each chunk
    /// of a 1 GiB line used to read on to its end, quadratic in the line.
    #[test]
    fn a_chunk_inside_a_long_line_reads_only_itself() {
        let mut data = vec![b'x'; 1 << 20];
        data.extend_from_slice(b"\nok\n");
        let block = 4096;
        // The lines of chunk [start, end) of `data`, and the bytes read.
        let chunk = |start: u64, end: u64| {
            let mut fill = Counted {
                data: &data[start as usize - 1..],
                at: 0,
            };
            let from = Start {
                offset: start - 1,
                skipping: true,
                end: Some(end),
            };
            let lines = read_all(LineReader::new(&mut fill, from, 100, block));
            (lines, fill.at as u64)
        };
        for (start, end) in [
            (1u64 << 18, 1u64 << 19),
            (1 << 19, (1 << 20) - 1),
            (1 << 19, 1 << 20),
        ] {
            let (lines, read) = chunk(start, end);
            assert!(lines.is_empty(), "[{start}, {end}): {} lines", lines.len());
            assert!(
                read <= end - start + 1 + block as u64,
                "[{start}, {end}) read {read} bytes"
            );
        }
        // The chunk where `ok` starts still yields it.
        let (lines, _) = chunk((1 << 20) - 10, data.len() as u64);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].bytes, "ok");
    }

    #[test]
    fn final_line_without_newline_and_blank_lines() {
        let r = LineReader::new(ReadFill(&b"a\n\nb\r\nc"[..]), start(), 100, 3);
        let lines: Vec<_> = read_all(r).into_iter().map(|l| l.bytes).collect();
        assert_eq!(lines, vec!["a", "", "b\r", "c"]);
    }

    #[test]
    fn empty_stream_has_no_lines() {
        let r = LineReader::new(ReadFill(&b""[..]), start(), 100, 3);
        assert!(read_all(r).is_empty());
    }

    #[test]
    fn too_long_line_is_cut_and_rest_skipped() {
        let data = b"short\nthis line is far too long\nok\nlongtail-without-newline";
        let r = LineReader::new(ReadFill(&data[..]), start(), 5, 4);
        assert_eq!(read_all(r), reference(data, 5));
    }

    #[test]
    fn buffer_holds_at_most_max_line_plus_block() {
        let mut data = vec![b'x'; 100_000];
        data.push(b'\n');
        let mut r = LineReader::new(ReadFill(&data[..]), start(), 10, 16);
        let Ok(Next::Line(l)) = r.next_line() else {
            panic!("expected a line")
        };
        assert!(l.too_long);
        assert!(r.buf.capacity() < 64, "capacity {}", r.buf.capacity());
        assert_eq!(r.next_line().ok(), Some(Next::Done));
    }

    #[test]
    fn the_first_line_pins_a_small_buffer_not_a_block() {
        let data = b"first\nsecond\n".repeat(100_000);
        let block = 256 * 1024;
        let mut r = LineReader::new(ReadFill(&data[..]), start(), 1 << 20, block);
        let Ok(Next::Line(first)) = r.next_line() else {
            panic!("expected a line")
        };
        assert_eq!(&first.bytes[..], b"first");
        // The first line shares its allocation with the rest of the buffer.
        assert!(r.buf.capacity() <= FIRST_FILL, "capacity {}", r.buf.capacity());
        // Later reads take whole blocks.
        assert!(matches!(r.next_line(), Ok(Next::Line(l)) if &l.bytes[..] == b"second"));
        for _ in 0..1000 {
            assert!(matches!(r.next_line(), Ok(Next::Line(_))));
        }
        assert!(r.buf.capacity() > block / 2, "capacity {}", r.buf.capacity());
        assert_eq!(read_all(r).len(), 200_000 - 1002);
    }

    #[test]
    fn too_long_line_reports_its_whole_length() {
        let mut data = vec![b'x'; 5000];
        data.extend(b"\nok\n");
        let lines = read_all(LineReader::new(ReadFill(&data[..]), start(), 10, 7));
        assert_eq!(lines[0].len, 5000);
        assert_eq!((lines[0].bytes.len(), lines[0].too_long), (10, true));
        assert_eq!((lines[1].offset, lines[1].len), (5001, 2));
    }

    #[test]
    fn position_inside_a_too_long_line_is_its_start() {
        let mut data = b"a\n".to_vec();
        data.extend(vec![b'x'; 50]);
        data.extend(b"\nb\n");
        let drip = Drip {
            data,
            at: 0,
            step: 4,
            pending_next: false,
        };
        let mut r = LineReader::new(drip, start(), 8, 4);
        let mut lines = 0;
        let mut states = Vec::new();
        loop {
            match r.next_line().unwrap() {
                Next::Line(_) => lines += 1,
                Next::Pending => states.push((lines, r.state())),
                Next::Done => break,
            }
        }
        assert_eq!(lines, 3);
        // While the long line (offset 2) is being skipped, nothing of it has
        // been yielded: a resume reads it again from its start.
        assert!(
            states
                .iter()
                .filter(|(n, _)| *n == 1)
                .all(|(_, s)| *s == (2, false)),
            "{states:?}"
        );
    }

    proptest! {
        #[test]
        fn matches_reference(
            data in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), Just(b'b')], 0..200),
            max in 0usize..12,
            block in 1usize..9,
            step in 1usize..9,
        ) {
            let expected = reference(&data, max);
            let r = LineReader::new(ReadFill(&data[..]), start(), max, block);
            prop_assert_eq!(read_all(r), expected.clone());
            let drip = Drip { data: data.clone(), at: 0, step, pending_next: false };
            let r = LineReader::new(drip, start(), max, block);
            prop_assert_eq!(read_all(r), expected);
        }
    }
}
