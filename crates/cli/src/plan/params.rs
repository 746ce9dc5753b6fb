//! The run's parameters as one table. Each entry names an option as the
//! user writes it and gives the value each check compares:
//!
//! - a **resume** (the recovery store's fingerprint: what must not change
//!   between a run and its resume; the worker and process count may);
//! - a **cluster** (what every process of a run must share; output paths
//!   may differ, since only process 0 writes, but not whether an output is
//!   there).
//!
//! [`Plan::fingerprint`] and [`Plan::cluster_fingerprint`] are both made
//! from [`Plan::params`], so a new option is added once, here, and a
//! refused resume or a disagreeing process names it with both values.
//! The tests' `NOT_PARAMETERS` lists the options that are in neither check, with
//! why; a test checks that every option of `run` is in one or the other.

use std::fmt::Display;
use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;
use eddy::connectors::files::{FileSource, LineRef};

use super::Plan;
use crate::duration::format_duration;

/// One parameter: its name and the value each check compares (`None`:
/// not part of that check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The option (`--gap`), or what the value is (`input file 2`).
    pub name: String,
    /// The value a resume compares.
    pub resume: Option<String>,
    /// The value the processes of a cluster compare.
    pub cluster: Option<String>,
}

impl Param {
    /// Compared by both checks.
    pub(crate) fn both(name: &str, value: impl Into<String>) -> Param {
        let value = value.into();
        Param {
            name: name.into(),
            resume: Some(value.clone()),
            cluster: Some(value),
        }
    }

    /// Compared by a resume only.
    pub(crate) fn resume(name: &str, value: impl Into<String>) -> Param {
        Param {
            name: name.into(),
            resume: Some(value.into()),
            cluster: None,
        }
    }

    /// Compared by the processes of a cluster only.
    pub(crate) fn cluster(name: impl Into<String>, value: impl Into<String>) -> Param {
        Param {
            name: name.into(),
            resume: None,
            cluster: Some(value.into()),
        }
    }

    /// An output: its path for a resume, whether it is there for a cluster.
    pub(crate) fn output(name: &str, path: Option<impl Display>) -> Param {
        Param {
            name: name.into(),
            resume: Some(
                path.as_ref()
                    .map_or_else(|| "none".to_owned(), ToString::to_string),
            ),
            cluster: Some(if path.is_some() { "given" } else { "none" }.to_owned()),
        }
    }
}

/// An optional duration, `off` when not set.
fn optional(d: Option<Duration>) -> String {
    d.map_or_else(|| "off".into(), format_duration)
}

/// The name clap shows for a value.
pub(crate) fn shown<V: ValueEnum>(v: &V) -> String {
    v.to_possible_value()
        .map_or_else(|| "?".to_owned(), |v| v.get_name().to_owned())
}

