//! `--kafka-sink transactional` (`KafkaSink::transactional`): each snapshot
//! epoch's rows in one broker transaction, committed by the sink's snapshot;
//! a crashed run's open transaction is fenced by the restarted run.
//!
//! On Apache Kafka (`EDDY_KAFKA_BOOTSTRAP`; `.ci/run` starts one with
//! `scripts/kafka-broker.sh`): rows of an open transaction are invisible to
//! `read_committed` consumers until the snapshot commits, aborted rows are
//! never seen; a frozen run (SIGSTOP mid-transaction) is fenced by a resumed
//! copy of it and, once continued, fails naming the other run and shows
//! nothing; `kill -9` at random and forced moments (in the sink's commit,
//! between the Kafka commit and the store's, with rows in an open
//! transaction) under 1 and 2 workers and 2 processes leaves every row
//! once, in order, for a `read_committed` consumer — and the same for the
//! read-back sink (`--kafka-sink idempotent`).
//!
//! librdkafka's mock cluster speaks the transaction protocol but neither
//! hides uncommitted messages nor fences an older producer; the mock tests
//! check the commit's timing and the fenced writer's message (errors
//! injected).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::kafka::{kill_all, mock, random, real, wait_for_marker, Broker, Rng, Topology};
use common::{latest_complete, run, s, signal, spawn, stderr};
use eddy::connectors::kafka::{
    create_topic, murmur2, KafkaSink, KafkaUri, PAUSE_COMMIT_ENV, PAUSE_WRITES_ENV,
};
use eddy::connectors::Sink;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

impl Broker {
    /// A new topic (unique name) with `partitions`; its `kafka://` URI.
    fn topic(&self, name: &str, partitions: i32) -> String {
        let topic = format!("{name}-{}-{:x}", std::process::id(), random() >> 16);
        let uri = format!("kafka://{}/{topic}", self.servers);
        match &self.mock {
            Some(m) => m.create_topic(&topic, partitions, 1).unwrap(),
            None => assert!(create_topic(&KafkaUri::parse(&uri).unwrap(), partitions).unwrap()),
        }
        uri
    }

    /// What a `read_committed` consumer reads from each partition, in
    /// order (up to the end it reports: the last stable offset).
    fn read_committed(&self, uri: &str) -> Vec<Vec<String>> {
        self.read_isolated(uri, "read_committed")
    }

    /// What a `read_uncommitted` consumer reads: every message on the
    /// topic, in open and aborted transactions too.
    fn read_uncommitted(&self, uri: &str) -> Vec<Vec<String>> {
        self.read_isolated(uri, "read_uncommitted")
    }

    fn read_isolated(&self, uri: &str, isolation: &str) -> Vec<Vec<String>> {
        let topic = KafkaUri::parse(uri).unwrap().topic;
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.servers)
            .set("group.id", "eddy-tx-test")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("isolation.level", isolation)
            .create()
            .unwrap();
        let meta = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .unwrap();
        let n = meta.topics()[0].partitions().len() as i32;
        (0..n)
            .map(|p| {
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition_offset(&topic, p, Offset::Beginning).unwrap();
                consumer.assign(&tpl).unwrap();
                let mut values = Vec::new();
                let start = Instant::now();
                loop {
                    // Generous: only there to turn a hang into a failure.
                    assert!(start.elapsed() < Duration::from_secs(60), "{topic}/{p}: no end");
                    match consumer.poll(Duration::from_millis(200)) {
                        Some(Ok(m)) if m.partition() == p => {
                            values.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned())
                        }
                        Some(Err(KafkaError::PartitionEOF(q))) if q == p => break,
                        _ => {}
                    }
                }
                values
            })
            .collect()
    }
}

/// A transactional sink of text lines (key: the line) with dedup id `id`.
fn line_sink(uri: &str, id: &str) -> KafkaSink<String> {
    KafkaSink::new(KafkaUri::parse(uri).unwrap(), |line: &String, key, value| {
        key.extend_from_slice(line.as_bytes());
        value.extend_from_slice(line.as_bytes());
    })
    .transactional(id)
}

fn lines(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("row-{i:04}")).collect()
}

