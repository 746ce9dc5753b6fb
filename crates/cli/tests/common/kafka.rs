//! The broker the Kafka end-to-end tests run against: librdkafka's mock
//! cluster (always) or a real one named by `EDDY_KAFKA_BOOTSTRAP=HOST:PORT`
//! (`.ci/run` starts tansu with `scripts/kafka-broker.sh start`). Without
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
