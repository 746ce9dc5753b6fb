//! The store writer: one thread per process that writes every snapshot
//! part of its workers, so that workers never wait on SQLite's lock or on
//! the disk (they hand over encoded parts and go on).
//!
//! Messages are applied in order, several per transaction. A part that is
//! lost with a crash leaves its epoch incomplete, which is harmless: a
//! resume uses the latest complete epoch.
//!
//! Test hook: with `EDDY_TEST_PAUSE_IN_SNAPSHOT=N` in the environment (read
//! once, when the writer starts), the writer stops for good in the middle of
//! the Nth epoch this process announces: once one of its parts is committed
//! (or right after the epoch itself, if it expects a single part), it
//! creates the file [`PAUSE_MARKER`] in the store directory and sleeps
//! forever, leaving that epoch incomplete in the store. A crash test waits
//! for the marker and kills the process there, so a kill during a snapshot
//! write is forced rather than left to chance. Only for tests: the run
//! never finishes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{RecoveryConfig, Store};
use crate::base::signal::RunShared;
use crate::error::RecoveryError;
use crate::recovery::store::Result;

/// Messages in flight before the workers wait for the writer.
const QUEUE: usize = 256;
/// Messages per transaction at most.
const PER_TRANSACTION: usize = 64;

/// The test hook's environment variable (see the module docs).
pub(crate) const PAUSE_ENV: &str = "EDDY_TEST_PAUSE_IN_SNAPSHOT";
/// The file the test hook creates in the store directory when it pauses.
pub(crate) const PAUSE_MARKER: &str = "test-paused-in-snapshot";

/// The test hook's state: where to stop, and how far it got.
#[derive(Debug)]
struct Pause {
    /// Stop in the `nth` epoch announced (1-based).
    nth: u64,
    /// The marker file to create.
    marker: PathBuf,
    /// Epochs announced so far.
    seen: u64,
    /// The epoch to stop in, once announced.
    target: Option<u64>,
}

