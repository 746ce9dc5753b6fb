//! The only layer that talks to timely: running workers, the record and its
//! canonical order, key routing, and the core operators (input, output, the
//! keyed stateful operator) every user-facing operator is built from.

pub(crate) mod batch;
pub mod batcher;
pub mod chunk_order;
pub mod cluster;
pub mod control;
pub mod ctx;
pub mod failure;
pub mod gate;
pub mod graph;
pub mod input;
pub mod input_log;
pub(crate) mod input_snapshots;
pub mod keyed;
pub mod ops;
pub mod output;
pub mod run;
pub mod signal;
pub mod stash;
