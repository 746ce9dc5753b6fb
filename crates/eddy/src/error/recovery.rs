//! [`RecoveryError`]: what the recovery store and the snapshot codec
//! report. Each case the store tells apart is a variant, so a caller (the
//! CLI, a test) matches on it; SQLite's and bincode's errors stay
//! [`source`](std::error::Error::source)s, never flattened into text.

use std::path::PathBuf;

/// Why the recovery store could not be used, or a snapshot could not be
/// taken or resumed. Every text names the store (or the step) and what was
/// expected.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// There is no store file in the recovery directory.
    #[error(
        "no recovery store in {} (expected {}); create one with `search-ctr recovery init {}` \
         (eddy::recovery::init_store)",
        dir.display(), path.display(), dir.display()
    )]
    Missing {
        /// The recovery directory.
        dir: PathBuf,
        /// The store file that was expected in it.
        path: PathBuf,
    },
    /// The store file is empty (0 bytes): never initialised, or truncated.
    #[error(
        "the recovery store {} is empty (0 bytes): it was never initialised or was truncated; \
         run `search-ctr recovery init {}` (eddy::recovery::init_store) to start over",
        path.display(), dir.display()
    )]
    Empty {
        /// The recovery directory.
        dir: PathBuf,
        /// The empty store file.
        path: PathBuf,
    },
    /// `init` found a store already there (it may hold a run's state).
    #[error("{}: a recovery store already exists; delete it to start over", path.display())]
    Exists {
        /// The existing store file.
        path: PathBuf,
    },
    /// The store is not this run's: another SQLite database, or the store
    /// of another dataflow or of a run with other parameters.
    #[error("{}: {owner}", path.display())]
    Foreign {
        /// The store file.
        path: PathBuf,
        /// Whose it is.
        owner: Owner,
    },
    /// The store was written in another format version.
    #[error(
        "{}: recovery store format version {found}; this build reads version {expected}; {}",
        path.display(),
        version_advice(*found, *expected)
    )]
    OtherVersion {
        /// The store file.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// The version this build reads.
        expected: i64,
    },
    /// Another live run (of the same process id) holds the store's lock.
    #[error(
        "{}: another run (process {process}) is using this recovery store; wait for it to end or stop it",
        dir.display()
    )]
    InUse {
        /// The recovery directory.
        dir: PathBuf,
        /// The process id whose lock is taken.
        process: usize,
    },
    /// The store's content is damaged: SQLite finds no database or a corrupt
    /// one, its page check fails, or a snapshot part's header, checksum or
    /// count is wrong. Nothing was resumed or truncated.
    #[error("{}: {detail}", path.display())]
    Damaged {
        /// The store file.
        path: PathBuf,
        /// What is damaged (and where: snapshot, step, worker).
        detail: String,
        /// SQLite's or the codec's error, where there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// SQLite failed on a store that is not known to be damaged (locked
    /// too long, disk full, read-only).
    #[error("{}: the recovery store cannot be read or written", path.display())]
    Sqlite {
        /// The store file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// An I/O error on a file of the recovery directory: `FILE: message`.
    /// The underlying error's message is part of this text, so it is not
    /// also the source.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// A step's state could not be encoded or decoded.
    #[error("step {step}: {what}")]
    Codec {
        /// The full id of the step.
        step: String,
        /// Which state (and, on resume, which snapshot and worker).
        what: String,
        /// The codec's error.
        #[source]
        source: CodecError,
    },
    /// The snapshot does not fit this run: the inputs, the dataflow or the
    /// worker count changed since it was written. Nothing was resumed or
    /// truncated.
    #[error("{detail}")]
    Mismatch {
        /// What changed, and what a resume needs.
        detail: String,
    },
    /// Taking a step's snapshot failed (its sink could not make its output
    /// durable, ...).
    #[error("step {step}: cannot snapshot")]
    Snapshot {
        /// The full id of the step.
        step: String,
        /// Why.
        #[source]
        source: Box<super::EddyError>,
    },
    /// The run is stopping: no snapshot of its outputs may be taken.
    #[error("the run is stopping: no snapshot of its output")]
    Stopping,
    /// The thread that writes snapshots to the store could not start.
    #[error("cannot start the snapshot writer")]
    WriterStart {
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The thread that writes snapshots to the store has stopped.
    #[error("the snapshot writer has stopped")]
    WriterStopped,
}

/// Whose a [`RecoveryError::Foreign`] store is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Owner {
    /// It is not an eddy store at all.
    #[error("not an eddy recovery store (a foreign SQLite database)")]
    NotEddy,
    /// It belongs to another dataflow.
    #[error(
        "the store belongs to dataflow {theirs:?}, not {ours:?}; use another recovery directory \
         (or delete this one to start over)"
    )]
    Dataflow {
        /// The store's dataflow id.
        theirs: String,
        /// This run's.
        ours: String,
    },
    /// It belongs to a run of the same dataflow with other parameters.
    /// Fingerprints written as `name = value` lines (see
    /// [`RecoveryConfig::fingerprint`](crate::recovery::RecoveryConfig))
    /// are compared line by line, and the message names each parameter that
    /// changed with both values.
    #[error(
        "the store belongs to a run with other parameters: {}; use another recovery directory \
         (or delete this one to start over)",
        parameter_changes(theirs, ours)
    )]
    Parameters {
        /// The store's run fingerprint.
        theirs: String,
        /// This run's.
        ours: String,
    },
}