impl Pause {
    /// The hook, if `EDDY_TEST_PAUSE_IN_SNAPSHOT` holds a positive number.
    fn from_env(dir: &Path) -> Option<Pause> {
        let nth = std::env::var(PAUSE_ENV)
            .ok()?
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)?;
        Some(Pause {
            nth,
            marker: dir.join(PAUSE_MARKER),
            seen: 0,
            target: None,
        })
    }

    /// Whether to stop now that `msg` is committed.
    fn stops_after(&mut self, msg: &Msg) -> bool {
        match msg {
            Msg::Epoch { epoch, expected, .. } => {
                self.seen += 1;
                if self.seen == self.nth {
                    self.target = Some(*epoch);
                    // A single part would complete it: stop before it.
                    return *expected <= 1;
                }
                false
            }
            Msg::Part { epoch, .. } => self.target == Some(*epoch),
            Msg::Finish => false,
        }
    }

    /// Creates the marker and never returns.
    fn stop_forever(&self) -> ! {
        if let Err(e) = std::fs::write(&self.marker, b"paused\n") {
            tracing::error!("{PAUSE_ENV}: cannot create {}: {e}", self.marker.display());
        }
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

/// What the writer does.
pub(crate) enum Msg {
    /// A new epoch was announced; old ones may be collected.
    Epoch {
        epoch: u64,
        mark: u64,
        expected: u64,
        workers: u64,
        created_ms: i64,
        collect_before_ms: i64,
    },
    /// One worker's part of one step.
    Part {
        epoch: u64,
        step: String,
        worker: usize,
        data: Vec<u8>,
    },
    /// Stop after what came before.
    Finish,
}

/// The running writer thread.
pub(crate) struct StoreWriter {
    tx: SyncSender<Msg>,
    handle: Option<JoinHandle<()>>,
}

impl StoreWriter {
    /// Opens a connection and starts the thread; write errors stop the run
    /// through `shared`.
    pub fn start(config: &RecoveryConfig, shared: Arc<RunShared>) -> Result<Self> {
        let store = Store::open(&config.dir, false)?;
        let pause = Pause::from_env(&config.dir);
        let (tx, rx) = sync_channel(QUEUE);
        let handle = std::thread::Builder::new()
            .name("eddy:snapshots".into())
            .spawn(move || {
                if let Err(e) = write_all(&store, &rx, pause, &shared) {
                    shared.fail(e);
                }
            })
            .map_err(|source| RecoveryError::WriterStart { source })?;
        Ok(StoreWriter {
            tx,
            handle: Some(handle),
        })
    }

    /// A handle for a worker.
    pub fn sender(&self) -> SyncSender<Msg> {
        self.tx.clone()
    }

    /// Writes what is queued and stops the thread.
    pub fn finish(mut self) {
        let _ = self.tx.send(Msg::Finish);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn write_all(store: &Store, rx: &Receiver<Msg>, mut pause: Option<Pause>, shared: &RunShared) -> Result<()> {
    // Parts expected and written per epoch announced here, to tell an
    // interrupted run when its last snapshot is complete.
    let mut progress: HashMap<u64, (u64, u64)> = HashMap::new();
    // The last announcement's collection time: at the end, the snapshots
    // that the last complete one makes old go too.
    let mut collect = None;
    // The test hook commits one message at a time, to stop between two.
    let per_transaction = if pause.is_some() { 1 } else { PER_TRANSACTION };
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < per_transaction {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let finish = batch.iter().any(|m| matches!(m, Msg::Finish));
        store.transaction(|| {
            for msg in &batch {
                match msg {
                    Msg::Epoch {
                        epoch,
                        mark,
                        expected,
                        workers,
                        created_ms,
                        collect_before_ms,
                    } => {
                        store.add_epoch(*epoch, *mark, *expected, *workers, *created_ms)?;
                        store.collect_garbage(*collect_before_ms)?;
                        collect = Some(*collect_before_ms);
                    }
                    Msg::Part {
                        epoch,
                        step,
                        worker,
                        data,
                    } => store.put_part(*epoch, step, *worker, data)?,
                    Msg::Finish => {
                        if let Some(before) = collect {
                            store.collect_garbage(before)?;
                        }
                    }
                }
            }
            Ok(())
        })?;
        for msg in &batch {
            match msg {
                // Announced in this process (the coordinator's): counted.
                Msg::Epoch {
                    epoch,
                    expected,
                    created_ms,
                    ..
                } => {
                    crate::metrics::global().snapshot_started(*epoch, *created_ms);
                    progress.insert(*epoch, (*expected, 0));
                }
                Msg::Part { epoch, data, .. } => {
                    crate::metrics::global().snapshot_part(*epoch, data.len());
                    let Some(entry) = progress.get_mut(epoch) else {
                        continue;
                    };
                    entry.1 += 1;
                    if entry.1 >= entry.0 {
                        shared.last_snapshot.completed(*epoch);
                        crate::metrics::global().snapshot_completed(*epoch);
                        let done = *epoch;
                        progress.retain(|e, _| *e > done);
                    }
                }
                Msg::Finish => {}
            }
        }
        if let Some(p) = &mut pause {
            if batch.iter().any(|m| p.stops_after(m)) {
                p.stop_forever();
            }
        }
        if finish {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(epoch: u64, expected: u64) -> Msg {
        Msg::Epoch {
            epoch,
            mark: 0,
            expected,
            workers: 1,
            created_ms: 0,
            collect_before_ms: 0,
        }
    }

    fn part(epoch: u64) -> Msg {
        Msg::Part {
            epoch,
            step: "s".into(),
            worker: 0,
            data: Vec::new(),
        }
    }

    fn hook(nth: u64) -> Pause {
        Pause {
            nth,
            marker: PathBuf::from("unused"),
            seen: 0,
            target: None,
        }
    }

    #[test]
    fn pause_stops_after_the_first_part_of_the_nth_epoch() {
        let mut p = hook(2);
        let order = [epoch(7, 4), part(7), part(7), epoch(8, 4), part(7), part(8)];
        let stops: Vec<bool> = order.iter().map(|m| p.stops_after(m)).collect();
        assert_eq!(stops, [false, false, false, false, false, true]);
    }

    #[test]
    fn pause_stops_before_a_single_part_would_complete_the_epoch() {
        let mut p = hook(1);
        assert!(p.stops_after(&epoch(1, 1)));
    }
}
