//! The input snapshotter: at each announced cut, writes every local input
//! partition's position (its [`PartLog`]) into the snapshot.

use std::rc::Rc;

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;

use crate::engine::chunk_order::{ChunkGroups, ChunkMarks};
use crate::engine::ctx::FlowCtx;
use crate::engine::input_log::{InputLog, SavedPart};
use crate::engine::signal::{least, low, Control, Signal, Snap};
use crate::recovery::WorkerRecovery;

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
