//! Writing to stdout and stderr without ever panicking, and turning a
//! command's outcome into the exit status.
//!
//! `println!`/`eprintln!` panic when the stream fails (`> /dev/full`, a
//! closed pipe); every line this binary prints goes through [`out`] or
//! [`err`] instead, which return the failure as a [`StreamError`]. A reader
//! that closed stdout (`EPIPE`) ends the command with success, quietly; any
//! other failure to write stdout or stderr is exit status 1, with one line on
//! stderr when stderr still works.

use std::fmt;
use std::io::{self, ErrorKind, Write};
use std::process::ExitCode;

use eddy::{ConnectorError, EddyError};

use crate::usage::UsageError;

/// A standard stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        })
    }
}

/// Writing to stdout or stderr failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to {stream}: {source}")]
pub struct StreamError {
    /// The stream.
    pub stream: Stream,
    /// Why.
    #[source]
    pub source: io::Error,
}

/// Writes `args` and a newline to `stream`, flushed.
fn line(stream: Stream, args: fmt::Arguments<'_>) -> Result<(), StreamError> {
    let result = match stream {
        Stream::Stdout => {
            let mut out = io::stdout().lock();
            writeln!(out, "{args}").and_then(|()| out.flush())
        }
        Stream::Stderr => {
            let mut err = io::stderr().lock();
            writeln!(err, "{args}").and_then(|()| err.flush())
        }
    };
    result.map_err(|source| StreamError { stream, source })
}

/// Prints a line on stdout.
pub fn out(args: fmt::Arguments<'_>) -> Result<(), StreamError> {
    line(Stream::Stdout, args)
}

/// Prints a line on stderr.
pub fn err(args: fmt::Arguments<'_>) -> Result<(), StreamError> {
    line(Stream::Stderr, args)
}

/// A failed command: its error, and a line to print after it (what became
/// of the outputs).
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub error: anyhow::Error,
    /// Printed on stderr after the error.
    pub note: Option<String>,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure {
            error: error.into(),
            note: None,
        }
    }
}

/// An engine error whose "file" is stdout (`-` in the library's sinks)
/// names stdout: the tutorial reads no stdin, so `-` there is its output.
pub fn stdout_error(e: EddyError) -> anyhow::Error {
    match e {
        EddyError::Connector(ConnectorError::Io { path, error }) if path.as_os_str() == "-" => StreamError {
            stream: Stream::Stdout,
            source: error,
        }
        .into(),
        e => e.into(),
    }
}

/// The exit status of a command's outcome, after reporting a failure on
/// stderr: 0 success (or stdout closed by its reader), 1 a failed run or a
/// failed write, 2 a usage error (or processes of a cluster started
/// differently), 130/143 a run stopped by SIGINT/SIGTERM
/// (one line, with the note).
pub fn exit_status(result: Result<(), Failure>) -> ExitCode {
    let Err(failure) = result else {
        return ExitCode::SUCCESS;
    };
    if let Some(s) = failure.error.downcast_ref::<StreamError>() {
        if s.stream == Stream::Stdout && s.source.kind() == ErrorKind::BrokenPipe {
            return ExitCode::SUCCESS;
        }
    }
    if let Some(EddyError::Interrupted) = failure.error.downcast_ref::<EddyError>() {
        let (line, code) = crate::signals::describe(failure.note.as_deref());
        // Stderr may be closed: then there is nobody to tell.
        let _ = err(format_args!("{line}"));
        return code;
    }
    // Processes of a cluster started with different options: a usage error.
    let mismatch = matches!(
        failure.error.downcast_ref::<EddyError>(),
        Some(EddyError::ClusterMismatch { .. })
    );
    let code = if failure.error.is::<UsageError>() || mismatch {
        2
    } else {
        1
    };
    // Stderr may be what failed: then there is nobody to tell.
    let _ = err(format_args!("search-ctr: error: {}", message(&failure.error))).and_then(|()| match &failure
        .note
    {
        Some(note) => err(format_args!("search-ctr: {note}")),
        None => Ok(()),
    });
    ExitCode::from(code)
}

/// The error and its causes on one line, `a: b: c`, each said once (an
/// I/O error's message already holds its cause).
pub fn message(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// Prints clap's help, version or usage error and gives its exit status:
/// 0 for help and version, 2 for a usage error (even when stderr cannot
/// take its message); help on a stdout that fails is like any failed write.
pub fn clap_exit(e: &clap::Error) -> ExitCode {
    let code = ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
    match e.print() {
        Ok(()) => code,
        Err(_) if e.use_stderr() => code,
        Err(source) => exit_status(Err(StreamError {
            stream: Stream::Stdout,
            source,
        }
        .into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_says_each_cause_once() {
        let io = EddyError::io("x.jsonl", io::Error::new(ErrorKind::StorageFull, "disk full"));
        let e = anyhow::Error::from(io).context("writing rows");
        assert_eq!(message(&e), "writing rows: x.jsonl: disk full");
    }

    #[test]
    fn stdout_errors_name_stdout() {
        let e = stdout_error(EddyError::io(
            "-",
            io::Error::new(ErrorKind::StorageFull, "disk full"),
        ));
        assert_eq!(message(&e), "cannot write to stdout: disk full");
        let e = stdout_error(EddyError::Build("bad".into()));
        assert!(e.downcast_ref::<StreamError>().is_none());
    }
}
