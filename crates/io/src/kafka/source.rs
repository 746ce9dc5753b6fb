//! [`KafkaSource`]: one source partition per topic partition, positioned by
//! offsets that the engine's snapshots keep.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use super::{partition_count, KafkaUri};
use crate::{Poll, Result, Source, SourcePartition};

/// Where a first run starts reading each partition (a resume starts at its
/// snapshot's offsets, whatever this says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KafkaStart {
    /// The oldest message the broker still holds.
    Earliest,
    /// After the last message at the time the partition is opened.
    Latest,
    /// The first message whose timestamp is at or after this time (ms since
    /// the Unix epoch).
    Time(i64),
}

/// Where an item's event time comes from (the decoder decides; this is
/// carried for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFrom {
    /// The event's own `time` field.
    Event,
    /// The Kafka message timestamp.
    Message,
}

/// One message handed to a [`KafkaSource`]'s decoder.
pub struct KafkaRecord<'a> {
    msg: &'a BorrowedMessage<'a>,
}

impl KafkaRecord<'_> {
    /// The topic.
    pub fn topic(&self) -> &str {
        self.msg.topic()
    }

    /// The partition.
    pub fn partition(&self) -> i32 {
        self.msg.partition()
    }

    /// The offset.
    pub fn offset(&self) -> i64 {
        self.msg.offset()
    }

    /// The key, if any.
    pub fn key(&self) -> Option<&[u8]> {
        self.msg.key()
    }

    /// The value (empty for a null value).
    pub fn value(&self) -> &[u8] {
        self.msg.payload().unwrap_or_default()
    }

    /// The message timestamp (ms since the Unix epoch), when it has one.
    pub fn timestamp_ms(&self) -> Option<i64> {
        self.msg.timestamp().to_millis()
    }

    /// The value of the first header named `name` (`Some(&[])` for a null
    /// value).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        let headers = self.msg.headers()?;
        headers
            .iter()
            .find(|h| h.key == name)
            .map(|h| h.value.unwrap_or_default())
    }

    /// Where it is, for error messages: `topic/partition@offset`.
    pub fn place(&self) -> String {
        format!("{}/{}@{}", self.topic(), self.partition(), self.offset())
    }
}

/// Turns a message into an item.
type Decode<T> = Arc<dyn Fn(&KafkaRecord<'_>) -> T + Send + Sync>;

/// A Kafka topic as a partitioned, resumable source: partition `p` of the
/// topic is source partition `p` (key `TOPIC/p`). Live by default (an idle
/// partition answers [`Poll::Pending`], and after eddy's
/// `RunConfig::partition_idle` of that, the engine lets its progress mark
/// follow the topic's other partitions, so an empty partition does not
/// hold them back); [`KafkaSource::until_end`] makes it
/// bounded at the end offsets seen when each partition is first opened,
/// which makes a replay as deterministic as a file.
pub struct KafkaSource<T> {
    uri: KafkaUri,
    start: KafkaStart,
    until_end: bool,
    stall: Duration,
    decode: Decode<T>,
}

impl<T> std::fmt::Debug for KafkaSource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSource")
            .field("uri", &self.uri)
            .field("start", &self.start)
            .field("until_end", &self.until_end)
            .finish_non_exhaustive()
    }
}

