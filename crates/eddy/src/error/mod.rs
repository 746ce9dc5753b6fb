//! The library's errors: [`EddyError`], what a run or a build returns, with
//! the connectors' [`ConnectorError`] and the recovery store's
//! [`RecoveryError`] kept as typed sources (match on them, not on text).
//!
//! Part of the timely-free core: it names no other module of the crate.

mod recovery;

use std::path::PathBuf;

pub use eddy_io::ConnectorError;
pub use recovery::{parameter_changes, CodecError, Owner, RecoveryError};

/// Why a dataflow could not be built or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum EddyError {
    /// The dataflow description is wrong (duplicate step id, bad parameter).
    #[error("dataflow build error: {0}")]
    Build(String),
    /// A source or sink failed: an I/O error naming its file, invalid input
    /// naming the file and line, a Kafka client error. Its text is the
    /// connector error's.
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    /// A step's own logic reported an error.
    #[error("step {step}: {message}")]
    Step {
        /// The full id of the failing step.
        step: String,
        /// What went wrong.
        message: String,
    },
    /// The recovery store is missing, foreign, damaged, of another version,
    /// in use, or cannot be read or written; a snapshot cannot be taken or
    /// resumed. Its text is the [`RecoveryError`]'s.
    #[error(transparent)]
    Recovery(#[from] RecoveryError),
    /// The engine (timely) failed: a peer process was lost, networking
    /// could not start.
    #[error("engine error: {0}")]
    Engine(String),
    /// A cluster's networking failed at the operating system (listen,
    /// accept, connect, a socket option, a thread): what it was doing, with
    /// the I/O error as its [`source`](std::error::Error::source).
    #[error("engine error: {what}")]
    Network {
        /// What the engine was doing (`process 0: cannot listen on ADDR`).
        what: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Code running on a worker panicked: user logic in `step`, or (`step`
    /// `None`) outside any step's logic. Every worker of the run stopped.
    #[error("{}", describe_panic(.step.as_deref(), *.worker, .message))]
    Panic {
        /// The full id of the step whose logic panicked, where known.
        step: Option<String>,
        /// The (global) index of the worker it panicked on.
        worker: usize,
        /// The panic's message (`"panicked"` for a payload that is not text).
        message: String,
    },
    /// The run was told to stop from outside (a signal, a `StopHandle`)
    /// before its inputs ended.
    #[error("interrupted")]
    Interrupted,
    /// Two processes of a cluster were started differently (another
    /// dataflow, input, option or worker count): they compared their run
    /// parameters when they connected, and none of them ran anything.
    /// `process` is the higher of the two ids, so both report the same text.
    #[error(
        "process {process} disagrees with process {other} on {item}: {value} (process {process}) vs \
         {other_value} (process {other}); every process of a cluster must be started with the same \
         inputs and options"
    )]
    ClusterMismatch {
        /// What differs (`--gap`, `input file 2`, `dataflow`, ...).
        item: String,
        /// One process (the higher id).
        process: usize,
        /// Its value.
        value: String,
        /// The other process.
        other: usize,
        /// The other's value.
        other_value: String,
    },
}

/// `Panic`'s text: "step flow.calc panicked on worker 1: boom".
fn describe_panic(step: Option<&str>, worker: usize, message: &str) -> String {
    match step {
        Some(step) => format!("step {step} panicked on worker {worker}: {message}"),
        None => format!("worker {worker} panicked: {message}"),
    }
}

impl EddyError {
    /// A networking failure: `what` the engine was doing, and why.
    pub fn network(what: impl Into<String>, source: std::io::Error) -> Self {
        EddyError::Network {
            what: what.into(),
            source,
        }
    }

    /// An I/O error on `path`, as a connector reports it
    /// ([`ConnectorError::Io`]).
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EddyError::Connector(ConnectorError::io(path, source))
    }

    /// The recovery error this is, if it is one.
    pub fn as_recovery(&self) -> Option<&RecoveryError> {
        match self {
            EddyError::Recovery(e) => Some(e),
            _ => None,
        }
    }

    /// The connector error this is, if it is one.
    pub fn as_connector(&self) -> Option<&ConnectorError> {
        match self {
            EddyError::Connector(e) => Some(e),
            _ => None,
        }
    }
}

/// Result alias used throughout the library.
pub type Result<T, E = EddyError> = std::result::Result<T, E>;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::error::Error as _;

    /// What a chain-printing report (`anyhow`'s `{:#}`) shows.
    pub(crate) fn report(e: &dyn std::error::Error) -> String {
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
        let err = EddyError::io(
            "logs/a.log",
            std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory"),
        );
        assert_eq!(report(&err), "logs/a.log: No such file or directory");
        assert!(err.source().is_none());
        assert!(
            matches!(err.as_connector(), Some(ConnectorError::Io { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn a_recovery_error_is_named_once_and_keeps_its_cause() {
        let sqlite = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("database is locked".into()),
        );
        let err = EddyError::from(RecoveryError::Sqlite {
            path: "rec/recovery.sqlite3".into(),
            source: sqlite,
        });
        // Then rusqlite's own chain (its message, then SQLite's code).
        let text = report(&err);
        assert!(
            text.starts_with(
                "rec/recovery.sqlite3: the recovery store cannot be read or written: database is locked"
            ),
            "{text}"
        );
        assert_eq!(text.matches("database is locked").count(), 1, "{text}");
        let cause = err.source().and_then(|s| s.downcast_ref::<rusqlite::Error>());
        assert!(
            matches!(cause, Some(rusqlite::Error::SqliteFailure(..))),
            "{err:?}"
        );
    }
}
