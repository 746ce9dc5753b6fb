//! The input step: reads this worker's share of a source's partitions and
//! stamps every item with its progress mark.
//!
//! Each partition holds its own capability at its mark: its event-time
//! high-water mark when the input has a time getter, else the count of items
//! read. A partition's first item is read before anything is sent, so its
//! capability starts at its first mark instead of 0 and an unstarted
//! partition never holds the whole flow back. Partitions are read lowest
//! mark first (event-time aligned reading), and a worker stops reading
//! while its batches not yet through the flow weigh more than
//! [`MAX_IN_FLIGHT_BYTES`] (the source bytes read for them plus the records'
//! own size), or number more than [`MAX_IN_FLIGHT_ITEMS`] (backpressure, so memory
//! stays bounded) — except from the partition that holds the flow's
//! frontier, which can always go on.
//!
//! Idle live partitions (see `ARCHITECTURE.md`, "Idle partitions"): a
//! partition that has answered `Poll::Pending` for longer than
//! `RunConfig::partition_idle` lets its mark follow the highest mark any
//! partition of its input has reached, on any worker of any process, never
//! beyond it. Every input step broadcasts its partitions' highest mark on a
//! side stream of its own (at most every [`HIGH_EVERY`] while it changes);
//! a small operator on each worker keeps the largest it hears in a cell the
//! input step reads.

use std::cell::Cell;
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Capability, Inspect};

use crate::base::record::{time_mark, Rec, SEQ_BITS};
use crate::base::Data;
use crate::connectors::{Poll, Source, SourcePartition};
use crate::engine::chunk_order::{part_id, Prefix};
use crate::engine::ctx::FlowCtx;
use crate::engine::graph::{Edge, Graph};
use crate::engine::input_log::{restored_parts, Cursor, InputLog, PartLog};
use crate::engine::signal::ChunkEnd;
use crate::error::EddyError;

/// Most items read from one partition per batch (small records).
pub const BATCH: usize = 4096;
/// Record bytes per batch: a batch of large records holds fewer of them
/// ([`batch_items`]), so that the few batches one activation passes down
/// the flow stay in the core's L2 cache from step to step. Nexmark's
/// 176-byte events (Rec<Event>) went 7–19 % faster in batches of 512 than
/// of 4096, search-ctr's 96-byte items 4–5 % in batches of 1024
/// (`BENCHMARKS.md`, "The engine's own cost per event").
pub const BATCH_BYTES: usize = 96 << 10;
/// Items one worker's partitions may have in flight before they wait (32
/// batches of [`BATCH`]).
pub const MAX_IN_FLIGHT_ITEMS: usize = 32 * BATCH;

/// Items per batch for records of type `T`: [`BATCH_BYTES`] of them, at
/// least 64 and at most [`BATCH`].
pub fn batch_items<T>() -> usize {
    (BATCH_BYTES / std::mem::size_of::<Rec<T>>().max(1)).clamp(64, BATCH)
}
/// Bytes one worker's partitions may have in flight before they wait: the
/// source bytes read for the batches not yet through the flow plus their
/// records' own size (a partition may overshoot by one batch). With several
/// workers reading the chunks of one file, a chunk read ahead waits in the
/// gates until the chunk before it ends elsewhere: peak memory grows with
/// this bound, and parsing stays parallel only if the bound holds a whole
/// chunk read ahead (a 4 MiB chunk of ~100-byte lines weighs ~10 MiB; with
/// 16 MiB chunks and an 8 MiB bound, 2 workers were 25 % slower;
/// `BENCHMARKS.md`, "Read-ahead bounded by bytes").
pub const MAX_IN_FLIGHT_BYTES: u64 = 12 << 20;
/// Batches one activation reads, over all partitions, before yielding.
const BATCHES_PER_ACTIVATION: usize = 4;

/// Event-time getter of a timed input.
pub(crate) type TimeOf<T> = Arc<dyn Fn(&T) -> Option<i64> + Send + Sync>;