/// The commit is the snapshot's: an EndTxn failure injected before the
/// writes surfaces at the snapshot (the writes did not commit), the writer
/// then fails naming the run that fenced it; a writer of the same job
/// reopened from the previous snapshot writes the rows again, and a
/// `read_committed` consumer reads every row once.
#[test]
fn mock_the_snapshot_commits_and_a_fenced_writer_fails_naming_the_other_run() {
    let b = mock();
    let uri = b.topic("tx-lib", 1);
    let sink = line_sink(&uri, "job");
    let mut writer = sink.build(0, 1).unwrap();
    writer.write_batch(&mut lines(0..10)).unwrap();
    let state = writer.snapshot().unwrap();

    let cluster = b.mock.as_ref().unwrap();
    cluster.request_errors(
        RDKafkaApiKey::EndTxn,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_PRODUCER_FENCED],
    );
    let mut batch = lines(10..20);
    writer.write_batch(&mut batch).unwrap();
    assert!(batch.is_empty(), "the batch was consumed");
    let e = writer.snapshot().unwrap_err().to_string();
    assert!(
        e.contains("cannot commit the snapshot's transaction") && e.contains("fenced this one"),
        "{e}"
    );
    assert!(e.contains(&uri), "the error names the output: {e}");
    drop(writer);

    // The next run of the job resumes from the last snapshot: rows 10..20
    // again, then more. (The mock cluster shows the failed transaction's
    // messages to read_committed consumers, so the read-back counts them
    // and skips their regenerated copies; a broker with transactions hides
    // them, so the read-back does not count them and they are written
    // again: one copy either way.)
    let mut writer = sink.resume(0, 1, &state).unwrap();
    writer.write_batch(&mut lines(10..30)).unwrap();
    writer.snapshot().unwrap();
    writer.write_batch(&mut lines(30..35)).unwrap();
    writer.close().unwrap();
    assert_eq!(b.read_committed(&uri), vec![lines(0..35)]);
}

/// A writer that stops without a snapshot (dropped: the run failed)
/// aborts its transaction; one that vanishes (forgotten, as under
/// kill -9) leaves it open, and the next writer of the job opens all the
/// same (fencing it) and writes every row once.
#[test]
fn mock_an_open_transaction_of_a_vanished_writer_does_not_block_the_next_run() {
    let b = mock();
    let uri = b.topic("tx-open", 2);
    let sink = line_sink(&uri, "job2");
    let mut writer = sink.build(0, 1).unwrap();
    writer.write_batch(&mut lines(0..40)).unwrap();
    let state = writer.snapshot().unwrap();
    writer.write_batch(&mut lines(40..60)).unwrap();
    drop(writer);

    let mut writer = sink.resume(0, 1, &state).unwrap();
    writer.write_batch(&mut lines(40..70)).unwrap();
    std::mem::forget(writer);

    let mut writer = sink.resume(0, 1, &state).unwrap();
    writer.write_batch(&mut lines(40..100)).unwrap();
    writer.close().unwrap();
    let got = b.read_committed(&uri);
    let mut want = vec![Vec::new(), Vec::new()];
    for line in lines(0..100) {
        want[((murmur2(line.as_bytes()) & 0x7fff_ffff) % 2) as usize].push(line);
    }
    assert_eq!(got, want, "every row once, in order, per partition");
}

