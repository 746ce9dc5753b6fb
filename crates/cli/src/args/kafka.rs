//! The `--kafka-*` flags of `search-ctr run` and the parsers of Kafka
//! option values (what clap reads; `pipeline::kafka` uses them).

use clap::{Args, ValueEnum};
use eddy::connectors::kafka::KafkaStart;

/// `--kafka-time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KafkaTimeArg {
    /// The event's `time` field (as for files).
    Event,
    /// The Kafka message's timestamp (the event's `time` is still parsed
    /// and must be valid).
    Message,
}

/// `--kafka-sink`: how Kafka outputs are made exactly-once with
/// `--recovery-dir`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KafkaSinkArg {
    /// Idempotent producer; with -r, exactly-once on any broker by the
    /// `eddy-pos` header read back on resume. Rows are visible as they are
    /// written.
    Idempotent,
    /// As idempotent, and each snapshot's rows in one broker transaction
    /// committed by the snapshot: `read_committed` consumers see only rows
    /// of completed snapshot epochs. Needs -r and a broker with transactions
    /// (Apache Kafka, Redpanda); -s must stay under half of `transaction.timeout.ms`
    /// (60 s by default; raise it with --kafka-option).
    Transactional,
}

/// The `--kafka-*` flags of `search-ctr run`.
#[derive(Debug, Clone, Args)]
pub struct KafkaFlags {
    /// A librdkafka setting for every Kafka client of the run, repeatable:
    /// security (`security.protocol=SASL_SSL`, `sasl.mechanism=PLAIN`,
    /// `sasl.username=…`, `sasl.password=…`, `ssl.ca.location=FILE`),
    /// tuning (`fetch.wait.max.ms=100`, `linger.ms=20`).
    ///
    /// Example: --kafka-option security.protocol=SSL --kafka-option ssl.ca.location=ca.pem
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_option)]
    pub kafka_option: Vec<(String, String)>,

    /// Where a first run starts reading each partition of a Kafka input:
    /// `earliest`, `latest`, or an RFC 3339 time (the first message at or
    /// after it). A resume starts at its snapshot's offsets.
    #[arg(long, value_name = "WHERE", default_value = "earliest", value_parser = parse_start)]
    pub kafka_start: KafkaStart,

    /// Stop a Kafka input at the end offsets seen at start (a bounded,
    /// deterministic replay, like a file). Without it the input is live and
    /// the run ends only when stopped (SIGINT/SIGTERM); use --idle-timeout
    /// to close the sessions of users who went quiet.
    #[arg(long)]
    pub kafka_until_end: bool,

    /// The event time of a Kafka input's events.
    #[arg(long, value_enum, value_name = "FROM", default_value_t = KafkaTimeArg::Event)]
    pub kafka_time: KafkaTimeArg,

    /// With --recovery-dir and a Kafka output: accept an output topic that
    /// others also write (the resume then looks further back for this
    /// job's last message instead of refusing).
    #[arg(long)]
    pub kafka_allow_foreign: bool,

    /// How Kafka outputs are written: `idempotent` (with -r exactly-once
    /// on any broker; without -r at-least-once after a restart), or
    /// `transactional` (needs -r and broker transactions: each snapshot's
    /// rows are committed as one transaction, for `read_committed`
    /// consumers).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = KafkaSinkArg::Idempotent)]
    pub kafka_sink: KafkaSinkArg,
}

impl Default for KafkaFlags {
    fn default() -> Self {
        KafkaFlags {
            kafka_option: Vec::new(),
            kafka_start: KafkaStart::Earliest,
            kafka_until_end: false,
            kafka_time: KafkaTimeArg::Event,
            kafka_allow_foreign: false,
            kafka_sink: KafkaSinkArg::Idempotent,
        }
    }
}

/// `KEY=VALUE`.
pub fn parse_option(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE (a librdkafka setting), got {text:?}")),
    }
}

fn parse_start(text: &str) -> Result<KafkaStart, String> {
    match text {
        "earliest" => Ok(KafkaStart::Earliest),
        "latest" => Ok(KafkaStart::Latest),
        t => t
            .parse::<jiff::Timestamp>()
            .map(|ts| KafkaStart::Time(ts.as_millisecond()))
            .map_err(|e| format!("expected earliest, latest or an RFC 3339 time, got {t:?} ({e})")),
    }
}

/// `--rate N/s` (or `N`): lines per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let n = text.strip_suffix("/s").unwrap_or(text);
    match n.trim().parse::<f64>() {
        Ok(r) if r > 0.0 && r.is_finite() => Ok(r),
        _ => Err(format!("expected a rate such as 5000/s, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_say_what_was_expected() {
        assert_eq!(parse_option("a.b=c=d").unwrap(), ("a.b".into(), "c=d".into()));
        assert!(parse_option("nokey").unwrap_err().contains("KEY=VALUE"));
        assert_eq!(parse_start("latest").unwrap(), KafkaStart::Latest);
        assert_eq!(
            parse_start("2024-01-01T00:00:00Z").unwrap(),
            KafkaStart::Time(1_704_067_200_000)
        );
        assert!(parse_start("yesterday").unwrap_err().contains("RFC 3339"));
        assert_eq!(parse_rate("5000/s").unwrap(), 5000.0);
        assert!(parse_rate("0/s").is_err());
    }
}
