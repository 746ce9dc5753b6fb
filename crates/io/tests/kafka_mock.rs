//! KafkaSource and KafkaSink against librdkafka's mock cluster (in-process,
//! no broker): bounded reads, resume positions, and the sink's header
//! dedup across a "crash". The same paths run against a real broker in
//! crates/cli/tests/kafka.rs.

use std::time::Duration;

use eddy_io::kafka::{KafkaRecord, KafkaSink, KafkaSource, KafkaStart, KafkaUri, POSITION_HEADER};
use eddy_io::{Poll, Sink, Source, SourcePartition};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

fn cluster(
    topics: &[(&str, i32)],
) -> (
    MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    String,
) {
    let cluster = MockCluster::new(1).unwrap();
    for (t, n) in topics {
        cluster.create_topic(t, *n, 1).unwrap();
    }
    let servers = cluster.bootstrap_servers();
    (cluster, servers)
}

fn uri(servers: &str, topic: &str) -> KafkaUri {
    KafkaUri::parse(&format!("kafka://{servers}/{topic}"))
        .unwrap()
        .timeout(Duration::from_secs(10))
}

/// Produces `values` to explicit partitions.
fn produce(servers: &str, topic: &str, values: &[(i32, String)]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .create()
        .unwrap();
    for (p, v) in values {
        producer
            .send(BaseRecord::<(), _>::to(topic).partition(*p).payload(v.as_str()))
            .unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();
}

/// Every message of `topic`: (partition, key, value, eddy-pos header), in
/// partition then offset order.
type Message3 = (i32, String, String, Option<String>);

fn read_all(servers: &str, topic: &str, partitions: i32) -> Vec<Message3> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", "test")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut out = Vec::new();
    for p in 0..partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .unwrap();
        if low == high {
            continue;
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, p, Offset::Offset(low)).unwrap();
        consumer.assign(&tpl).unwrap();
        let mut next = low;
        while next < high {
            let Some(msg) = consumer.poll(Duration::from_secs(10)) else {
                panic!("no message at {p}@{next}");
            };
            let msg = msg.unwrap();
            let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
            let header = msg
                .headers()
                .and_then(|h| h.iter().find(|h| h.key == POSITION_HEADER).map(|h| text(h.value)));
            out.push((p, text(msg.key()), text(msg.payload()), header));
            next = msg.offset() + 1;
        }
    }
    out
}

/// Reads a partition to its end (bounded), returning the values and the
/// position after each batch.
fn drain(part: &mut dyn SourcePartition<String>) -> Vec<String> {
    let mut all = Vec::new();
    loop {
        let mut batch = Vec::new();
        match part.next_batch(&mut batch, 3).unwrap() {
            Poll::Done => return all,
            Poll::Ready => all.append(&mut batch),
            Poll::Pending(_) => panic!("a bounded partition never answers Pending"),
        }
    }
}

fn decode(r: &KafkaRecord<'_>) -> String {
    format!(
        "{}@{}:{}",
        r.partition(),
        r.offset(),
        String::from_utf8_lossy(r.value())
    )
}

#[test]
fn bounded_source_reads_each_partition_to_the_end_seen_at_start_and_resumes_at_its_position() {
    let (_cluster, servers) = cluster(&[("events", 2)]);
    let values: Vec<(i32, String)> = (0..10).map(|i| (i % 2, format!("v{i}"))).collect();
    produce(&servers, "events", &values);
    let source = KafkaSource::new(uri(&servers, "events"), decode)
        .start(KafkaStart::Earliest)
        .until_end(true);
    let parts = source.list_parts().unwrap();
    assert_eq!(parts, ["events/0", "events/1"]);
    let mut p0 = source.build_part("events/0", None).unwrap();
    // Messages produced after the partition was opened are not read.
    produce(&servers, "events", &[(0, "after".into())]);
    let mut first = Vec::new();
    assert_eq!(p0.next_batch(&mut first, 2).unwrap(), Poll::Ready);
    assert_eq!(first, ["0@0:v0", "0@1:v2"]);
    let at = p0.position();
    let rest = drain(&mut *p0);
    assert_eq!(rest, ["0@2:v4", "0@3:v6", "0@4:v8"]);
    // A resume from the position reads the same rest, and stops at the
    // same end although the partition has grown.
    let mut again = source.build_part("events/0", Some(&at)).unwrap();
    assert_eq!(drain(&mut *again), rest);
    let mut p1 = source.build_part("events/1", None).unwrap();
    assert_eq!(drain(&mut *p1).len(), 5);
}