/// Open partitions one worker keeps per input: others that can be reopened
/// are closed (and reopened at their position when read again), so the
/// number of open files does not grow with the number of partitions.
const MAX_OPEN: usize = 8;

/// How often an input step tells the other workers its partitions' highest
/// mark while it moves.
const HIGH_EVERY: Duration = Duration::from_millis(20);

struct Part<T> {
    /// The open partition (`None`: not opened yet, or closed to bound the
    /// number of open files).
    reader: Option<Box<dyn SourcePartition<T>>>,
    /// Its key, to open it.
    key: String,
    /// Where to open it (empty: at its start).
    reopen_at: Vec<u8>,
    /// When it was last read (this worker's read counter).
    used: u64,
    base: u64,
    seq: u64,
    mark: u64,
    cap: Option<Capability<u64>>,
    staged: Vec<Rec<T>>,
    /// What `staged` weighs: the source bytes read for it plus its records'
    /// size.
    staged_bytes: u64,
    done: bool,
    idle: bool,
    /// When its current idle spell began (its first `Pending` after data).
    idle_since: Option<Instant>,
    /// `input << 16 | partition`.
    id: u32,
    /// Records whose true tag is below this are dropped: a resumed
    /// partition re-reads the start of a batch that the snapshot already
    /// holds.
    skip_below: u64,
    /// How a chunk's own tags map to true ones, as known at the snapshot
    /// it resumes from (see `engine::chunk_order`).
    skip_prefix: Prefix,
    /// The partition's reads, when the run snapshots.
    log: Option<Rc<RefCell<PartLog>>>,
}

impl<T: 'static> Part<T> {
    /// Reads one batch into `staged`, tagging each item. Returns the poll.
    fn read(
        &mut self,
        source: &dyn Source<T>,
        time_of: Option<&TimeOf<T>>,
        buf: &mut Vec<T>,
        max: usize,
    ) -> crate::error::Result<Poll> {
        buf.clear();
        let before = self.log.as_ref().map(|l| l.borrow().now.clone());
        let reader = match &mut self.reader {
            Some(r) => r,
            slot @ None => {
                let at = (!self.reopen_at.is_empty()).then_some(self.reopen_at.as_slice());
                slot.insert(source.build_part(&self.key, at)?)
            }
        };
        let bytes_before = reader.bytes_read();
        let poll = reader.next_batch(buf, max)?;
        let position = reader.position();
        let read = !buf.is_empty();
        let records = (buf.len() * std::mem::size_of::<Rec<T>>()) as u64;
        self.staged_bytes += reader.bytes_read().saturating_sub(bytes_before) + records;
        if read {
            self.idle = false;
            self.idle_since = None;
        }
        // `output.give` takes the staged container: reserve the batch once
        // rather than growing by doubling.
        self.staged.reserve(buf.len());
        for val in buf.drain(..) {
            let mark = match time_of {
                Some(f) => match f(&val) {
                    Some(ms) => self.mark.max(time_mark(ms)),
                    None => self.mark,
                },
                None => self.seq,
            };
            self.mark = mark;
            if self.skip_prefix.apply(mark).is_none_or(|t| t >= self.skip_below) {
                self.staged.push(Rec {
                    tag: mark,
                    pos: self.base | self.seq,
                    val,
                });
            }
            self.seq += 1;
        }
        if poll == Poll::Done {
            self.done = true;
            // Closed at once: a finished file holds no descriptor.
            self.reader = None;
        }
        if let (Some(log), Some(before)) = (self.log.as_ref(), before) {
            let mut log = log.borrow_mut();
            if read {
                log.batches.push_back((before, self.mark));
            }
            log.now = Cursor {
                resume: position.clone(),
                seq: self.seq,
                mark: self.mark,
            };
            log.done = self.done;
        }
        self.reopen_at = position;
        Ok(poll)
    }

    /// Closes the partition if it can be opened again where it is.
    fn close_if_reopenable(&mut self) {
        if self.reader.as_ref().is_some_and(|r| r.reopenable()) {
            self.reader = None;
        }
    }

    /// Steps the mark past what was sent (an idle live partition).
    fn bump(&mut self, now: Instant) {
        self.idle = true;
        self.idle_since = Some(now);
        self.advance_to(self.mark.saturating_add(1));
    }

    /// An idle partition's mark follows its input's highest mark `high`
    /// once it has been idle for `after` (never beyond `high`, never
    /// back). Records it reads later are tagged at least there.
    fn follow(&mut self, high: u64, after: Duration, now: Instant) {
        let idle_long = self
            .idle_since
            .is_some_and(|since| now.saturating_duration_since(since) >= after);
        if idle_long && high > self.mark && self.staged.is_empty() {
            self.advance_to(high);
        }
    }

    /// Moves the mark (and the capability, and the log's cursor) up to
    /// `mark`.
    fn advance_to(&mut self, mark: u64) {
        self.mark = self.mark.max(mark);
        if let Some(cap) = self.cap.as_mut() {
            cap.downgrade(&self.mark);
        }
        if let Some(log) = self.log.as_ref() {
            log.borrow_mut().now.mark = self.mark;
        }
    }
}

