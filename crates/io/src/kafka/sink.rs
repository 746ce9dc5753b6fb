//! [`KafkaSink`]: rows as messages, exactly-once across crashes by
//! deterministic positions in a header; optionally each snapshot epoch's
//! rows in one broker transaction ([`KafkaSink::transactional`]).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{Offset, TopicPartitionList};

use super::{find_topic, KafkaUri};
use crate::{Result, Sink, SinkPartition, SinkRouting};

/// The header every message of an exactly-once [`KafkaSink`] carries:
/// `ID:PARTITION:SEQUENCE` (decimal), the sink's dedup id, the output
/// partition and the message's place among the sink's messages in it
/// (from 0).
pub const POSITION_HEADER: &str = "eddy-pos";

/// How long a produced message may take to be acknowledged, and a flush or
/// a full queue may wait, before the run fails naming the broker.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// The default of [`KafkaSink::transaction_timeout`] (librdkafka's own
/// default of `transaction.timeout.ms`): 60 s.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// Appends an item's key (left empty for none) and value.
type Encode<T> = Arc<dyn Fn(&T, &mut Vec<u8>, &mut Vec<u8>) + Send + Sync>;

/// Writes items to a Kafka topic from one writer (worker 0), with an
/// idempotent producer. The output partition of an item is Kafka's default
/// for its key (murmur2, as the Java client), or of its value when it has
/// no key, so that it depends on the item alone.
///
/// Without a dedup id: at-least-once (a resumed run writes again what the
/// crashed one wrote after its last snapshot). With one
/// ([`KafkaSink::exactly_once`]): every message carries
/// [`POSITION_HEADER`]; a snapshot records how many messages went to each
/// partition; a resume (and a first start, which may follow a crash before
/// any snapshot) reads the last message of each partition and skips the
/// regenerated items up to it. Messages without this sink's header at the
/// end of a partition (someone else wrote the topic) are an error unless
/// [`KafkaSink::allow_foreign`].
///
/// [`KafkaSink::transactional`] adds broker transactions on top: each
/// snapshot epoch's messages are one transaction, committed by the sink's
/// snapshot, so `read_committed` consumers never see a message that a
/// crash could take back (ARCHITECTURE.md, "Kafka").
pub struct KafkaSink<T> {
    uri: KafkaUri,
    encode: Encode<T>,
    dedup: Option<String>,
    allow_foreign: bool,
    create: Option<i32>,
    idempotent: bool,
    transactional: bool,
    transaction_timeout: Duration,
}

impl<T> std::fmt::Debug for KafkaSink<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("uri", &self.uri)
            .field("dedup", &self.dedup)
            .field("allow_foreign", &self.allow_foreign)
            .field("transactional", &self.transactional)
            .finish_non_exhaustive()
    }
}

