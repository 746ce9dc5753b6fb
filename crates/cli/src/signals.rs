//! SIGINT and SIGTERM: the first stops the run (it returns
//! `EddyError::Interrupted` through the normal error path, so temporary
//! outputs are cleaned up and the message is printed once); a second one
//! exits at once (removing the temporary outputs first). Exit status 128 +
//! the signal: 130 (SIGINT), 143 (SIGTERM).
//!
//! No blocking call can hold a signal back: the work of a command runs on
//! a thread of its own ([`run_unless_stuck`]), and once a signal has come
//! the command waits for it only a short grace; a thread still blocked then
//! (writing to a pipe nobody reads, opening a FIFO nobody writes, any call
//! that does not return) is left behind and the command ends as
//! interrupted. Inputs that can block (stdin, FIFOs, pipes) are read on
//! reader threads, so a worker is never the one blocked on them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use eddy::StopHandle;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The first signal received (0: none yet).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
static STOP: OnceLock<StopHandle> = OnceLock::new();

/// Starts listening for SIGINT and SIGTERM (once per process) and returns
/// the handle the first one stops. If the signals cannot be taken over,
/// they keep their default action (the process is killed).
pub fn listen() -> StopHandle {
    STOP.get_or_init(|| {
        let stop = StopHandle::new();
        if let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) {
            let on_signal = stop.clone();
            // A thread that cannot start leaves the signals caught but
            // unanswered: the run then goes on to its end.
            let _ = std::thread::Builder::new()
                .name("search-ctr:signals".into())
                .spawn(move || {
                    for signal in signals.forever() {
                        if RECEIVED
                            .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                            .is_ok()
                        {
                            on_signal.stop();
                        } else {
                            // The second one: no waiting for anything
                            // but the removal of the temporary outputs.
                            remove_temporaries();
                            std::process::exit(exit_code(signal).into());
                        }
                    }
                });
        }
        stop
    })
    .clone()
}

/// Temporary outputs of this process not yet put in place (see
/// [`crate::safety::Staging`]): a second signal removes them before it exits.
static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Notes a temporary output, to be removed should the process exit on a
/// second signal.
pub fn note_temporary(path: PathBuf) {
    TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner()).push(path);
}

/// Forgets a temporary output (renamed into place, or removed).
pub fn forget_temporary(path: &std::path::Path) {
    TEMPORARIES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|p| p != path);
}

/// Removes the temporary outputs still noted.
fn remove_temporaries() {
    for p in TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
        let _ = std::fs::remove_file(p);
    }
}

/// How long a command may take to wind down after the first signal before
/// it stops waiting for its work (see [`run_unless_stuck`]).
pub const GRACE: Duration = Duration::from_secs(1);

/// Runs `work` on a thread of its own and returns what it returns; but once
/// a signal has come, waits for it at most [`GRACE`] + `extra` (time the work
/// is allowed for a last snapshot, say). `None`: the work did not return in
/// time (it is blocked in a call that does not look at the signal) and was
/// left running; the caller ends the command as interrupted, and the
/// process's exit ends the thread. A panic in `work` goes on in the caller.
pub fn run_unless_stuck<T: Send + 'static>(
    extra: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<Option<T>> {
    listen();
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("search-ctr:work".into())
        .spawn(move || {
            let _ = tx.send(work());
        })?;
    let mut signalled: Option<Instant> = None;
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(value) => return Ok(Some(value)),
            Err(RecvTimeoutError::Timeout) => {
                if received().is_some() {
                    let since = *signalled.get_or_insert_with(Instant::now);
                    if since.elapsed() >= GRACE + extra {
                        tracing::debug!("the work did not end after the signal; not waiting for it");
                        return Ok(None);
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => match thread.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => return Err(std::io::Error::other("the work thread ended without a result")),
            },
        }
    }
}

/// The first signal received, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The signal's name, for the message.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// The exit status after `signal`: 128 + its number (130, 143).
pub fn exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(1)
}

/// The one line that reports an interrupted run, with `note` (what
/// became of the outputs), and the run's exit status.
pub fn describe(note: Option<&str>) -> (String, ExitCode) {
    let signal = received();
    let what = signal.map_or_else(
        || "interrupted".to_owned(),
        |s| format!("interrupted ({})", name(s)),
    );
    let rest = note.unwrap_or("stopped before the end of the input");
    (
        format!("search-ctr: {what}; {rest}"),
        ExitCode::from(signal.map_or(1, exit_code)),
    )
}
