//! The store writer: one thread per process that writes every snapshot
//! part of its workers, so that workers never wait on SQLite's lock or on
//! the disk (they hand over encoded parts and go on).
//!
//! Messages are applied in order, several per transaction. A part that is
//! lost with a crash leaves its epoch incomplete, which is harmless: a
//! resume uses the latest complete epoch.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::{RecoveryConfig, Store};
use crate::engine::run::RunShared;
use crate::error::{EddyError, Result};

/// Messages in flight before the workers wait for the writer.
const QUEUE: usize = 256;
/// Messages per transaction at most.
const PER_TRANSACTION: usize = 64;

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
        let (tx, rx) = sync_channel(QUEUE);
        let handle = std::thread::Builder::new()
            .name("eddy:snapshots".into())
            .spawn(move || {
                if let Err(e) = write_all(&store, &rx) {
                    shared.fail(e);
                }
            })
            .map_err(|e| EddyError::Recovery(format!("cannot start the snapshot writer: {e}")))?;
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

fn write_all(store: &Store, rx: &Receiver<Msg>) -> Result<()> {
    // The last announcement's collection time: at the end, the snapshots
    // that the last complete one makes old go too.
    let mut collect = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < PER_TRANSACTION {
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
        if finish {
            break;
        }
    }
    Ok(())
}
