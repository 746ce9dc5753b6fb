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

/// The tag of values emitted at end of input: after everything else.
pub const EOF_TAG: u64 = u64::MAX;

/// Maps an event time (ms since the Unix epoch, may be negative) to a
/// progress mark, keeping the order.
#[inline]
pub fn time_mark(ms: i64) -> u64 {
    (ms as u64) ^ (1 << 63)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_mark_keeps_order() {
        let times = [i64::MIN, -5, -1, 0, 1, 1_700_000_000_000, i64::MAX];
        for w in times.windows(2) {
            assert!(time_mark(w[0]) < time_mark(w[1]), "{:?}", w);
        }
    }
}
