//! The broker the Kafka end-to-end tests run against: librdkafka's mock
//! cluster (always) or a real one named by `EDDY_KAFKA_BOOTSTRAP=HOST:PORT`
//! (`.ci/run` starts Apache Kafka with `scripts/kafka-broker.sh start`). Without
//! one the real-broker tests fail under `CI=true` and are skipped, saying
//! so, otherwise. Each test file adds the `impl Broker` helpers it needs.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

/// A broker: the mock cluster or a real one.
pub struct Broker {
    /// `bootstrap.servers` for a client of it.
    pub servers: String,
    /// The mock cluster, kept alive while the test runs; `None` for a real broker.
    pub mock: Option<MockCluster<'static, DefaultProducerContext>>,
}

/// A fresh one-broker mock cluster.
pub fn mock() -> Broker {
    let cluster = MockCluster::new(1).expect("mock cluster");
    Broker {
        servers: cluster.bootstrap_servers(),
        mock: Some(cluster),
    }
}

/// The real broker, if any (see the module's doc).
pub fn real(test: &str) -> Option<Broker> {
    match std::env::var("EDDY_KAFKA_BOOTSTRAP") {
        Ok(servers) if !servers.trim().is_empty() => Some(Broker {
            servers: servers.trim().to_owned(),
            mock: None,
        }),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "{test}: CI=true but EDDY_KAFKA_BOOTSTRAP is not set: the real-broker tests must run in CI \
             (.ci/run starts one with scripts/kafka-broker.sh start)"
        ),
        _ => {
            eprintln!(
                "{test}: skipped: no real broker (EDDY_KAFKA_BOOTSTRAP=$(scripts/kafka-broker.sh start | tail -1) \
                 runs it)"
            );
            None
        }
    }
}

/// A random number (std's hasher keys): unique topic names, kill seeds.
pub fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// How a run is spread: the kill tests resume a run under each in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// One process, one worker.
    OneWorker,
    /// One process, two workers.
    TwoWorkers,
    /// Two processes of one worker each (a cluster on loopback).
    TwoProcesses,
}

impl Topology {
    /// The three, in the order the kill tests cycle through them.
    pub const ALL: [Topology; 3] = [Topology::OneWorker, Topology::TwoWorkers, Topology::TwoProcesses];

    /// Starts `search-ctr args…` in this topology, with `env` (stdin and
    /// stdout closed, stderr piped): one child per process.
    pub fn spawn(self, args: &[&str], env: &[(&str, &str)]) -> Vec<std::process::Child> {
        let with = |extra: &[&str]| {
            let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            all.extend(extra.iter().map(|a| a.to_string()));
            all
        };
        let command = |args: Vec<String>| {
            let mut c = std::process::Command::new(super::bin());
            c.args(args)
                .envs(env.iter().copied())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            c
        };
        match self {
            Topology::OneWorker => vec![command(with(&["-w", "1"])).spawn().expect("spawn")],
            Topology::TwoWorkers => vec![command(with(&["-w", "2"])).spawn().expect("spawn")],
            Topology::TwoProcesses => {
                let addrs = super::free_ports(2).join(",");
                (0..2)
                    .map(|i| {
                        command(with(&["-w", "1", "-i", &i.to_string(), "-a", &addrs]))
                            .spawn()
                            .expect("spawn")
                    })
                    .collect()
            }
        }
    }

    /// Runs to the end: `Err` with the stderr of a process that failed.
    pub fn run(self, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
        let mut failed = Ok(());
        for (i, child) in self.spawn(args, env).into_iter().enumerate() {
            let out = child.wait_with_output().expect("wait");
            if !out.status.success() && failed.is_ok() {
                failed = Err(format!(
                    "{self:?}, process {i}: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        failed
    }
}

/// `kill -9` of every process of a run (those already ended are reaped).
pub fn kill_all(children: &mut [std::process::Child]) {
    for child in children.iter_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Waits until `marker` exists (a test hook's pause), polling `children`:
/// `Err` with the stderr of one that ended first.
pub fn wait_for_marker(children: &mut [std::process::Child], marker: &std::path::Path) -> Result<(), String> {
    let start = std::time::Instant::now();
    while !marker.exists() {
        for child in children.iter_mut() {
            if let Some(status) = child.try_wait().expect("try_wait") {
                let mut text = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
                }
                return Err(format!(
                    "a process ended ({status}) before reaching {}: {text}",
                    marker.display()
                ));
            }
        }
        // Generous: only there to turn a hang into a failure.
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "never reached {}",
            marker.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Ok(())
}

/// A small xorshift generator for kill moments; its seed is printed and
/// `EDDY_KILL_SEED` replays it.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `EDDY_KILL_SEED`, else at random.
    pub fn new() -> Self {
        let seed = std::env::var("EDDY_KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| random() | 1);
        eprintln!("kafka kill test seed: {seed}");
        Rng(seed)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
