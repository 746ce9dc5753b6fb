//! The gate every stateful step and output has, written once: records
//! wait in it until the frontier has passed their tag, and leave in
//! canonical order, stopping at each snapshot due on the way.

use std::collections::VecDeque;
use std::rc::Rc;

use crate::base::record::{Rec, EOF_BASE};
use crate::engine::chunk_order::{ChunkGroups, Resolver};
use crate::engine::signal::{Signal, Snap};
use crate::engine::stash::Stash;

/// Snapshots an operator has heard of but not yet taken, in mark order.
#[derive(Debug, Default)]
struct Pending(VecDeque<Snap>);

impl Pending {
    /// Adds announcements.
    fn extend(&mut self, snaps: &[Snap]) {
        self.0.extend(snaps.iter().copied());
        self.0
            .make_contiguous()
            .sort_by_key(|&(epoch, mark)| (mark, epoch));
    }

    /// The next snapshot the frontier has passed (nothing below its cut
    /// can still arrive), removed from the queue.
    fn next_due(&mut self, frontier: Option<u64>) -> Option<Snap> {
        let &(_, mark) = self.0.front()?;
        if frontier.is_none_or(|f| f >= cut(mark)) {
            self.0.pop_front()
        } else {
            None
        }
    }
}

/// Where a snapshot at `mark` cuts the records: below the mark, and never
/// after the first end-of-input tag. The last snapshot (mark `EOF_TAG`)
/// holds the state before any end-of-input value, as when those values
/// were all tagged `EOF_TAG`; an output takes it once the frontier has
/// reached `EOF_BASE`, before writing the end-of-input slices.
fn cut(mark: u64) -> u64 {
    mark.min(EOF_BASE)
}

/// What [`Gate::drain`] hands a step.
pub(crate) enum Drained<'r, T> {
    /// Records in canonical order, every one below the bound (a snapshot's
    /// cut or the frontier; `None`: end of input).
    Ready(&'r mut Vec<Rec<T>>, Option<u64>),
    /// Everything below this snapshot's mark has been handed over: save the
    /// state for this epoch.
    Snapshot(u64),
}

/// What a stateful step or an output holds back: the records waiting for
/// the frontier, and the snapshots it must stop at on the way.
#[derive(Debug)]
pub(crate) struct Gate<T> {
    stash: Stash<T>,
    pending: Pending,
    chunks: Resolver<T>,
    resolved: Vec<Rec<T>>,
}

impl<T> Gate<T> {
    /// A gate for a flow whose chunked files are `groups`.
    pub fn new(groups: Rc<ChunkGroups>) -> Self {
        Gate {
            stash: Stash::default(),
            pending: Pending::default(),
            chunks: Resolver::new(groups),
            resolved: Vec::new(),
        }
    }

    /// Holds a batch of records (see [`Stash::push`]), first giving the
    /// records of chunked files their true tags.
    pub fn push(&mut self, recs: &mut Vec<Rec<T>>) {
        if self.chunks.active() {
            self.chunks.resolve(recs);
        }
        self.stash.push(recs);
    }

    /// Takes control signals: snapshots to stop at, chunks that ended.
    pub fn announce(&mut self, signals: &[Signal]) {
        for s in signals {
            match *s {
                Signal::Snapshot(snap) => self.pending.extend(&[snap]),
                Signal::ChunkEnd { part, mark } => {
                    self.chunks.ended(part, mark, &mut self.resolved);
                    self.stash.push(&mut self.resolved);
                }
            }
        }
    }

