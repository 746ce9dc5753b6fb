//! One failure path: a panic anywhere on a worker, a lost peer process and
//! a stop asked from outside all become the run's error, and every worker
//! stops.
//!
//! - A worker's panic is recorded in the run's [`RunShared`] as
//!   [`EddyError::Panic`] (its message from the payload) and raises the
//!   stop flag in the panic hook, on the panicking thread, *before* it
//!   unwinds — so that no consequence of the unwinding (a poisoned channel
//!   panicking another worker) can be taken for the cause. Each worker's
//!   body runs under `catch_unwind`, which adds the step (from
//!   [`StepScope`]), and records the panic itself if another hook has
//!   replaced eddy's.
//! - Operators that call user logic hold a [`StepScope`] while they do (one
//!   per activation, or per call where timely calls the closure itself): it
//!   costs nothing unless the thread is unwinding, when its `Drop` notes the
//!   step id for the worker's `catch_unwind` to report.
//! - Timely's network threads are marked as such (with their peer) from
//!   the logging callback timely runs at their start; the process-wide
//!   panic hook turns such a thread's panic (its connection broke) into
//!   "lost connection to process N" — no thread names involved.
//! - [`StopHandle`]: a flag any thread may raise; workers see it within one
//!   park interval and the run returns [`EddyError::Interrupted`].

use std::any::Any;
use std::cell::RefCell;
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once, Weak};

use crate::base::signal::RunShared;
use crate::error::EddyError;

/// What the current thread is to a running dataflow.
enum Role {
    /// Worker `index` of the run.
    Worker { shared: Weak<RunShared>, index: usize },
    /// A timely network thread talking to process `peer` at `address`.
    Network {
        shared: Weak<RunShared>,
        peer: usize,
        address: String,
    },
    /// A thread taking down a finished run's network ([`quietly`]).
    Teardown,
}

thread_local! {
    static ROLE: RefCell<Option<Role>> = const { RefCell::new(None) };
    /// The step whose logic was running when this thread started to unwind.
    static PANIC_STEP: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs (once per process) the panic hook that knows eddy's threads,
/// on top of whatever hook was there before.
///
/// - A worker's first panic becomes its run's error and stops the run,
///   then goes to the previous hook (by default: the message and place on
///   stderr).
/// - A worker's panic after its run began to stop is a consequence of the
///   stop (a poisoned channel), not news: not printed.
/// - A network thread's panic means its connection broke: it becomes its
///   run's error (unless the run is already stopping) and is not printed.
/// - Any other thread's panic goes to the previous hook untouched.
pub(crate) fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if !expected_panic(info) {
                previous(info);
            }
        }));
    });
}

/// Records a panic on one of eddy's threads as its run's error; returns
/// whether it was expected (a consequence of a failure the run already
/// knows, or a broken connection reported as such): not worth printing.
fn expected_panic(info: &PanicHookInfo<'_>) -> bool {
    ROLE.try_with(|role| {
        let Ok(role) = role.try_borrow() else {
            return false;
        };
        match role.as_ref() {
            None => false,
            Some(Role::Worker { shared, index }) => {
                let Some(shared) = shared.upgrade() else {
                    return false;
                };
                if shared.aborted() {
                    return true;
                }
                shared.fail(EddyError::Panic {
                    step: None,
                    worker: *index,
                    message: panic_message(info.payload()),
                });
                false
            }
            Some(Role::Teardown) => true,
            Some(Role::Network {
                shared,
                peer,
                address,
            }) => {
                if let Some(shared) = shared.upgrade() {
                    if !shared.aborted() {
                        shared.fail(EddyError::Engine(format!(
                            "lost connection to process {peer} ({address}): it failed or exited"
                        )));
                    }
                }
                // After the run (its peers went away first): teardown.
                true
            }
        }
    })
    .unwrap_or(false)
}

/// Marks the current thread as a timely network thread of `shared`'s run
/// (called from timely's logging callback, on the thread itself).
pub(crate) fn mark_network_thread(shared: Weak<RunShared>, peer: usize, address: String) {
    let _ = ROLE.try_with(|r| {
        *r.borrow_mut() = Some(Role::Network {
            shared,
            peer,
            address,
        })
    });
}

