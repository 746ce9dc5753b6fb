//! Snapshots inside the dataflow: the control stream that announces them,
//! the bookkeeping every stateful operator shares, and the input logs that
//! give each source partition's resume position at a cut.
//!
//! A snapshot is a pair `(epoch, mark)`. Worker 0's *coordinator* holds a
//! capability on the control stream that follows the inputs' frontier;
//! every snapshot interval it announces `(epoch, mark)` with `mark` = that
//! frontier, at time `mark`. Every stateful operator takes the control
//! stream as a second input, so its frontier cannot pass `mark` before it
//! has heard of the snapshot; when it does pass, the operator takes the
//! records below `mark`, writes its state, then goes on. Sources need no
//! such help: tags never go down within a partition, so "the first record
//! with tag ≥ mark" is a place in the partition, found in its input log.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::StreamVec;

use crate::base::record::{Rec, EOF_TAG};
use crate::engine::chunk_order::{ChunkGroups, ChunkMarks, Prefix, Resolver};
use crate::engine::graph::{FlowCtx, Scope};
use crate::engine::stash::Stash;
use crate::error::{EddyError, Result};
use crate::recovery::WorkerRecovery;

/// A snapshot announcement: `(epoch, mark)`.
pub type Snap = (u64, u64);

/// What the control stream tells every stateful step and output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    /// Take a snapshot at this cut.
    Snapshot(Snap),
    /// A partition ended with this final mark (its own tags): the chunks
    /// after it in its file can be resolved (see `engine::chunk_order`).
    ChunkEnd {
        /// `input << 16 | partition`.
        part: u32,
        /// The partition's last mark.
        mark: u64,
    },
}

/// The timely stream of signals.
pub(crate) type Control<'a> = StreamVec<'a, u64, Signal>;

/// The least of two input frontiers (`None`: that input is finished).
pub(crate) fn least(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The least time of an input's frontier (`None`: the input is finished).
pub(crate) fn low(frontier: &timely::progress::frontier::MutableAntichain<u64>) -> Option<u64> {
    frontier.frontier().iter().min().copied()
}

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

    /// The next snapshot the frontier has passed (nothing below its mark
    /// can still arrive), removed from the queue.
    fn next_due(&mut self, frontier: Option<u64>) -> Option<Snap> {
        let &(_, mark) = self.0.front()?;
        if frontier.is_none_or(|f| f >= mark) {
            self.0.pop_front()
        } else {
            None
        }
    }
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
                self.stash.take(Some(snap.1), ready);
                Some(snap)
            }
            None => {
                self.stash.take(frontier, ready);
                None
            }
        }
    }
}

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

/// Builds the coordinator: on worker 0 it follows the inputs' progress and
/// announces snapshots; returns the announcements, broadcast to every
/// worker.
pub(crate) fn build_control<'a>(
    scope: &Scope<'a>,
    ctx: &Rc<FlowCtx>,
    rec: &Rc<WorkerRecovery>,
    progress: &StreamVec<'a, u64, ChunkEnd>,
) -> Control<'a> {
    let announcer = ctx.worker() == 0;
    let workers = ctx.workers() as u64;
    let interval = rec.config.snapshot_interval;
    let backup_ms = i64::try_from(rec.config.backup_interval.as_millis()).unwrap_or(i64::MAX);
    let shared = ctx.shared().clone();
    let coord_rec = rec.clone();
    let activator_scope = *scope;
    let control = progress
        .clone()
        .unary_frontier::<CapacityContainerBuilder<Vec<Signal>>, _, _, _>(
            Pipeline,
            "snapshots",
            move |cap, info| {
                let activator = activator_scope.activator_for(info.address.clone());
                let mut cap = announcer.then_some(cap);
                let rec = coord_rec;
                let expected = rec.participants() * workers;
                let mut epoch = rec.next_epoch();
                let mut last_mark = rec.resume_mark();
                let mut last = Instant::now();
                let mut timer: Option<Instant> = None;
                move |(input, input_frontier), output| {
                    input.for_each(|_, _| {});
                    let frontier = low(input_frontier);
                    let Some(c) = cap.as_mut() else { return };
                    if shared.aborted() {
                        cap = None;
                        return;
                    }
                    if let Some(f) = frontier {
                        if *c.time() < f {
                            c.downgrade(&f);
                        }
                    }
                    let mark = frontier.unwrap_or(EOF_TAG);
                    // An interrupted run's last snapshot is due at once.
                    let last_wanted = shared.last_snapshot.wanted();
                    let due = frontier.is_none() || last_wanted || last.elapsed() >= interval;
                    if due {
                        last = Instant::now();
                        if last_wanted && last_mark == Some(mark) {
                            // Nothing moved since the previous snapshot: it is the last.
                            shared.last_snapshot.announced(epoch.saturating_sub(1));
                        }
                        if last_mark.is_none_or(|m| mark > m) {
                            if last_wanted {
                                shared.last_snapshot.announced(epoch);
                            }
                            let announced = rec.announce(
                                epoch,
                                mark,
                                expected,
                                workers,
                                crate::base::now_ms().saturating_sub(backup_ms),
                            );
                            if let Err(e) = announced {
                                shared.fail(e);
                                cap = None;
                                return;
                            }
                            output.session(c).give(Signal::Snapshot((epoch, mark)));
                            epoch += 1;
                            last_mark = Some(mark);
                        }
                    }
                    if frontier.is_none() {
                        cap = None;
                        return;
                    }
                    // Looks again at least every 100 ms (an interrupted run may ask
                    // for its last snapshot).
                    let next = (last + interval).min(Instant::now() + Duration::from_millis(100));
                    if timer.is_none_or(|t| t <= Instant::now()) {
                        timer = Some(next);
                        activator.activate_after(
                            next.saturating_duration_since(Instant::now())
                                .max(Duration::from_millis(1)),
                        );
                    }
                }
            },
        );
    control.broadcast()
}

