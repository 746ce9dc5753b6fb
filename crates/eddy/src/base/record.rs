//! The record every stream carries: a value plus its place in the canonical
//! order.
//!
//! `tag` is the progress mark the value was read at (its partition's
//! high-water mark; see `ARCHITECTURE.md`, "Time model"). It is never below
//! the timely timestamp of the message that carries the record, so once the
//! frontier has passed `tag`, no record that precedes this one can still
//! arrive. `pos` is `(partition << 40) | sequence`, unique per input item;
//! `(tag, pos)` is the canonical order in which stateful steps take records.

use serde::{Deserialize, Serialize};

/// A value with its canonical position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rec<T> {
    /// Progress mark of the input item this value came from.
    pub tag: u64,
    /// `(partition << 40) | sequence` of the input item this value came from.
    pub pos: u64,
    /// The value.
    pub val: T,
}

impl<T> Rec<T> {
    /// The canonical order key.
    #[inline]
    pub fn order(&self) -> (u64, u64) {
        (self.tag, self.pos)
    }
}

/// Bits of `pos` that hold the sequence number inside a partition.
pub const SEQ_BITS: u32 = 40;

/// The mark of the end of input (the last snapshot's cut): after every
/// tag, end-of-input ones included.
pub const EOF_TAG: u64 = u64::MAX;

/// Bits of a key's routing hash that pick its end-of-input slice.
pub const EOF_SLICE_BITS: u32 = 16;

/// The first tag of end-of-input values: a keyed step finishes its keys
/// at end of input in slices of the hash space, the values of slice `s`
/// tagged `EOF_BASE + s` (see [`eof_tag`]), so that later steps and outputs
/// can take them slice by slice instead of all at once.
pub const EOF_BASE: u64 = EOF_TAG - (2 << EOF_SLICE_BITS);

/// The tag of the values a key with routing hash `hash` emits at end of
/// input: its slice, from the top bits of the hash. `(eof_tag(h), h)`
/// orders like `h`, so the canonical order of end-of-input values is by
/// key hash, as it was with one end-of-input tag.
#[inline]
pub fn eof_tag(hash: u64) -> u64 {
    EOF_BASE + (hash >> (64 - EOF_SLICE_BITS))
}

/// Maps an event time (ms since the Unix epoch, may be negative) to a
/// progress mark, keeping the order.
#[inline]
pub fn time_mark(ms: i64) -> u64 {
    (ms as u64) ^ (1 << 63)
}

/// The event time (ms) a progress mark stands for: [`time_mark`]'s inverse.
pub(crate) fn mark_time(mark: u64) -> i64 {
    (mark ^ (1 << 63)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_input_tags_order_like_hashes_and_stay_below_the_end() {
        let hashes = [0u64, 1, (1 << 48) - 1, 1 << 48, 7 << 60, u64::MAX - 1, u64::MAX];
        for w in hashes.windows(2) {
            assert!((eof_tag(w[0]), w[0]) < (eof_tag(w[1]), w[1]), "{:?}", w);
        }
        assert_eq!(eof_tag(0), EOF_BASE);
        assert!(eof_tag(u64::MAX) < EOF_TAG);
        // Real event times lie far below the end-of-input range.
        assert!(time_mark(i64::MAX / 2) < EOF_BASE);
    }

    #[test]
    fn time_mark_keeps_order() {
        let times = [i64::MIN, -5, -1, 0, 1, 1_700_000_000_000, i64::MAX];
        for w in times.windows(2) {
            assert!(time_mark(w[0]) < time_mark(w[1]), "{:?}", w);
        }
    }
}
