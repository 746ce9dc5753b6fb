//! The Kafka side of a plan: the input topic, the `--kafka-*` flags, and
//! how they must agree with the other options.

use std::path::PathBuf;
use std::time::Duration;

use eddy::connectors::kafka::{is_kafka_uri, KafkaStart, KafkaUri};

use super::params::Param;
use crate::args::endpoint::{Endpoint, Input};
use crate::args::kafka::{KafkaFlags, KafkaSinkArg};
use crate::args::{Format, RunArgs};
use crate::usage::UsageError;

/// The Kafka side of a run.
#[derive(Debug, Clone, Default)]
pub struct KafkaPlan {
    /// The input topic (`None`: files or stdin).
    pub input: Option<KafkaUri>,
    /// The flags.
    pub flags: KafkaFlags,
    /// With `--recovery-dir`: exactly-once outputs, with this id (one per
    /// output option) in their messages' position header.
    pub dedup: Option<String>,
    /// `transaction.timeout.ms` (`--kafka-option`, else librdkafka's 60 s).
    pub transaction_timeout: Duration,
}

impl KafkaPlan {
    /// `uri` with the `--kafka-option`s.
    pub fn with_options(&self, uri: &KafkaUri) -> KafkaUri {
        KafkaUri {
            options: self.flags.kafka_option.clone(),
            ..uri.clone()
        }
    }

    /// This plan's parameters (see [`super::params`]): the sink mode (a
    /// resume must not switch modes: an idempotent run would leave the
    /// crashed transactional run's open transaction unfenced, and its
    /// read-back blocked behind it), and with a Kafka input the topic, where
    /// a first run starts, whether it stops at the end and where event
    /// times come from.
    pub fn params(&self) -> Vec<Param> {
        let f = &self.flags;
        let mut table = vec![Param::both("--kafka-sink", super::params::shown(&f.kafka_sink))];
        if let Some(input) = &self.input {
            table.extend([
                Param::both("the Kafka input", input.to_string()),
                Param::both("--kafka-start", format!("{:?}", f.kafka_start).to_lowercase()),
                Param::both("--kafka-until-end", f.kafka_until_end.to_string()),
                Param::both("--kafka-time", format!("{:?}", f.kafka_time).to_lowercase()),
            ]);
        }
        table
    }
}

/// Checks the Kafka side of `run`'s arguments against the others, and
/// splits the inputs: (files and stdin, the Kafka input).
pub fn check(args: &RunArgs) -> Result<(Vec<PathBuf>, Option<KafkaUri>), UsageError> {
    let mut files = Vec::new();
    let mut topics = Vec::new();
    for input in &args.inputs {
        match input {
            Input::Path(p) => files.push(p.clone()),
            Input::Kafka(uri) => topics.push(uri.clone()),
        }
    }
    let usage = |s: &str| Err(UsageError(s.into()));
    let input = match topics.as_slice() {
        [] => None,
        [one] if files.is_empty() => Some(one.clone()),
        [_] => return usage("--input kafka://… cannot be mixed with files or stdin: give the topic alone"),
        _ => return usage("--input: one Kafka topic per run"),
    };
    let outputs = [
        ("--output", Some(&args.output)),
        ("--late-output", args.late_output.as_ref()),
        ("--dead-letter", args.dead_letter.as_ref()),
    ];
    let mut seen: Vec<(&str, &KafkaUri)> = Vec::new();
    let same = |a: &KafkaUri, b: &KafkaUri| a.topic == b.topic && a.brokers == b.brokers;
    for (option, endpoint) in outputs {
        let Some(Endpoint::Kafka(uri)) = endpoint else {
            continue;
        };
        if let Some((other, _)) = seen.iter().find(|(_, u)| same(u, uri)) {
            return Err(UsageError(format!(
                "{option} and {other} name the same topic {}: give each output its own topic",
                uri.topic
            )));
        }
        if input.as_ref().is_some_and(|i| same(i, uri)) {
            return Err(UsageError(format!(
                "{option} {uri} is also the --input: an output must never be an input"
            )));
        }
        seen.push((option, uri));
    }
    if args.output.is_kafka() && args.format != Format::Jsonl {
        return usage("-o kafka://… writes one JSON object per row: it needs --format jsonl");
    }
    if args
        .report
        .as_deref()
        .and_then(|p| p.to_str())
        .is_some_and(is_kafka_uri)
    {
        return usage("--report cannot be a Kafka topic (files only)");
    }
    if args.report.is_some() && args.output.is_kafka() {
        return usage("--report reads the rows back from an --output file: -o kafka://… cannot be read back");
    }
    if args.kafka.kafka_sink == KafkaSinkArg::Transactional {
        check_transactional(args, !seen.is_empty())?;
    }
    if input.is_none() && (args.kafka.kafka_until_end || args.kafka.kafka_start != KafkaStart::Earliest) {
        return usage("--kafka-until-end and --kafka-start need a Kafka input (-I kafka://…)");
    }
    Ok((files, input))
}

/// `--kafka-sink transactional`'s conditions: a Kafka output, `-r`, and
/// snapshots well within the transaction timeout.
fn check_transactional(args: &RunArgs, kafka_output: bool) -> Result<(), UsageError> {
    if !kafka_output {
        return Err(UsageError(
            "--kafka-sink transactional needs a Kafka output (-o kafka://…)".into(),
        ));
    }
    if args.recovery.recovery_dir.is_none() {
        return Err(UsageError(
            "--kafka-sink transactional needs --recovery-dir (-r): its transactions are committed by the \
             snapshots"
                .into(),
        ));
    }
    let timeout = transaction_timeout(&args.kafka)?;
    let interval = args.recovery.snapshot_interval;
    if interval * 2 > timeout {
        return Err(UsageError(format!(
            "--kafka-sink transactional: the snapshot interval (-s {interval:?}) must be at most half the \
             transaction timeout ({} ms), or the broker aborts a snapshot's transaction before it \
             is committed: lower -s or raise --kafka-option transaction.timeout.ms=MS (at most the broker's \
             transaction.max.timeout.ms, 15 min by default)",
            timeout.as_millis()
        )));
    }
    Ok(())
}

/// `transaction.timeout.ms` as given with `--kafka-option` (the last one),
/// else librdkafka's default, 60 s.
pub fn transaction_timeout(flags: &KafkaFlags) -> Result<Duration, UsageError> {
    match flags
        .kafka_option
        .iter()
        .rev()
        .find(|(k, _)| k == "transaction.timeout.ms")
    {
        Some((_, v)) => v.trim().parse::<u64>().map(Duration::from_millis).map_err(|_| {
            UsageError(format!(
                "--kafka-option transaction.timeout.ms={v}: expected a number of milliseconds"
            ))
        }),
        None => Ok(Duration::from_millis(60_000)),
    }
}
