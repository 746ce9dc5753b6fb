//! Inputs and outputs as typed values, parsed once by clap: an output is
//! stdout, a file or a Kafka topic ([`Endpoint`]); an input a path (file,
//! directory, `-`) or a Kafka topic ([`Input`]). A malformed `kafka://` URI
//! is a usage error naming the option, before anything else is checked.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::builder::TypedValueParser;
use eddy::connectors::kafka::{is_kafka_uri, KafkaUri};

/// Where an output option's rows go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `-`: standard output.
    Stdout,
    /// A file.
    File(PathBuf),
    /// A `kafka://HOST:PORT/TOPIC` topic.
    Kafka(KafkaUri),
}

impl Endpoint {
    /// The path a local output is written at (`-` for stdout); `None` for
    /// a Kafka topic.
    pub fn local(&self) -> Option<&Path> {
        match self {
            Endpoint::Stdout => Some(Path::new("-")),
            Endpoint::File(p) => Some(p),
            Endpoint::Kafka(_) => None,
        }
    }

    /// Whether this is a Kafka topic.
    pub fn is_kafka(&self) -> bool {
        matches!(self, Endpoint::Kafka(_))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Stdout => f.write_str("-"),
            Endpoint::File(p) => write!(f, "{}", p.display()),
            Endpoint::Kafka(uri) => write!(f, "{uri}"),
        }
    }
}

/// An input option's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file, a directory or `-` (stdin).
    Path(PathBuf),
    /// A Kafka topic.
    Kafka(KafkaUri),
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Path(p) => write!(f, "{}", p.display()),
            Input::Kafka(uri) => write!(f, "{uri}"),
        }
    }
}

/// `Some(uri)` for a `kafka://` value, checked; `None` for a path. Paths
/// that are not UTF-8 are paths.
fn kafka_of(option: &str, value: &OsStr) -> Result<Option<KafkaUri>, String> {
    match value.to_str() {
        Some(text) if is_kafka_uri(text) => KafkaUri::parse(text)
            .map(Some)
            .map_err(|e| format!("{option} {e}")),
        _ => Ok(None),
    }
}

/// The error clap prints for a value `parse` refused (a usage error,
/// exit status 2).
fn usage(cmd: &clap::Command, message: String) -> clap::Error {
    clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{message}\n")).with_cmd(cmd)
}

/// The option as the user wrote it (`--output`).
fn option_name(arg: Option<&clap::Arg>) -> String {
    arg.and_then(clap::Arg::get_long)
        .map_or_else(|| "a value".to_owned(), |l| format!("--{l}"))
}

/// Clap's parser for output options.
#[derive(Debug, Clone, Copy)]
pub struct EndpointParser;

impl TypedValueParser for EndpointParser {
    type Value = Endpoint;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Endpoint, clap::Error> {
        if value == "-" {
            return Ok(Endpoint::Stdout);
        }
        match kafka_of(&option_name(arg), value) {
            Ok(Some(uri)) => Ok(Endpoint::Kafka(uri)),
            Ok(None) => Ok(Endpoint::File(PathBuf::from(value))),
            Err(e) => Err(usage(cmd, e)),
        }
    }
}

/// Clap's parser for `--input`.
#[derive(Debug, Clone, Copy)]
pub struct InputParser;

impl TypedValueParser for InputParser {
    type Value = Input;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Input, clap::Error> {
        match kafka_of(&option_name(arg), value) {
            Ok(Some(uri)) => Ok(Input::Kafka(uri)),
            Ok(None) => Ok(Input::Path(PathBuf::from(value))),
            Err(e) => Err(usage(cmd, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(text: &str) -> Result<Endpoint, String> {
        let cmd = clap::Command::new("t");
        let arg = clap::Arg::new("output").long("output");
        EndpointParser
            .parse_ref(&cmd, Some(&arg), OsStr::new(text))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_output_is_stdout_a_file_or_a_topic() {
        assert_eq!(output("-"), Ok(Endpoint::Stdout));
        assert_eq!(output("out.jsonl"), Ok(Endpoint::File("out.jsonl".into())));
        let topic = output("kafka://127.0.0.1:9092/rows").unwrap();
        assert_eq!(
            topic,
            Endpoint::Kafka(KafkaUri::parse("kafka://127.0.0.1:9092/rows").unwrap())
        );
        assert_eq!(topic.to_string(), "kafka://127.0.0.1:9092/rows");
        assert_eq!(topic.local(), None);
        assert_eq!(Endpoint::Stdout.local(), Some(Path::new("-")));
    }

    #[test]
    fn a_malformed_topic_is_refused_naming_the_option() {
        let e = output("kafka://h:1").unwrap_err();
        assert!(e.contains("--output kafka://h:1: no topic"), "{e}");
    }

    #[test]
    fn an_input_is_a_path_or_a_topic() {
        let cmd = clap::Command::new("t");
        let parse = |t: &str| InputParser.parse_ref(&cmd, None, OsStr::new(t)).unwrap();
        assert_eq!(parse("-"), Input::Path("-".into()));
        assert_eq!(parse("logs/"), Input::Path("logs/".into()));
        assert!(matches!(parse("kafka://h:1/t"), Input::Kafka(_)));
    }
}
