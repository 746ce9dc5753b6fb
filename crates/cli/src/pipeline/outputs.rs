//! Where each output goes, decided once: an [`Endpoint`] per output
//! option, and the sink it opens (stdout and files in `sinks`, Kafka
//! topics in `kafka`). The dataflow asks here for every session-row, late
//! and dead-letter sink.

use std::path::Path;

use bytes::Bytes;
use ctr::metrics::Row;
use eddy::connectors::Sink;

use super::item::BadLine;
use super::{kafka, sinks, Plan};

/// Where an output option's rows go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// `-`: standard output.
    Stdout,
    /// A file path.
    File(&'a Path),
    /// A `kafka://HOST:PORT/TOPIC` URI (checked before the run).
    Kafka(&'a Path),
}

impl<'a> Endpoint<'a> {
    /// What `path`, as given to an output option, names.
    pub fn of(path: &'a Path) -> Endpoint<'a> {
        if kafka::is_kafka(path) {
            Endpoint::Kafka(path)
        } else if path.as_os_str() == "-" {
            Endpoint::Stdout
        } else {
            Endpoint::File(path)
        }
    }
}

/// The session rows' sink (`--output`).
pub fn row_sink(plan: &Plan, path: &Path) -> Box<dyn Sink<Row>> {
    match Endpoint::of(path) {
        Endpoint::Kafka(uri) => kafka::row_sink(plan, uri),
        Endpoint::Stdout | Endpoint::File(_) => sinks::row_sink(path, plan.format, plan.live_outputs),
    }
}

/// The late events' sink (`--late-output`).
pub fn late_sink(plan: &Plan, path: &Path) -> Box<dyn Sink<Bytes>> {
    match Endpoint::of(path) {
        Endpoint::Kafka(uri) => kafka::late_sink(plan, uri),
        Endpoint::Stdout | Endpoint::File(_) => sinks::late_sink(path, plan.live_outputs),
    }
}

/// The invalid lines' sink (`--dead-letter`).
pub fn dead_letter_sink(plan: &Plan, path: &Path) -> Box<dyn Sink<BadLine>> {
    match Endpoint::of(path) {
        Endpoint::Kafka(uri) => kafka::dead_letter_sink(plan, uri),
        Endpoint::Stdout | Endpoint::File(_) => sinks::dead_letter_sink(path, plan.live_outputs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_path_names_stdout_a_file_or_a_topic() {
        assert_eq!(Endpoint::of(Path::new("-")), Endpoint::Stdout);
        assert_eq!(
            Endpoint::of(Path::new("out.jsonl")),
            Endpoint::File(Path::new("out.jsonl"))
        );
        let topic = Path::new("kafka://127.0.0.1:9092/rows");
        assert_eq!(Endpoint::of(topic), Endpoint::Kafka(topic));
    }
}
