//! The container builder of eddy's exchanges: containers of a fixed
//! number of records.

use std::collections::VecDeque;

use timely::container::{ContainerBuilder, LengthPreservingContainerBuilder, PushInto};

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
