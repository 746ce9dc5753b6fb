//! Chunks of one file, taken in byte order: "one file, one answer".
//!
//! A big file is read as several partitions (byte ranges, read in parallel
//! by different workers). For the result not to depend on the chunk size,
//! the records of one file must be taken exactly as if the file were one
//! partition: tagged with the *file's* event-time high-water mark, not the
//! chunk's. Chunk `k` cannot know that mark while chunk `k − 1` is still
//! being read, so the input tags its records with the chunk's own mark (a
//! lower bound of the true one, and the timestamp its capability is held
//! at) and the records are *resolved* where they are taken, in the
//! [`Gate`](crate::engine::gate::Gate) of every stateful step and
//! output:
//!
//! ```text
//! true tag = max(chunk's own tag, prefix)
//! prefix   = max of the final marks of the chunks before it in its file
//! ```
//!
//! Each input announces a chunk's final mark when the chunk ends (a
//! [`Signal::ChunkEnd`](crate::engine::signal::Signal) on the control
//! stream, broadcast to every worker). A record whose prefix is not known
//! yet waits; it could not be taken anyway, because an unfinished earlier
//! chunk holds the frontier at or below its own final mark, hence below
//! the record's true tag. The positions need no change: chunks of one file
//! are consecutive partitions, so `(true tag, pos)` is byte order within
//! the file, and across files the same merge by high-water mark as
//! unchunked files. Resolving twice gives the same tag, so records that
//! steps emit downstream (which keep the position they came from) are
//! safe to resolve again.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::base::record::{Rec, SEQ_BITS};

/// The partition id a position belongs to: `input << 16 | partition`.
#[inline]
pub(crate) fn part_of(pos: u64) -> u32 {
    (pos >> SEQ_BITS) as u32
}

/// The partition id of partition `j` of input `input`.
#[inline]
pub(crate) fn part_id(input: u32, j: usize) -> u32 {
    (input << 16) | j as u32
}

/// Which partitions continue the one before them (the chunks of one file
/// after its first; a file's chunks are consecutive partitions). Filled by
/// the input steps while the flow is built, read by every gate once
/// running.
#[derive(Debug, Default)]
pub(crate) struct ChunkGroups {
    continuations: RefCell<HashSet<u32>>,
}

impl ChunkGroups {
    /// Records that partition `part` continues `part − 1`.
    pub fn add(&self, part: u32) {
        self.continuations.borrow_mut().insert(part);
    }

    /// Whether any partition continues another.
    pub fn any(&self) -> bool {
        !self.continuations.borrow().is_empty()
    }

    /// A copy of the table.
    fn snapshot(&self) -> HashSet<u32> {
        self.continuations.borrow().clone()
    }
}

/// What is known of one flow's chunks on one operator: the final marks of
/// ended chunks, and so the prefix of each continuation.
#[derive(Debug)]
pub(crate) struct ChunkMarks {
    source: Rc<ChunkGroups>,
    /// Frozen at first use (every input is built by then).
    continuations: Option<HashSet<u32>>,
    ends: HashMap<u32, u64>,
    prefixes: HashMap<u32, u64>,
}

/// A partition's prefix, as far as it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefix {
    /// Not a continuation: its own tags are the true ones.
    Own,
    /// A continuation whose earlier chunks all ended: tags are raised to it.
    Known(u64),
    /// A continuation with an earlier chunk still being read.
    Unknown,
}

impl Prefix {
    /// The true tag of a record tagged `tag`, if known.
    #[inline]
    pub fn apply(self, tag: u64) -> Option<u64> {
        match self {
            Prefix::Own => Some(tag),
            Prefix::Known(p) => Some(tag.max(p)),
            Prefix::Unknown => None,
        }
    }
}

impl ChunkMarks {
    /// Follows the flow's chunk groups.
    pub fn new(source: Rc<ChunkGroups>) -> Self {
        ChunkMarks {
            source,
            continuations: None,
            ends: HashMap::new(),
            prefixes: HashMap::new(),
        }
    }

    fn groups(&mut self) -> &HashSet<u32> {
        let source = &self.source;
        self.continuations.get_or_insert_with(|| source.snapshot())
    }

    /// Whether any partition of the flow is a continuation.
    pub fn any(&mut self) -> bool {
        !self.groups().is_empty()
    }

    /// Partition `part` ended with final mark `mark` (its own tags). The
    /// prefixes this completes are computed at once (chunks may end in any
    /// order), so that [`ChunkMarks::prefix`] is a lookup.
    pub fn ended(&mut self, part: u32, mark: u64) {
        self.ends.insert(part, mark);
        let mut j = part;
        loop {
            let next = j + 1;
            if !self.groups().contains(&next) {
                break; // `next` does not continue `j`'s file
            }
            // The final marks of every chunk before `j` in its file.
            let before = if self.groups().contains(&j) {
                match self.prefixes.get(&j) {
                    Some(&p) => p,
                    None => break,
                }
            } else {
                0 // `j` is its file's first chunk
            };
            let Some(&end) = self.ends.get(&j) else { break };
            self.prefixes.insert(next, before.max(end));
            j = next;
        }
    }

    /// The prefix of partition `part`.
    pub fn prefix(&mut self, part: u32) -> Prefix {
        if let Some(&p) = self.prefixes.get(&part) {
            return Prefix::Known(p);
        }
        if self.groups().contains(&part) {
            Prefix::Unknown
        } else {
            Prefix::Own
        }
    }
}

/// Records of continuations waiting for their prefix, by partition.
#[derive(Debug)]
pub(crate) struct Resolver<T> {
    marks: ChunkMarks,
    waiting: HashMap<u32, Vec<Rec<T>>>,
}