/// Every input file (directories expanded as the run reads them), as
/// given, with its size (`None` for stdin).
fn input_files(inputs: &[PathBuf]) -> eddy::Result<Vec<(String, Option<u64>)>> {
    use eddy::connectors::Source;
    let keys = FileSource::new(inputs.to_vec(), |_: &LineRef<'_>| ())
        .chunk_bytes(0)
        .list_parts()?;
    keys.iter()
        .map(|key| {
            let path = key.strip_prefix("file:").or_else(|| key.strip_prefix("gz:"));
            match path {
                Some(path) => std::fs::metadata(path)
                    .map(|m| (path.to_owned(), Some(m.len())))
                    .map_err(|e| eddy::EddyError::io(path, e)),
                None => Ok((key.clone(), None)),
            }
        })
        .collect()
}

impl Plan {
    /// Every parameter of the run, in a fixed order.
    pub fn params(&self) -> Vec<Param> {
        let mut table = vec![Param::both("search-ctr version", env!("CARGO_PKG_VERSION"))];
        table.push(Param::resume(
            "--input",
            self.inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ));
        table.extend(self.kafka.params());
        if !(self.kafka.input.is_some() && self.inputs.is_empty()) {
            match input_files(&self.inputs) {
                Ok(files) => {
                    table.push(Param::cluster(
                        "the number of input files",
                        files.len().to_string(),
                    ));
                    for (i, (path, size)) in files.into_iter().enumerate() {
                        let size = size.map_or_else(|| "stdin".to_owned(), |n| format!("{n} bytes"));
                        table.push(Param::cluster(
                            format!("input file {}", i + 1),
                            format!("{path} ({size})"),
                        ));
                    }
                }
                // The run reports it; the processes still compare it.
                Err(e) => table.push(Param::cluster(
                    "the input files",
                    format!("cannot be listed: {e}"),
                )),
            }
        }
        table.extend([
            Param::both("--gap", format_duration(self.gap)),
            Param::both("--wait", format_duration(self.wait)),
            Param::both("--idle-timeout", optional(self.idle_timeout)),
            Param::both("--horizon", optional(self.horizon)),
            Param::both("--format", shown(&self.format)),
            Param::resume("--output", self.output.to_string()),
            Param::both("--on-invalid", shown(&self.on_invalid)),
            Param::output("--late-output", self.late_output.as_ref()),
            Param::output("--dead-letter", self.dead_letter.as_ref()),
            Param::both("--max-line-bytes", self.max_line_bytes.to_string()),
            Param::both("--chunk-bytes", self.chunk_bytes.to_string()),
            Param::both("--time-unit", format!("{:?}", self.time_unit).to_lowercase()),
            Param::both("--schema", shown(&self.schema)),
            Param::both(
                "--map",
                self.mapping
                    .as_ref()
                    .map_or_else(|| "none".to_owned(), |m| m.describe()),
            ),
            Param::both("--ubi-click-actions", self.ubi_click_actions.join(",")),
        ]);
        let a = self.analytics.as_ref();
        table.extend([
            Param::output(
                "--query-output",
                a.and_then(|a| a.query_output.as_ref().map(|p| p.display())),
            ),
            Param::output(
                "--position-output",
                a.and_then(|a| a.position_output.as_ref().map(|p| p.display())),
            ),
            Param::output(
                "--judgment-output",
                a.and_then(|a| a.judgment_output.as_ref().map(|p| p.display())),
            ),
            Param::both(
                "--analytics-window",
                a.map_or_else(
                    || "off".into(),
                    |a| format_duration(Duration::from_millis(a.window.size_ms().unsigned_abs())),
                ),
            ),
            Param::both(
                "--judgment-model",
                a.map_or_else(
                    || "off".into(),
                    |a| {
                        a.model
                            .map_or_else(|| "coec".to_owned(), |m| format!("{m:?}").to_lowercase())
                    },
                ),
            ),
            Param::both(
                "--min-impressions",
                a.map_or_else(|| "off".into(), |a| a.min_impressions.to_string()),
            ),
            Param::both(
                "--analytics-delay",
                match a.map(|a| a.close_after) {
                    None => "off".into(),
                    Some(None) => "end of input".into(),
                    Some(Some(d)) => format_duration(d),
                },
            ),
        ]);
        table.extend([
            Param::cluster("--recovery-dir", if self.recovery { "given" } else { "none" }),
            Param::cluster("--workers", self.workers.to_string()),
            Param::cluster("--peer-timeout", format_duration(self.peer_timeout)),
        ]);
        table
    }

    /// What a resume must not change: the resume values of
    /// [`Plan::params`], one `name = value` line each (so that a refused
    /// resume names what changed).
    pub fn fingerprint(&self) -> String {
        self.params()
            .into_iter()
            .filter_map(|p| p.resume.map(|v| format!("{} = {v}", p.name)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// What every process of a cluster must share, item by item: the
    /// cluster values of [`Plan::params`].
    pub fn cluster_fingerprint(&self) -> Vec<(String, String)> {
        self.params()
            .into_iter()
            .filter_map(|p| p.cluster.map(|v| (p.name, v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::args::endpoint::Endpoint;
    use crate::args::Cli;

    /// The options of `search-ctr run` that are in neither check, and why.
    pub const NOT_PARAMETERS: &[(&str, &str)] = &[
        (
            "--partition-idle",
            "when an idle partition stops holding the others back: timing, not rows",
        ),
        (
            "--live",
            "how the outputs are written, not what they hold; a Kafka topic's end is --kafka-until-end",
        ),
        ("--process-id", "each process's own"),
        (
            "--addresses",
            "each process is given the same list by its launcher",
        ),
        ("--hostfile", "the same, from a file"),
        (
            "--connect-timeout",
            "how long each process waits for the others to connect",
        ),
        ("--summary", "what the process prints at the end"),
        ("--report", "written from the rows after the run"),
        ("--serve", "the live page and /metrics"),
        ("--quiet", "what the process prints"),
        ("--print-flow", "prints the dataflow instead of running it"),
        ("--backup-interval", "how long old snapshots are kept"),
        ("--snapshot-interval", "how often snapshots are taken"),
        (
            "--stop-timeout",
            "how long a stopped run waits for its last snapshot",
        ),
        ("--kafka-timeout", "how long to wait for the broker"),
        ("--kafka-create", "whether a missing output topic is made"),
        (
            "--kafka-transaction-timeout",
            "the broker's limit on an open transaction",
        ),
        (
            "--kafka-allow-foreign",
            "whether an output topic may hold other writers' messages",
        ),
        ("--kafka-option", "librdkafka client settings"),
        ("--type-map", "part of --map's value (the whole mapping)"),
        ("--schema-file", "part of --map's value (the whole mapping)"),
        ("--kafka-partitions", "how a missing output topic is made"),
    ];

    /// Every long option of `search-ctr run`.
    fn run_options() -> Vec<String> {
        let cli = Cli::command();
        let run = cli
            .get_subcommands()
            .find(|c| c.get_name() == "run")
            .expect("a run subcommand");
        run.get_arguments()
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .filter(|l| l != "--help")
            .collect()
    }

    #[test]
    fn every_option_of_run_is_a_parameter_or_says_why_not() {
        let mut plan = super::super::fixtures::plan();
        plan.late_output = Some(Endpoint::File("late.jsonl".into()));
        let named: Vec<String> = plan.params().into_iter().map(|p| p.name).collect();
        let mut kafka_plan = plan.clone();
        kafka_plan.kafka.input =
            Some(eddy::connectors::kafka::KafkaUri::parse("kafka://127.0.0.1:9092/t").unwrap());
        let kafka_named: Vec<String> = kafka_plan.params().into_iter().map(|p| p.name).collect();
        let problems: Vec<String> = run_options()
            .into_iter()
            .filter_map(|option| {
                let listed = named.contains(&option) || kafka_named.contains(&option);
                let excused = NOT_PARAMETERS.iter().any(|(o, _)| *o == option);
                match (listed, excused) {
                    (true, true) => Some(format!("{option}: both a parameter and in NOT_PARAMETERS")),
                    (false, false) => Some(format!(
                        "{option}: neither a parameter (Plan::params) nor in NOT_PARAMETERS with a reason"
                    )),
                    _ => None,
                }
            })
            .collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn the_two_checks_are_made_from_the_one_table() {
        let plan = super::super::fixtures::plan();
        let table = plan.params();
        let lines: Vec<String> = plan.fingerprint().lines().map(str::to_owned).collect();
        let resumed: Vec<String> = table
            .iter()
            .filter_map(|p| p.resume.as_ref().map(|v| format!("{} = {v}", p.name)))
            .collect();
        assert_eq!(lines, resumed);
        let cluster: Vec<(String, String)> = table
            .iter()
            .filter_map(|p| p.cluster.clone().map(|v| (p.name.clone(), v)))
            .collect();
        assert_eq!(plan.cluster_fingerprint(), cluster);
        // Outputs: the path for a resume, whether it is there for a cluster.
        let late = table.iter().find(|p| p.name == "--late-output").expect("listed");
        assert_eq!(
            (late.resume.as_deref(), late.cluster.as_deref()),
            (Some("none"), Some("none"))
        );
    }

    #[test]
    fn a_refused_resume_names_the_option_and_both_values() {
        let before = super::super::fixtures::plan();
        let mut now = before.clone();
        now.gap = Duration::from_secs(600);
        let text = eddy::recovery::parameter_changes(&before.fingerprint(), &now.fingerprint());
        assert_eq!(text, "--gap was 30m, is 10m now");
    }

    #[test]
    fn the_time_unit_is_part_of_the_fingerprint() {
        let plan = super::super::fixtures::plan();
        let seconds = Plan {
            time_unit: ctr::timestamp::TimeUnit::Seconds,
            ..plan.clone()
        };
        assert_ne!(plan.fingerprint(), seconds.fingerprint());
        assert!(seconds.fingerprint().contains("--time-unit = seconds"));
    }

    #[test]
    fn analytics_options_are_part_of_both_fingerprints() {
        let plan = super::super::fixtures::plan();
        let a = crate::plan::Analytics {
            window: ctr::analytics::window::Window::DAY,
            min_impressions: 10,
            close_after: None,
            query_output: Some("q.jsonl".into()),
            position_output: None,
            judgment_output: None,
            model: None,
        };
        let on = Plan {
            analytics: Some(a.clone()),
            ..plan.clone()
        };
        let hourly = Plan {
            analytics: Some(crate::plan::Analytics {
                window: ctr::analytics::window::Window::parse("1h").unwrap(),
                ..a.clone()
            }),
            ..plan.clone()
        };
        let fewer = Plan {
            analytics: Some(crate::plan::Analytics {
                min_impressions: 5,
                ..a
            }),
            ..plan.clone()
        };
        let ubi = Plan {
            schema: crate::args::SchemaArg::Ubi,
            ..plan.clone()
        };
        let prints: Vec<String> = [&plan, &on, &hourly, &fewer, &ubi]
            .iter()
            .map(|p| p.fingerprint())
            .collect();
        for (i, a) in prints.iter().enumerate() {
            for b in &prints[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let get = |p: &Plan, name: &str| {
            let items = p.cluster_fingerprint();
            items.into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
        };
        assert_eq!(get(&plan, "--query-output").as_deref(), Some("none"));
        assert_eq!(get(&on, "--query-output").as_deref(), Some("given"));
        assert_eq!(get(&on, "--position-output").as_deref(), Some("none"));
        assert_eq!(get(&hourly, "--analytics-window").as_deref(), Some("1h"));
        assert_eq!(get(&fewer, "--min-impressions").as_deref(), Some("5"));
        assert_eq!(get(&ubi, "--schema").as_deref(), Some("ubi"));
    }

    #[test]
    fn the_cluster_fingerprint_names_options_and_lists_input_files_with_sizes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        std::fs::write(dir.path().join("logs/b.jsonl"), "12345").unwrap();
        std::fs::write(dir.path().join("logs/a.jsonl"), "1").unwrap();
        let plan = Plan {
            inputs: vec![dir.path().join("logs")],
            output: Endpoint::File("out-on-process-0.jsonl".into()),
            on_invalid: crate::args::OnInvalid::Skip,
            dead_letter: Some(Endpoint::File("dead.jsonl".into())),
            workers: 2,
            ..super::super::fixtures::plan()
        };
        let items = plan.cluster_fingerprint();
        let get = |name: &str| items.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("--gap"), Some("30m"));
        assert_eq!(get("--wait"), Some("10s"));
        assert_eq!(get("--workers"), Some("2"));
        assert_eq!(get("--dead-letter"), Some("given"));
        assert_eq!(get("--late-output"), Some("none"));
        assert_eq!(get("--on-invalid"), Some("skip"));
        assert_eq!(get("the number of input files"), Some("2"));
        let a = dir.path().join("logs/a.jsonl");
        assert_eq!(
            get("input file 1"),
            Some(format!("{} (1 bytes)", a.display()).as_str())
        );
        // Where process 0 writes is its own business.
        let elsewhere = Plan {
            output: Endpoint::File("other.jsonl".into()),
            dead_letter: Some(Endpoint::File("other-dead.jsonl".into())),
            ..plan.clone()
        };
        assert_eq!(elsewhere.cluster_fingerprint(), items);
        let resumable = Plan {
            recovery: true,
            ..plan.clone()
        };
        assert_ne!(resumable.cluster_fingerprint(), items);
    }
}
