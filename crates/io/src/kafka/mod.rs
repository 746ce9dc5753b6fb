//! Kafka in and out, on librdkafka (`rdkafka`, synchronous clients only).
//!
//! - [`KafkaSource`]: each partition of a topic is one source partition; its
//!   position (the next offset, and in bounded mode the end offset seen at
//!   start) is what a recovery snapshot keeps, so a resume re-reads exactly
//!   from the snapshotted offsets. Consumer groups are not used for progress
//!   (a dummy group id, nothing committed).
//! - [`KafkaSink`]: one writer (worker 0), rows keyed as the encoder says,
//!   idempotent producer. With a dedup id ([`KafkaSink::exactly_once`]) each
//!   message carries the header `eddy-pos: ID:PARTITION:SEQUENCE`, and a
//!   resume reads the last message of every output partition back to skip
//!   the rows the crashed run already wrote: exactly-once on any
//!   Kafka-protocol broker, without transactions (ARCHITECTURE.md, "Kafka").
//!   [`KafkaSink::transactional`] adds Kafka transactions on top, for
//!   brokers that support them: each snapshot epoch's rows are committed
//!   together, so a `read_committed` consumer never sees rows a crashed run
//!   had not yet committed.
//!
//! Addresses are URIs: `kafka://HOST:PORT[,HOST:PORT…]/TOPIC` ([`KafkaUri`]).
//! Every librdkafka setting can be given with [`KafkaUri::option`] (SASL, TLS,
//! timeouts), after Eddy's own defaults, so it wins over them.

mod sink;
mod source;

pub use sink::{murmur2, KafkaSink, PAUSE_COMMIT_ENV, PAUSE_READBACK_ENV, PAUSE_WRITES_ENV, POSITION_HEADER};
pub use source::{KafkaRecord, KafkaSource, KafkaStart, TimeFrom};

use std::fmt;
use std::time::Duration;

use rdkafka::config::ClientConfig;

use crate::ConnectorError;

/// Where a Kafka topic is: its brokers, its name, and the librdkafka
/// settings every client of it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaUri {
    /// `HOST:PORT` of each bootstrap broker, as given.
    pub brokers: Vec<String>,
    /// The topic.
    pub topic: String,
    /// `KEY=VALUE` librdkafka settings, applied after Eddy's defaults.
    pub options: Vec<(String, String)>,
    /// How long to wait for the broker (metadata, watermarks, read-back,
    /// flushes) before the run fails with an error naming the broker.
    pub timeout: Duration,
}

/// The scheme of Kafka URIs.
pub const SCHEME: &str = "kafka://";

/// Whether `text` is a Kafka URI (starts with `kafka://`).
pub fn is_kafka_uri(text: &str) -> bool {
    text.starts_with(SCHEME)
}