    /// The loop every gated step runs, written once: hands `step` the
    /// records below the next due snapshot's mark ([`Drained::Ready`], with
    /// that mark as bound), then that snapshot ([`Drained::Snapshot`]: save
    /// the state), and so on; last the records below the frontier (bound:
    /// the frontier; `None` at end of input). A `Ready` batch may be empty.
    /// Returns `false` as soon as `step` does (the run failed).
    pub fn drain(
        &mut self,
        frontier: Option<u64>,
        ready: &mut Vec<Rec<T>>,
        mut step: impl FnMut(Drained<'_, T>) -> bool,
    ) -> bool {
        loop {
            let snap = self.release(frontier, ready);
            let bound = match snap {
                Some((_, mark)) => Some(cut(mark)),
                None => frontier,
            };
            let going = step(Drained::Ready(ready, bound));
            ready.clear();
            if !going {
                return false;
            }
            let Some((epoch, _)) = snap else { return true };
            if !step(Drained::Snapshot(epoch)) {
                return false;
            }
        }
    }

    /// Moves records to `ready` in canonical order: those below the mark of
    /// the next snapshot the frontier has passed, returning that snapshot
    /// (apply them, save the state, call again), or else those below the
    /// frontier, returning `None`.
    pub fn release(&mut self, frontier: Option<u64>, ready: &mut Vec<Rec<T>>) -> Option<Snap> {
        if frontier.is_none() {
            // Every chunk has ended; nothing can still be waiting, but an
            // aborted read must not strand records either.
            self.chunks.drain(&mut self.resolved);
            self.stash.push(&mut self.resolved);
        }
        match self.pending.next_due(frontier) {
            Some(snap) => {
                self.stash.take(Some(cut(snap.1)), ready);
                Some(snap)
            }
            None => {
                self.stash.take(frontier, ready);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;

    #[test]
    fn the_gate_stops_at_each_due_snapshot_in_mark_order() {
        let rec = |tag: u64| Rec {
            tag,
            pos: tag,
            val: (),
        };
        let mut gate = Gate::new(Rc::default());
        gate.push(&mut vec![rec(5), rec(15), rec(25), rec(35)]);
        gate.announce(&[Signal::Snapshot((2, 30)), Signal::Snapshot((1, 10))]);
        let mut ready = Vec::new();
        // No snapshot due yet: what is below the frontier.
        assert_eq!(gate.release(Some(9), &mut ready), None);
        assert_eq!(ready.iter().map(|r| r.tag).collect::<Vec<_>>(), vec![5]);
        ready.clear();
        // Both due: one at a time, each with only the records below it.
        assert_eq!(gate.release(Some(40), &mut ready), Some((1, 10)));
        assert!(ready.is_empty());
        ready.clear();
        assert_eq!(gate.release(Some(40), &mut ready), Some((2, 30)));
        assert_eq!(ready.iter().map(|r| r.tag).collect::<Vec<_>>(), vec![15, 25]);
        ready.clear();
        assert_eq!(gate.release(Some(40), &mut ready), None);
        assert_eq!(ready.iter().map(|r| r.tag).collect::<Vec<_>>(), vec![35]);
    }

    #[test]
    fn the_last_snapshot_cuts_before_the_end_of_input_values() {
        use crate::base::record::{eof_tag, EOF_TAG};
        let rec = |tag: u64| Rec { tag, pos: 0, val: () };
        let mut gate = Gate::new(Rc::default());
        gate.push(&mut vec![rec(5), rec(eof_tag(0)), rec(eof_tag(u64::MAX))]);
        gate.announce(&[Signal::Snapshot((1, EOF_TAG))]);
        let mut ready = Vec::new();
        // The frontier at the first slice: the last snapshot is due, with
        // only what precedes the end of input.
        assert_eq!(gate.release(Some(EOF_BASE), &mut ready), Some((1, EOF_TAG)));
        assert_eq!(ready.iter().map(|r| r.tag).collect::<Vec<_>>(), vec![5]);
        ready.clear();
        assert_eq!(gate.release(Some(eof_tag(0) + 1), &mut ready), None);
        assert_eq!(ready.iter().map(|r| r.tag).collect::<Vec<_>>(), vec![eof_tag(0)]);
        ready.clear();
        let mut bounds = Vec::new();
        gate.drain(None, &mut ready, |d| {
            if let Drained::Ready(r, bound) = d {
                bounds.push((r.len(), bound));
            }
            true
        });
        assert_eq!(bounds, vec![(1, None)]);
    }

    #[test]
    fn pending_snapshots_come_due_in_mark_order() {
        let mut p = Pending::default();
        p.extend(&[(2, 50), (1, 20)]);
        assert_eq!(p.next_due(Some(19)), None);
        assert_eq!(p.next_due(Some(20)), Some((1, 20)));
        assert_eq!(p.next_due(Some(49)), None);
        assert_eq!(p.next_due(None), Some((2, 50)));
        assert_eq!(p.next_due(None), None);
        use crate::engine::signal::least;
        assert_eq!(least(Some(3), None), Some(3));
        assert_eq!(least(None, Some(4)), Some(4));
        assert_eq!(least(Some(3), Some(2)), Some(2));
        assert_eq!(least(None, None), None);
    }
}
