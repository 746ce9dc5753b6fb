//! SIGINT and SIGTERM: the first stops the run (it returns
//! `EddyError::Interrupted` through the normal error path, so temporary
//! outputs are cleaned up and the message is printed once); a second one
//! exits at once. Exit status 128 + the signal: 130 (SIGINT), 143 (SIGTERM).

use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;

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
                            // The second one: no waiting for anything.
                            std::process::exit(exit_code(signal).into());
                        }
                    }
                });
        }
        stop
    })
    .clone()
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