/// What differs between two run fingerprints: each `name = value` line
/// that changed, was added or is gone, named with both values; the whole
/// fingerprints when they are not such lines.
pub fn parameter_changes(theirs: &str, ours: &str) -> String {
    let lines = |f: &str| -> Option<Vec<(String, String)>> {
        f.lines()
            .map(|l| {
                l.split_once(" = ")
                    .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
            })
            .collect()
    };
    let (Some(before), Some(now)) = (lines(theirs), lines(ours)) else {
        return format!("{theirs:?}, not {ours:?}");
    };
    let value =
        |list: &[(String, String)], name: &str| list.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut names: Vec<&str> = before.iter().map(|(k, _)| k.as_str()).collect();
    names.extend(
        now.iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| value(&before, k).is_none()),
    );
    let changes: Vec<String> = names
        .into_iter()
        .filter_map(|name| match (value(&before, name), value(&now, name)) {
            (Some(a), Some(b)) if a != b => Some(format!("{name} was {a}, is {b} now")),
            (Some(a), None) => Some(format!("{name} was {a}, is not set now")),
            (None, Some(b)) => Some(format!("{name} was not set, is {b} now")),
            _ => None,
        })
        .collect();
    if changes.is_empty() {
        format!("{theirs:?}, not {ours:?}")
    } else {
        changes.join("; ")
    }
}

/// What to do about a store of another version.
fn version_advice(found: i64, expected: i64) -> &'static str {
    if found < expected {
        "it was made by an older build: finish or discard its run with that build, or delete the store \
         and create a new one (`search-ctr recovery init`) to start over"
    } else {
        "it was made by a newer build: use that build"
    }
}

/// Why a snapshot part or a state could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// bincode could not encode a value.
    #[error("cannot encode {what}")]
    Encode {
        /// What was encoded (`a snapshot part`, `state`).
        what: &'static str,
        /// bincode's error.
        #[source]
        source: bincode::Error,
    },
    /// bincode could not decode a value.
    #[error("{what} cannot be decoded")]
    Decode {
        /// What was decoded.
        what: &'static str,
        /// bincode's error.
        #[source]
        source: bincode::Error,
    },
    /// A part does not start with the eddy header.
    #[error("not an eddy snapshot part (bad header)")]
    BadHeader,
    /// A part was written in another encoding version.
    #[error("snapshot part has format version {found}, this build reads version {expected}")]
    OtherVersion {
        /// The part's version.
        found: u8,
        /// The version this build reads.
        expected: u8,
    },
    /// A part's checksum does not match its payload.
    #[error("snapshot part is damaged (checksum mismatch)")]
    Checksum,
    /// A part ends inside a framed value.
    #[error("snapshot part is truncated")]
    Truncated,
    /// One framed value is over 4 GiB.
    #[error("a state over 4 GiB")]
    TooLarge,
}

#[cfg(test)]
mod tests {
    use super::parameter_changes;

    #[test]
    fn a_changed_parameter_is_named_with_both_values() {
        let before = "version = 1\n--gap = 30m\n--late-output = none";
        let now = "version = 1\n--gap = 10m\n--schema = ubi";
        assert_eq!(
            parameter_changes(before, now),
            "--gap was 30m, is 10m now; --late-output was none, is not set now; \
             --schema was not set, is ubi now"
        );
    }

    #[test]
    fn fingerprints_that_are_not_lines_are_shown_whole() {
        assert_eq!(parameter_changes("v1", "v2"), "\"v1\", not \"v2\"");
    }
}