#[test]
fn live_source_answers_pending_when_idle_and_reads_what_comes_later() {
    let (_cluster, servers) = cluster(&[("live", 1)]);
    let source = KafkaSource::new(uri(&servers, "live"), decode).start(KafkaStart::Latest);
    produce(&servers, "live", &[(0, "old".into())]);
    let mut part = source.build_part("live/0", None).unwrap();
    let mut batch = Vec::new();
    assert!(matches!(
        part.next_batch(&mut batch, 10).unwrap(),
        Poll::Pending(_)
    ));
    produce(&servers, "live", &[(0, "new".into())]);
    // The moment the message arrives is forced by polling until it does;
    // no assertion on how long that takes.
    let mut got = Vec::new();
    while got.is_empty() {
        let mut batch = Vec::new();
        let poll = part.next_batch(&mut batch, 10).unwrap();
        assert_ne!(poll, Poll::Done, "a live partition never ends");
        got.extend(batch);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(got, ["0@1:new"]);
}

#[test]
fn a_missing_topic_is_named() {
    let (_cluster, servers) = cluster(&[]);
    let source = KafkaSource::new(uri(&servers, "nope"), decode);
    let e = source.list_parts().unwrap_err().to_string();
    assert!(e.contains("/nope") && e.contains("must exist"), "{e}");
}

fn row_sink(servers: &str) -> KafkaSink<(String, String)> {
    KafkaSink::new(uri(servers, "rows"), |row: &(String, String), key, value| {
        key.extend_from_slice(row.0.as_bytes());
        value.extend_from_slice(row.1.as_bytes());
    })
    .exactly_once("job1")
}

fn rows(range: std::ops::Range<u32>) -> Vec<(String, String)> {
    range
        .map(|i| (format!("user{}", i % 7), format!("row{i}")))
        .collect()
}

#[test]
fn exactly_once_sink_skips_the_rows_a_crashed_run_wrote_after_its_snapshot() {
    let (_cluster, servers) = cluster(&[("rows", 3)]);
    let sink = row_sink(&servers);
    let mut w = sink.build(0, 1).unwrap();
    w.write_batch(&mut rows(0..20)).unwrap();
    let state = w.snapshot().unwrap();
    // Written after the snapshot, then the "crash" (flushed first, so the
    // rows are on the topic as a crashed run's could be).
    w.write_batch(&mut rows(20..33)).unwrap();
    w.snapshot().unwrap();
    drop(w);
    // The resumed run regenerates every row after the snapshot.
    let mut w = sink.resume(0, 1, &state).unwrap();
    w.write_batch(&mut rows(20..50)).unwrap();
    w.close().unwrap();
    drop(w);
    let got = read_all(&servers, "rows", 3);
    let mut values: Vec<&str> = got.iter().map(|m| m.2.as_str()).collect();
    values.sort_by_key(|v| v[3..].parse::<u32>().unwrap());
    let want: Vec<String> = (0..50).map(|i| format!("row{i}")).collect();
    assert_eq!(values, want, "every row once");
    // Per partition: sequences 0, 1, 2, … in order, keyed by user.
    for p in 0..3 {
        let seqs: Vec<String> = got
            .iter()
            .filter(|m| m.0 == p)
            .map(|m| m.3.clone().unwrap())
            .collect();
        let want: Vec<String> = (0..seqs.len()).map(|s| format!("job1:{p}:{s}")).collect();
        assert_eq!(seqs, want);
    }
    let same_user_same_partition = got
        .iter()
        .all(|m| got.iter().filter(|o| o.1 == m.1).all(|o| o.0 == m.0));
    assert!(same_user_same_partition);
}

#[test]
fn a_first_start_after_a_crash_before_any_snapshot_skips_what_was_written() {
    let (_cluster, servers) = cluster(&[("rows", 2)]);
    let sink = row_sink(&servers);
    let mut w = sink.build(0, 1).unwrap();
    w.write_batch(&mut rows(0..9)).unwrap();
    w.close().unwrap();
    drop(w);
    let mut w = sink.build(0, 1).unwrap();
    w.write_batch(&mut rows(0..12)).unwrap();
    w.close().unwrap();
    drop(w);
    assert_eq!(read_all(&servers, "rows", 2).len(), 12);
}

#[test]
fn a_topic_written_by_someone_else_is_refused_unless_allowed() {
    let (_cluster, servers) = cluster(&[("rows", 1)]);
    let sink = row_sink(&servers);
    let mut w = sink.build(0, 1).unwrap();
    w.write_batch(&mut rows(0..4)).unwrap();
    w.close().unwrap();
    drop(w);
    produce(&servers, "rows", &[(0, "foreign".into())]);
    let e = match sink.build(0, 1) {
        Ok(_) => panic!("a foreign message at the end must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("offset 4")
            && e.contains("not written by this job")
            && e.contains("--kafka-allow-foreign"),
        "{e}"
    );
    let mut w = row_sink(&servers).allow_foreign(true).build(0, 1).unwrap();
    w.write_batch(&mut rows(0..6)).unwrap();
    w.close().unwrap();
    drop(w);
    let got = read_all(&servers, "rows", 1);
    let values: Vec<&str> = got.iter().map(|m| m.2.as_str()).collect();
    assert_eq!(
        values,
        ["row0", "row1", "row2", "row3", "foreign", "row4", "row5"]
    );
}

#[test]
fn a_snapshot_the_topic_no_longer_holds_is_an_error() {
    let (_cluster, servers) = cluster(&[("rows", 1)]);
    let sink = row_sink(&servers);
    let mut w = sink.build(0, 1).unwrap();
    w.write_batch(&mut rows(0..3)).unwrap();
    let mut state = w.snapshot().unwrap();
    drop(w);
    // A snapshot claiming more rows than the topic holds.
    state[0] = 9;
    let e = match sink.resume(0, 1, &state) {
        Ok(_) => panic!("must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("wrote 9 messages") && e.contains("holds only 3"),
        "{e}"
    );
}