impl<T> KafkaSource<T> {
    /// Reads `uri`'s topic from the earliest offsets, live, decoding each
    /// message with `decode`.
    pub fn new(uri: KafkaUri, decode: impl Fn(&KafkaRecord<'_>) -> T + Send + Sync + 'static) -> Self {
        KafkaSource {
            uri,
            start: KafkaStart::Earliest,
            until_end: false,
            stall: Duration::from_secs(30),
            decode: Arc::new(decode),
        }
    }

    /// Where a first run starts.
    pub fn start(mut self, start: KafkaStart) -> Self {
        self.start = start;
        self
    }

    /// Bounded mode: each partition ends at the high watermark it had when
    /// first opened (kept in its position, so a resume ends at the same
    /// offset).
    pub fn until_end(mut self, until_end: bool) -> Self {
        self.until_end = until_end;
        self
    }

    /// Bounded mode: how long a partition may wait for a message it knows
    /// exists (the broker down, unreachable) before the run fails. Default
    /// 30 s.
    pub fn stall_timeout(mut self, stall: Duration) -> Self {
        self.stall = stall;
        self
    }

    /// The topic.
    pub fn uri(&self) -> &KafkaUri {
        &self.uri
    }

    fn consumer(&self) -> Result<BaseConsumer> {
        self.uri
            .client_config(&[
                ("group.id", "eddy"),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("enable.partition.eof", "true"),
                ("auto.offset.reset", "error"),
                ("allow.auto.create.topics", "false"),
            ])
            .create()
            .map_err(|e| self.uri.error(format!("cannot create a consumer: {e}")))
    }

    fn partition_of(&self, key: &str) -> Result<i32> {
        key.strip_prefix(&self.uri.topic)
            .and_then(|k| k.strip_prefix('/'))
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| {
                self.uri
                    .error(format!("{key:?} is not a partition key of this topic"))
            })
    }
}

/// A partition's position: the next offset to read, and the end offset in
/// bounded mode (`-1`: live).
fn encode_position(next: i64, end: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&next.to_le_bytes());
    out.extend_from_slice(&end.to_le_bytes());
    out
}

fn decode_position(bytes: &[u8]) -> Option<(i64, i64)> {
    let next = i64::from_le_bytes(bytes.get(0..8)?.try_into().ok()?);
    let end = i64::from_le_bytes(bytes.get(8..16)?.try_into().ok()?);
    (bytes.len() == 16).then_some((next, end))
}

impl<T: 'static> Source<T> for KafkaSource<T> {
    fn list_parts(&self) -> Result<Vec<String>> {
        let n = partition_count(&self.consumer()?, &self.uri)?;
        Ok((0..n).map(|p| format!("{}/{p}", self.uri.topic)).collect())
    }

    fn build_part(&self, key: &str, resume: Option<&[u8]>) -> Result<Box<dyn SourcePartition<T>>> {
        let partition = self.partition_of(key)?;
        let consumer = self.consumer()?;
        let uri = &self.uri;
        let (next, end) = match resume {
            Some(bytes) => decode_position(bytes).ok_or_else(|| {
                uri.part_error(partition, "the snapshot's position is not a Kafka position")
            })?,
            None => {
                let (low, high) = consumer
                    .fetch_watermarks(&uri.topic, partition, uri.timeout)
                    .map_err(|e| {
                        uri.unreachable(&format!("partition {partition}: cannot read its offsets"), e)
                    })?;
                let next = match self.start {
                    KafkaStart::Earliest => low,
                    KafkaStart::Latest => high,
                    KafkaStart::Time(ms) => {
                        let mut tpl = TopicPartitionList::new();
                        tpl.add_partition_offset(&uri.topic, partition, Offset::Offset(ms))
                            .map_err(|e| uri.part_error(partition, e))?;
                        let found = consumer
                            .offsets_for_times(tpl, uri.timeout)
                            .map_err(|e| uri.unreachable("cannot look up offsets by time", e))?;
                        match found.find_partition(&uri.topic, partition).map(|e| e.offset()) {
                            Some(Offset::Offset(o)) => o,
                            // No message at or after the time: the end.
                            _ => high,
                        }
                    }
                };
                (next, if self.until_end { high } else { -1 })
            }
        };
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&uri.topic, partition, Offset::Offset(next))
            .map_err(|e| uri.part_error(partition, e))?;
        consumer
            .assign(&tpl)
            .map_err(|e| uri.part_error(partition, format!("cannot assign: {e}")))?;
        Ok(Box::new(KafkaPart {
            consumer,
            uri: uri.clone(),
            partition,
            next,
            end,
            stall: self.stall,
            decode: self.decode.clone(),
        }))
    }
}