/// A partition's end, as an input reports it: `(input << 16 | partition,
/// final mark)`.
pub(crate) type ChunkEnd = (u32, u64);

/// Builds this worker's input snapshotter: at each announced cut, writes
/// every local partition's position (see [`PartLog::at`]).
pub(crate) fn build_input_snapshots(
    ctx: &Rc<FlowCtx>,
    rec: &Rc<WorkerRecovery>,
    control: &Control<'_>,
    logs: Vec<(String, InputLog)>,
    groups: Rc<ChunkGroups>,
) {
    let worker = ctx.worker();
    let shared = ctx.shared().clone();
    let rec = rec.clone();
    let mut marks = ChunkMarks::new(groups);
    let mut pending: Vec<Snap> = Vec::new();
    control
        .clone()
        .sink(Pipeline, "snapshot_inputs", move |(input, input_frontier)| {
            input.for_each(|_, data| {
                for s in data.iter() {
                    match *s {
                        Signal::Snapshot(snap) => pending.push(snap),
                        Signal::ChunkEnd { part, mark } => marks.ended(part, mark),
                    }
                }
            });
            pending.sort_by_key(|&(epoch, mark)| (mark, epoch));
            // A cut is written once the control frontier has reached it: every
            // chunk end sent below it has then been heard of, so a chunk whose
            // prefix is still unknown has nothing below the cut.
            let frontier = low(input_frontier);
            let due = pending.partition_point(|&(_, mark)| frontier.is_none_or(|f| f >= mark));
            for (epoch, mark) in pending.drain(..due) {
                for (step, log) in &logs {
                    let parts: Vec<SavedPart> = log
                        .borrow()
                        .iter()
                        .map(|p| {
                            let p = p.borrow();
                            p.at(mark, marks.prefix(p.part))
                        })
                        .collect();
                    if let Err(e) = rec.save(epoch, step, worker, &parts) {
                        shared.fail(e);
                        return;
                    }
                }
            }
            // Later cuts are at or above the control frontier and every cut
            // still pending.
            let floor = least(frontier, pending.first().map(|&(_, mark)| mark));
            if let Some(f) = floor {
                for (_, log) in &logs {
                    for p in log.borrow().iter() {
                        let mut p = p.borrow_mut();
                        let prefix = marks.prefix(p.part);
                        p.prune(f, prefix);
                    }
                }
            }
        });
}

/// Reports a failed snapshot write as the run's error.
pub(crate) fn snapshot_error(step: &str, e: EddyError) -> EddyError {
    match e {
        EddyError::Recovery(m) => EddyError::Recovery(m),
        other => EddyError::Recovery(format!("step {step}: cannot snapshot: {other}")),
    }
}

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
        return Err(EddyError::Recovery(format!(
            "step {step}: the input's partitions changed since the snapshot (then {then:?}, now {keys:?}); \
             a resume needs the same inputs"
        )));
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
    fn pending_snapshots_come_due_in_mark_order() {
        let mut p = Pending::default();
        p.extend(&[(2, 50), (1, 20)]);
        assert_eq!(p.next_due(Some(19)), None);
        assert_eq!(p.next_due(Some(20)), Some((1, 20)));
        assert_eq!(p.next_due(Some(49)), None);
        assert_eq!(p.next_due(None), Some((2, 50)));
        assert_eq!(p.next_due(None), None);
        assert_eq!(least(Some(3), None), Some(3));
        assert_eq!(least(None, Some(4)), Some(4));
        assert_eq!(least(Some(3), Some(2)), Some(2));
        assert_eq!(least(None, None), None);
    }
}