impl KafkaUri {
    /// Default of [`KafkaUri::timeout`].
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Parses `kafka://HOST:PORT[,HOST:PORT…]/TOPIC`; the error says what
    /// was expected.
    pub fn parse(text: &str) -> Result<KafkaUri, String> {
        let expected = "expected kafka://HOST:PORT[,HOST:PORT...]/TOPIC";
        let Some(rest) = text.strip_prefix(SCHEME) else {
            return Err(format!("{text}: {expected}"));
        };
        let Some((hosts, topic)) = rest.split_once('/') else {
            return Err(format!("{text}: no topic; {expected}"));
        };
        let mut brokers = Vec::new();
        for broker in hosts.split(',') {
            let ok = broker
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
            if !ok {
                return Err(format!("{text}: broker {broker:?} is not HOST:PORT; {expected}"));
            }
            brokers.push(broker.to_owned());
        }
        let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if topic.is_empty() || topic.len() > 249 || !topic.chars().all(valid) || topic == "." || topic == ".."
        {
            return Err(format!(
                "{text}: topic {topic:?} is not a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -); {expected}"
            ));
        }
        Ok(KafkaUri {
            brokers,
            topic: topic.to_owned(),
            options: Vec::new(),
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    /// Adds a librdkafka setting (`security.protocol=SASL_SSL`, …).
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((key.into(), value.into()));
        self
    }

    /// Sets [`KafkaUri::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The client configuration: bootstrap servers, `defaults`, then the
    /// user's options.
    pub(crate) fn client_config(&self, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", self.brokers.join(","));
        // Errors name the broker within the timeout rather than retrying
        // silently for minutes.
        let ms = self.timeout.as_millis().clamp(1000, i32::MAX as u128).to_string();
        config.set("socket.connection.setup.timeout.ms", &ms);
        config.set("log_level", "3");
        for (k, v) in defaults {
            config.set(*k, *v);
        }
        for (k, v) in &self.options {
            config.set(k, v);
        }
        config
    }

    /// An error about this topic: `kafka://HOSTS/TOPIC: message`.
    pub(crate) fn error(&self, message: impl fmt::Display) -> ConnectorError {
        ConnectorError::io(self.to_string(), std::io::Error::other(message.to_string()))
    }

    /// An error about one partition: `kafka://HOSTS/TOPIC/PARTITION: message`.
    pub(crate) fn part_error(&self, partition: i32, message: impl fmt::Display) -> ConnectorError {
        ConnectorError::io(
            format!("{self}/{partition}"),
            std::io::Error::other(message.to_string()),
        )
    }

    /// A client call that failed with `e`: `kafka://HOSTS/TOPIC: what`, `e`
    /// kept as the source ([`ConnectorError::Kafka`]).
    pub(crate) fn client_error(
        &self,
        what: impl Into<String>,
        e: rdkafka::error::KafkaError,
    ) -> ConnectorError {
        ConnectorError::Kafka {
            place: self.to_string(),
            what: what.into(),
            source: Box::new(e),
        }
    }

    /// A client call that got no answer from the broker (`e`, kept as the
    /// source), with what to check.
    pub(crate) fn no_answer(&self, what: &str, e: rdkafka::error::KafkaError) -> ConnectorError {
        self.client_error(
            format!(
                "{what}: no answer from the broker within {:?}; is it running and reachable at {}? \
                 (a local one: scripts/kafka-broker.sh start)",
                self.timeout,
                self.brokers.join(",")
            ),
            e,
        )
    }

    /// Why the broker did not answer, with what to check.
    pub(crate) fn unreachable(&self, what: &str, e: impl fmt::Display) -> ConnectorError {
        self.error(format!(
            "{what}: no answer from the broker within {:?} ({e}); is it running and reachable at {}? \
             (a local one: scripts/kafka-broker.sh start)",
            self.timeout,
            self.brokers.join(",")
        ))
    }
}

impl fmt::Display for KafkaUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.brokers.join(","), self.topic)
    }
}

/// The [`InputRecord`](crate::InputRecord) of a Kafka input: its topic
/// and partition count (read from the broker). A resume is refused when
/// the topic has fewer partitions than recorded (it was made again); more
/// are accepted (the new ones are read from `--kafka-start`).
pub fn input_record(uri: &KafkaUri) -> crate::Result<crate::InputRecord> {
    let consumer: rdkafka::consumer::BaseConsumer = uri
        .client_config(&[
            ("group.id", "eddy-identity"),
            ("enable.auto.commit", "false"),
            ("allow.auto.create.topics", "false"),
        ])
        .create()
        .map_err(|e| uri.error(format!("cannot make a client: {e}")))?;
    let partitions = partition_count(&consumer, uri)?;
    Ok(crate::InputRecord {
        name: uri.to_string(),
        summary: format!("{partitions} partitions"),
        data: partitions.to_le_bytes().to_vec(),
        refusals: kafka_refusals,
    })
}

/// [`crate::InputRecord::refusals`] of a topic: fewer partitions.
fn kafka_refusals(then: &[u8], now: &[u8]) -> Vec<String> {
    let count = |b: &[u8]| <[u8; 4]>::try_from(b).ok().map(i32::from_le_bytes);
    match (count(then), count(now)) {
        (Some(then), Some(now)) if now >= then => Vec::new(),
        (Some(then), Some(now)) => vec![format!(
            "it had {then} partitions and has {now} now: the topic was made again"
        )],
        _ => vec!["its recorded identity cannot be read".to_owned()],
    }
}

