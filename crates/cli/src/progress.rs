//! The progress bar on stderr while `run` reads: bytes read of the total
//! (when the inputs are plain files) and events/s. Only when stderr is a
//! terminal and not `--quiet`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::pipeline::stats::Stats;

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
                let events = stats.events.get();
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                bar.set_position(stats.bytes.get());
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

/// The size of every input, if all are plain files (or directories of
/// them); `None` with stdin or gzip, whose size read is not known ahead.
fn total_bytes(inputs: &[PathBuf]) -> Option<u64> {
    let mut total = 0;
    for input in inputs {
        if input.as_os_str() == "-" {
            return None;
        }
        if input.is_dir() {
            for entry in std::fs::read_dir(input).ok()?.flatten() {
                total += file_bytes(&entry.path())?;
            }
        } else {
            total += file_bytes(input)?;
        }
    }
    Some(total)
}

fn file_bytes(path: &Path) -> Option<u64> {
    if path.extension().is_some_and(|e| e == "gz") {
        return None;
    }
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .or(Some(0))
}
