//! The one error type of the library: every failure names the step, and where
//! it comes from input, the file and line.

use std::path::PathBuf;

/// Why a dataflow could not be built or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum EddyError {
    /// The dataflow description is wrong (duplicate step id, bad parameter).
    #[error("dataflow build error: {0}")]
    Build(String),
    /// An I/O error while opening or reading an input: `FILE: message`.
    /// The underlying error's message is part of this error's text, so it
    /// is not also its [`source`](std::error::Error::source): a report that
    /// prints the chain names it once.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file (or `-` for stdin) being read or written.
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
    /// A step's own logic reported an error.
    #[error("step {step}: {message}")]
    Step {
        /// The full id of the failing step.
        step: String,
        /// What went wrong.
        message: String,
    },
    /// The recovery store is missing, damaged, foreign, or cannot be
    /// written; the message names the store and what was expected.
    #[error("recovery: {0}")]
    Recovery(String),
    /// The engine (timely) failed: a peer process was lost, networking
    /// could not start.
    #[error("engine error: {0}")]
    Engine(String),
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
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EddyError::Io {
            path: path.into(),
            error: source,
        }
    }
}

/// Result alias used throughout the library.
pub type Result<T, E = EddyError> = std::result::Result<T, E>;

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
        let err = EddyError::io(
            "logs/a.log",
            std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory"),
        );
        assert_eq!(report(&err), "logs/a.log: No such file or directory");
        assert!(err.source().is_none());
    }
}
