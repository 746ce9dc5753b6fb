//! The input step: reads this worker's share of a source's partitions and
//! stamps every item with its progress mark.
//!
//! Each partition holds its own capability at its mark: its event-time
//! high-water mark when the input has a time getter, else the count of items
//! read. A partition's first item is read before anything is sent, so its
//! capability starts at its first mark instead of 0 and an unstarted
//! partition never holds the whole flow back. Partitions are read lowest
//! mark first (event-time aligned reading), and a worker stops reading
//! while more than [`MAX_IN_FLIGHT`] of its batches are not yet through the
//! flow (backpressure, so memory stays bounded) — except from the partition
//! that holds the flow's frontier, which can always go on.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use timely::dataflow::operators::generic::operator::source as timely_source;
use timely::dataflow::operators::Capability;
use timely::scheduling::Scheduler;

use crate::connectors::{Poll, Source, SourcePartition};
use crate::dataflow::{Data, Flow, FlowCtx, Stream};
use crate::engine::record::{time_mark, Rec, SEQ_BITS};
use crate::error::EddyError;

/// Items read from one partition per batch.
pub const BATCH: usize = 4096;
/// Batches one worker's partitions may have in flight before they wait.
pub const MAX_IN_FLIGHT: usize = 32;
/// Batches one activation reads, over all partitions, before yielding.
const BATCHES_PER_ACTIVATION: usize = 4;

/// Event-time getter of a timed input.
pub(crate) type TimeOf<T> = Arc<dyn Fn(&T) -> Option<i64> + Send + Sync>;

struct Part<T> {
    reader: Box<dyn SourcePartition<T>>,
    base: u64,
    seq: u64,
    mark: u64,
    cap: Option<Capability<u64>>,
    staged: Vec<Rec<T>>,
    done: bool,
    idle: bool,
}

impl<T> Part<T> {
    /// Reads one batch into `staged`, tagging each item. Returns the poll.
    fn read(
        &mut self,
        time_of: Option<&TimeOf<T>>,
        buf: &mut Vec<T>,
        max: usize,
    ) -> crate::error::Result<Poll> {
        buf.clear();
        let poll = self.reader.next_batch(buf, max)?;
        if !buf.is_empty() {
            self.idle = false;
        }
        for val in buf.drain(..) {
            let mark = match time_of {
                Some(f) => match f(&val) {
                    Some(ms) => self.mark.max(time_mark(ms)),
                    None => self.mark,
                },
                None => self.seq,
            };
            self.mark = mark;
            self.staged.push(Rec {
                tag: mark,
                pos: self.base | self.seq,
                val,
            });
            self.seq += 1;
        }
        if poll == Poll::Done {
            self.done = true;
        }
        Ok(poll)
    }
}

impl<'a> Flow<'a> {
    /// Adds an input step reading `source`. Items get progress marks by
    /// count; several partitions are interleaved by item count. Prefer
    /// [`Flow::input_timed`] for event-time data read from several
    /// partitions.
    pub fn input<T: Data, S: Source<T>>(&mut self, step: &str, source: S) -> Stream<'a, T> {
        build_input(self, step, source, None)
    }

    /// Adds an input step whose items carry an event time (ms since the
    /// Unix epoch; `None` for items without one). Items are then ordered
    /// across partitions by event time (each partition's high-water mark),
    /// which is what per-key lateness needs (see `ARCHITECTURE.md`).
    pub fn input_timed<T: Data, S: Source<T>>(
        &mut self,
        step: &str,
        source: S,
        time_of: impl Fn(&T) -> Option<i64> + Send + Sync + 'static,
    ) -> Stream<'a, T> {
        build_input(self, step, source, Some(Arc::new(time_of)))
    }
}

