//! The one error type of the library: every failure names the step, and where
//! it comes from input, the file and line.

use std::path::PathBuf;

/// Why a dataflow could not be built or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum EddyError {
    /// The dataflow description is wrong (duplicate step id, bad parameter).
    #[error("dataflow build error: {0}")]
    Build(String),
    /// An I/O error while opening or reading an input.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file (or `-` for stdin) being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
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
    /// The engine (timely) failed: a worker panicked, a peer was lost.
    #[error("engine error: {0}")]
    Engine(String),
}

impl EddyError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EddyError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias used throughout the library.
pub type Result<T, E = EddyError> = std::result::Result<T, E>;