/// The number of partitions of `uri`'s topic (an error when the topic does
/// not exist or the broker does not answer).
pub(crate) fn partition_count<C: rdkafka::consumer::Consumer<X>, X: rdkafka::consumer::ConsumerContext>(
    client: &C,
    uri: &KafkaUri,
) -> crate::Result<i32> {
    match find_topic(client, uri)? {
        Ok(n) => Ok(n),
        Err(why) => Err(uri.error(why)),
    }
}

/// The number of partitions of `uri`'s topic, or why it has none (it does
/// not exist); an error when the broker does not answer.
pub(crate) fn find_topic<C: rdkafka::consumer::Consumer<X>, X: rdkafka::consumer::ConsumerContext>(
    client: &C,
    uri: &KafkaUri,
) -> crate::Result<Result<i32, String>> {
    let meta = client
        .fetch_metadata(Some(&uri.topic), uri.timeout)
        .map_err(|e| uri.no_answer("cannot read the topic's metadata", e))?;
    let Some(topic) = meta.topics().iter().find(|t| t.name() == uri.topic) else {
        return Ok(Err("the broker did not describe the topic".into()));
    };
    if let Some(e) = topic.error() {
        let code = rdkafka::types::RDKafkaErrorCode::from(e);
        return Ok(Err(format!(
            "{code}: the topic must exist before the run (create it with the partitions you want)"
        )));
    }
    let n = topic.partitions().len();
    if n == 0 {
        return Ok(Err("the topic has no partitions (create it first)".into()));
    }
    Ok(i32::try_from(n).map_err(|_| "too many partitions".to_owned()))
}

/// Creates `uri`'s topic with `partitions` partitions (replication 1) if
/// the broker does not have it yet; `Ok(false)` when it existed.
pub fn create_topic(uri: &KafkaUri, partitions: i32) -> crate::Result<bool> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = uri
        .client_config(&[])
        .create()
        .map_err(|e| uri.client_error("cannot create an admin client", e))?;
    let topic = NewTopic::new(&uri.topic, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().request_timeout(Some(uri.timeout));
    let results = block_on(admin.create_topics([&topic], &options))
        .map_err(|e| uri.no_answer("cannot create the topic", e))?;
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(true),
        Some(Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists))) => Ok(false),
        Some(Err((_, code))) => Err(uri.error(format!("cannot create the topic: {code}"))),
        None => Err(uri.error("cannot create the topic: the broker gave no answer")),
    }
}

/// Runs a future to completion on this thread (the admin client's futures
/// are completed by its own thread; no async runtime is needed).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => std::thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse_brokers_and_topic() {
        let uri = KafkaUri::parse("kafka://127.0.0.1:9092,b:1/search-events").unwrap();
        assert_eq!(uri.brokers, ["127.0.0.1:9092", "b:1"]);
        assert_eq!(uri.topic, "search-events");
        assert_eq!(uri.to_string(), "kafka://127.0.0.1:9092,b:1/search-events");
    }

    #[test]
    fn bad_uris_say_what_was_expected() {
        for (bad, why) in [
            ("kafka://127.0.0.1:9092", "no topic"),
            ("kafka://127.0.0.1/t", "is not HOST:PORT"),
            ("kafka://h:0/t", "is not HOST:PORT"),
            ("kafka://h:1,/t", "is not HOST:PORT"),
            ("kafka://h:1/", "not a Kafka topic name"),
            ("kafka://h:1/a/b", "not a Kafka topic name"),
            ("file:///x", "expected kafka://"),
        ] {
            let e = KafkaUri::parse(bad).unwrap_err();
            assert!(e.contains(why) && e.starts_with(bad), "{bad}: {e}");
            assert!(e.contains("expected kafka://HOST:PORT"), "{e}");
        }
    }
}