/// One open partition.
struct KafkaPart<T> {
    consumer: BaseConsumer,
    uri: KafkaUri,
    partition: i32,
    next: i64,
    /// Bounded: the offset it ends at; `-1`: live.
    end: i64,
    stall: Duration,
    decode: Decode<T>,
}

/// How long one poll waits for a message.
const POLL: Duration = Duration::from_millis(100);
/// When a live partition with nothing to read is asked again.
const IDLE: Duration = Duration::from_millis(50);

impl<T> KafkaPart<T> {
    fn bounded(&self) -> bool {
        self.end >= 0
    }

    /// Whether an error from a poll ends the run (else: the broker is away
    /// or busy, librdkafka retries).
    fn fatal(&self, e: &KafkaError) -> bool {
        let code = match e {
            KafkaError::MessageConsumption(code) | KafkaError::MessageConsumptionFatal(code) => *code,
            _ => return true,
        };
        matches!(
            code,
            RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::UnknownTopic
                | RDKafkaErrorCode::UnknownPartition
                | RDKafkaErrorCode::OffsetOutOfRange
                | RDKafkaErrorCode::AutoOffsetReset
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::Fatal
        ) || matches!(e, KafkaError::MessageConsumptionFatal(_))
    }
}

impl<T> SourcePartition<T> for KafkaPart<T> {
    fn next_batch(&mut self, out: &mut Vec<T>, max: usize) -> Result<Poll> {
        if self.bounded() && self.next >= self.end {
            return Ok(Poll::Done);
        }
        // Bounded mode waits for the messages it knows exist (answering
        // Pending would step the partition's mark, which a replay must not
        // depend on); live mode takes only what is there.
        let started = Instant::now();
        while out.len() < max {
            let wait = if out.is_empty() && self.bounded() {
                POLL
            } else {
                Duration::ZERO
            };
            match self.consumer.poll(wait) {
                None if out.is_empty() && self.bounded() => self.check_stall(started)?,
                None => break,
                Some(Ok(msg)) => {
                    let offset = msg.offset();
                    if offset < self.next {
                        continue;
                    }
                    if self.bounded() && offset >= self.end {
                        self.next = self.end;
                        break;
                    }
                    out.push((self.decode)(&KafkaRecord { msg: &msg }));
                    self.next = offset + 1;
                    if self.bounded() && self.next >= self.end {
                        break;
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {
                    // At the high watermark, which is at or past the end seen
                    // at start: whatever lay below the end and was not
                    // delivered was control records (or compacted away).
                    if self.bounded() {
                        self.next = self.next.max(self.end);
                    }
                    break;
                }
                Some(Err(e)) if self.fatal(&e) => {
                    return Err(self
                        .uri
                        .part_error(self.partition, format!("at offset {}: {e}", self.next)));
                }
                // The broker is away or busy: librdkafka reconnects.
                Some(Err(_)) if out.is_empty() && self.bounded() => self.check_stall(started)?,
                Some(Err(_)) => break,
            }
        }
        if self.bounded() && self.next >= self.end && out.is_empty() {
            return Ok(Poll::Done);
        }
        if out.is_empty() && !self.bounded() {
            return Ok(Poll::Pending(IDLE));
        }
        Ok(Poll::Ready)
    }

    fn position(&self) -> Vec<u8> {
        encode_position(self.next, self.end)
    }
}

impl<T> KafkaPart<T> {
    /// Bounded mode: fails once nothing came for the stall timeout.
    fn check_stall(&self, started: Instant) -> Result<()> {
        if started.elapsed() < self.stall {
            return Ok(());
        }
        Err(self.uri.part_error(
            self.partition,
            format!(
                "no message for {:?} while offsets {}..{} remain to be read (is the broker up?)",
                self.stall, self.next, self.end
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip() {
        assert_eq!(decode_position(&encode_position(17, -1)), Some((17, -1)));
        assert_eq!(decode_position(&encode_position(0, 9)), Some((0, 9)));
        assert_eq!(decode_position(b"short"), None);
    }
}
