//! The record every stream carries: a value plus its place in the canonical
//! order.
//!
//! `tag` is the progress mark the value was read at (its partition's
//! high-water mark; see `ARCHITECTURE.md`, "Time model"). It is never below
//! the timely timestamp of the message that carries the record, so once the
//! frontier has passed `tag`, no record that precedes this one can still
//! arrive. `pos` is `(partition << 40) | sequence`, unique per input item;
//! `(tag, pos)` is the canonical order in which stateful steps take records.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use timely::container::{ContainerBuilder, LengthPreservingContainerBuilder, PushInto};

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

/// Records per container that eddy's operators send: timely 0.12's fixed
/// buffer length. Timely 0.32's default builder cuts containers at 8 KiB
/// (about 50 of search-ctr's records), which multiplies the messages an
/// exchange sends and the batches a stash holds.
pub const RECORDS_PER_CONTAINER: usize = 1024;

/// A container builder for `Vec<T>` that ships containers of
/// [`RECORDS_PER_CONTAINER`] records, in push order (used by the exchanges
/// of keyed steps and outputs, the keyed core's output and `partition`).
#[derive(Debug)]
pub struct Batcher<T> {
    current: Vec<T>,
    /// The container last handed out, reused once timely gave it back.
    empty: Option<Vec<T>>,
    pending: VecDeque<Vec<T>>,
}

impl<T> Default for Batcher<T> {
    fn default() -> Self {
        Batcher {
            current: Vec::new(),
            empty: None,
            pending: VecDeque::new(),
        }
    }
}

impl<T> PushInto<T> for Batcher<T> {
    #[inline]
    fn push_into(&mut self, item: T) {
        if self.current.capacity() == 0 {
            self.current = match self.empty.take() {
                Some(mut spare) if spare.capacity() >= RECORDS_PER_CONTAINER => {
                    spare.clear();
                    spare
                }
                _ => Vec::with_capacity(RECORDS_PER_CONTAINER),
            };
        }
        self.current.push(item);
        if self.current.len() >= RECORDS_PER_CONTAINER {
            self.pending.push_back(std::mem::take(&mut self.current));
        }
    }
}

impl<T: 'static> ContainerBuilder for Batcher<T> {
    type Container = Vec<T>;

    #[inline]
    fn extract(&mut self) -> Option<&mut Vec<T>> {
        self.empty = Some(self.pending.pop_front()?);
        self.empty.as_mut()
    }

    #[inline]
    fn finish(&mut self) -> Option<&mut Vec<T>> {
        if !self.current.is_empty() {
            self.pending.push_back(std::mem::take(&mut self.current));
        }
        self.empty = self.pending.pop_front();
        self.empty.as_mut()
    }
}

impl<T: 'static> LengthPreservingContainerBuilder for Batcher<T> {}