/// Runs `f` (taking down a finished run's network: timely re-raises its
/// network threads' panics when joining them) with its panics caught and
/// not printed.
pub(crate) fn quietly<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    let before = ROLE
        .try_with(|r| r.borrow_mut().replace(Role::Teardown))
        .ok()
        .flatten();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let _ = ROLE.try_with(|r| *r.borrow_mut() = before);
    result
}

/// Runs worker `index`'s body: a panic in it becomes the run's
/// [`EddyError::Panic`] instead of unwinding further.
pub(crate) fn run_worker(shared: &Arc<RunShared>, index: usize, body: impl FnOnce()) {
    let _ = ROLE.try_with(|r| {
        *r.borrow_mut() = Some(Role::Worker {
            shared: Arc::downgrade(shared),
            index,
        })
    });
    let _ = PANIC_STEP.try_with(|s| s.borrow_mut().take());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    if let Err(payload) = result {
        let step = PANIC_STEP.try_with(|s| s.borrow_mut().take()).ok().flatten();
        // The hook recorded this panic without its step: add it.
        shared.with_error(|slot| {
            if let Some(EddyError::Panic {
                step: at @ None,
                worker,
                ..
            }) = slot
            {
                if *worker == index {
                    at.clone_from(&step);
                }
            }
        });
        // Records it if the hook did not (another hook replaced eddy's).
        shared.fail(EddyError::Panic {
            step,
            worker: index,
            message: panic_message(payload.as_ref()),
        });
    }
    let _ = ROLE.try_with(|r| r.borrow_mut().take());
}

/// A panic payload's text: the `&str` or `String` it carries, or
/// `"panicked"` for any other payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panicked".to_owned()
    }
}

/// Held while a step's user logic runs: if the thread unwinds through it,
/// the step id is noted for the worker's report (the innermost scope wins).
/// Free otherwise: `Drop` only checks `std::thread::panicking`.
pub(crate) struct StepScope<'a>(pub &'a str);

impl Drop for StepScope<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = PANIC_STEP.try_with(|s| {
                if let Ok(mut slot) = s.try_borrow_mut() {
                    if slot.is_none() {
                        *slot = Some(self.0.to_owned());
                    }
                }
            });
        }
    }
}

/// Tells a run to stop from outside (a signal handler's thread, a test):
/// clone it into [`crate::RunConfig::with_stop`], call [`StopHandle::stop`]
/// from anywhere. Every worker sees it within one park interval (50 ms),
/// and `run` returns [`EddyError::Interrupted`].
#[derive(Debug, Clone, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// A handle not yet stopped.
    pub fn new() -> Self {
        StopHandle::default()
    }

    /// Asks every run holding this handle to stop.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`StopHandle::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl PartialEq for StopHandle {
    /// The same handle (clones of one another).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StopHandle {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_from_the_payload() {
        assert_eq!(panic_message(&"boom"), "boom");
        assert_eq!(panic_message(&String::from("bang 7")), "bang 7");
        assert_eq!(panic_message(&42_u32), "panicked");
    }

    #[test]
    fn a_worker_panic_is_the_runs_error_with_its_step() {
        let shared = Arc::new(RunShared::default());
        run_worker(&shared, 3, || {
            let _outer = StepScope("flow.outer");
            let _inner = StepScope("flow.inner");
            panic!("boom {}", 7);
        });
        assert!(shared.aborted());
        let e = shared.take_error().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("step flow.inner panicked on worker 3: boom 7"));
        // A later panic on the same thread outside any step has no step.
        let shared = Arc::new(RunShared::default());
        run_worker(&shared, 0, || std::panic::panic_any(5_u8));
        let e = shared.take_error().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("worker 0 panicked: panicked"));
    }

    #[test]
    fn stop_handles_are_shared_by_their_clones() {
        let a = StopHandle::new();
        let b = a.clone();
        assert_eq!(a, b);
        assert_ne!(a, StopHandle::new());
        b.stop();
        assert!(a.is_stopped());
    }
}
