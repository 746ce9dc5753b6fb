//! Input logs: each source partition's resume position at a cut. Sources
//! need no gate: tags never go down within a partition, so "the first
//! record with tag ≥ mark" is a place in the partition, found in its log.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::engine::chunk_order::Prefix;
use crate::error::{RecoveryError, Result};
use crate::recovery::WorkerRecovery;

/// Where a partition is: enough to reopen it there and tag the records
/// that follow exactly as before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    /// The source's resume position.
    pub resume: Vec<u8>,
    /// Items read before it.
    pub seq: u64,
    /// The partition's progress mark there.
    pub mark: u64,
}

/// A partition's state in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SavedPart {
    /// The partition key.
    pub key: String,
    /// Its index in the source's partition list.
    pub index: u32,
    /// Where to reopen it; records read from there with a tag below the
    /// snapshot's mark are skipped (they are in the snapshot).
    pub at: Cursor,
    /// Nothing is left to read.
    pub done: bool,
    /// For a chunk after the first of its file: the final mark of the
    /// chunks before it, when known at the cut (its records' true tags are
    /// their own raised to it; see `engine::chunk_order`).
    pub prefix: Option<u64>,
}

/// The reads of one partition since the oldest cut that may still be
/// asked for: each batch's starting cursor and last tag.
#[derive(Debug)]
pub(crate) struct PartLog {
    pub key: String,
    pub index: u32,
    /// `input << 16 | index`.
    pub part: u32,
    pub batches: VecDeque<(Cursor, u64)>,
    /// The cursor after the last read.
    pub now: Cursor,
    pub done: bool,
}

impl PartLog {
    /// The partition's state at the cut `mark`: the start of the first
    /// batch that reaches `mark` (by true tag: its own raised to `prefix`),
    /// or where it is now if none does. A chunk whose prefix is not known
    /// has nothing below the cut (an earlier chunk of its file was still
    /// being read at it), so it resumes at its first logged batch.
    pub fn at(&self, mark: u64, prefix: Prefix) -> SavedPart {
        let reaches = |last: u64| prefix.apply(last).is_none_or(|t| t >= mark);
        let (at, done) = match self.batches.iter().find(|(_, last)| reaches(*last)) {
            Some((c, _)) => (c.clone(), false),
            None => (self.now.clone(), self.done),
        };
        let prefix = match prefix {
            Prefix::Known(p) => Some(p),
            Prefix::Own | Prefix::Unknown => None,
        };
        SavedPart {
            key: self.key.clone(),
            index: self.index,
            at,
            done,
            prefix,
        }
    }

    /// Forgets the batches entirely below `mark` (no later cut needs them).
    pub fn prune(&mut self, mark: u64, prefix: Prefix) {
        while self
            .batches
            .front()
            .is_some_and(|(_, last)| prefix.apply(*last).is_some_and(|t| t < mark))
        {
            self.batches.pop_front();
        }
    }
}

/// One input step's partition logs on this worker.
pub(crate) type InputLog = Rc<RefCell<Vec<Rc<RefCell<PartLog>>>>>;

/// Restores the saved partitions of an input step: `(key → saved)`.
pub(crate) fn restored_parts(
    rec: &WorkerRecovery,
    step: &str,
    keys: &[String],
) -> Result<Option<std::collections::HashMap<String, SavedPart>>> {
    if rec.resume.is_none() {
        return Ok(None);
    }
    let mut saved = std::collections::HashMap::new();
    for (_, parts) in rec.load::<Vec<SavedPart>>(step)? {
        for p in parts {
            saved.insert(p.key.clone(), p);
        }
    }
    let same = saved.len() == keys.len()
        && keys
            .iter()
            .enumerate()
            .all(|(j, k)| saved.get(k).is_some_and(|p| p.index as usize == j));
    if !same {
        let mut then: Vec<&SavedPart> = saved.values().collect();
        then.sort_by_key(|p| p.index);
        let then: Vec<&str> = then.iter().map(|p| p.key.as_str()).collect();
        return Err(RecoveryError::Mismatch {
            detail: format!(
                "step {step}: the input's partitions changed since the snapshot (then {then:?}, now \
                 {keys:?}); a resume needs the same inputs"
            ),
        }
        .into());
    }
    Ok(Some(saved))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(seq: u64, mark: u64) -> Cursor {
        Cursor {
            resume: seq.to_le_bytes().to_vec(),
            seq,
            mark,
        }
    }

    fn log() -> PartLog {
        // Batches starting at items 0, 4, 8 whose last tags are 10, 20, 20;
        // now after item 12 at mark 30.
        PartLog {
            key: "p".into(),
            index: 3,
            part: 3,
            batches: [(cursor(0, 0), 10), (cursor(4, 10), 20), (cursor(8, 20), 20)].into(),
            now: cursor(12, 30),
            done: false,
        }
    }

    #[test]
    fn a_cut_resumes_at_the_first_batch_that_reaches_it() {
        let l = log();
        assert_eq!(l.at(5, Prefix::Own).at, cursor(0, 0));
        assert_eq!(l.at(10, Prefix::Own).at, cursor(0, 0));
        assert_eq!(l.at(11, Prefix::Own).at, cursor(4, 10));
        assert_eq!(l.at(20, Prefix::Own).at, cursor(4, 10));
        // Nothing read reaches the cut: resume where the partition is.
        let past = l.at(21, Prefix::Own);
        assert_eq!((past.at, past.done, past.index), (cursor(12, 30), false, 3));
        let mut done = log();
        done.done = true;
        assert!(done.at(25, Prefix::Own).done);
        assert!(
            !done.at(15, Prefix::Own).done,
            "a batch at or above the cut is still to be read"
        );
    }

    #[test]
    fn a_chunk_cuts_by_its_true_tags() {
        let l = log();
        // Raised to 15: the first batch (own last tag 10) now reaches 12.
        assert_eq!(l.at(12, Prefix::Known(15)).at, cursor(0, 0));
        assert_eq!(l.at(12, Prefix::Known(15)).prefix, Some(15));
        assert_eq!(l.at(16, Prefix::Known(15)).at, cursor(4, 10));
        // Unknown prefix: nothing is below the cut, resume at the first batch.
        let unknown = l.at(25, Prefix::Unknown);
        assert_eq!((unknown.at, unknown.prefix), (cursor(0, 0), None));
        let mut l = log();
        l.prune(100, Prefix::Unknown);
        assert_eq!(l.batches.len(), 3, "an unresolved chunk keeps its batches");
        l.prune(16, Prefix::Known(15));
        assert_eq!(l.batches.len(), 2);
    }

    #[test]
    fn pruning_keeps_what_a_later_cut_may_need() {
        let mut l = log();
        l.prune(15, Prefix::Own);
        assert_eq!(l.batches.len(), 2);
        assert_eq!(l.at(15, Prefix::Own).at, cursor(4, 10));
        l.prune(21, Prefix::Own);
        assert!(l.batches.is_empty());
        assert_eq!(l.at(21, Prefix::Own).at, cursor(12, 30));
    }
}
