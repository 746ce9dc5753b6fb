//! The part of timely's framing the relays follow: a message's length, to
//! see the zero-length message that ends a stream cleanly.

use std::io;

use timely::communication::networking::MessageHeader;

/// Where timely's framing keeps a message's length: see [`Frames`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    /// The header's size in bytes.
    header: usize,
    /// Where the length (a `u64`) starts in the header.
    length_at: usize,
    /// Whether the length is big-endian (timely 0.32 writes every header
    /// field as a big-endian `u64`; older versions wrote native words).
    big_endian: bool,
}

impl Layout {
    /// Found by encoding a header with distinct fields, so that a change
    /// of timely's framing is an error at the start of a clustered run
    /// rather than a relay that misreads the stream.
    pub(super) fn of_timely() -> io::Result<Layout> {
        const LENGTH: u64 = 0x0102_0304_0506_0708;
        let probe = MessageHeader {
            channel: 11,
            source: 12,
            target_lower: 13,
            target_upper: 14,
            length: LENGTH as usize,
            seqno: 15,
        };
        let mut bytes = Vec::new();
        probe.write_to(&mut bytes)?;
        if bytes.len() != probe.header_bytes() {
            return Err(io::Error::other(format!(
                "timely's message header is {} bytes, not the {} it reports",
                bytes.len(),
                probe.header_bytes()
            )));
        }
        let found = |encoded: [u8; 8]| bytes.windows(8).position(|w| w == encoded);
        let (length_at, big_endian) = match (found(LENGTH.to_be_bytes()), found(LENGTH.to_le_bytes())) {
            (Some(at), _) => (at, true),
            (None, Some(at)) => (at, false),
            (None, None) => {
                return Err(io::Error::other(
                    "cannot find the length in timely's message header",
                ));
            }
        };
        Ok(Layout {
            header: bytes.len(),
            length_at,
            big_endian,
        })
    }

    /// The length field of a whole header.
    fn length(&self, header: &[u8]) -> u64 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&header[self.length_at..self.length_at + 8]);
        if self.big_endian {
            u64::from_be_bytes(word)
        } else {
            u64::from_le_bytes(word)
        }
    }
}

/// Follows timely's framing (header, `length` bytes, ...) to see the
/// zero-length message that ends a stream cleanly.
#[derive(Debug)]
pub(super) struct Frames {
    layout: Layout,
    partial: Vec<u8>,
    left: usize,
    /// The end message has been seen, and nothing after it.
    ended: bool,
    /// Bytes came after the end message.
    spoiled: bool,
}

impl Frames {
    pub(super) fn new(layout: Layout) -> Self {
        Frames {
            layout,
            partial: Vec::with_capacity(layout.header),
            left: 0,
            ended: false,
            spoiled: false,
        }
    }

    pub(super) fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.ended || self.spoiled {
                self.ended = false;
                self.spoiled = true;
                return;
            }
            if self.left > 0 {
                let take = self.left.min(bytes.len());
                self.left -= take;
                bytes = &bytes[take..];
                continue;
            }
            let take = (self.layout.header - self.partial.len()).min(bytes.len());
            self.partial.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.partial.len() == self.layout.header {
                let length = self.layout.length(&self.partial);
                self.partial.clear();
                match usize::try_from(length) {
                    Ok(0) => self.ended = true,
                    Ok(n) => self.left = n,
                    // Not timely's framing: never a clean end.
                    Err(_) => {
                        self.spoiled = true;
                        return;
                    }
                }
            }
        }
    }

    /// Whether the stream so far ended cleanly.
    pub(super) fn clean(&self) -> bool {
        self.ended && !self.spoiled
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::engine::cluster) fn header(length: usize) -> Vec<u8> {
        let mut bytes = Vec::new();
        MessageHeader {
            channel: 7,
            source: 1,
            target_lower: 2,
            target_upper: 3,
            length,
            seqno: 9,
        }
        .write_to(&mut bytes)
        .unwrap();
        bytes
    }

    #[test]
    fn frames_see_a_clean_end_however_the_bytes_are_split() {
        let layout = Layout::of_timely().unwrap();
        let mut stream = Vec::new();
        for len in [3, 0x0100, 1] {
            stream.extend(header(len));
            stream.extend(std::iter::repeat_n(0u8, len));
        }
        let body = stream.clone();
        stream.extend(header(0));
        for cut in 0..stream.len() {
            let mut f = Frames::new(layout);
            f.feed(&stream[..cut]);
            assert!(!f.clean(), "cut {cut}");
            f.feed(&stream[cut..]);
            assert!(f.clean(), "cut {cut}");
        }
        // Only messages, no end: a break.
        let mut f = Frames::new(layout);
        f.feed(&body);
        assert!(!f.clean());
        // Bytes after the end message: not clean.
        let mut f = Frames::new(layout);
        f.feed(&stream);
        f.feed(&[0]);
        assert!(!f.clean());
    }
}