fn build_input<'a, T: Data, S: Source<T>>(
    flow: &mut Flow<'a>,
    step: &str,
    source: S,
    time_of: Option<TimeOf<T>>,
) -> Stream<'a, T> {
    let ctx: Rc<FlowCtx> = flow.ctx_rc().clone();
    let step_id = ctx.step_id(step);
    let input_index = ctx.next_input();
    let parts = open_parts(&ctx, &step_id, input_index, &source);
    let scope = flow.scope().clone();
    let shared = ctx.shared().clone();
    let probe = ctx.probe().clone();
    let activator_scope = scope.clone();
    let stream = timely_source(&scope, &step_id, move |default_cap, info| {
        let activator = activator_scope.activator_for(&info.address[..]);
        let mut parts: Vec<Part<T>> = parts;
        let mut default_cap = Some(default_cap);
        let mut buf: Vec<T> = Vec::with_capacity(BATCH);
        let mut in_flight: BinaryHeap<Reverse<u64>> = BinaryHeap::new();
        move |output| {
            if shared.aborted() {
                parts.clear();
                default_cap = None;
                return;
            }
            // First activation: read each partition's first item so its
            // capability can start at its first mark.
            if let Some(cap) = default_cap.take() {
                for part in parts.iter_mut() {
                    if let Err(e) = part.read(time_of.as_ref(), &mut buf, 1) {
                        shared.fail(e);
                        return;
                    }
                    let start = part.staged.first().map_or(part.mark, |r| r.tag);
                    part.cap = Some(cap.delayed(&start));
                }
            }
            let mut wake: Option<Duration> = None;
            let mut budget = BATCHES_PER_ACTIVATION;
            // Backpressure: forget batches the whole flow has passed (kept
            // per worker, so a partition that is done still counts until
            // its batches are through).
            while in_flight.peek().is_some_and(|Reverse(t)| !probe.less_than(t)) {
                in_flight.pop();
            }
            let mut blocked = false;
            // Lowest mark first, so partitions advance together.
            parts.sort_by_key(|p| p.mark);
            for part in parts.iter_mut() {
                while budget > 0 {
                    let Some(cap) = part.cap.as_ref() else { break };
                    // The partition holding the flow's frontier may always
                    // read (else a full worker could wait on itself).
                    let holding = !probe.less_than(cap.time());
                    if in_flight.len() >= MAX_IN_FLIGHT && !holding {
                        blocked = true;
                        break;
                    }
                    if part.staged.is_empty() && !part.done {
                        match part.read(time_of.as_ref(), &mut buf, BATCH) {
                            Ok(Poll::Pending(d)) if part.staged.is_empty() => {
                                wake = Some(wake.map_or(d, |w| w.min(d)));
                                // A live partition with nothing to read:
                                // step its mark past what it has sent, so
                                // that everything sent so far can be taken
                                // (records read later get at least the new
                                // mark). Once per idle spell.
                                if !part.idle {
                                    part.idle = true;
                                    part.mark = part.mark.saturating_add(1);
                                    if let Some(cap) = part.cap.as_mut() {
                                        cap.downgrade(&part.mark);
                                    }
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
                        in_flight.push(Reverse(*cap.time()));
                        output.session(cap).give_vec(&mut part.staged);
                        budget -= 1;
                    }
                    if part.done {
                        part.cap = None;
                        break;
                    }
                    cap.downgrade(&part.mark);
                }
            }
            parts.retain(|p| p.cap.is_some());
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
    Stream { inner: stream, ctx }
}

/// Lists the source's partitions and opens this worker's share
/// (partition `j` goes to worker `j % workers`).
fn open_parts<T, S: Source<T>>(ctx: &FlowCtx, step_id: &str, input_index: u32, source: &S) -> Vec<Part<T>> {
    let keys = match source.list_parts() {
        Ok(k) => k,
        Err(e) => {
            ctx.record(e);
            return Vec::new();
        }
    };
    if input_index >= 256 || keys.len() >= 1 << 16 {
        ctx.record(EddyError::Build(format!(
            "{step_id}: at most 256 inputs of at most 65536 partitions each"
        )));
        return Vec::new();
    }
    let mut parts = Vec::new();
    for (j, key) in keys.into_iter().enumerate() {
        if j % ctx.workers() != ctx.worker() {
            continue;
        }
        match source.build_part(&key, None) {
            Ok(reader) => parts.push(Part {
                reader,
                base: ((u64::from(input_index) << 16) | j as u64) << SEQ_BITS,
                seq: 0,
                mark: 0,
                cap: None,
                staged: Vec::new(),
                done: false,
                idle: false,
            }),
            Err(e) => {
                ctx.record(e);
                return Vec::new();
            }
        }
    }
    parts
}
