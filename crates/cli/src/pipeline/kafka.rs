//! `search-ctr` on Kafka: the source of `-I kafka://…/TOPIC`, the sinks of
//! `-o kafka://…/TOPIC` (and `--late-output`, `--dead-letter`), and
//! `generate --to kafka://…`'s producer. The options are checked in
//! [`crate::plan::kafka`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ctr::metrics::Row;
use eddy::connectors::files::LineRef;
use eddy::connectors::kafka::{KafkaRecord, KafkaSink, KafkaSource, KafkaUri, TimeFrom};
use eddy::connectors::{Sink, SinkPartition};

use crate::args::kafka::{KafkaSinkArg, KafkaTimeArg};
use crate::plan::Plan;

use super::item::{BadLine, Decoder, Item};

/// A stable id for exactly-once outputs: FNV-1a of the run's fingerprint
/// and the option, so that every run of one job (same command, same
/// inputs) uses the same id.
pub fn dedup_id(fingerprint: &str, option: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in fingerprint.bytes().chain([0]).chain(option.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!(
        "search-ctr-{h:016x}{}",
        option.trim_start_matches('-').replace('-', "")
    )
}

/// The Kafka source of `plan`'s input, decoding messages as `decoder`.
pub fn source(plan: &Plan, uri: &KafkaUri, decoder: Decoder) -> KafkaSource<Item> {
    let k = &plan.kafka;
    let uri = k.with_options(uri);
    let max = plan.max_line_bytes;
    let time = match k.flags.kafka_time {
        KafkaTimeArg::Event => TimeFrom::Event,
        KafkaTimeArg::Message => TimeFrom::Message,
    };
    KafkaSource::new(uri, move |r: &KafkaRecord<'_>| decode(r, &decoder, max, time))
        .start(k.flags.kafka_start)
        .until_end(k.flags.kafka_until_end)
}

/// One message as an input line: invalid ones are named
/// `topic/partition@offset`.
fn decode(r: &KafkaRecord<'_>, decoder: &Decoder, max: usize, time: TimeFrom) -> Item {
    let place: Arc<Path> = Arc::from(PathBuf::from(r.place()));
    let value = r.value();
    if value.len() > max {
        let why = ctr::parse::Invalid::line_too_long(value.len() as u64, max as u64);
        return Item::Invalid(Box::new(BadLine {
            file: place.display().to_string(),
            line: 0,
            reason: why.to_string(),
            raw: Bytes::copy_from_slice(&value[..max]),
        }));
    }
    let line = LineRef::new(&place, 0, 0, Bytes::copy_from_slice(value));
    let mut item = Item::decode_with(&line, decoder);
    if time == TimeFrom::Message {
        if let Some(ts) = r.timestamp_ms() {
            match &mut item {
                Item::Event(e) => e.event.time_ms = ts,
                Item::Events(two) => {
                    two.0.event.time_ms = ts;
                    two.1.event.time_ms = ts;
                }
                _ => {}
            }
        }
    }
    item
}

/// A Kafka sink for `option`'s URI, exactly-once with `--recovery-dir`.
fn sink<T: 'static>(
    plan: &Plan,
    option: &str,
    uri: &KafkaUri,
    encode: impl Fn(&T, &mut Vec<u8>, &mut Vec<u8>) + Send + Sync + 'static,
) -> Box<dyn Sink<T>> {
    let k = &plan.kafka;
    // A missing output topic is made with one partition (rows keep the
    // run's order); make it beforehand for more.
    let mut sink = KafkaSink::new(k.with_options(uri), encode)
        .allow_foreign(k.flags.kafka_allow_foreign)
        .create_missing(1);
    if let Some(fingerprint) = &k.dedup {
        let id = dedup_id(fingerprint, option);
        sink = match k.flags.kafka_sink {
            KafkaSinkArg::Transactional => sink.transactional(id).transaction_timeout(k.transaction_timeout),
            KafkaSinkArg::Idempotent => sink.exactly_once(id),
        };
    }
    Box::new(sink)
}

/// Rows to `-o kafka://…`: keyed by user, one JSON object each.
pub fn row_sink(plan: &Plan, uri: &KafkaUri) -> Box<dyn Sink<Row>> {
    sink(plan, "--output", uri, |row: &Row, key, value| {
        key.extend_from_slice(row.user.as_bytes());
        ctr::row_format::RowFormat::write_jsonl(row, value);
        if value.last() == Some(&b'\n') {
            value.pop();
        }
    })
}

/// Late events to `--late-output kafka://…`: each original line.
pub fn late_sink(plan: &Plan, uri: &KafkaUri) -> Box<dyn Sink<Bytes>> {
    sink(plan, "--late-output", uri, |raw: &Bytes, _key, value| {
        value.extend_from_slice(raw);
    })
}

/// Dead letters to `--dead-letter kafka://…`: each as its JSON object.
pub fn dead_letter_sink(plan: &Plan, uri: &KafkaUri) -> Box<dyn Sink<BadLine>> {
    sink(plan, "--dead-letter", uri, |bad: &BadLine, _key, value| {
        super::sinks::write_dead_letter(bad, value);
        if value.last() == Some(&b'\n') {
            value.pop();
        }
    })
}

/// `generate --to kafka://…`: lines as messages keyed by their `user`,
/// paced to `rate` lines per second when given.
pub struct LineProducer {
    writer: Box<dyn SinkPartition<Bytes>>,
    pending: Vec<u8>,
    batch: Vec<Bytes>,
    rate: Option<f64>,
    started: Instant,
    sent: u64,
}

impl LineProducer {
    /// Opens the producer (a missing topic is made with `partitions`).
    pub fn open(uri: KafkaUri, rate: Option<f64>, partitions: i32) -> eddy::Result<Self> {
        let sink = KafkaSink::new(uri, |line: &Bytes, key, value| {
            if let Some(user) = user_of(line) {
                key.extend_from_slice(user.as_bytes());
            }
            value.extend_from_slice(line);
        })
        .create_missing(partitions);
        Ok(LineProducer {
            writer: sink.build(0, 1)?,
            pending: Vec::new(),
            batch: Vec::new(),
            rate,
            started: Instant::now(),
            sent: 0,
        })
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let n = self.batch.len() as u64;
        self.writer
            .write_batch(&mut self.batch)
            .map_err(std::io::Error::other)?;
        self.sent += n;
        if let Some(rate) = self.rate {
            let due = Duration::from_secs_f64(self.sent as f64 / rate);
            if let Some(wait) = due.checked_sub(self.started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        Ok(())
    }

    /// Lines per batch: a tenth of a second's worth when paced.
    fn batch_len(&self) -> usize {
        self.rate.map_or(1024, |r| ((r / 10.0) as usize).clamp(1, 1024))
    }

    /// Sends what is left and waits until the broker has it all.
    pub fn finish(mut self) -> std::io::Result<u64> {
        if !self.pending.is_empty() {
            let line = Bytes::from(std::mem::take(&mut self.pending));
            self.batch.push(line);
        }
        self.send()?;
        self.writer.close().map_err(std::io::Error::other)?;
        Ok(self.sent)
    }
}

impl std::io::Write for LineProducer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = memchr_newline(rest) {
            self.pending.extend_from_slice(&rest[..i]);
            let line = Bytes::from(std::mem::take(&mut self.pending));
            self.batch.push(line);
            rest = &rest[i + 1..];
            if self.batch.len() >= self.batch_len() {
                self.send()?;
            }
        }
        self.pending.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// The `user` field of a JSON line, if any.
fn user_of(line: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct User {
        user: serde_json::Value,
    }
    let u: User = serde_json::from_slice(line).ok()?;
    match u.user {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_ids_are_stable_and_differ_per_output() {
        let a = dedup_id("fp", "--output");
        assert_eq!(a, dedup_id("fp", "--output"));
        assert_ne!(a, dedup_id("fp", "--late-output"));
        assert_ne!(a, dedup_id("fp2", "--output"));
        assert!(!a.contains(':'));
    }

    #[test]
    fn users_are_read_from_lines() {
        assert_eq!(user_of(br#"{"user":"u1","time":1}"#).as_deref(), Some("u1"));
        assert_eq!(user_of(br#"{"user":7}"#).as_deref(), Some("7"));
        assert_eq!(user_of(b"not json"), None);
    }
}