/// Builds the input step `step` reading `source` (`Flow::input`,
/// `Flow::input_timed`: with `time_of`, marks are event times).
pub(crate) fn build_input<'a, T: Data, S: Source<T>>(
    flow: &Graph<'a>,
    step: &str,
    source: S,
    time_of: Option<TimeOf<T>>,
) -> Edge<'a, T> {
    let ctx: Rc<FlowCtx> = flow.ctx_rc().clone();
    let step_id = step.to_owned();
    let input_index = ctx.next_input();
    let (parts, restored_ends) = open_parts(&ctx, &step_id, input_index, &source);
    let source: Rc<dyn Source<T>> = Rc::new(source);
    let scope = *flow.scope();
    let shared = ctx.shared().clone();
    let probe = ctx.probe().clone();
    let meter = crate::metrics::global().meter(&step_id);
    let mut builder = OperatorBuilder::new(step_id.clone(), scope);
    let activator = scope.activator_for(builder.operator_info().address.clone());
    let (mut data_out, stream) = builder.new_output::<Vec<Rec<T>>>();
    // Its frontier is this input's, for the snapshot coordinator; its data,
    // the final marks of ended partitions (for the chunks after them).
    let (mut progress_out, progress) = builder.new_output::<Vec<ChunkEnd>>();
    // The highest mark of this worker's partitions, for idle partitions
    // elsewhere; `high` is the highest heard from any worker.
    let (mut high_out, high_stream) = builder.new_output::<Vec<u64>>();
    let idle_after = ctx.partition_idle();
    let high: Rc<Cell<u64>> = Rc::default();
    let heard = high.clone();
    builder.build(move |caps| {
        let mut caps = caps.into_iter();
        let mut default_cap = caps.next();
        let mut progress_cap = caps.next();
        let mut high_cap = caps.next().filter(|_| idle_after.is_some());
        // The highest mark of this worker's partitions, and what was last
        // sent of it.
        let mut local_top: u64 = 0;
        let mut high_sent: u64 = 0;
        let mut high_at = Instant::now();
        let mut parts: Vec<Part<T>> = parts;
        let batch = batch_items::<T>();
        let max_in_flight = (MAX_IN_FLIGHT_ITEMS / batch).max(1);
        let mut buf: Vec<T> = Vec::with_capacity(batch);
        // This worker's batches not yet through the flow: (mark, weight).
        let mut in_flight: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
        let mut in_flight_bytes: u64 = 0;
        let mut ended: Vec<ChunkEnd> = restored_ends;
        let mut reads: u64 = 0;
        move |_frontiers| {
            let mut output = data_out.activate();
            if shared.aborted() {
                parts.clear();
                default_cap = None;
                progress_cap = None;
                high_cap = None;
                return;
            }
            let now = Instant::now();
            // First activation: read each partition's first item so its
            // capability can start at its first mark.
            if let Some(cap) = default_cap.take() {
                for part in parts.iter_mut() {
                    if let Err(e) = part.read(&*source, time_of.as_ref(), &mut buf, 1) {
                        shared.fail(e);
                        return;
                    }
                    // Opened again when its turn comes.
                    part.close_if_reopenable();
                    let start = part.staged.first().map_or(part.mark, |r| r.tag);
                    part.cap = Some(cap.delayed(&start));
                }
            }
            let mut wake: Option<Duration> = None;
            let mut budget = BATCHES_PER_ACTIVATION;
            // Backpressure: forget batches the whole flow has passed (kept
            // per worker, so a partition that is done still counts until
            // its batches are through).
            while let Some(&Reverse((t, bytes))) = in_flight.peek() {
                if probe.less_than(&t) {
                    break;
                }
                in_flight.pop();
                in_flight_bytes -= bytes;
            }
            let mut blocked = false;
            if let Some(after) = idle_after {
                local_top = parts.iter().map(|p| p.mark).fold(local_top, u64::max);
                let top = heard.get().max(local_top);
                for part in parts.iter_mut() {
                    part.follow(top, after, now);
                }
            }
            // Lowest mark first, so partitions advance together.
            parts.sort_by_key(|p| p.mark);
            for part in parts.iter_mut() {
                while budget > 0 {
                    let Some(cap) = part.cap.as_ref() else { break };
                    // The partition holding the flow's frontier may always
                    // read (else a full worker could wait on itself).
                    let holding = !probe.less_than(cap.time());
                    let full = in_flight.len() >= max_in_flight || in_flight_bytes >= MAX_IN_FLIGHT_BYTES;
                    if full && !holding {
                        blocked = true;
                        break;
                    }
                    if part.staged.is_empty() && !part.done {
                        reads += 1;
                        part.used = reads;
                        match part.read(&*source, time_of.as_ref(), &mut buf, batch) {
                            Ok(Poll::Pending(d)) if part.staged.is_empty() => {
                                wake = Some(wake.map_or(d, |w| w.min(d)));
                                // A live partition with nothing to read:
                                // step its mark past what it has sent, so
                                // that everything sent so far can be taken
                                // (records read later get at least the new
                                // mark). Once per idle spell.
                                if !part.idle {
                                    part.bump(now);
                                }
                                break;
                            }
                            Ok(_) => {}
                            Err(e) => {
                                shared.fail(e);
                                return;
                            }
                        }
                    }
                    let Some(cap) = part.cap.as_mut() else { break };
                    if !part.staged.is_empty() {
                        in_flight.push(Reverse((*cap.time(), part.staged_bytes)));
                        in_flight_bytes += part.staged_bytes;
                        part.staged_bytes = 0;
                        meter.emitted(part.staged.len());
                        output.give(&*cap, &mut part.staged);
                        part.staged.clear();
                        budget -= 1;
                    }
                    if part.done {
                        part.cap = None;
                        ended.push((part.id, part.mark));
                        break;
                    }
                    cap.downgrade(&part.mark);
                }
            }
            parts.retain(|p| p.cap.is_some());
            // Bound the open files: close the least recently read.
            let open = parts.iter().filter(|p| p.reader.is_some()).count();
            if open > MAX_OPEN {
                let mut by_use: Vec<(u64, usize)> = parts
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.reader.is_some())
                    .map(|(i, p)| (p.used, i))
                    .collect();
                by_use.sort_unstable();
                for &(_, i) in by_use.iter().take(open - MAX_OPEN) {
                    parts[i].close_if_reopenable();
                }
            }
            // This worker's highest mark, for idle partitions elsewhere:
            // while it moves, at most every `HIGH_EVERY`; and when the last
            // partition here is finished.
            local_top = parts
                .iter()
                .map(|p| p.mark)
                .chain(ended.iter().map(|&(_, m)| m))
                .fold(local_top, u64::max);
            let last = parts.is_empty();
            if let Some(hc) = high_cap.as_mut() {
                if local_top > high_sent && (last || now.saturating_duration_since(high_at) >= HIGH_EVERY) {
                    if let Some(low) = parts
                        .iter()
                        .filter_map(|p| p.cap.as_ref())
                        .map(|c| *c.time())
                        .min()
                    {
                        if *hc.time() < low {
                            hc.downgrade(&low);
                        }
                    }
                    high_out.activate().give(&*hc, &mut vec![local_top]);
                    high_sent = local_top;
                    high_at = now;
                }
            }
            if let Some(pc) = progress_cap.as_ref().filter(|_| !ended.is_empty()) {
                progress_out.activate().give(pc, &mut ended);
                ended.clear();
            }
            match parts
                .iter()
                .filter_map(|p| p.cap.as_ref())
                .map(|c| *c.time())
                .min()
            {
                Some(low) => {
                    if let Some(pc) = progress_cap.as_mut() {
                        if *pc.time() < low {
                            pc.downgrade(&low);
                        }
                    }
                }
                None => {
                    progress_cap = None;
                    high_cap = None;
                }
            }
            if parts.is_empty() {
                return;
            }
            match wake {
                _ if budget == 0 => activator.activate(),
                Some(d) => activator.activate_after(d),
                // Blocked by backpressure: look again shortly.
                None if blocked => activator.activate_after(Duration::from_millis(1)),
                None => activator.activate(),
            }
        }
    });
    flow.scoped().add_progress(progress);
    if idle_after.is_some() {
        high_stream.broadcast().inspect(move |m: &u64| {
            if *m > high.get() {
                high.set(*m);
            }
        });
    }
    stream
}

