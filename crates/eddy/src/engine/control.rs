//! The control stream: snapshot announcements and the ends of chunks,
//! read by every stateful step and output.
//!
//! A snapshot is a pair `(epoch, mark)`. Worker 0's *coordinator* holds a
//! capability on the control stream that follows the inputs' frontier;
//! every snapshot interval it announces `(epoch, mark)` with `mark` = that
//! frontier, at time `mark`. Every stateful operator takes the control
//! stream as a second input, so its frontier cannot pass `mark` before it
//! has heard of the snapshot; when it does pass, the operator takes the
//! records below `mark` (see [`crate::engine::gate`]), writes its state,
//! then goes on.

use std::rc::Rc;
use std::time::{Duration, Instant};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::StreamVec;

use crate::base::record::EOF_TAG;
use crate::engine::ctx::{FlowCtx, Scope};
use crate::engine::signal::{low, ChunkEnd, Control, Signal};
use crate::error::{EddyError, RecoveryError};
use crate::recovery::WorkerRecovery;

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

/// Reports a failed snapshot write as the run's error.
pub(crate) fn snapshot_error(step: &str, e: EddyError) -> EddyError {
    match e {
        EddyError::Recovery(e) => EddyError::Recovery(e),
        other => RecoveryError::Snapshot {
            step: step.to_owned(),
            source: Box::new(other),
        }
        .into(),
    }
}
