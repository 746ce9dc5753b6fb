//! The connectors' error: what a [`Source`](crate::Source) or
//! [`Sink`](crate::Sink) reports. Every failure names its file (or topic)
//! and, for invalid input, the line. The `eddy` crate wraps it in its own
//! `ConnectorError` (`ConnectorError::Connector`), keeping it as the source.

use std::path::PathBuf;

/// Why a source or sink failed. Non-exhaustive: the `kafka` feature adds
/// a variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// The connector's description is wrong (an unknown partition key, a
    /// bad parameter): the dataflow cannot be built.
    #[error("dataflow build error: {0}")]
    Build(String),
    /// An I/O error while opening, reading or writing: `FILE: message`.
    /// The underlying error's message is part of this error's text, so it
    /// is not also its [`source`](std::error::Error::source): a report that
    /// prints the chain names it once.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file (or `-` for stdin/stdout, or a `kafka://` topic).
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// Invalid input data, with the exact place it was found.
    #[error("{}:{line}: {message}", path.display())]
    Input {
        /// The file (or `-` for stdin).
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What was wrong, and what was expected.
        message: String,
    },
    /// A sink cannot be resumed from the state a snapshot holds for it (a
    /// file shorter than its snapshot, a state of another sink): the
    /// message names the output and what was expected.
    #[error("recovery: {0}")]
    Resume(String),
    /// A Kafka client call failed: `kafka://HOSTS/TOPIC[/PARTITION]: what`,
    /// then (as the [`source`](std::error::Error::source)) rdkafka's error.
    #[cfg(feature = "kafka")]
    #[error("{place}: {what}")]
    Kafka {
        /// The topic or partition, as a `kafka://` URI.
        place: String,
        /// What was being done, and what to check.
        what: String,
        /// The client's error (boxed: it is large, and errors are rare).
        #[source]
        source: Box<rdkafka::error::KafkaError>,
    },
}

impl ConnectorError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ConnectorError::Io {
            path: path.into(),
            error: source,
        }
    }
}

/// Result alias of the connectors.
pub type Result<T, E = ConnectorError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    /// What a chain-printing report (`anyhow`'s `{:#}`) shows.
    fn report(e: &dyn std::error::Error) -> String {
        let mut text = e.to_string();
        let mut next = e.source();
        while let Some(s) = next {
            text.push_str(&format!(": {s}"));
            next = s.source();
        }
        text
    }

    #[test]
    fn io_error_is_named_once() {
        let err = ConnectorError::io(
            "logs/a.log",
            std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory"),
        );
        assert_eq!(report(&err), "logs/a.log: No such file or directory");
        assert!(err.source().is_none());
    }

    #[cfg(feature = "kafka")]
    #[test]
    fn a_kafka_error_keeps_the_client_error_as_source() {
        let err = ConnectorError::Kafka {
            place: "kafka://localhost:9092/clicks".into(),
            what: "cannot create a consumer".into(),
            source: Box::new(rdkafka::error::KafkaError::ClientCreation("bad config".into())),
        };
        let source = err
            .source()
            .and_then(|s| s.downcast_ref::<Box<rdkafka::error::KafkaError>>());
        assert!(
            matches!(
                source.map(|b| &**b),
                Some(rdkafka::error::KafkaError::ClientCreation(_))
            ),
            "{err:?}"
        );
        assert_eq!(
            report(&err),
            "kafka://localhost:9092/clicks: cannot create a consumer: Client creation error: bad config"
        );
    }
}