impl<T: 'static> KafkaSink<T> {
    /// A sink to `uri`'s topic (which must exist); `encode` appends an
    /// item's key (nothing for a message without key) and its value.
    pub fn new(
        uri: KafkaUri,
        encode: impl Fn(&T, &mut Vec<u8>, &mut Vec<u8>) + Send + Sync + 'static,
    ) -> Self {
        KafkaSink {
            uri,
            encode: Arc::new(encode),
            dedup: None,
            allow_foreign: false,
            create: None,
            idempotent: true,
            transactional: false,
            transaction_timeout: TRANSACTION_TIMEOUT,
        }
    }

    /// Whether the producer is idempotent (the default; what
    /// [`KafkaSink::exactly_once`] relies on: no duplicates from retries,
    /// no gaps). Off: one request in flight per connection (order kept),
    /// a retry may duplicate a message — for load generators, or brokers
    /// whose idempotence is broken.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Creates the topic with this many partitions when it does not exist
    /// (by default a missing topic is an error).
    pub fn create_missing(mut self, partitions: i32) -> Self {
        self.create = Some(partitions);
        self
    }

    /// The topic's partition count, creating it if asked.
    fn partitions(&self, consumer: &BaseConsumer) -> Result<i32> {
        let missing = match find_topic(consumer, &self.uri)? {
            Ok(n) => return Ok(n),
            Err(why) => why,
        };
        let Some(partitions) = self.create else {
            return Err(self.uri.error(missing));
        };
        super::create_topic(&self.uri, partitions)?;
        // The new topic's metadata reaches every broker soon after.
        let started = Instant::now();
        loop {
            match find_topic(consumer, &self.uri)? {
                Ok(n) => return Ok(n),
                Err(why) if started.elapsed() > self.uri.timeout => return Err(self.uri.error(why)),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Exactly-once across resumes: `id` names this job's messages (the
    /// same for every run of one job, different for different jobs writing
    /// one topic; no `:`).
    pub fn exactly_once(mut self, id: impl Into<String>) -> Self {
        self.dedup = Some(id.into().replace(':', "_"));
        self
    }

    /// Exactly-once as [`KafkaSink::exactly_once`] (`id` the same), and in
    /// broker transactions: the writer's producer has the
    /// `transactional.id` `ID.tx.WORKER` (writer 0: `ID.tx.0`), the same in
    /// every run of the job, so that opening it fences a crashed run's
    /// producer and aborts its open transaction; each snapshot commits the
    /// transaction of the messages written since the previous one (and
    /// [`SinkPartition::close`] the last), and the resume's read-back sees
    /// committed messages only (`isolation.level=read_committed`). Needs a
    /// broker with transactions; a writer dropped without a snapshot (a
    /// failed run) aborts its open transaction.
    pub fn transactional(self, id: impl Into<String>) -> Self {
        let mut sink = self.exactly_once(id);
        sink.transactional = true;
        sink.idempotent = true;
        sink
    }

    /// With [`KafkaSink::transactional`]: how long a transaction may stay
    /// open before the broker aborts it (`transaction.timeout.ms`; default
    /// 60 s, librdkafka's). Snapshots must come well within it; it
    /// is also how long a crashed run's transaction holds `read_committed`
    /// consumers back when the job is not restarted.
    pub fn transaction_timeout(mut self, timeout: Duration) -> Self {
        self.transaction_timeout = timeout;
        self
    }

    /// With [`KafkaSink::exactly_once`]: messages of others (without this
    /// sink's header or with another id) may follow this sink's in the
    /// topic; the read-back then looks further back for this sink's last
    /// message instead of failing.
    pub fn allow_foreign(mut self, allow: bool) -> Self {
        self.allow_foreign = allow;
        self
    }

    fn producer(&self, worker: usize) -> Result<BaseProducer<Delivery>> {
        // librdkafka wants message.timeout.ms <= transaction.timeout.ms.
        let delivery = if self.transactional {
            DELIVERY_TIMEOUT.min(self.transaction_timeout)
        } else {
            DELIVERY_TIMEOUT
        };
        let ms = delivery.as_millis().to_string();
        let idempotence: &[(&str, &str)] = if self.idempotent {
            &[
                ("enable.idempotence", "true"),
                // A batch that fails for good stops the producer rather than
                // leave a gap that later messages would hide from the
                // read-back.
                ("enable.gapless.guarantee", "true"),
            ]
        } else {
            &[
                ("enable.idempotence", "false"),
                ("max.in.flight.requests.per.connection", "1"),
            ]
        };
        let mut defaults = idempotence.to_vec();
        defaults.extend([
            ("linger.ms", "5"),
            ("message.timeout.ms", ms.as_str()),
            // A bounded queue: a slow broker slows the run down rather
            // than time out messages that waited in the queue.
            ("queue.buffering.max.messages", "20000"),
        ]);
        let tx_id = self.tx_id(worker);
        let tx_ms = self.transaction_timeout.as_millis().to_string();
        if let Some(tx_id) = &tx_id {
            defaults.extend([
                ("transactional.id", tx_id.as_str()),
                ("transaction.timeout.ms", tx_ms.as_str()),
            ]);
        }
        self.uri
            .client_config(&defaults)
            .create_with_context(Delivery::default())
            .map_err(|e| self.uri.error(format!("cannot create a producer: {e}")))
    }

    fn consumer(&self) -> Result<BaseConsumer> {
        self.uri
            .client_config(&[
                ("group.id", "eddy-sink-readback"),
                // Aborted and still-open transactions are not ours to
                // count (librdkafka's default, stated).
                ("isolation.level", "read_committed"),
                ("enable.auto.commit", "false"),
                ("enable.partition.eof", "true"),
                ("auto.offset.reset", "earliest"),
                ("allow.auto.create.topics", "false"),
            ])
            .create()
            .map_err(|e| self.uri.error(format!("cannot create a consumer: {e}")))
    }

    /// Writer `worker`'s `transactional.id` (transactional sinks only).
    fn tx_id(&self, worker: usize) -> Option<String> {
        self.dedup
            .as_ref()
            .filter(|_| self.transactional)
            .map(|id| transactional_id(id, worker))
    }

    /// Opens the writer: `written[p]` = messages this sink wrote to `p`
    /// according to the snapshot (all 0 for a first start).
    fn open(&self, worker: usize, written: Option<Vec<u64>>) -> Result<Box<dyn SinkPartition<T>>> {
        let producer = self.producer(worker)?;
        let consumer = self.consumer()?;
        let n = self.partitions(&consumer)?;
        let tx_id = self.tx_id(worker);
        if self.transactional {
            // Before the read-back: fences the crashed run's producer and
            // aborts its open transaction, whose messages a read_committed
            // read-back must not count (and which would hold it back).
            producer
                .init_transactions(self.uri.timeout.max(DELIVERY_TIMEOUT))
                .map_err(|e| {
                    self.uri.error(transaction_error(
                        "cannot start transactions",
                        &e,
                        tx_id.as_deref(),
                    ))
                })?;
        }
        let n_usize = n as usize;
        let written = match written {
            Some(w) if w.len() != n_usize => {
                return Err(self.uri.error(format!(
                    "the snapshot was taken with {} output partitions, the topic has {n} now: output \
                     positions would differ (restore the partition count or start a new job)",
                    w.len()
                )))
            }
            Some(w) => w,
            None => vec![0; n_usize],
        };
        let mut skip = vec![0u64; n_usize];
        if let Some(id) = &self.dedup {
            for p in 0..n {
                let on_topic = readback::last_sequence(&consumer, &self.uri, p, id, self.allow_foreign)?;
                let i = p as usize;
                let on_topic = on_topic.map_or(0, |s| s + 1);
                if on_topic < written[i] {
                    return Err(self.uri.part_error(
                        p,
                        format!(
                            "the snapshot says this job wrote {} messages here, the topic holds only {on_topic} of \
                             them: messages were deleted (retention?) or the topic was recreated",
                            written[i]
                        ),
                    ));
                }
                skip[i] = on_topic;
            }
            pause_after_readback();
        }
        if self.transactional {
            producer.begin_transaction().map_err(|e| {
                self.uri.error(transaction_error(
                    "cannot begin a transaction",
                    &e,
                    tx_id.as_deref(),
                ))
            })?;
        }
        Ok(Box::new(KafkaWriter {
            uri: self.uri.clone(),
            producer,
            encode: self.encode.clone(),
            dedup: self.dedup.clone(),
            next: written,
            skip,
            key: Vec::new(),
            value: Vec::new(),
            produced: 0,
            pause: pause_after_writes_hook(),
            commit_pause: pause_in_commit_hook(),
            commits: 0,
            in_transaction: self.transactional,
            tx_id,
        }))
    }
}

impl<T: 'static> Sink<T> for KafkaSink<T> {
    fn routing(&self) -> SinkRouting {
        SinkRouting::Single
    }

    fn build(&self, worker: usize, _workers: usize) -> Result<Box<dyn SinkPartition<T>>> {
        self.open(worker, None)
    }

    fn resume(&self, worker: usize, _workers: usize, state: &[u8]) -> Result<Box<dyn SinkPartition<T>>> {
        let written = decode_state(state)
            .ok_or_else(|| self.uri.error("the snapshot's sink state is not a Kafka sink's"))?;
        self.open(worker, Some(written))
    }
}

/// The `transactional.id` of writer `worker` of a [`KafkaSink::transactional`]
/// sink with dedup id `id`: `ID.tx.WORKER`, the same in every run of the
/// job, so that a restarted run's producer fences the crashed one's.
fn transactional_id(id: &str, worker: usize) -> String {
    format!("{}.tx.{worker}", id.replace(':', "_"))
}

/// A transaction call's error, saying when the broker lacks transactions
/// and naming the run that fenced this one.
fn transaction_error(what: &str, e: &KafkaError, tx_id: Option<&str>) -> String {
    let code = e.rdkafka_error_code();
    if is_fencing(code) {
        return format!("{what}: {e}: {}", fenced_message(tx_id));
    }
    let unsupported = matches!(
        code,
        Some(
            RDKafkaErrorCode::UnsupportedVersion
                | RDKafkaErrorCode::UnsupportedFeature
                | RDKafkaErrorCode::InvalidRequest
                | RDKafkaErrorCode::CoordinatorNotAvailable
        )
    );
    if unsupported {
        format!(
            "{what}: {e}; does the broker support transactions? (--kafka-sink transactional needs them; \
             --kafka-sink idempotent is exactly-once with -r on any broker)"
        )
    } else {
        format!("{what}: {e}")
    }
}

/// Whether a client error code says that another producer of the same
/// `transactional.id` took over (this one is fenced).
fn is_fencing(code: Option<RDKafkaErrorCode>) -> bool {
    matches!(
        code,
        Some(
            RDKafkaErrorCode::Fenced
                | RDKafkaErrorCode::ProducerFenced
                | RDKafkaErrorCode::InvalidProducerEpoch
        )
    )
}

/// What a fenced writer says: another run of the job took the output over.
fn fenced_message(tx_id: Option<&str>) -> String {
    let id = tx_id.map_or_else(
        || "same transactional.id".to_owned(),
        |id| format!("transactional.id {id}"),
    );
    format!(
        "another run of this job ({id}) has fenced this one: that run now writes the output; this run \
         stops, and what it wrote since its last snapshot was aborted (never visible to read_committed \
         consumers)"
    )
}

/// Test hook: with `EDDY_TEST_PAUSE_IN_READBACK=DIR` in the environment, an
/// exactly-once writer that has read the topic back creates
/// `DIR/test-paused-in-readback` and waits there for ever, so that a test can
/// `kill -9` the run at that moment (crates/cli/tests/kafka.rs).
pub const PAUSE_READBACK_ENV: &str = "EDDY_TEST_PAUSE_IN_READBACK";

/// Test hook: with `EDDY_TEST_PAUSE_AFTER_WRITES=N:DIR`, a writer that has
/// produced `N` messages flushes them, creates `DIR/test-paused-after-writes`
/// and waits there until the file is removed (then goes on): a forced
/// crash, or a frozen run, with messages on the topic (in an open
/// transaction, for a transactional sink) that no snapshot covers.
pub const PAUSE_WRITES_ENV: &str = "EDDY_TEST_PAUSE_AFTER_WRITES";

/// Test hook: with `EDDY_TEST_PAUSE_IN_COMMIT=N:DIR`, a transactional
/// writer whose `N`th snapshot commit has just been acknowledged by the
/// broker creates `DIR/test-paused-in-commit` and waits there until the
/// file is removed: a forced crash after the Kafka commit and before the
/// recovery store has the snapshot.
pub const PAUSE_COMMIT_ENV: &str = "EDDY_TEST_PAUSE_IN_COMMIT";

fn pause_after_writes_hook() -> Option<(u64, std::path::PathBuf)> {
    count_and_marker(PAUSE_WRITES_ENV, "test-paused-after-writes")
}

fn pause_in_commit_hook() -> Option<(u64, std::path::PathBuf)> {
    count_and_marker(PAUSE_COMMIT_ENV, "test-paused-in-commit")
}

/// `N:DIR` from the environment variable `var`: `(N, DIR/marker)`.
fn count_and_marker(var: &str, marker: &str) -> Option<(u64, std::path::PathBuf)> {
    let value = std::env::var(var).ok()?;
    let (n, dir) = value.split_once(':')?;
    Some((n.parse().ok()?, std::path::Path::new(dir).join(marker)))
}

/// Creates `marker` and waits until it is removed (a test kills or
/// freezes the process meanwhile).
fn pause_at(marker: &std::path::Path) {
    if std::fs::write(marker, b"").is_ok() {
        while marker.exists() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn pause_after_readback() {
    let Some(dir) = std::env::var_os(PAUSE_READBACK_ENV) else {
        return;
    };
    let marker = std::path::Path::new(&dir).join("test-paused-in-readback");
    if std::fs::write(&marker, b"").is_ok() {
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

/// A snapshot's state: messages written per partition (`u64` LE each).
fn encode_state(next: &[u64]) -> Vec<u8> {
    next.iter().flat_map(|n| n.to_le_bytes()).collect()
}

fn decode_state(bytes: &[u8]) -> Option<Vec<u64>> {
    if !bytes.len().is_multiple_of(8) {
        return None;
    }
    bytes
        .chunks_exact(8)
        .map(|c| c.try_into().ok().map(u64::from_le_bytes))
        .collect()
}

/// Collects the first delivery failure.
#[derive(Default)]
struct Delivery {
    failed: Mutex<Option<String>>,
}

impl ClientContext for Delivery {}

impl ProducerContext for Delivery {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _opaque: ()) {
        if let Err((e, msg)) = result {
            let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
            failed.get_or_insert_with(|| format!("partition {}: delivery failed: {e}", msg.partition()));
        }
    }
}

/// The open writer.
struct KafkaWriter<T> {
    uri: KafkaUri,
    producer: BaseProducer<Delivery>,
    encode: Encode<T>,
    dedup: Option<String>,
    /// Per partition: this sink's messages so far (written or skipped).
    next: Vec<u64>,
    /// Per partition: messages already on the topic (skipped when
    /// regenerated).
    skip: Vec<u64>,
    key: Vec<u8>,
    value: Vec<u8>,
    /// Messages produced since the writer opened.
    produced: u64,
    /// The test hook [`PAUSE_WRITES_ENV`].
    pause: Option<(u64, std::path::PathBuf)>,
    /// The test hook [`PAUSE_COMMIT_ENV`].
    commit_pause: Option<(u64, std::path::PathBuf)>,
    /// Transactions committed since the writer opened.
    commits: u64,
    /// A transaction is open (transactional sinks only).
    in_transaction: bool,
    /// The producer's `transactional.id` (transactional sinks only).
    tx_id: Option<String>,
}

impl<T> KafkaWriter<T> {
    /// `Err` naming the other run when this transactional producer was
    /// fenced (librdkafka then fails every call with a fatal error).
    fn check_fenced(&self) -> Result<()> {
        self.check_fenced_while("cannot write")
    }

    /// [`check_fenced`](Self::check_fenced), saying what was being done.
    fn check_fenced_while(&self, what: &str) -> Result<()> {
        if self.tx_id.is_none() {
            return Ok(());
        }
        match self.producer.client().fatal_error() {
            Some((code, why)) if is_fencing(Some(code)) => Err(self.uri.error(format!(
                "{what}: {why}: {}",
                fenced_message(self.tx_id.as_deref())
            ))),
            _ => Ok(()),
        }
    }

    fn check_delivery(&self) -> Result<()> {
        self.check_fenced()?;
        let failed = self
            .producer
            .context()
            .failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match failed.as_ref() {
            Some(why) => Err(self.uri.error(why)),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> Result<()> {
        if let Err(e) = self.producer.flush(DELIVERY_TIMEOUT) {
            self.check_fenced()?;
            return Err(self.uri.unreachable("cannot flush the output", e));
        }
        self.check_delivery()
    }

    /// Commits the open transaction (after flushing it); `again` begins
    /// the next one. A failed commit fails the run: its messages are
    /// aborted (now, or by the next run's fencing) and regenerated by the
    /// resume.
    fn commit(&mut self, again: bool) -> Result<()> {
        if !self.in_transaction {
            return Ok(());
        }
        self.in_transaction = false;
        self.check_fenced_while("cannot commit the snapshot's transaction")?;
        self.check_delivery()?;
        if let Err(e) = self.producer.commit_transaction(DELIVERY_TIMEOUT) {
            let aborted = self.producer.abort_transaction(DELIVERY_TIMEOUT).is_ok();
            let then = if aborted {
                "aborted"
            } else {
                "left to the next run to abort"
            };
            let what = format!("cannot commit the snapshot's transaction ({then})");
            self.check_fenced_while(&what)?;
            return Err(self
                .uri
                .error(transaction_error(&what, &e, self.tx_id.as_deref())));
        }
        self.commits += 1;
        if let Some((at, marker)) = &self.commit_pause {
            if self.commits == *at {
                pause_at(marker);
            }
        }
        self.check_delivery()?;
        if again {
            self.producer.begin_transaction().map_err(|e| {
                self.uri.error(transaction_error(
                    "cannot begin a transaction",
                    &e,
                    self.tx_id.as_deref(),
                ))
            })?;
            self.in_transaction = true;
        }
        Ok(())
    }
}

impl<T> Drop for KafkaWriter<T> {
    /// A writer dropped in a transaction (a failed or stopped run) aborts
    /// it; if it cannot, the next run's fencing does.
    fn drop(&mut self) {
        if self.in_transaction {
            let _ = self.producer.abort_transaction(self.uri.timeout);
        }
    }
}

impl<T> SinkPartition<T> for KafkaWriter<T> {
    fn write_batch(&mut self, items: &mut Vec<T>) -> Result<()> {
        let n = self.next.len() as u32;
        for item in items.drain(..) {
            self.key.clear();
            self.value.clear();
            (self.encode)(&item, &mut self.key, &mut self.value);
            let by = if self.key.is_empty() {
                &self.value
            } else {
                &self.key
            };
            let p = (murmur2(by) & 0x7fff_ffff) % n;
            let i = p as usize;
            let seq = self.next[i];
            self.next[i] += 1;
            if seq < self.skip[i] {
                continue;
            }
            let mut record = BaseRecord::to(&self.uri.topic)
                .partition(p as i32)
                .payload(self.value.as_slice());
            if !self.key.is_empty() {
                record = record.key(self.key.as_slice());
            }
            if let Some(id) = &self.dedup {
                let pos = format!("{id}:{p}:{seq}");
                record = record.headers(OwnedHeaders::new().insert(Header {
                    key: POSITION_HEADER,
                    value: Some(pos.as_bytes()),
                }));
            }
            let started = Instant::now();
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        if started.elapsed() > DELIVERY_TIMEOUT {
                            return Err(self
                                .uri
                                .unreachable("the producer's queue stayed full", "queue full"));
                        }
                        record = back;
                        self.producer.poll(Duration::from_millis(20));
                    }
                    Err((e, _)) => {
                        self.check_fenced()?;
                        return Err(self.uri.part_error(p as i32, format!("cannot produce: {e}")));
                    }
                }
            }
            self.produced += 1;
        }
        if let Some((after, marker)) = &self.pause {
            if self.produced >= *after {
                let marker = marker.clone();
                self.flush()?;
                self.pause = None;
                pause_at(&marker);
            }
        }
        self.producer.poll(Duration::ZERO);
        self.check_delivery()
    }

    fn close(&mut self) -> Result<()> {
        self.flush()?;
        self.commit(false)
    }

    fn snapshot(&mut self) -> Result<Vec<u8>> {
        self.flush()?;
        self.commit(true)?;
        Ok(encode_state(&self.next))
    }
}

mod readback {
    //! Finding this sink's last message in a partition.

    use super::*;

    /// Where a message came from, by its header.
    enum Whose {
        Ours(u64),
        Foreign,
    }

    fn whose<M: Message>(msg: &M, id: &str, partition: i32) -> Whose {
        let Some(value) = msg
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == POSITION_HEADER).and_then(|h| h.value))
        else {
            return Whose::Foreign;
        };
        let text = std::str::from_utf8(value).unwrap_or("");
        let mut fields = text.rsplitn(3, ':');
        let (seq, p, who) = (fields.next(), fields.next(), fields.next());
        match (
            who,
            p.and_then(|p| p.parse::<i32>().ok()),
            seq.and_then(|s| s.parse().ok()),
        ) {
            (Some(who), Some(p), Some(seq)) if who == id && p == partition => Whose::Ours(seq),
            _ => Whose::Foreign,
        }
    }

    /// The sequence of this sink's last message in `partition` (`None`:
    /// none there). Reads back from the end, a few messages first.
    pub(super) fn last_sequence(
        consumer: &BaseConsumer,
        uri: &KafkaUri,
        partition: i32,
        id: &str,
        allow_foreign: bool,
    ) -> Result<Option<u64>> {
        let (low, high) = consumer
            .fetch_watermarks(&uri.topic, partition, uri.timeout)
            .map_err(|e| uri.unreachable(&format!("partition {partition}: cannot read its offsets"), e))?;
        let mut window: i64 = 1;
        loop {
            let from = (high - window).max(low);
            if from >= high {
                return Ok(None);
            }
            let (last_ours, foreign_after) = scan(consumer, uri, partition, from, high, id)?;
            if let Some(offset) = foreign_after {
                if !allow_foreign {
                    return Err(uri.part_error(
                        partition,
                        format!(
                            "the message at offset {offset} was not written by this job (no {POSITION_HEADER} \
                             header with id {id:?}): exactly-once needs a topic that only this job writes; \
                             use another output topic, or allow others' messages (--kafka-allow-foreign)"
                        ),
                    ));
                }
            }
            if last_ours.is_some() || from == low {
                return Ok(last_ours);
            }
            window = window.saturating_mul(16);
        }
    }

    /// Reads `[from, high)`: the last sequence of ours, and the offset of
    /// the first foreign message after it.
    fn scan(
        consumer: &BaseConsumer,
        uri: &KafkaUri,
        partition: i32,
        from: i64,
        high: i64,
        id: &str,
    ) -> Result<(Option<u64>, Option<i64>)> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&uri.topic, partition, Offset::Offset(from))
            .map_err(|e| uri.part_error(partition, e))?;
        consumer
            .assign(&tpl)
            .map_err(|e| uri.part_error(partition, format!("cannot assign: {e}")))?;
        let mut ours = None;
        let mut foreign_after = None;
        let started = Instant::now();
        loop {
            if started.elapsed() > uri.timeout {
                return Err(uri.unreachable(
                    &format!("partition {partition}: cannot read back offsets {from}..{high}"),
                    "timed out",
                ));
            }
            match consumer.poll(Duration::from_millis(100)) {
                None => continue,
                Some(Ok(msg)) if msg.partition() != partition => continue,
                Some(Ok(msg)) => {
                    if msg.offset() >= high {
                        break;
                    }
                    match whose(&msg, id, partition) {
                        Whose::Ours(seq) => {
                            ours = Some(seq);
                            foreign_after = None;
                        }
                        Whose::Foreign => {
                            foreign_after.get_or_insert(msg.offset());
                        }
                    }
                    if msg.offset() + 1 >= high {
                        break;
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) => break,
                Some(Err(_)) => continue,
            }
        }
        Ok((ours, foreign_after))
    }
}

