//! Several processes: connecting them (with a deadline, binding only the
//! address this process was given), agreeing before anything runs,
//! watching that every peer still answers, and keeping timely's network
//! threads from ever meeting a broken connection.
//!
//! - [`connections`]: the connections between every pair of processes.
//! - [`agreement`]: the run parameters every process must share.
//! - [`heartbeat`]: the heartbeats and the watch on every peer.
//! - [`relay`] and [`framing`]: the relays timely talks through, and the
//!   part of timely's framing they follow.

mod agreement;
mod connections;
mod framing;
mod heartbeat;
mod relay;

use std::time::Duration;

pub(crate) use connections::connect;
pub(crate) use heartbeat::Heartbeat;
pub(crate) use relay::{relay, Relays};

/// One process's view of a multi-process run (Bytewax's `-i`/`-a`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// This process's index in `addresses` (`-i`).
    pub process_id: usize,
    /// `host:port` of every process, in process-id order (`-a`). This
    /// process listens on its own entry only.
    pub addresses: Vec<String>,
    /// How long to wait for every other process to connect (and then to
    /// send its identity).
    pub connect_timeout: Duration,
    /// How long another process may stay silent on its heartbeat
    /// connection (stopped, hung, cut off) before the run fails with
    /// "process N stopped answering"; zero: never. Beats go every 250 ms.
    pub peer_timeout: Duration,
    /// The caller's run parameters, item by item (`("--gap", "30m")`),
    /// that every process must share: each process compares them, with
    /// the dataflow id, its worker count and whether recovery is on, with
    /// every peer's before anything runs, and a difference stops every
    /// process with [`EddyError::ClusterMismatch`] naming the item.
    pub fingerprint: Vec<(String, String)>,
}

impl ClusterConfig {
    /// Process `process_id` of the processes at `addresses`: 10 s to
    /// connect, a 10 s peer timeout, no run parameters of the caller's.
    pub fn new(process_id: usize, addresses: Vec<String>) -> Self {
        ClusterConfig {
            process_id,
            addresses,
            connect_timeout: Duration::from_secs(10),
            peer_timeout: Duration::from_secs(10),
            fingerprint: Vec::new(),
        }
    }
}
