//! `search-ctr` on Kafka, end to end, with the real binary.
//!
//! Every scenario runs twice: on librdkafka's mock cluster (in this test
//! process; always) and on a real broker (`broker_*` tests) when
//! `EDDY_KAFKA_BOOTSTRAP=HOST:PORT` names one (`.ci/run` starts Apache Kafka with
//! `scripts/kafka-broker.sh start`). Without it the real-broker tests fail
//! under `CI=true` and are skipped, saying so, otherwise.
//!
//! The kill test's size: `EDDY_KAFKA_KILLS` random kills (default 3), plus
//! one forced during a snapshot write and one during the sink's read-back.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::kafka::{mock, random, real, Broker, Rng};
use common::{bin, free_ports, latest_complete, run, s, spawn, stderr};
use eddy::connectors::kafka::{
    create_topic, murmur2, KafkaUri, PAUSE_READBACK_ENV, PAUSE_WRITES_ENV, POSITION_HEADER,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

impl Broker {
    /// A new topic (unique name) with `partitions`; its `kafka://` URI.
    fn topic(&self, name: &str, partitions: i32) -> String {
        let topic = format!("{name}-{}-{:x}", std::process::id(), random() >> 16);
        let uri = format!("kafka://{}/{topic}", self.servers);
        match &self.mock {
            Some(m) => m.create_topic(&topic, partitions, 1).unwrap(),
            None => {
                assert!(create_topic(&KafkaUri::parse(&uri).unwrap(), partitions).unwrap());
            }
        }
        uri
    }

    fn consumer(&self) -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", &self.servers)
            .set("group.id", "eddy-test")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap()
    }

    /// Every message of each partition: (value, `eddy-pos` header).
    fn read(&self, uri: &str) -> Vec<Vec<(String, Option<String>)>> {
        let topic = KafkaUri::parse(uri).unwrap().topic;
        let consumer = self.consumer();
        let meta = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .unwrap();
        let n = meta.topics()[0].partitions().len() as i32;
        let mut out = Vec::new();
        for p in 0..n {
            let (low, high) = consumer
                .fetch_watermarks(&topic, p, Duration::from_secs(10))
                .unwrap();
            let mut values = Vec::new();
            if low < high {
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition_offset(&topic, p, Offset::Offset(low)).unwrap();
                consumer.assign(&tpl).unwrap();
                let mut next = low;
                while next < high {
                    let msg = consumer
                        .poll(Duration::from_secs(30))
                        .unwrap_or_else(|| panic!("no message at {topic}/{p}@{next}"))
                        .unwrap();
                    let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
                    let header = msg
                        .headers()
                        .and_then(|h| h.iter().find(|h| h.key == POSITION_HEADER).map(|h| text(h.value)));
                    values.push((text(msg.payload()), header));
                    next = msg.offset() + 1;
                }
            }
            out.push(values);
        }
        out
    }

    /// Produces `lines` to partition `p`.
    fn produce(&self, uri: &str, p: i32, lines: &[String]) {
        let topic = KafkaUri::parse(uri).unwrap().topic;
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &self.servers)
            .create()
            .unwrap();
        for line in lines {
            producer
                .send(
                    BaseRecord::<(), _>::to(&topic)
                        .partition(p)
                        .payload(line.as_str()),
                )
                .unwrap();
        }
        producer.flush(Duration::from_secs(30)).unwrap();
    }
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "search-ctr {args:?}: {}", stderr(&out));
    stderr(&out)
}

fn generate_args(events: u64) -> Vec<String> {
    [
        "generate",
        "--events",
        &events.to_string(),
        "--users",
        &(events / 40).max(1).to_string(),
    ]
    .map(String::from)
    .to_vec()
}

/// Generates `events` to a file and (the same lines) to the topic.
fn fill(dir: &Path, uri: &str, events: u64) -> PathBuf {
    let file = dir.join("events.jsonl");
    let mut args = generate_args(events);
    args.extend(["--out".into(), s(&file).into()]);
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut args = generate_args(events);
    args.extend(["--to".into(), uri.into()]);
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    file
}

