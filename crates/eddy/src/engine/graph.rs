//! The timely side of a flow under construction: the scope, the build
//! context every stream shares ([`FlowCtx`]), the control stream and the
//! inputs' progress ([`Scoped`]), and the [`Graph`] the API's `Flow` wraps.
//! The API (`dataflow`) holds these without naming timely.

use std::cell::RefCell;
use std::rc::Rc;

use timely::dataflow::operators::feedback::Handle;
use timely::dataflow::operators::vec::{Broadcast, Map};
use timely::dataflow::operators::{Concatenate, ConnectLoop, Feedback};
use timely::dataflow::StreamVec;

use crate::base::record::Rec;
use crate::engine::control::build_control;
use crate::engine::ctx::{FlowCtx, Scope};
use crate::engine::input_snapshots::build_input_snapshots;
use crate::engine::signal::{ChunkEnd, Control, Signal};

/// A stream of records in the engine: what the API's `Stream` holds.
pub(crate) type Edge<'a, T> = StreamVec<'a, u64, Rec<T>>;

/// The scope-bound parts of a flow that every stream shares: the control
/// stream (snapshot announcements, chunk ends), and the inputs' progress
/// streams the coordinator follows.
pub(crate) struct Scoped<'a> {
    /// Control signals (a closed stream when the run neither snapshots nor
    /// reads chunked files).
    pub control: Control<'a>,
    handle: RefCell<Option<Handle<'a, u64, Vec<Signal>>>>,
    progress: RefCell<Vec<StreamVec<'a, u64, ChunkEnd>>>,
}

impl<'a> Scoped<'a> {
    /// Registers an input's progress stream (its frontier is the input's;
    /// its data, the ends of its partitions).
    pub fn add_progress(&self, stream: StreamVec<'a, u64, ChunkEnd>) {
        self.progress.borrow_mut().push(stream);
    }
}

/// A dataflow under construction on one worker (cheap to clone: handles).
#[derive(Clone)]
pub(crate) struct Graph<'a> {
    scope: Scope<'a>,
    ctx: Rc<FlowCtx>,
    scoped: Rc<Scoped<'a>>,
}

impl<'a> Graph<'a> {
    pub(crate) fn new(scope: Scope<'a>, ctx: Rc<FlowCtx>) -> Self {
        // What feeds the control stream is known once every input is
        // (`finish`).
        let (handle, control) = scope.feedback::<Vec<Signal>>(0);
        let scoped = Rc::new(Scoped {
            control,
            handle: RefCell::new(Some(handle)),
            progress: RefCell::new(Vec::new()),
        });
        Graph { scope, ctx, scoped }
    }

    /// Builds the control stream once the user's steps are in: the ends of
    /// chunks (when a file is read in chunks), and for snapshots the
    /// coordinator over every input's progress and the input snapshotter.
    pub(crate) fn finish(&self) {
        let Some(handle) = self.scoped.handle.borrow_mut().take() else {
            return;
        };
        let progress = self
            .scope
            .concatenate(self.scoped.progress.borrow_mut().drain(..));
        let mut signals: Vec<Control<'a>> = Vec::new();
        let groups = self.ctx.chunk_groups().clone();
        if groups.any() {
            signals.push(
                progress
                    .clone()
                    .broadcast()
                    .map(|(part, mark)| Signal::ChunkEnd { part, mark }),
            );
        }
        let rec = self.ctx.recovery().cloned();
        if let Some(rec) = rec.as_ref() {
            signals.push(build_control(&self.scope, &self.ctx, rec, &progress));
        }
        let control = self.scope.concatenate(signals);
        if let Some(rec) = rec.as_ref() {
            let logs = self.ctx.take_input_logs();
            build_input_snapshots(&self.ctx, rec, &control, logs, groups);
        }
        control.connect_loop(handle);
    }

    pub(crate) fn scoped(&self) -> &Rc<Scoped<'a>> {
        &self.scoped
    }

    /// The build context (worker index, worker count).
    pub(crate) fn ctx(&self) -> &FlowCtx {
        &self.ctx
    }

    pub(crate) fn scope(&self) -> &Scope<'a> {
        &self.scope
    }

    pub(crate) fn ctx_rc(&self) -> &Rc<FlowCtx> {
        &self.ctx
    }
}