/// Kafka's murmur2 (the Java client's `Utils.murmur2`), for its default
/// partitioning: partition = `(murmur2(key) & 0x7fffffff) % partitions`.
pub fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_is_the_java_clients() {
        // Kafka's UtilsTest.testMurmur2.
        for (text, want) in [
            ("21", -973932308i32),
            ("foobar", -790332482),
            ("a-little-bit-long-string", -985981536),
            ("a-little-bit-longer-string", -1486304829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            ("abc", 479470107),
        ] {
            assert_eq!(murmur2(text.as_bytes()) as i32, want, "{text}");
        }
    }

    #[test]
    fn transactional_ids_are_stable_per_job_and_writer() {
        assert_eq!(transactional_id("job", 0), transactional_id("job", 0));
        assert_eq!(transactional_id("a:b", 0), "a_b.tx.0");
        assert_ne!(transactional_id("job", 0), transactional_id("job", 1));
        assert_ne!(transactional_id("job", 0), transactional_id("job2", 0));
    }

    #[test]
    fn sink_state_round_trips() {
        assert_eq!(decode_state(&encode_state(&[3, 0, 7])), Some(vec![3, 0, 7]));
        assert_eq!(decode_state(&[1, 2, 3]), None);
    }

    #[test]
    fn a_broker_without_transactions_is_named_with_the_way_out() {
        let e = KafkaError::MessageProduction(RDKafkaErrorCode::UnsupportedVersion);
        let text = transaction_error("cannot start transactions", &e, None);
        assert!(text.starts_with("cannot start transactions: "), "{text}");
        assert!(
            text.contains("does the broker support transactions?")
                && text.contains("--kafka-sink idempotent"),
            "{text}"
        );
    }

    #[test]
    fn a_fenced_writer_names_the_other_run() {
        let e = KafkaError::MessageProduction(RDKafkaErrorCode::ProducerFenced);
        let text = transaction_error("cannot commit", &e, Some("job.tx.0"));
        assert!(
            text.contains("another run of this job") && text.contains("has fenced this one"),
            "{text}"
        );
        assert!(fenced_message(Some("job.tx.0")).contains("(transactional.id job.tx.0)"));
    }
}