/// Waits until a `read_uncommitted` consumer sees `n` messages on `uri`:
/// they reached the broker (in a transaction or not).
fn wait_uncommitted(b: &Broker, uri: &str, n: usize) -> Vec<Vec<String>> {
    let start = Instant::now();
    loop {
        let got = b.read_uncommitted(uri);
        if got.iter().map(Vec::len).sum::<usize>() >= n {
            return got;
        }
        // Generous: only there to turn a hang into a failure.
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{n} messages never reached {uri}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// On a broker with transactions: rows written since the last snapshot
/// are on the broker but invisible to `read_committed` consumers; the
/// snapshot's commit makes them visible; rows of a writer that stops
/// without a snapshot are aborted and never seen, and the resumed writer
/// writes them again, once.
#[test]
fn broker_rows_are_invisible_until_the_snapshot_commits_and_aborted_rows_never_seen() {
    let Some(b) = real("broker_rows_are_invisible_until_the_snapshot_commits_and_aborted_rows_never_seen")
    else {
        return;
    };
    let uri = b.topic("tx-visible", 1);
    let sink = line_sink(&uri, &format!("vis-{:x}", random() >> 16));
    let mut writer = sink.build(0, 1).unwrap();
    writer.write_batch(&mut lines(0..10)).unwrap();
    assert_eq!(wait_uncommitted(&b, &uri, 10), vec![lines(0..10)]);
    assert_eq!(
        b.read_committed(&uri),
        vec![Vec::<String>::new()],
        "rows of an open transaction are invisible"
    );
    let state = writer.snapshot().unwrap();
    assert_eq!(
        b.read_committed(&uri),
        vec![lines(0..10)],
        "visible once committed"
    );

    writer.write_batch(&mut lines(10..20)).unwrap();
    wait_uncommitted(&b, &uri, 20);
    assert_eq!(b.read_committed(&uri), vec![lines(0..10)]);
    drop(writer); // a failed run: its open transaction is aborted
    assert_eq!(
        b.read_committed(&uri),
        vec![lines(0..10)],
        "aborted rows are never seen"
    );

    let mut writer = sink.resume(0, 1, &state).unwrap();
    writer.write_batch(&mut lines(10..25)).unwrap();
    writer.close().unwrap();
    assert_eq!(
        b.read_committed(&uri),
        vec![lines(0..25)],
        "every row once, in order"
    );
    let all: usize = b.read_uncommitted(&uri).iter().map(Vec::len).sum();
    assert_eq!(
        all, 35,
        "the aborted 10 are on the topic, hidden from read_committed"
    );
}

fn ok(args: &[&str]) {
    let out = run(args);
    assert!(out.status.success(), "search-ctr {args:?}: {}", stderr(&out));
}

/// Events generated to a file and (the same lines) to `uri`.
fn fill(dir: &Path, uri: &str, events: u64) -> std::path::PathBuf {
    let file = dir.join("events.jsonl");
    let users = (events / 40).to_string();
    let n = events.to_string();
    ok(&["generate", "--events", &n, "--users", &users, "--out", s(&file)]);
    ok(&["generate", "--events", &n, "--users", &users, "--to", uri]);
    file
}

/// The rows of an uninterrupted run of `input` to a file, as lines.
fn reference_rows(dir: &Path, input: &str) -> Vec<String> {
    let reference = dir.join("reference.jsonl");
    ok(&["run", "-I", input, "--kafka-until-end", "-o", s(&reference), "-q"]);
    let rows: Vec<String> = std::fs::read_to_string(&reference)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(rows.len() > 50, "too few rows to compare");
    rows
}

/// `rows` as an output topic of `partitions` holds them: by user (the
/// message key), in order.
fn by_partition(rows: &[String], partitions: usize) -> Vec<Vec<String>> {
    let mut want = vec![Vec::new(); partitions];
    for row in rows {
        let value: serde_json::Value = serde_json::from_str(row).unwrap();
        let user = value["user"].as_str().unwrap();
        want[(murmur2(user.as_bytes()) & 0x7fff_ffff) as usize % partitions].push(row.clone());
    }
    want
}

/// Every row once, in order, per partition, for a `read_committed` consumer.
fn assert_rows_once(b: &Broker, output: &str, rows: &[String], partitions: usize, what: &str) {
    let got = b.read_committed(output);
    let want = by_partition(rows, partitions);
    assert_eq!(got.len(), want.len(), "{what}: output partitions");
    for (p, (got, want)) in got.iter().zip(&want).enumerate() {
        assert!(
            got == want,
            "{what}: partition {p}: {} messages read_committed, {} rows expected (every row once, in order)",
            got.len(),
            want.len()
        );
    }
}

/// A zombie: run A is frozen (SIGSTOP) with rows in an open transaction;
/// run B, started from a copy of A's store (as a scheduler that took A for
/// dead would), fences A and finishes. A, continued, fails naming the
/// other run, and a `read_committed` consumer sees exactly B's rows, each
/// once: nothing A wrote shows.
#[test]
fn broker_a_frozen_run_is_fenced_by_its_resumed_copy_and_shows_nothing() {
    let Some(b) = real("broker_a_frozen_run_is_fenced_by_its_resumed_copy_and_shows_nothing") else {
        return;
    };
    for workers in ["1", "2"] {
        frozen_run_is_fenced(&b, workers);
    }
}

/// [`broker_a_frozen_run_is_fenced_by_its_resumed_copy_and_shows_nothing`]
/// with `workers` in A and B.
fn frozen_run_is_fenced(b: &Broker, workers: &str) {
    let dir = tempfile::tempdir().unwrap();
    let input = b.topic("zombie-in", 4);
    fill(dir.path(), &input, 8_000);
    let rows = reference_rows(dir.path(), &input);
    let output = b.topic("zombie-out", 3);
    let store_a = dir.path().join("store-a");
    ok(&["recovery", "init", s(&store_a)]);
    let args = |store: &Path| -> Vec<String> {
        [
            "run",
            "-I",
            &input,
            "--kafka-until-end",
            "-o",
            &output,
            "--kafka-sink",
            "transactional",
            "-r",
            s(store),
            "-s",
            "20ms",
            "-q",
            "-w",
            workers,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let a_args = args(&store_a);
    let a_args: Vec<&str> = a_args.iter().map(String::as_str).collect();
    // A pauses with a third of the rows produced and flushed in an open
    // transaction, then is frozen.
    let hook = format!("{}:{}", rows.len() / 3, s(&store_a));
    let mut a = vec![spawn(&a_args, &[(PAUSE_WRITES_ENV, &hook)])];
    let marker = store_a.join("test-paused-after-writes");
    wait_for_marker(&mut a, &marker).unwrap();
    signal(&a[0], "STOP");
    let open: usize = b.read_uncommitted(&output).iter().map(Vec::len).sum();
    assert!(open >= rows.len() / 3, "A's rows are on the broker ({open})");

    let store_b = dir.path().join("store-b");
    std::fs::create_dir(&store_b).unwrap();
    for entry in std::fs::read_dir(&store_a).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name != "test-paused-after-writes" && !name.to_string_lossy().ends_with(".lock") {
            std::fs::copy(entry.path(), store_b.join(&name)).unwrap();
        }
    }
    let b_args = args(&store_b);
    let b_args: Vec<&str> = b_args.iter().map(String::as_str).collect();
    let out = spawn(&b_args, &[]).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "run B: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_rows_once(b, &output, &rows, 3, "after B");

    // A goes on: its next write or commit finds it fenced.
    std::fs::remove_file(&marker).unwrap();
    signal(&a[0], "CONT");
    let a = a.pop().unwrap().wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&a.stderr);
    assert_eq!(a.status.code(), Some(1), "A must fail: {text}");
    assert!(
        text.contains("another run of this job (transactional.id ") && text.contains("has fenced this one"),
        "A's error names the other run: {text}"
    );
    assert_rows_once(b, &output, &rows, 3, "after A failed");
}

/// How the kill tests write Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SinkMode {
    /// `--kafka-sink transactional`.
    Transactional,
    /// `--kafka-sink idempotent` with `-r`: the read-back sink.
    ReadBack,
}

/// Kafka in → Kafka out with `-r`, killed with kill -9 at forced moments
/// (during a snapshot write; for a transactional sink, right after its
/// commit was acknowledged, before the store has the snapshot; with rows
/// flushed that no snapshot covers) and at `kills` random moments (runs
/// cycling through 1 worker, 2 workers and 2 processes): a
/// `read_committed` consumer reads exactly the rows of an uninterrupted
/// run, each once, in the same per-partition order. `Err` with a run's
/// stderr when one fails.
fn rows_once_across_kill_9(b: &Broker, mode: SinkMode, kills: u64) -> Result<(), String> {
    let mut rng = Rng::new();
    let dir = tempfile::tempdir().unwrap();
    let input = b.topic("kill-in", 4);
    fill(dir.path(), &input, 20_000);
    let rows = reference_rows(dir.path(), &input);

    let store = dir.path().join("store");
    ok(&["recovery", "init", s(&store)]);
    let out_partitions = 3;
    let output = b.topic("kill-out", out_partitions);
    let sink = match mode {
        SinkMode::Transactional => "transactional",
        SinkMode::ReadBack => "idempotent",
    };
    let args = [
        "run",
        "-I",
        &input,
        "--kafka-until-end",
        "-o",
        &output,
        "--kafka-sink",
        sink,
        "-r",
        s(&store),
        "-s",
        "20ms",
        "-q",
    ];
    let forced = |topology: Topology, env: (&str, &str), marker: &str| -> Result<(), String> {
        let mut children = topology.spawn(&args, &[env]);
        let marker = store.join(marker);
        let reached = wait_for_marker(&mut children, &marker);
        kill_all(&mut children);
        let _ = std::fs::remove_file(&marker);
        reached
    };
    forced(
        Topology::TwoWorkers,
        ("EDDY_TEST_PAUSE_IN_SNAPSHOT", "2"),
        "test-paused-in-snapshot",
    )?;
    let hook = format!("{}:{}", rows.len() / 4, s(&store));
    forced(
        Topology::TwoWorkers,
        (PAUSE_WRITES_ENV, &hook),
        "test-paused-after-writes",
    )?;
    if mode == SinkMode::Transactional {
        let hook = format!("2:{}", s(&store));
        forced(
            Topology::OneWorker,
            (PAUSE_COMMIT_ENV, &hook),
            "test-paused-in-commit",
        )?;
    }

    let mut killed = 0;
    let mut finished = None;
    for i in 0..kills {
        let topology = Topology::ALL[i as usize % 3];
        let mut children = topology.spawn(&args, &[]);
        std::thread::sleep(Duration::from_millis(30 + rng.below(700)));
        if children.iter_mut().all(|c| c.try_wait().unwrap().is_some()) {
            finished = Some(topology);
            break;
        }
        kill_all(&mut children);
        killed += 1;
    }
    let last = Topology::ALL[killed as usize % 3];
    if finished.is_none() {
        last.run(&args, &[])?;
    }
    eprintln!("{mode:?}: {killed} random kills, then a run to the end ({last:?})");
    assert!(latest_complete(&store).1, "the last run did not finish");
    assert_rows_once(b, &output, &rows, out_partitions as usize, &format!("{mode:?}"));
    Ok(())
}

/// The number of random kills: `EDDY_KAFKA_KILLS`, else `default`.
fn kills(default: u64) -> u64 {
    std::env::var("EDDY_KAFKA_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(default)
}

#[test]
fn mock_transactional_rows_once_across_kill_9() {
    if let Err(e) = rows_once_across_kill_9(&mock(), SinkMode::Transactional, kills(3)) {
        panic!("a run failed on the mock cluster: {e}");
    }
}

#[test]
fn broker_transactional_rows_once_across_kill_9() {
    let Some(b) = real("broker_transactional_rows_once_across_kill_9") else {
        return;
    };
    if let Err(e) = rows_once_across_kill_9(&b, SinkMode::Transactional, kills(20)) {
        panic!("a run failed: {e}");
    }
}

#[test]
fn broker_read_back_rows_once_across_kill_9() {
    let Some(b) = real("broker_read_back_rows_once_across_kill_9") else {
        return;
    };
    if let Err(e) = rows_once_across_kill_9(&b, SinkMode::ReadBack, kills(20)) {
        panic!("a run failed: {e}");
    }
}

/// `--kafka-sink transactional` without -r, without a Kafka output, or with
/// snapshots too far apart for the transaction timeout: usage errors that
/// say what is needed.
#[test]
fn transactional_needs_recovery_a_kafka_output_and_snapshots_within_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ok(&["recovery", "init", s(&store)]);
    let out = s(&dir.path().join("out.jsonl")).to_owned();
    let kafka = "kafka://127.0.0.1:9/rows";
    let cases: [(Vec<&str>, &str); 4] = [
        (vec!["-o", kafka], "needs --recovery-dir"),
        (vec!["-o", &out, "-r", s(&store)], "needs a Kafka output"),
        (
            vec!["-o", kafka, "-r", s(&store), "-s", "31s"],
            "transaction.timeout.ms=MS",
        ),
        (
            vec![
                "-o",
                kafka,
                "-r",
                s(&store),
                "-s",
                "1s",
                "--kafka-option",
                "transaction.timeout.ms=soon",
            ],
            "expected a number of milliseconds",
        ),
    ];
    for (extra, why) in cases {
        let mut args = vec![
            "run",
            "-I",
            "kafka://127.0.0.1:9/events",
            "--kafka-sink",
            "transactional",
        ];
        args.extend(extra.iter().copied());
        let o = run(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(why), "{args:?}: {e}");
    }
}
