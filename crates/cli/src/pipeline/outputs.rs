//! Opening every sink of the session rows, late lines and dead letters,
//! by the output's [`Endpoint`]: stdout and files in [`super::sinks`],
//! Kafka topics in [`super::kafka`]. (The analytics outputs are files
//! only, opened by [`super::analytics`].)

use std::path::Path;

use bytes::Bytes;
use ctr::metrics::Row;
use eddy::connectors::Sink;

use super::item::BadLine;
use super::{kafka, sinks};
use crate::args::endpoint::Endpoint;
use crate::plan::Plan;

/// How the local sinks name stdout.
const STDOUT: &str = "-";

/// The session rows' sink (`--output`).
pub fn row_sink(plan: &Plan, to: &Endpoint) -> Box<dyn Sink<Row>> {
    match to {
        Endpoint::Kafka(uri) => kafka::row_sink(plan, uri),
        Endpoint::Stdout => sinks::row_sink(Path::new(STDOUT), plan.format, plan.live_outputs),
        Endpoint::File(path) => sinks::row_sink(path, plan.format, plan.live_outputs),
    }
}

/// The late events' sink (`--late-output`).
pub fn late_sink(plan: &Plan, to: &Endpoint) -> Box<dyn Sink<Bytes>> {
    match to {
        Endpoint::Kafka(uri) => kafka::late_sink(plan, uri),
        Endpoint::Stdout => sinks::late_sink(Path::new(STDOUT), plan.live_outputs),
        Endpoint::File(path) => sinks::late_sink(path, plan.live_outputs),
    }
}

/// The invalid lines' sink (`--dead-letter`).
pub fn dead_letter_sink(plan: &Plan, to: &Endpoint) -> Box<dyn Sink<BadLine>> {
    match to {
        Endpoint::Kafka(uri) => kafka::dead_letter_sink(plan, uri),
        Endpoint::Stdout => sinks::dead_letter_sink(Path::new(STDOUT), plan.live_outputs),
        Endpoint::File(path) => sinks::dead_letter_sink(path, plan.live_outputs),
    }
}
