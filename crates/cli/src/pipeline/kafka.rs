//! `search-ctr` on Kafka: `-I kafka://…/TOPIC`, `-o kafka://…/TOPIC` (and
//! `--late-output`, `--dead-letter`), the `--kafka-*` flags, and
//! `generate --to kafka://…`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ctr::metrics::Row;
use eddy::connectors::files::LineRef;
use eddy::connectors::kafka::{
    is_kafka_uri, KafkaRecord, KafkaSink, KafkaSource, KafkaStart, KafkaUri, TimeFrom,
};
use eddy::connectors::{Sink, SinkPartition};

use crate::args::kafka::{KafkaFlags, KafkaSinkArg, KafkaTimeArg};

use super::item::{BadLine, Decoder, Item};
use super::Plan;

/// Whether a path given as an input or output is a Kafka URI.
pub fn is_kafka(path: &Path) -> bool {
    path.to_str().is_some_and(is_kafka_uri)
}

/// The Kafka side of a run: what `Plan` carries.
#[derive(Debug, Clone, Default)]
pub struct KafkaPlan {
    /// The input topic (`None`: files or stdin).
    pub input: Option<String>,
    /// The flags.
    pub flags: KafkaFlags,
    /// With `--recovery-dir`: exactly-once outputs, with this id (one per
    /// output option) in their messages' position header.
    pub dedup: Option<String>,
}

impl KafkaPlan {
    /// `uri` parsed, with the `--kafka-option`s; the error names `option`.
    pub fn uri(&self, option: &str, uri: &str) -> Result<KafkaUri, String> {
        let mut parsed = KafkaUri::parse(uri).map_err(|e| format!("{option} {e}"))?;
        parsed.options = self.flags.kafka_option.clone();
        Ok(parsed)
    }

    /// This plan's parameters (see [`super::params`]): the sink mode (a
    /// resume must not switch modes: an idempotent run would leave the
    /// crashed transactional run's open transaction unfenced, and its
    /// read-back blocked behind it), and with a Kafka input the topic, where
    /// a first run starts, whether it stops at the end and where event
    /// times come from.
    pub fn params(&self) -> Vec<super::params::Param> {
        use super::params::Param;
        use clap::ValueEnum;
        let f = &self.flags;
        let sink = f
            .kafka_sink
            .to_possible_value()
            .map_or_else(|| "?".to_owned(), |v| v.get_name().to_owned());
        let mut table = vec![Param::both("--kafka-sink", sink)];
        if let Some(input) = &self.input {
            table.extend([
                Param::both("the Kafka input", input.clone()),
                Param::both("--kafka-start", format!("{:?}", f.kafka_start).to_lowercase()),
                Param::both("--kafka-until-end", f.kafka_until_end.to_string()),
                Param::both("--kafka-time", format!("{:?}", f.kafka_time).to_lowercase()),
            ]);
        }
        table
    }
}

/// Checks the Kafka side of `run`'s arguments before anything runs, and
/// splits the inputs: (files and stdin, the Kafka input). The error is a
/// usage error's text.
pub fn check_run(args: &crate::args::RunArgs) -> Result<(Vec<PathBuf>, Option<String>), String> {
    let (topics, files): (Vec<&PathBuf>, Vec<&PathBuf>) = args.inputs.iter().partition(|p| is_kafka(p));
    let input = match topics.as_slice() {
        [] => None,
        [one] if files.is_empty() => Some(one.to_string_lossy().into_owned()),
        [_] => {
            return Err("--input kafka://… cannot be mixed with files or stdin: give the topic alone".into())
        }
        _ => return Err("--input: one Kafka topic per run".into()),
    };
    if let Some(topic) = &input {
        KafkaUri::parse(topic).map_err(|e| format!("--input {e}"))?;
    }
    let outputs = [
        ("--output", Some(&args.output)),
        ("--late-output", args.late_output.as_ref()),
        ("--dead-letter", args.dead_letter.as_ref()),
    ];
    let mut seen: Vec<(&str, KafkaUri)> = Vec::new();
    for (option, path) in outputs {
        let Some(path) = path.filter(|p| is_kafka(p)) else {
            continue;
        };
        let uri = KafkaUri::parse(&path.to_string_lossy()).map_err(|e| format!("{option} {e}"))?;
        if let Some((other, _)) = seen
            .iter()
            .find(|(_, u)| u.topic == uri.topic && u.brokers == uri.brokers)
        {
            return Err(format!(
                "{option} and {other} name the same topic {}: give each output its own topic",
                uri.topic
            ));
        }
        if input
            .as_deref()
            .and_then(|i| KafkaUri::parse(i).ok())
            .is_some_and(|i| i.topic == uri.topic && i.brokers == uri.brokers)
        {
            return Err(format!(
                "{option} {uri} is also the --input: an output must never be an input"
            ));
        }
        seen.push((option, uri));
    }
    if is_kafka(&args.output) && args.format != crate::args::Format::Jsonl {
        return Err("-o kafka://… writes one JSON object per row: it needs --format jsonl".into());
    }
    for (option, path) in [
        ("--query-output", &args.query_output),
        ("--position-output", &args.position_output),
        ("--judgment-output", &args.judgment_output),
        ("--report", &args.report),
    ] {
        if path.as_deref().is_some_and(is_kafka) {
            return Err(format!("{option} cannot be a Kafka topic (files only)"));
        }
    }
    if args.report.is_some() && is_kafka(&args.output) {
        return Err(
            "--report reads the rows back from an --output file: -o kafka://… cannot be read back".into(),
        );
    }
    if args.kafka.kafka_sink == KafkaSinkArg::Transactional {
        check_transactional(args, !seen.is_empty())?;
    }
    if input.is_none() && (args.kafka.kafka_until_end || args.kafka.kafka_start != KafkaStart::Earliest) {
        return Err("--kafka-until-end and --kafka-start need a Kafka input (-I kafka://…)".into());
    }
    Ok((files.into_iter().cloned().collect(), input))
}

