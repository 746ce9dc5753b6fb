//! # Eddy
//!
//! Stateful stream processing with Bytewax's programming model — a flow of
//! named steps over typed streams, keyed state, clocks, windowers, window
//! operators, partitioned connectors — running on timely-dataflow, from one
//! thread to many processes.
//!
//! ```
//! use std::time::Duration;
//! use eddy::{run, RunConfig};
//! use eddy::testing::{TestingSink, TestingSource};
//! use eddy::window::{EventClock, SessionWindower};
//!
//! // (user, time in ms)
//! let events: Vec<(String, i64)> = [("1", 5_000), ("2", 5_000), ("1", 7_000), ("2", 8_000), ("1", 60_000)]
//!     .into_iter()
//!     .map(|(u, t)| (u.to_string(), t))
//!     .collect();
//! let sink = TestingSink::new();
//! let out = sink.clone();
//! run("sessions", &RunConfig::workers(2), move |flow| {
//!     let clock = EventClock::new(|e: &(String, i64)| e.1, Duration::from_secs(1));
//!     flow.input("inp", TestingSource::new(events.clone()))
//!         .key_on("by_user", |e: &(String, i64)| e.0.clone())
//!         .collect_window("sessions", clock, SessionWindower::new(Duration::from_secs(10)))
//!         .down
//!         .map("count", |(user, (_id, events))| (user, events.len()))
//!         .output("out", out.clone());
//!     Ok(())
//! })?;
//! let mut rows = sink.take();
//! rows.sort();
//! assert_eq!(rows, vec![("1".into(), 1), ("1".into(), 2), ("2".into(), 2)]);
//! # Ok::<(), eddy::EddyError>(())
//! ```
//!
//! Layout: [`dataflow`] (the API), [`window`] (clocks, windowers, window
//! operators), [`recovery`] (snapshots and resume), [`connectors`] (sources
//! and sinks), [`testing`]. Underneath, a crate-private engine is the only
//! part that talks to timely (see `ARCHITECTURE.md`).

pub(crate) mod base;
pub mod dataflow;
pub mod describe;
pub(crate) mod engine;
pub mod error;
pub mod metrics;
pub mod recovery;
pub mod testing;
#[doc = include_str!("../../../docs/writing-sources-and-sinks.md")]
pub mod guide {}
pub mod tutorial;
pub mod window;

/// Sources and sinks (the `eddy-io` crate): the `Source`/`Sink` traits a
/// connector implements, files, stdio and Kafka. Their methods return
/// [`Result`]`<T, ConnectorError>` (this crate's one `Result`).
pub mod connectors {
    #[cfg(feature = "kafka")]
    pub use eddy_io::kafka;
    pub use eddy_io::{
        error, files, input_record, stdio, ConnectorError, FileSink, FileSinkWriter, FileSource, InputRecord,
        LineRef, Poll, RecordedInput, Sink, SinkPartition, SinkRouting, Source, SourcePartition, StdOutSink,
    };
}
pub use error::{ConnectorError, EddyError, RecoveryError, Result};

/// serde, as eddy uses it: derive `Serialize`/`Deserialize` for stream
/// values and state without a direct dependency (`#[serde(crate =
/// "eddy::serde")]`).
pub use serde;

pub use base::routing::{owner, Key};
pub use dataflow::join::{JoinEmit, JoinInsert, JoinSide};
pub use dataflow::run;
pub use dataflow::stateful::{IsComplete, StatefulLogic, Wake};
pub use dataflow::stateless::{BranchOut, Three};
pub use dataflow::{Data, Flow, FlowCtx, Stream};
pub use describe::describe;
pub use engine::cluster::ClusterConfig;
pub use engine::failure::StopHandle;
pub use engine::run::{RunConfig, WorkerWrapper, DEFAULT_PARTITION_IDLE};
pub use recovery::RecoveryConfig;
pub use window::WindowOut;

/// The README's code, compiled and run as doc tests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
