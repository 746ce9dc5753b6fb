//! The resume position of a file partition, and its byte encoding.
//!
//! Layout (18 bytes): a format version byte, a flags byte (bit 0: the reader
//! is skipping the rest of a too-long line, or the partial line before a
//! chunk's first line), the byte offset of the next unread byte and the number
//! of lines read so far in the partition, both `u64` little-endian.

/// Where a file partition resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Position {
    /// Offset (in the decompressed stream) of the next unread byte: the start
    /// of the next line unless `skipping`.
    pub(crate) offset: u64,
    /// Skip through the first `\n` at or after `offset` before the next line.
    pub(crate) skipping: bool,
    /// Lines read so far in this partition.
    pub(crate) lines: u64,
}

const VERSION: u8 = 1;
const LEN: usize = 18;
const SKIPPING: u8 = 1;

impl Position {
    /// The encoded position.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(LEN);
        out.push(VERSION);
        out.push(if self.skipping { SKIPPING } else { 0 });
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.lines.to_le_bytes());
        out
    }

    /// Decodes a position written by [`Position::encode`].
    pub(crate) fn decode(bytes: &[u8]) -> Result<Position, String> {
        let [version, flags, rest @ ..] = bytes else {
            return Err(format!("resume position too short ({} bytes)", bytes.len()));
        };
        if *version != VERSION {
            return Err(format!(
                "resume position has format version {version}, expected {VERSION}"
            ));
        }
        if bytes.len() != LEN {
            return Err(format!(
                "resume position has {} bytes, expected {LEN}",
                bytes.len()
            ));
        }
        if flags & !SKIPPING != 0 {
            return Err(format!("resume position has unknown flags {flags:#x}"));
        }
        let (offset, lines) = rest.split_at(8);
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(b);
            u64::from_le_bytes(w)
        };
        Ok(Position {
            offset: word(offset),
            skipping: flags & SKIPPING != 0,
            lines: word(lines),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let p = Position {
            offset: 1 << 40,
            skipping: true,
            lines: 12345,
        };
        assert_eq!(Position::decode(&p.encode()), Ok(p));
        assert_eq!(
            Position::decode(&Position::default().encode()),
            Ok(Position::default())
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(Position::decode(&[]).is_err());
        assert!(Position::decode(&[VERSION]).is_err());
        assert!(Position::decode(&[9; LEN]).is_err());
        let mut p = Position::default().encode();
        p[1] = 0x80;
        assert!(Position::decode(&p).is_err());
        p[1] = 0;
        p.push(0);
        assert!(Position::decode(&p).is_err());
    }
}