/// `--kafka-sink transactional`'s conditions: a Kafka output, `-r`, and
/// snapshots well within the transaction timeout.
fn check_transactional(args: &crate::args::RunArgs, kafka_output: bool) -> Result<(), String> {
    if !kafka_output {
        return Err("--kafka-sink transactional needs a Kafka output (-o kafka://…)".into());
    }
    if args.recovery.recovery_dir.is_none() {
        return Err(
            "--kafka-sink transactional needs --recovery-dir (-r): its transactions are committed by the \
             snapshots"
                .into(),
        );
    }
    let timeout_ms = transaction_timeout_ms(&args.kafka)?;
    let interval = args.recovery.snapshot_interval;
    if interval.as_millis() * 2 > u128::from(timeout_ms) {
        return Err(format!(
            "--kafka-sink transactional: the snapshot interval (-s {interval:?}) must be at most half the \
             transaction timeout ({timeout_ms} ms), or the broker aborts a snapshot's transaction before it \
             is committed: lower -s or raise --kafka-option transaction.timeout.ms=MS (at most the broker's \
             transaction.max.timeout.ms, 15 min by default)"
        ));
    }
    Ok(())
}

/// `transaction.timeout.ms` as given with `--kafka-option` (the last one),
/// else librdkafka's default, 60 s.
fn transaction_timeout_ms(flags: &KafkaFlags) -> Result<u64, String> {
    match flags
        .kafka_option
        .iter()
        .rev()
        .find(|(k, _)| k == "transaction.timeout.ms")
    {
        Some((_, v)) => v.trim().parse::<u64>().map_err(|_| {
            format!("--kafka-option transaction.timeout.ms={v}: expected a number of milliseconds")
        }),
        None => Ok(60_000),
    }
}

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
pub fn source(plan: &Plan, uri: &str, decoder: Decoder) -> eddy::Result<KafkaSource<Item>> {
    let k = &plan.kafka;
    let uri = k.uri("--input", uri).map_err(eddy::EddyError::Build)?;
    let max = plan.max_line_bytes;
    let time = match k.flags.kafka_time {
        KafkaTimeArg::Event => TimeFrom::Event,
        KafkaTimeArg::Message => TimeFrom::Message,
    };
    Ok(
        KafkaSource::new(uri, move |r: &KafkaRecord<'_>| decode(r, &decoder, max, time))
            .start(k.flags.kafka_start)
            .until_end(k.flags.kafka_until_end),
    )
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
    path: &Path,
    encode: impl Fn(&T, &mut Vec<u8>, &mut Vec<u8>) + Send + Sync + 'static,
) -> Box<dyn Sink<T>> {
    let text = path.to_string_lossy();
    match plan.kafka.uri(option, &text) {
        Ok(uri) => {
            // A missing output topic is made with one partition (rows keep
            // the run's order); make it beforehand for more.
            let mut sink = KafkaSink::new(uri, encode)
                .allow_foreign(plan.kafka.flags.kafka_allow_foreign)
                .create_missing(1);
            if let Some(fingerprint) = &plan.kafka.dedup {
                let id = dedup_id(fingerprint, option);
                sink = match plan.kafka.flags.kafka_sink {
                    // (transaction.timeout.ms was checked before the run.)
                    KafkaSinkArg::Transactional => {
                        let ms = transaction_timeout_ms(&plan.kafka.flags).unwrap_or(60_000);
                        sink.transactional(id)
                            .transaction_timeout(Duration::from_millis(ms))
                    }
                    KafkaSinkArg::Idempotent => sink.exactly_once(id),
                };
            }
            Box::new(sink)
        }
        // Checked before the run; kept as the run's error all the same.
        Err(why) => Box::new(Refused(why)),
    }
}

/// Rows to `-o kafka://…`: keyed by user, one JSON object each.
pub fn row_sink(plan: &Plan, path: &Path) -> Box<dyn Sink<Row>> {
    sink(plan, "--output", path, |row: &Row, key, value| {
        key.extend_from_slice(row.user.as_bytes());
        ctr::format::write_jsonl(row, value);
        if value.last() == Some(&b'\n') {
            value.pop();
        }
    })
}

/// Late events to `--late-output kafka://…`: each original line.
pub fn late_sink(plan: &Plan, path: &Path) -> Box<dyn Sink<Bytes>> {
    sink(plan, "--late-output", path, |raw: &Bytes, _key, value| {
        value.extend_from_slice(raw);
    })
}

/// Dead letters to `--dead-letter kafka://…`: each as its JSON object.
pub fn dead_letter_sink(plan: &Plan, path: &Path) -> Box<dyn Sink<BadLine>> {
    sink(plan, "--dead-letter", path, |bad: &BadLine, _key, value| {
        super::sinks::write_dead_letter(bad, value);
        if value.last() == Some(&b'\n') {
            value.pop();
        }
    })
}

/// A sink whose opening fails with a usage error's text.
struct Refused(String);

impl<T> Sink<T> for Refused {
    fn build(
        &self,
        _worker: usize,
        _workers: usize,
    ) -> eddy::Result<Box<dyn SinkPartition<T>>, eddy::ConnectorError> {
        Err(eddy::ConnectorError::Build(self.0.clone()))
    }
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
