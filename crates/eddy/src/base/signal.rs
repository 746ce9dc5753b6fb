//! The stop and abort signal of a run: the first error of any worker wins,
//! and every worker of the process sees the flag and stops.

use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::error::EddyError;

/// State shared by the workers of one process: the first error, and the
/// flag that tells every worker to stop.
#[derive(Debug, Default)]
pub struct RunShared {
    abort: AtomicBool,
    error: Mutex<Option<EddyError>>,
    /// The connections to the other processes (clustered runs), closed on
    /// failure so that every peer's network threads see the break at once.
    links: Mutex<Vec<TcpStream>>,
    /// The snapshot an interrupted run takes before it stops.
    pub(crate) last_snapshot: LastSnapshot,
}

/// The last snapshot of an interrupted run (recovery on, one process): the
/// workers ask for it, the coordinator announces it at once, the store
/// writer says when it is complete, and only then (or after
/// `RecoveryConfig::stop_timeout`) do the workers stop.
#[derive(Debug, Default)]
pub(crate) struct LastSnapshot {
    requested: AtomicBool,
    /// The announced epoch + 1 (0: none yet).
    announced: AtomicU64,
    /// The latest complete epoch + 1 (0: none yet).
    complete: AtomicU64,
}

impl LastSnapshot {
    /// Asks the coordinator for a snapshot now.
    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
    }

    /// Whether a snapshot was asked for and not yet announced.
    pub fn wanted(&self) -> bool {
        self.requested.load(Ordering::SeqCst) && self.announced.load(Ordering::SeqCst) == 0
    }

    /// The coordinator announced `epoch` for it.
    pub fn announced(&self, epoch: u64) {
        self.announced.store(epoch + 1, Ordering::SeqCst);
    }

    /// The writer completed `epoch`.
    pub fn completed(&self, epoch: u64) {
        self.complete.fetch_max(epoch + 1, Ordering::SeqCst);
    }

    /// Whether the asked-for snapshot is complete in the store.
    pub fn done(&self) -> bool {
        let announced = self.announced.load(Ordering::SeqCst);
        announced > 0 && self.complete.load(Ordering::SeqCst) >= announced
    }
}

impl RunShared {
    /// Records an error (the first one wins) and asks every worker to stop.
    /// In a clustered run, the connections to the other processes are shut
    /// down, so that they stop too.
    pub fn fail(&self, error: impl Into<EddyError>) {
        if let Ok(mut slot) = self.error.lock() {
            if slot.is_none() {
                *slot = Some(error.into());
            }
        }
        self.abort.store(true, Ordering::SeqCst);
        if let Ok(mut links) = self.links.lock() {
            for link in links.drain(..) {
                let _ = link.shutdown(Shutdown::Both);
            }
        }
    }

    /// Keeps a handle on each connection to another process, for `fail`.
    pub(crate) fn watch_links<'a>(&self, sockets: impl Iterator<Item = &'a TcpStream>) {
        if let Ok(mut links) = self.links.lock() {
            links.extend(sockets.filter_map(|s| s.try_clone().ok()));
        }
    }

    /// Whether the run is stopping because of an error.
    pub fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }

    /// Looks at (and may change) the recorded error, under its lock.
    pub(crate) fn with_error(&self, f: impl FnOnce(&mut Option<EddyError>)) {
        if let Ok(mut slot) = self.error.lock() {
            f(&mut slot);
        }
    }

    pub(crate) fn take_error(&self) -> Option<EddyError> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }
}
