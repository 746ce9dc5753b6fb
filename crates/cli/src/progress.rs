//! The progress bar on stderr while `run` reads: bytes read of the total
//! (when the inputs are plain files) and events/s. Only when stderr is a
//! terminal and not `--quiet`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use eddy::connectors::files::{FileSource, LineRef};
use indicatif::{ProgressBar, ProgressStyle};

use crate::pipeline::stats::{Stats, Tally};

/// A running progress bar; stops and clears itself when dropped.
pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts a bar for `inputs` if stderr is a terminal.
    pub fn start(inputs: &[PathBuf], stats: Arc<Stats>, quiet: bool) -> Option<Progress> {
        if quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = match total_bytes(inputs) {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {bytes} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let events = stats.count(Tally::EVENTS);
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                bar.set_position(stats.count(Tally::BYTES));
                bar.set_message(format!("{events} events, {:.0} events/s", events as f64 / secs));
                std::thread::sleep(Duration::from_millis(200));
            }
            bar.finish_and_clear();
        });
        Some(Progress {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The size of every input, if all are plain regular files (directories
/// walked as the run walks them); `None` with stdin or gzip, whose size read
/// is not known ahead.
fn total_bytes(inputs: &[PathBuf]) -> Option<u64> {
    let listing = FileSource::new(inputs.to_vec(), |_: &LineRef<'_>| ());
    listing.plan_report().ok()?.plain_bytes
}