impl<T> Resolver<T> {
    /// Follows the flow's chunk groups.
    pub fn new(groups: Rc<ChunkGroups>) -> Self {
        Resolver {
            marks: ChunkMarks::new(groups),
            waiting: HashMap::new(),
        }
    }

    /// Whether records must be resolved at all (some input has chunks).
    pub fn active(&mut self) -> bool {
        self.marks.any()
    }

    /// Gives each record of `recs` its true tag, moving those whose prefix
    /// is unknown to the waiting room.
    pub fn resolve(&mut self, recs: &mut Vec<Rec<T>>) {
        let mut last: Option<(u32, Prefix)> = None;
        let mut unknown = false;
        for r in recs.iter_mut() {
            let part = part_of(r.pos);
            let prefix = match last {
                Some((p, prefix)) if p == part => prefix,
                _ => {
                    let prefix = self.marks.prefix(part);
                    last = Some((part, prefix));
                    prefix
                }
            };
            match prefix.apply(r.tag) {
                Some(tag) => r.tag = tag,
                None => unknown = true,
            }
        }
        if !unknown {
            return;
        }
        // Keep arrival order on both sides.
        let all = std::mem::take(recs);
        let mut last: Option<(u32, Prefix)> = None;
        for r in all {
            let part = part_of(r.pos);
            let prefix = match last {
                Some((p, prefix)) if p == part => prefix,
                _ => {
                    let prefix = self.marks.prefix(part);
                    last = Some((part, prefix));
                    prefix
                }
            };
            if let Prefix::Unknown = prefix {
                self.waiting.entry(part).or_default().push(r);
            } else {
                recs.push(r);
            }
        }
    }

    /// Partition `part` ended at `mark`: moves the records it was holding
    /// back (now resolved) to `out`.
    pub fn ended(&mut self, part: u32, mark: u64, out: &mut Vec<Rec<T>>) {
        self.marks.ended(part, mark);
        let parts: Vec<u32> = self.waiting.keys().copied().collect();
        for p in parts {
            if let Prefix::Known(prefix) = self.marks.prefix(p) {
                if let Some(recs) = self.waiting.remove(&p) {
                    out.extend(recs.into_iter().map(|mut r| {
                        r.tag = r.tag.max(prefix);
                        r
                    }));
                }
            }
        }
    }

    /// Everything still waiting (end of input: nothing more can end).
    pub fn drain(&mut self, out: &mut Vec<Rec<T>>) {
        for (_, recs) in self.waiting.drain() {
            out.extend(recs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(tag: u64, part: u32, seq: u64) -> Rec<u32> {
        Rec {
            tag,
            pos: (u64::from(part) << SEQ_BITS) | seq,
            val: part,
        }
    }

    /// One file in three chunks (partitions 1, 2, 3) after a whole file (0).
    fn groups() -> Rc<ChunkGroups> {
        let g = ChunkGroups::default();
        g.add(2);
        g.add(3);
        Rc::new(g)
    }

    #[test]
    fn a_continuation_waits_for_every_earlier_chunk_then_takes_their_mark() {
        let mut r = Resolver::new(groups());
        assert!(r.active());
        let mut recs = vec![rec(5, 0, 0), rec(7, 1, 0), rec(3, 2, 0), rec(4, 3, 0)];
        r.resolve(&mut recs);
        // The whole file and the first chunk keep their own tags.
        assert_eq!(
            recs.iter().map(|r| (r.val, r.tag)).collect::<Vec<_>>(),
            vec![(0, 5), (1, 7)]
        );
        let mut out = Vec::new();
        // Chunk 3 still waits on chunk 2.
        r.ended(1, 10, &mut out);
        assert_eq!(
            out.iter().map(|r| (r.val, r.tag)).collect::<Vec<_>>(),
            vec![(2, 10)]
        );
        out.clear();
        r.ended(2, 8, &mut out);
        assert_eq!(
            out.iter().map(|r| (r.val, r.tag)).collect::<Vec<_>>(),
            vec![(3, 10)]
        );
        // Known from now on: resolved at once, and resolving twice is the same.
        let mut later = vec![rec(12, 3, 1), rec(2, 2, 1)];
        r.resolve(&mut later);
        assert_eq!(later.iter().map(|r| r.tag).collect::<Vec<_>>(), vec![12, 10]);
        r.resolve(&mut later);
        assert_eq!(later.iter().map(|r| r.tag).collect::<Vec<_>>(), vec![12, 10]);
    }

    #[test]
    fn no_chunks_nothing_to_do() {
        let mut r: Resolver<u32> = Resolver::new(Rc::default());
        assert!(!r.active());
        let mut recs = vec![rec(5, 4, 0)];
        r.resolve(&mut recs);
        assert_eq!(recs[0].tag, 5);
        let mut out = Vec::new();
        r.drain(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn prefixes_of_chunks() {
        let mut m = ChunkMarks::new(groups());
        assert_eq!(m.prefix(0), Prefix::Own);
        assert_eq!(m.prefix(1), Prefix::Own);
        assert_eq!(m.prefix(3), Prefix::Unknown);
        m.ended(2, 30);
        assert_eq!(m.prefix(3), Prefix::Unknown);
        m.ended(1, 20);
        assert_eq!(m.prefix(2), Prefix::Known(20));
        assert_eq!(m.prefix(3), Prefix::Known(30));
        assert_eq!(Prefix::Known(30).apply(31), Some(31));
        assert_eq!(Prefix::Unknown.apply(31), None);
    }
}
