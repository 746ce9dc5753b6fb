//! What the control stream carries (snapshot announcements and chunk
//! ends) and the frontier helpers every operator that reads it uses. The
//! bottom of the engine's control path: `gate`, `control`, the input
//! snapshotter and the graph all use it; it uses none of them.

use serde::{Deserialize, Serialize};
use timely::dataflow::StreamVec;

/// A snapshot announcement: `(epoch, mark)`.
pub type Snap = (u64, u64);

/// What the control stream tells every stateful step and output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    /// Take a snapshot at this cut.
    Snapshot(Snap),
    /// A partition ended with this final mark (its own tags): the chunks
    /// after it in its file can be resolved (see `engine::chunk_order`).
    ChunkEnd {
        /// `input << 16 | partition`.
        part: u32,
        /// The partition's last mark.
        mark: u64,
    },
}

/// The timely stream of signals.
pub(crate) type Control<'a> = StreamVec<'a, u64, Signal>;

/// A partition's end, as an input reports it: `(input << 16 | partition,
/// final mark)`.
pub(crate) type ChunkEnd = (u32, u64);

/// The least of two input frontiers (`None`: that input is finished).
pub(crate) fn least(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The least time of an input's frontier (`None`: the input is finished).
pub(crate) fn low(frontier: &timely::progress::frontier::MutableAntichain<u64>) -> Option<u64> {
    frontier.frontier().iter().min().copied()
}
