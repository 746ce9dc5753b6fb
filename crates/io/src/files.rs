//! Files as sources and sinks: [`FileSource`] reads lines from files,
//! directories, gzip files and stdin, split into partitions that can be read
//! on any worker and resumed; [`FileSink`] writes encoded items to one file.
//!
//! The pieces, one per file:
//! - `files/chunks.rs`: which partitions the inputs make, and their keys;
//! - `files/reader.rs`: splitting bytes into lines with a bounded buffer;
//! - `files/identity.rs`: [`InputIdentity`], what a resume compares;
//! - `files/line.rs`: [`LineRef`], the line handed to the decoder;
//! - `files/position.rs`: the resume position of a partition;
//! - `files/source.rs`: [`FileSource`] and its partitions;
//! - `files/sink.rs`: [`FileSink`] and its writer.

mod chunks;
pub mod identity;
mod line;
mod position;
pub(crate) mod reader;
mod sink;
mod source;
pub(crate) mod thread_fill;

pub use identity::{input_identities, input_records, InputIdentity};
pub use line::LineRef;
pub use sink::{reopen_at, sync_if_regular, FileSink, FileSinkWriter};
pub use source::{FileSource, PlanReport};
