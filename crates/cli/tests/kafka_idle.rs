//! A live Kafka run on a 4-partition topic where one partition receives
//! nothing: after `--partition-idle` that partition stops holding the
//! others back, so the sessions of users on the other partitions close on
//! `--idle-timeout` and their rows come out while the run is still live
//! and the producer keeps sending.
//!
//! As `kafka.rs`: on librdkafka's mock cluster always, and on a real broker
//! when `EDDY_KAFKA_BOOTSTRAP=HOST:PORT` names one (`.ci/run` starts one);
//! under `CI=true` the real-broker test fails without it.

mod common;

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::bin;
use common::kafka::{mock, real, Broker};
use eddy::connectors::kafka::{create_topic, KafkaUri};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;

impl Broker {
    /// A new topic (unique name) with `partitions`: its name and `kafka://` URI.
    fn topic(&self, name: &str, partitions: i32) -> (String, String) {
        // A random suffix (std's hasher keys).
        let suffix = {
            use std::hash::{BuildHasher, Hasher};
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
                >> 16
        };
        let topic = format!("{name}-{}-{suffix:x}", std::process::id());
        let uri = format!("kafka://{}/{topic}", self.servers);
        match &self.mock {
            Some(m) => m.create_topic(&topic, partitions, 1).unwrap(),
            None => assert!(create_topic(&KafkaUri::parse(&uri).unwrap(), partitions).unwrap()),
        }
        (topic, uri)
    }

    fn producer(&self) -> BaseProducer {
        ClientConfig::new()
            .set("bootstrap.servers", &self.servers)
            .create()
            .unwrap()
    }
}

/// One event of `user` at the current time.
fn event(user: u32, kind: &str, extra: &str) -> String {
    let now = jiff::Timestamp::now();
    format!(r#"{{"type":"{kind}","user":{user},{extra}"time":"{now}"}}"#)
}

/// Kills the child if the test fails before stopping it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn an_idle_partition_does_not_stall_the_others(b: &Broker) {
    let (topic, input) = b.topic("idle-part", 4);
    let child = Command::new(bin())
        .args([
            "run",
            "-I",
            &input,
            "-w",
            "2",
            "--idle-timeout",
            "1s",
            "--partition-idle",
            "1s",
            "-q",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Running(child);
    let stdout = child.0.stdout.take().unwrap();
    let rows = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = rows.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            seen.lock().unwrap().push(line);
        }
    });
    // Users 1, 2, 3 on partitions 0, 1, 2: one session each. Partition 3
    // never receives anything.
    let producer = b.producer();
    for user in 1..=3u32 {
        for line in [
            event(user, "search", r#""query":"q","#),
            event(user, "results", r#""items":["a","b"],"#),
            event(user, "click_result", r#""item":"a","#),
        ] {
            producer
                .send(
                    BaseRecord::<(), _>::to(&topic)
                        .partition(user as i32 - 1)
                        .payload(&line),
                )
                .unwrap();
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    // The producer keeps sending (other users, partitions 0-2) while the
    // test waits for the rows.
    let stop = Arc::new(AtomicBool::new(false));
    let keep = {
        let (stop, topic) = (stop.clone(), topic.clone());
        std::thread::spawn(move || {
            let mut user = 1000;
            while !stop.load(Ordering::SeqCst) {
                let line = event(user, "search", r#""query":"more","#);
                let sent = producer.send(
                    BaseRecord::<(), _>::to(&topic)
                        .partition(user as i32 % 3)
                        .payload(&line),
                );
                assert!(sent.is_ok(), "produce: {:?}", sent.err().map(|e| e.0));
                producer.poll(Duration::ZERO);
                user += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            producer.flush(Duration::from_secs(30)).unwrap();
            user - 1000
        })
    };
    let has = |user: u32| {
        let prefix = format!(r#"{{"user":"{user}","#);
        let rows = rows.lock().unwrap();
        rows.iter()
            .any(|r| r.starts_with(&prefix) && r.contains("\"searches\":1"))
    };
    let start = Instant::now();
    // Generous: the bound only guards against a hang, it measures nothing.
    while !(has(1) && has(2) && has(3)) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no rows of users 1-3 within 60 s: the empty partition holds the others back; rows: {:?}",
            rows.lock().unwrap()
        );
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the live run ended by itself"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Read while the run is live, and the producer still sending.
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "a live run ended by itself"
    );
    stop.store(true, Ordering::SeqCst);
    let sent = keep.join().unwrap();
    assert!(sent > 0, "the producer sent nothing while the rows came");
    let pid = child.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(143), "SIGTERM ends a live run with 128 + 15");
}

#[test]
fn mock_live_run_an_idle_partition_does_not_stall_the_others() {
    an_idle_partition_does_not_stall_the_others(&mock());
}

#[test]
fn broker_live_run_an_idle_partition_does_not_stall_the_others() {
    if let Some(b) = real("broker_live_run_an_idle_partition_does_not_stall_the_others") {
        an_idle_partition_does_not_stall_the_others(&b);
    }
}
