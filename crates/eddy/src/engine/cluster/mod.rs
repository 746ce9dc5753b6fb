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

pub(crate) use connections::connect;
pub(crate) use heartbeat::Heartbeat;
pub(crate) use relay::{relay, Relays};