/// Lists the source's partitions and opens this worker's share
/// (partition `j` goes to worker `j % workers`), at their snapshotted
/// positions when the run resumes.
/// Also returns the ends of this worker's partitions that had ended before
/// the snapshot the run resumes from (announced again, for the chunks
/// after them).
fn open_parts<T, S: Source<T>>(
    ctx: &FlowCtx,
    step_id: &str,
    input_index: u32,
    source: &S,
) -> (Vec<Part<T>>, Vec<ChunkEnd>) {
    match try_open_parts(ctx, step_id, input_index, source) {
        Ok(opened) => opened,
        Err(e) => {
            ctx.record(e);
            (Vec::new(), Vec::new())
        }
    }
}

fn try_open_parts<T, S: Source<T>>(
    ctx: &FlowCtx,
    step_id: &str,
    input_index: u32,
    source: &S,
) -> crate::error::Result<(Vec<Part<T>>, Vec<ChunkEnd>)> {
    let keys = source.list_parts()?;
    if input_index >= 256 || keys.len() >= 1 << 16 {
        return Err(EddyError::Build(format!(
            "{step_id}: at most 256 inputs of at most 65536 partitions each"
        )));
    }
    let rec = ctx.recovery();
    let saved = match rec {
        Some(rec) => {
            rec.participate();
            restored_parts(rec, step_id, &keys)?
        }
        None => None,
    };
    let skip_below = rec.and_then(|r| r.resume_mark()).unwrap_or(0);
    let logs: InputLog = Rc::default();
    let mut parts = Vec::new();
    let mut ended = Vec::new();
    // Every worker knows every chunk group (its gates resolve them all).
    for (j, key) in keys.iter().enumerate() {
        if j > 0 && source.continues_previous(key) {
            ctx.chunk_groups().add(part_id(input_index, j));
        }
    }
    for (j, key) in keys.into_iter().enumerate() {
        if j % ctx.workers() != ctx.worker() {
            continue;
        }
        let id = part_id(input_index, j);
        let at = saved.as_ref().and_then(|s| s.get(&key));
        if at.is_some_and(|p| p.done) {
            // Finished before the snapshot: nothing to read, but later
            // snapshots still list it, and the chunks after it need its end.
            if let Some(p) = at {
                ended.push((id, p.at.mark));
                logs.borrow_mut().push(Rc::new(RefCell::new(PartLog {
                    key,
                    index: j as u32,
                    part: id,
                    batches: VecDeque::new(),
                    now: p.at.clone(),
                    done: true,
                })));
            }
            continue;
        }
        // Opened when first read (so that a missing file is reported by
        // the run, and open files stay bounded).
        let reopen_at = at.map_or_else(Vec::new, |p| p.at.resume.clone());
        let (seq, mark) = at.map_or((0, 0), |p| (p.at.seq, p.at.mark));
        let log = rec.map(|_| {
            let log = Rc::new(RefCell::new(PartLog {
                key: key.clone(),
                index: j as u32,
                part: id,
                batches: VecDeque::new(),
                now: Cursor {
                    resume: reopen_at.clone(),
                    seq,
                    mark,
                },
                done: false,
            }));
            logs.borrow_mut().push(log.clone());
            log
        });
        parts.push(Part {
            reader: None,
            key: key.clone(),
            reopen_at,
            used: 0,
            base: ((u64::from(input_index) << 16) | j as u64) << SEQ_BITS,
            seq,
            mark,
            cap: None,
            staged: Vec::new(),
            staged_bytes: 0,
            done: false,
            idle: false,
            idle_since: None,
            id,
            skip_below,
            skip_prefix: match at.and_then(|p| p.prefix) {
                Some(p) => Prefix::Known(p),
                // A chunk without a known prefix had nothing below the cut.
                None if j > 0 && source.continues_previous(&key) => Prefix::Unknown,
                None => Prefix::Own,
            },
            log,
        });
    }
    if rec.is_some() {
        ctx.add_input_log(step_id, logs);
    }
    Ok((parts, ended))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    type Result<T> = std::result::Result<T, crate::ConnectorError>;
    use crate::engine::run::RunConfig;
    use crate::testing::TestingSink;

    /// Source bytes each item of the busy partition stands for.
    const ITEM_BYTES: u64 = 1024;
    /// Items of the busy partition.
    const BUSY_ITEMS: u64 = 200_000;

    type Item = (u32, i64);

    /// Partition `slow` (event time 0) yields one item, then answers
    /// `Pending` — holding the flow's frontier, so nothing the other
    /// partition reads can get through — until `busy` has read half the
    /// byte bound and then made no progress over 200 polls of `slow` (it is
    /// held back, or done); then it ends.
    /// Partition `busy` (event times from 1000) yields [`BUSY_ITEMS`], each
    /// standing for [`ITEM_BYTES`] source bytes.
    #[derive(Clone, Default)]
    struct HeldBack {
        /// Items `busy` has yielded.
        busy_read: Arc<AtomicU64>,
        /// Items `busy` had yielded when `slow` ended.
        busy_at_release: Arc<AtomicU64>,
    }

    struct Slow {
        held: HeldBack,
        first: bool,
        /// `busy`'s count at the last poll, and polls since it changed.
        last_read: u64,
        still: u32,
    }

    struct Busy {
        held: HeldBack,
        next: u64,
    }

    impl Source<Item> for HeldBack {
        fn list_parts(&self) -> Result<Vec<String>> {
            Ok(vec!["slow".into(), "busy".into()])
        }

        fn build_part(&self, key: &str, _resume: Option<&[u8]>) -> Result<Box<dyn SourcePartition<Item>>> {
            let held = self.clone();
            Ok(match key {
                "slow" => Box::new(Slow {
                    held,
                    first: true,
                    last_read: 0,
                    still: 0,
                }),
                _ => Box::new(Busy { held, next: 0 }),
            })
        }
    }

    impl SourcePartition<Item> for Slow {
        fn next_batch(&mut self, out: &mut Vec<Item>, _max: usize) -> Result<Poll> {
            if std::mem::take(&mut self.first) {
                out.push((0, 0));
                return Ok(Poll::Ready);
            }
            let read = self.held.busy_read.load(Ordering::SeqCst);
            if read != self.last_read {
                (self.last_read, self.still) = (read, 0);
            } else if read >= MAX_IN_FLIGHT_BYTES / ITEM_BYTES / 2 {
                self.still += 1;
                if self.still > 200 {
                    self.held.busy_at_release.store(read, Ordering::SeqCst);
                    return Ok(Poll::Done);
                }
            }
            Ok(Poll::Pending(Duration::ZERO))
        }

        fn position(&self) -> Vec<u8> {
            Vec::new()
        }
    }

    impl SourcePartition<Item> for Busy {
        fn next_batch(&mut self, out: &mut Vec<Item>, max: usize) -> Result<Poll> {
            let n = (max as u64).min(BUSY_ITEMS - self.next);
            out.extend((self.next..self.next + n).map(|i| (1, 1000 + i as i64)));
            self.next += n;
            self.held.busy_read.store(self.next, Ordering::SeqCst);
            Ok(if self.next == BUSY_ITEMS {
                Poll::Done
            } else {
                Poll::Ready
            })
        }

        fn position(&self) -> Vec<u8> {
            Vec::new()
        }

        fn bytes_read(&self) -> u64 {
            self.next * ITEM_BYTES
        }
    }

    #[test]
    fn read_ahead_behind_a_held_frontier_is_bounded_in_bytes() {
        read_ahead_is_bounded(1);
    }

    /// The case of chunks read by two workers: the partition reading ahead
    /// (on one worker) is held back by the other's partition holding the
    /// flow's frontier, and only its own worker's bound stops it.
    #[test]
    fn read_ahead_behind_a_frontier_held_on_another_worker_is_bounded_in_bytes() {
        read_ahead_is_bounded(2);
    }

    fn read_ahead_is_bounded(workers: usize) {
        let source = HeldBack::default();
        let held = source.clone();
        let sink = TestingSink::new();
        let out = sink.clone();
        crate::dataflow::run("read_ahead", &RunConfig::workers(workers), move |flow| {
            flow.input_timed("inp", source.clone(), |i: &Item| Some(i.1))
                .output("out", out.clone());
            Ok(())
        })
        .expect("run");
        assert_eq!(sink.take().len() as u64, BUSY_ITEMS + 1);
        // Nothing of `busy` could pass while `slow` held the frontier:
        // what it had read then is its read-ahead. At most the byte bound
        // plus one batch (the old bound, 32 batches, is 131,072 items).
        let ahead = held.busy_at_release.load(Ordering::SeqCst);
        let bound = MAX_IN_FLIGHT_BYTES / ITEM_BYTES + batch_items::<Item>() as u64;
        assert!(ahead <= bound, "read ahead {ahead} items, bound {bound}");
        assert!(ahead >= MAX_IN_FLIGHT_BYTES / ITEM_BYTES / 2);
    }

    /// A partition at mark 10 that has sent everything it read.
    fn part() -> Part<u32> {
        Part {
            reader: None,
            key: "p".into(),
            reopen_at: Vec::new(),
            used: 0,
            base: 0,
            seq: 0,
            mark: 10,
            cap: None,
            staged: Vec::new(),
            staged_bytes: 0,
            done: false,
            idle: false,
            idle_since: None,
            id: 0,
            skip_below: 0,
            skip_prefix: Prefix::Own,
            log: None,
        }
    }

    #[test]
    fn an_idle_partition_follows_the_highest_mark_only_after_idle_after() {
        let after = Duration::from_secs(5);
        let t0 = Instant::now();
        let mut p = part();
        // Never idle yet: it keeps its own mark.
        p.follow(50, after, t0 + after);
        assert_eq!(p.mark, 10);
        // Its first `Pending`: one step, and the spell starts.
        p.bump(t0);
        assert_eq!(p.mark, 11);
        p.follow(50, after, t0 + after - Duration::from_millis(1));
        assert_eq!(p.mark, 11, "not idle for long enough yet");
        p.follow(50, after, t0 + after);
        assert_eq!(p.mark, 50, "up to the highest mark, not beyond");
        p.follow(30, after, t0 + after * 2);
        assert_eq!(p.mark, 50, "never back");
    }

    #[test]
    fn a_partition_holding_unsent_records_does_not_follow() {
        let t0 = Instant::now();
        let mut p = part();
        p.bump(t0);
        p.staged.push(Rec {
            tag: 11,
            pos: 0,
            val: 7,
        });
        p.follow(50, Duration::ZERO, t0);
        assert_eq!(p.mark, 11, "its records must be sent at their own mark first");
    }
}
