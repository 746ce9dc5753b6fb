//! Kafka through eddy's Rust connectors (librdkafka), for Python's
//! `KafkaSource` and `KafkaSink` (`eddy.connectors.kafka`). Offsets go
//! into snapshots as for any eddy Kafka input; each message becomes a
//! Python `KafkaSourceMessage` (made by a factory the Python side gives);
//! each item written is a `KafkaSinkMessage` whose `key` and `value` are
//! `bytes` (or `None`).

use std::time::Duration;

use eddy::connectors::kafka::{KafkaRecord, KafkaSink, KafkaSource, KafkaStart, KafkaUri};
use eddy::{Flow, Stream};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::value::{call, PyVal};

/// What a Kafka step was given, read from its arguments.
pub struct KafkaArgs {
    /// `HOST:PORT` of each broker.
    pub brokers: Vec<String>,
    /// librdkafka settings (`add_config`).
    pub options: Vec<(String, String)>,
}

impl KafkaArgs {
    /// The URI of `topic` with these brokers and settings; an error names
    /// the step and what is wrong.
    fn uri(&self, step: &str, topic: &str) -> eddy::Result<KafkaUri> {
        let text = format!("kafka://{}/{topic}", self.brokers.join(","));
        let uri = KafkaUri::parse(&text).map_err(|e| eddy::EddyError::Build(format!("step {step}: {e}")))?;
        Ok(self
            .options
            .iter()
            .fold(uri, |uri, (k, v)| uri.option(k.clone(), v.clone())))
    }
}

/// Reads `topics` (merged into one stream when there are several), from
/// the oldest (`start == -2`, Bytewax's `OFFSET_BEGINNING`) or the newest
/// (`-1`) messages; `tail == false` ends each partition at its end as
/// first seen. `factory(key, value, topic, partition, offset, timestamp)`
/// makes each item.
pub fn input<'a>(
    flow: &mut Flow<'a>,
    step: &str,
    args: &KafkaArgs,
    topics: &[String],
    tail: bool,
    start: i64,
    factory: Py<PyAny>,
) -> eddy::Result<Stream<'a, PyVal>> {
    let start = match start {
        -2 => KafkaStart::Earliest,
        -1 => KafkaStart::Latest,
        other => {
            return Err(eddy::EddyError::Build(format!(
                "step {step}: starting_offset must be OFFSET_BEGINNING (-2) or OFFSET_END (-1), got {other}"
            )))
        }
    };
    let mut streams = Vec::with_capacity(topics.len());
    for (i, topic) in topics.iter().enumerate() {
        let make = call(|py| Ok(factory.clone_ref(py)));
        let decode = move |r: &KafkaRecord<'_>| -> PyVal {
            call(|py| {
                let key = r.key().map(|k| PyBytes::new(py, k).into_any().unbind());
                let timestamp = r.timestamp_ms().map(|ms| (1i64, ms));
                let msg = make.bind(py).call1((
                    key,
                    PyBytes::new(py, r.value()),
                    r.topic(),
                    r.partition(),
                    r.offset(),
                    timestamp,
                ))?;
                Ok(PyVal(msg.unbind()))
            })
        };
        let source = KafkaSource::new(args.uri(step, topic)?, decode)
            .start(start)
            .until_end(!tail);
        let id = if topics.len() == 1 {
            step.to_owned()
        } else {
            format!("{step}_{i}")
        };
        streams.push(flow.input(&id, source));
    }
    match streams.split_first() {
        None => Err(eddy::EddyError::Build(format!("step {step}: no topics to read"))),
        Some((only, [])) => Ok(only.clone()),
        Some((first, rest)) => Ok(first.merge(&format!("{step}_merge"), rest)),
    }
}

/// Writes `KafkaSinkMessage`s to `topic`: `key` and `value` must be
/// `bytes` or `None`; a message naming another topic stops the step.
pub fn output(stream: &Stream<'_, PyVal>, step: &str, args: &KafkaArgs, topic: &str) -> eddy::Result<()> {
    let expected = topic.to_owned();
    let encode = move |item: &PyVal, key: &mut Vec<u8>, value: &mut Vec<u8>| {
        call(|py| {
            let item = item.bind(py);
            let bytes_of = |name: &str, out: &mut Vec<u8>| -> PyResult<()> {
                let field = item.getattr(name)?;
                if field.is_none() {
                    return Ok(());
                }
                let b = field.cast::<PyBytes>().map_err(|_| {
                    pyo3::exceptions::PyTypeError::new_err(format!(
                        "a KafkaSinkMessage's {name} must be bytes or None, got {}",
                        field.repr().map_or_else(|_| "?".to_owned(), |r| r.to_string())
                    ))
                })?;
                out.extend_from_slice(b.as_bytes());
                Ok(())
            };
            if let Ok(t) = item.getattr("topic") {
                if !t.is_none() && t.extract::<String>()? != expected {
                    return Err(pyo3::exceptions::PyValueError::new_err(format!(
                        "this sink writes to topic {expected:?}; a message for topic {} needs a sink of its own",
                        t.repr()?
                    )));
                }
            }
            bytes_of("key", key)?;
            bytes_of("value", value)
        });
    };
    let uri = args.uri(step, topic)?.timeout(Duration::from_secs(30));
    stream.output(step, KafkaSink::new(uri, encode));
    Ok(())
}

/// Creates `topic` on `brokers` with `partitions` partitions (replication
/// 1) unless it exists; `True` when it was made.
#[pyfunction]
pub fn create_topic(brokers: Vec<String>, topic: String, partitions: i32) -> PyResult<bool> {
    let args = KafkaArgs {
        brokers,
        options: Vec::new(),
    };
    let uri = args
        .uri("create_topic", &topic)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    eddy::connectors::kafka::create_topic(&uri, partitions)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
}