fn sorted_lines(bytes: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// Kafka in (bounded) → file out equals a run on files holding each
/// partition's messages (byte for byte: same partitions, same order), and
/// the same rows as a run on the generated file; for 1, 2, 4 workers and 2
/// processes.
fn kafka_in_equals_the_same_events_from_files(b: &Broker) {
    for partitions in [1, 8] {
        let dir = tempfile::tempdir().unwrap();
        let uri = b.topic("in", partitions);
        let file = fill(dir.path(), &uri, 2000);
        let parts = dir.path().join("parts");
        std::fs::create_dir(&parts).unwrap();
        for (p, messages) in b.read(&uri).iter().enumerate() {
            let text: String = messages.iter().map(|(v, _)| format!("{v}\n")).collect();
            std::fs::write(parts.join(format!("p{p:02}.jsonl")), text).unwrap();
        }
        let from_file = dir.path().join("file.jsonl");
        ok(&["run", "-I", s(&file), "-o", s(&from_file), "-q"]);
        let want_rows = sorted_lines(&std::fs::read(&from_file).unwrap());
        assert!(want_rows.len() > 10, "too few rows to compare");
        for workers in ["1", "2", "4"] {
            let k = dir.path().join(format!("k{workers}.jsonl"));
            let f = dir.path().join(format!("f{workers}.jsonl"));
            ok(&[
                "run",
                "-I",
                &uri,
                "--kafka-until-end",
                "-o",
                s(&k),
                "-w",
                workers,
                "-q",
            ]);
            ok(&["run", "-I", s(&parts), "-o", s(&f), "-w", workers, "-q"]);
            let (kb, fb) = (std::fs::read(&k).unwrap(), std::fs::read(&f).unwrap());
            assert!(
                kb == fb,
                "{partitions} partitions, -w {workers}: Kafka and per-partition files differ"
            );
            assert_eq!(
                sorted_lines(&kb),
                want_rows,
                "{partitions} partitions, -w {workers}"
            );
        }
        // Two processes (process 0 writes).
        let addrs = free_ports(2).join(",");
        let k = dir.path().join("k-cluster.jsonl");
        let children: Vec<Child> = (0..2)
            .map(|i| {
                let out = dir.path().join(format!("k-cluster-{i}.jsonl"));
                let out = if i == 0 { k.clone() } else { out };
                Command::new(bin())
                    .args(["run", "-I", &uri, "--kafka-until-end", "-o", s(&out), "-q"])
                    .args(["-i", &i.to_string(), "-a", &addrs])
                    .stdin(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "cluster: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            std::fs::read(&k).unwrap() == std::fs::read(dir.path().join("f1.jsonl")).unwrap(),
            "{partitions} partitions, 2 processes"
        );
    }
}

#[test]
fn mock_kafka_in_equals_the_same_events_from_files() {
    kafka_in_equals_the_same_events_from_files(&mock());
}

#[test]
fn broker_kafka_in_equals_the_same_events_from_files() {
    if let Some(b) = real("broker_kafka_in_equals_the_same_events_from_files") {
        kafka_in_equals_the_same_events_from_files(&b);
    }
}

/// Waits for `marker` (a test hook's), then kills the run there.
fn kill_at_marker(mut child: Child, marker: &Path) {
    let start = Instant::now();
    while !marker.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                std::io::Read::read_to_string(&mut pipe, &mut stderr).unwrap();
            }
            panic!(
                "the run ended ({status}) before reaching {}; its stderr:\n{stderr}",
                marker.display()
            );
        }
        // Generous: only there to turn a hang into a failure.
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "never reached {}",
            marker.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(marker).unwrap();
}

/// Kafka in → Kafka out with `-r`, killed with `kill -9` during a snapshot
/// write, during the sink's read-back, and at random moments: the output
/// topic holds exactly the rows of an uninterrupted run, none twice, in the
/// same per-partition order. Then the same with file out.
fn exactly_once_across_kill_9(b: &Broker) {
    let kills: u64 = std::env::var("EDDY_KAFKA_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(3);
    let mut rng = Rng::new();
    let dir = tempfile::tempdir().unwrap();
    let input = b.topic("eo-in", 4);
    fill(dir.path(), &input, 20_000);
    let reference = dir.path().join("reference.jsonl");
    ok(&[
        "run",
        "-I",
        &input,
        "--kafka-until-end",
        "-o",
        s(&reference),
        "-q",
    ]);
    let reference = std::fs::read_to_string(&reference).unwrap();
    let rows: Vec<&str> = reference.lines().collect();

    for to_kafka in [true, false] {
        let store = dir.path().join(format!("store-{to_kafka}"));
        ok(&["recovery", "init", s(&store)]);
        let out_partitions = 3;
        let output = if to_kafka {
            b.topic("eo-out", out_partitions)
        } else {
            s(&dir.path().join("out.jsonl")).to_owned()
        };
        let args = [
            "run",
            "-I",
            &input,
            "--kafka-until-end",
            "-o",
            &output,
            "-r",
            s(&store),
            "-s",
            "20ms",
            "-w",
            "2",
            "-q",
        ];
        // Forced: during a snapshot write (the engine's hook) and, for a
        // Kafka output, during the read-back after a resume.
        let marker = store.join("test-paused-in-snapshot");
        kill_at_marker(spawn(&args, &[("EDDY_TEST_PAUSE_IN_SNAPSHOT", "2")]), &marker);
        if to_kafka {
            // Forced: after the sink produced (and flushed) rows that no
            // snapshot covers: the resume must skip exactly those.
            let marker = store.join("test-paused-after-writes");
            let hook = format!("{}:{}", rows.len() / 3, s(&store));
            kill_at_marker(spawn(&args, &[(PAUSE_WRITES_ENV, &hook)]), &marker);
            let written: usize = b.read(&output).iter().map(Vec::len).sum();
            assert!(
                written >= rows.len() / 3,
                "{written} rows on the topic after the forced kill"
            );
            let marker = store.join("test-paused-in-readback");
            kill_at_marker(spawn(&args, &[(PAUSE_READBACK_ENV, s(&store))]), &marker);
        }
        let mut killed = 0;
        let mut finished = false;
        for _ in 0..kills {
            let mut child = spawn(&args, &[]);
            std::thread::sleep(Duration::from_millis(50 + rng.below(800)));
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            child.kill().unwrap();
            child.wait().unwrap();
            killed += 1;
        }
        if !finished {
            let out = spawn(&args, &[]).wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "final run: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        eprintln!("kafka kill test (to kafka: {to_kafka}): {killed} random kills");
        assert!(latest_complete(&store).1, "the last run did not finish");
        if to_kafka {
            let got = b.read(&output);
            for (p, messages) in got.iter().enumerate() {
                let want: Vec<&str> = rows
                    .iter()
                    .copied()
                    .filter(|r| {
                        let user: serde_json::Value = serde_json::from_str(r).unwrap();
                        let user = user["user"].as_str().unwrap().to_owned();
                        (murmur2(user.as_bytes()) & 0x7fff_ffff) as usize % out_partitions as usize == p
                    })
                    .collect();
                let values: Vec<&str> = messages.iter().map(|(v, _)| v.as_str()).collect();
                assert!(
                    values == want,
                    "partition {p}: {} messages, {} rows expected (every row once, in order)",
                    values.len(),
                    want.len()
                );
                for (seq, (_, header)) in messages.iter().enumerate() {
                    let header = header.as_deref().unwrap_or("");
                    assert!(header.ends_with(&format!(":{p}:{seq}")), "{header}");
                }
            }
        } else {
            assert!(
                std::fs::read_to_string(&output).unwrap() == reference,
                "file output differs"
            );
        }
    }
}

#[test]
fn mock_exactly_once_across_kill_9() {
    exactly_once_across_kill_9(&mock());
}

#[test]
fn broker_exactly_once_across_kill_9() {
    if let Some(b) = real("broker_exactly_once_across_kill_9") {
        exactly_once_across_kill_9(&b);
    }
}

/// Kafka in with -r, resumed at 1 → 2 → 4 → 1 workers: the rows of an
/// uninterrupted run.
fn resume_after_rescaling(b: &Broker) {
    let dir = tempfile::tempdir().unwrap();
    let input = b.topic("rescale", 4);
    fill(dir.path(), &input, 20_000);
    let reference = dir.path().join("reference.jsonl");
    ok(&[
        "run",
        "-I",
        &input,
        "--kafka-until-end",
        "-o",
        s(&reference),
        "-q",
    ]);
    let store = dir.path().join("store");
    ok(&["recovery", "init", s(&store)]);
    let out = dir.path().join("out.jsonl");
    let args = |w: &'static str| {
        vec![
            "run".to_owned(),
            "-I".into(),
            input.clone(),
            "--kafka-until-end".into(),
            "-o".into(),
            s(&out).into(),
            "-r".into(),
            s(&store).into(),
            "-s".into(),
            "20ms".into(),
            "-q".into(),
            "-w".into(),
            w.into(),
        ]
    };
    for w in ["1", "2", "4"] {
        let before = latest_complete(&store).0;
        let a = args(w);
        let mut child = spawn(&a.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
        let start = Instant::now();
        while latest_complete(&store).0 <= before && child.try_wait().unwrap().is_none() {
            assert!(start.elapsed() < Duration::from_secs(120), "no new snapshot");
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().unwrap();
    }
    let a = args("1");
    ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&reference).unwrap());
}

#[test]
fn mock_resume_after_rescaling_1_2_4_1() {
    resume_after_rescaling(&mock());
}

#[test]
fn broker_resume_after_rescaling_1_2_4_1() {
    if let Some(b) = real("broker_resume_after_rescaling_1_2_4_1") {
        resume_after_rescaling(&b);
    }
}

/// A live run (no --kafka-until-end) with --idle-timeout: sessions of users
/// who went quiet come out while the run goes on; SIGTERM stops it.
fn live_run_closes_sessions_on_idle_timeout(b: &Broker) {
    let input = b.topic("live", 1);
    let mut child = Command::new(bin())
        .args(["run", "-I", &input, "--idle-timeout", "1s", "-q"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(&mut stdout).lines() {
            let Ok(line) = line else { break };
            lines.push(line);
            if lines.len() == 2 {
                break;
            }
        }
        lines
    });
    let now = jiff::Timestamp::now();
    let event = |user: u32, kind: &str, extra: &str| {
        format!(r#"{{"type":"{kind}","user":{user},{extra}"time":"{now}"}}"#)
    };
    let events: Vec<String> = (1..=2)
        .flat_map(|u| {
            [
                event(u, "search", r#""query":"q","#),
                event(u, "results", r#""items":["a","b"],"#),
                event(u, "click_result", r#""item":"a","#),
            ]
        })
        .collect();
    b.produce(&input, 0, &events);
    let start = Instant::now();
    while !reader.is_finished() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no rows from a live run within 60 s of its users going quiet"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let rows = reader.join().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.contains("\"searches\":1")), "{rows:?}");
    // Still running (live) until told to stop.
    assert!(child.try_wait().unwrap().is_none(), "a live run ended by itself");
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143), "SIGTERM ends a live run with 128 + 15");
}

/// Issue 24: on a live topic (no `--kafka-until-end`, no idle timeout), the
/// sessions of users who leave are closed by the topic's event time: once
/// another user's events move both partitions 40 minutes on, their rows are
/// in the output file while the run goes on, and SIGTERM keeps them.
fn live_run_closes_departed_users_from_the_topics_progress(b: &Broker) {
    for workers in ["1", "2"] {
        departed_users_close_with(b, workers);
    }
}

/// [`live_run_closes_departed_users_from_the_topics_progress`] with
/// `workers`.
fn departed_users_close_with(b: &Broker, workers: &str) {
    let input = b.topic("departed", 2);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rows.jsonl");
    let child = Command::new(bin())
        .args(["run", "-I", &input, "-o", s(&out), "-q", "-w", workers])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let at = |minutes: u32, seconds: u32| format!("2024-01-01T00:{minutes:02}:{seconds:02}Z");
    let event = |user: &str, kind: &str, extra: &str, time: &str| {
        format!(r#"{{"type":"{kind}","user":"{user}",{extra}"time":"{time}"}}"#)
    };
    for (p, user) in [(0, "ann"), (1, "bob")] {
        let events = [
            event(user, "search", r#""query":"q","#, &at(0, 1)),
            event(user, "results", r#""items":["a","b"],"#, &at(0, 2)),
            event(user, "click_result", r#""item":"a","#, &at(0, 3)),
        ];
        b.produce(&input, p, &events);
    }
    // Another user searches every minute on both partitions: the topic's
    // event time passes 00:30:13 (end + gap + wait) on both.
    for p in 0..2 {
        let walker: Vec<String> = (0..40)
            .map(|m| event(&format!("w{p}"), "search", r#""query":"q","#, &at(m, 30)))
            .collect();
        b.produce(&input, p, &walker);
    }
    let start = Instant::now();
    let rows = loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if text.contains(r#""user":"ann""#) && text.contains(r#""user":"bob""#) {
            break text;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no rows for the departed users within 60 s: {text:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        rows.lines().all(|l| !l.contains(r#""user":"w"#)),
        "the walkers' sessions stay open: {rows}"
    );
    let mut child = child;
    assert!(child.try_wait().unwrap().is_none(), "a live run ended by itself");
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let done = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(143), "{err}");
    assert!(
        err.contains("every whole row written so far is kept in --output"),
        "{err}"
    );
    let kept = std::fs::read_to_string(&out).unwrap();
    assert!(kept.starts_with(&rows), "the rows written stay: {kept:?}");
}

#[test]
fn mock_live_run_closes_departed_users_from_the_topics_progress() {
    live_run_closes_departed_users_from_the_topics_progress(&mock());
}

#[test]
fn broker_live_run_closes_departed_users_from_the_topics_progress() {
    if let Some(b) = real("broker_live_run_closes_departed_users_from_the_topics_progress") {
        live_run_closes_departed_users_from_the_topics_progress(&b);
    }
}

#[test]
fn mock_live_run_closes_sessions_on_idle_timeout() {
    live_run_closes_sessions_on_idle_timeout(&mock());
}

#[test]
fn broker_live_run_closes_sessions_on_idle_timeout() {
    if let Some(b) = real("broker_live_run_closes_sessions_on_idle_timeout") {
        live_run_closes_sessions_on_idle_timeout(&b);
    }
}

/// Invalid messages: `--on-invalid fail` names `topic/partition@offset`;
/// with skip, dead letters carry it as their `file`.
fn invalid_messages_are_named_by_topic_partition_offset(b: &Broker) {
    let dir = tempfile::tempdir().unwrap();
    let input = b.topic("bad", 1);
    let topic = KafkaUri::parse(&input).unwrap().topic;
    let good = r#"{"type":"search","user":1,"query":"q","time":"2024-01-01T00:00:00Z"}"#.to_owned();
    b.produce(&input, 0, &[good.clone(), "not json".into(), good]);
    let out = run(&["run", "-I", &input, "--kafka-until-end", "-q"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("{topic}/0@1: ")), "{err}");
    let dead = dir.path().join("dead.jsonl");
    ok(&[
        "run",
        "-I",
        &input,
        "--kafka-until-end",
        "--on-invalid",
        "skip",
        "--dead-letter",
        s(&dead),
        "-q",
    ]);
    let letter: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&dead).unwrap().trim()).unwrap();
    assert_eq!(letter["file"], format!("{topic}/0@1"));
    assert!(letter.get("line").is_none(), "{letter}");
}

#[test]
fn mock_invalid_messages_are_named_by_topic_partition_offset() {
    invalid_messages_are_named_by_topic_partition_offset(&mock());
}

#[test]
fn broker_invalid_messages_are_named_by_topic_partition_offset() {
    if let Some(b) = real("broker_invalid_messages_are_named_by_topic_partition_offset") {
        invalid_messages_are_named_by_topic_partition_offset(&b);
    }
}

#[test]
fn broker_down_at_start_is_a_clear_error_within_the_timeout() {
    // A port nothing listens on.
    let addr = free_ports(1).remove(0);
    let start = Instant::now();
    let out = run(&[
        "run",
        "-I",
        &format!("kafka://{addr}/events"),
        "--kafka-until-end",
        "-q",
    ]);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("kafka://{addr}/events")) && err.contains("no answer from the broker"),
        "{err}"
    );
    // The timeout is 10 s; generous bound, only to catch a hang.
    assert!(took < Duration::from_secs(40), "took {took:?}");
}

#[test]
fn kafka_usage_errors_name_the_option() {
    for (args, why) in [
        (vec!["run", "-I", "kafka://h:1"], "--input kafka://h:1: no topic"),
        (
            vec!["run", "-I", "kafka://h:1/t", "-I", "x.jsonl"],
            "cannot be mixed",
        ),
        (
            vec!["run", "-I", "kafka://h:1/t", "-o", "kafka://h:1/t"],
            "also the --input",
        ),
        (
            vec!["run", "-I", "x", "-o", "kafka://h:1/o", "--format", "csv"],
            "needs --format jsonl",
        ),
        (vec!["run", "-I", "x", "--kafka-until-end"], "need a Kafka input"),
        (
            vec!["run", "-I", "kafka://h:1/t", "--kafka-start", "soon"],
            "RFC 3339",
        ),
        (vec!["generate", "--to", "kafka://h/t"], "is not HOST:PORT"),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
    }
}

/// `--kafka-time message`: the event time is the message timestamp.
#[test]
fn mock_kafka_time_message_takes_the_message_timestamp() {
    let b = mock();
    let input = b.topic("msgtime", 1);
    let topic = KafkaUri::parse(&input).unwrap().topic;
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &b.servers)
        .create()
        .unwrap();
    // 2024-01-01T00:00:00Z and 2 s later; the events' own times are a day off.
    for (i, line) in [
        r#"{"type":"search","user":1,"query":"q","time":"2024-01-02T00:00:00Z"}"#,
        r#"{"type":"click_result","user":1,"item":"a","time":"2024-01-02T00:00:01Z"}"#,
    ]
    .iter()
    .enumerate()
    {
        let ts = 1_704_067_200_000 + 2000 * i as i64;
        producer
            .send(
                BaseRecord::<(), _>::to(&topic)
                    .partition(0)
                    .payload(*line)
                    .timestamp(ts),
            )
            .unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();
    for (time, start) in [
        ("message", "2024-01-01T00:00:00"),
        ("event", "2024-01-02T00:00:00"),
    ] {
        let out = run(&[
            "run",
            "-I",
            &input,
            "--kafka-until-end",
            "--kafka-time",
            time,
            "-q",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let row = common::stdout(&out);
        assert!(
            row.contains(&format!("\"session_start\":\"{start}")),
            "{time}: {row}"
        );
    }
}

/// The broker stops and comes back while a bounded run reads: the run waits
/// and finishes with the rows of an uninterrupted run. Uses a private
/// broker started by scripts/kafka-broker.sh (so the shared one stays up).
#[test]
fn broker_restarted_mid_run_waits_and_continues_or_fails_clearly() {
    if real("broker_restarted_mid_run_waits_and_continues_or_fails_clearly").is_none() {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let port = free_ports(1).remove(0).rsplit_once(':').unwrap().1.to_owned();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/kafka-broker.sh");
    let broker = |cmd: &str| {
        let out = Command::new(&script)
            .arg(cmd)
            .env("EDDY_KAFKA_DIR", state.path())
            .env("EDDY_KAFKA_PORT", &port)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kafka-broker.sh {cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let servers = broker("start");
    let b = Broker { servers, mock: None };
    let dir = tempfile::tempdir().unwrap();
    let input = b.topic("restart", 2);
    fill(dir.path(), &input, 30_000);
    let reference = dir.path().join("reference.jsonl");
    ok(&[
        "run",
        "-I",
        &input,
        "--kafka-until-end",
        "-o",
        s(&reference),
        "-q",
    ]);
    let mut child = Command::new(bin())
        .args(["run", "-I", &input, "--kafka-until-end", "-q"])
        // Small fetches and a small prefetch queue: the run needs the
        // broker until its end (it could not have read everything ahead).
        .args(["--kafka-option", "fetch.message.max.bytes=4096"])
        .args(["--kafka-option", "queued.max.messages.kbytes=16"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut all).unwrap();
        all
    });
    // The moment is forced: the run is frozen (SIGSTOP) while the broker
    // stops, so it finds the broker gone when it goes on (SIGCONT); the
    // broker comes back 3 s later. With small fetches the run needs the
    // broker for many seconds, so one second in it is still reading.
    std::thread::sleep(Duration::from_secs(1));
    let pid = child.id().to_string();
    let signal = |sig: &str| assert!(Command::new("kill").args([sig, &pid]).status().unwrap().success());
    signal("-STOP");
    let finished_early = child.try_wait().unwrap().is_some();
    broker("stop");
    signal("-CONT");
    std::thread::sleep(Duration::from_secs(3));
    broker("start");
    let output = child.wait_with_output().unwrap();
    broker("stop");
    let rows = reader.join().unwrap();
    assert!(
        !finished_early,
        "the run finished before the broker stopped: make the topic bigger"
    );
    let reference = std::fs::read_to_string(&reference).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        assert!(rows == reference, "rows differ after the restart");
    } else {
        // The contract allows a clear failure (the broker came back too
        // late for the run's patience): exit 1, one message naming the
        // Kafka input, and the rows written are the start of the answer.
        assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
        assert!(stderr.contains("kafka://"), "an unclear failure: {stderr}");
        assert!(
            reference.starts_with(&rows),
            "rows written before the failure are not a prefix of the answer; stderr: {stderr}"
        );
    }
}

/// Benchmark (not run by `cargo test`; `bench/kafka.sh` runs it on the real
/// broker): a live run `-I kafka://in -o kafka://out -r … -s 1s` while a
/// producer sends generated events at `EDDY_BENCH_RATE` events/s for
/// `EDDY_BENCH_SECONDS`; the latency of a row is from the moment the event
/// that closed its session (the first of its user whose time minus --wait
/// passes the session's end plus --gap, or the first after which the
/// input's event time is past end + gap + wait) was produced to the moment
/// the row was read from the output topic. Prints p50/p99.
#[test]
#[ignore = "benchmark: bench/kafka.sh"]
fn bench_kafka_latency() {
    let Some(b) = real("bench_kafka_latency") else {
        return;
    };
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (rate, seconds, workers) = (
        env("EDDY_BENCH_RATE", 2000),
        env("EDDY_BENCH_SECONDS", 20),
        env("EDDY_BENCH_WORKERS", 1),
    );
    // idempotent (the read-back sink) or transactional; the reader below
    // is read_committed (librdkafka's default).
    let sink = std::env::var("EDDY_BENCH_SINK").unwrap_or_else(|_| "idempotent".into());
    let events = rate * seconds;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let mut args = generate_args(events);
    args.extend(["--out".into(), s(&file).into()]);
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let lines: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let parsed: Vec<(String, i64)> = lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let user = match &v["user"] {
                serde_json::Value::String(u) => u.clone(),
                other => other.to_string(),
            };
            // The generator writes times as RFC 3339 text or epoch ms.
            let time = match &v["time"] {
                serde_json::Value::String(t) => t.parse::<jiff::Timestamp>().unwrap().as_millisecond(),
                other => other.as_i64().unwrap(),
            };
            (user, time)
        })
        .collect();
    let input = b.topic("bench-in", 4);
    let output = b.topic("bench-out", 1);
    let store = dir.path().join("store");
    ok(&["recovery", "init", s(&store)]);
    let mut run = Command::new(bin())
        .args([
            "run",
            "-I",
            &input,
            "-o",
            &output,
            "--kafka-sink",
            &sink,
            "-r",
            s(&store),
            "-s",
            "1s",
            "-q",
            "-w",
            &workers.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // Reader of the output topic: (user, session end ms, when read).
    let servers = b.servers.clone();
    let out_topic = KafkaUri::parse(&output).unwrap().topic;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_reader = stop.clone();
    let reader = std::thread::spawn(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &servers)
            .set("group.id", "eddy-bench")
            .set("fetch.wait.max.ms", "10")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&out_topic, 0, Offset::Beginning)
            .unwrap();
        consumer.assign(&tpl).unwrap();
        let mut rows = Vec::new();
        while !stop_reader.load(std::sync::atomic::Ordering::Relaxed) {
            if let Some(Ok(msg)) = consumer.poll(Duration::from_millis(50)) {
                let v: serde_json::Value = serde_json::from_slice(msg.payload().unwrap_or_default()).unwrap();
                let end: jiff::Timestamp = v["session_end"].as_str().unwrap().parse().unwrap();
                rows.push((
                    v["user"].as_str().unwrap().to_owned(),
                    end.as_millisecond(),
                    Instant::now(),
                ));
            }
        }
        rows
    });
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &b.servers)
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let in_topic = KafkaUri::parse(&input).unwrap().topic;
    let started = Instant::now();
    let mut sent_at = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let user = &parsed[i].0;
        let p = (murmur2(user.as_bytes()) & 0x7fff_ffff) as i32 % 4;
        let mut record = BaseRecord::<str, str>::to(&in_topic)
            .partition(p)
            .key(user.as_str())
            .payload(line.as_str());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(5));
                }
            }
        }
        producer.poll(Duration::ZERO);
        sent_at.push(Instant::now());
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let send_secs = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(5));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let rows = reader.join().unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status();
    let _ = run.wait();
    // The event that closes each row: its user's own event whose time
    // minus --wait passes the session's end + gap, or the first event after
    // which every input partition's event time is past end + gap + wait
    // (the input's progress; --horizon 0s), whichever was sent first.
    let (gap, wait) = (30 * 60 * 1000, 10 * 1000);
    let mut by_user: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (i, (user, _)) in parsed.iter().enumerate() {
        by_user.entry(user.as_str()).or_default().push(i);
    }
    let mut marks = [i64::MIN; 4];
    let progress: Vec<i64> = parsed
        .iter()
        .map(|(user, t)| {
            let p = (murmur2(user.as_bytes()) & 0x7fff_ffff) as usize % 4;
            marks[p] = marks[p].max(*t);
            *marks.iter().min().unwrap_or(&i64::MIN)
        })
        .collect();
    let mut latencies: Vec<f64> = rows
        .iter()
        .filter_map(|(user, end, read)| {
            let mut max = i64::MIN;
            let own = by_user.get(user.as_str()).and_then(|events| {
                events.iter().copied().find(|&i| {
                    max = max.max(parsed[i].1);
                    max - wait > end + gap
                })
            });
            let by_progress = progress.partition_point(|&p| p <= end + gap + wait);
            let closing = own.unwrap_or(usize::MAX).min(by_progress);
            Some(read.checked_duration_since(*sent_at.get(closing)?)?.as_secs_f64() * 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    eprintln!(
        "kafka latency: {events} events at {rate}/s (sent in {send_secs:.1} s), -w {workers}, --kafka-sink {sink}, -r -s 1s: {} rows read, {} \
         closed while sending: p50 {:.0} ms, p99 {:.0} ms",
        rows.len(),
        latencies.len(),
        pct(0.5),
        pct(0.99)
    );
}
