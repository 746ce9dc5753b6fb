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

use std::path::Path;
use std::time::Duration;

use clap::ValueEnum;

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
    pub(crate) fn output(name: &str, path: Option<&Path>) -> Param {
        Param {
            name: name.into(),
            resume: Some(path.map_or_else(|| "none".to_owned(), |p| p.display().to_string())),
            cluster: Some(if path.is_some() { "given" } else { "none" }.to_owned()),
        }
    }
}

/// An optional duration, `off` when not set.
fn optional(d: Option<Duration>) -> String {
    d.map_or_else(|| "off".into(), format_duration)
}

/// The name clap shows for a value.
fn shown<V: ValueEnum>(v: &V) -> String {
    v.to_possible_value()
        .map_or_else(|| "?".to_owned(), |v| v.get_name().to_owned())
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
            match super::input_files(&self.inputs) {
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
            Param::resume("--output", self.output.display().to_string()),
            Param::both("--on-invalid", shown(&self.on_invalid)),
            Param::output("--late-output", self.late_output.as_deref()),
            Param::output("--dead-letter", self.dead_letter.as_deref()),
            Param::both("--max-line-bytes", self.max_line_bytes.to_string()),
            Param::both("--chunk-bytes", self.chunk_bytes.to_string()),
            Param::both("--time-unit", format!("{:?}", self.time_unit).to_lowercase()),
            Param::both("--schema", shown(&self.schema)),
            Param::both("--ubi-click-actions", self.ubi_click_actions.join(",")),
        ]);
        let a = self.analytics.as_ref();
        table.extend([
            Param::output("--query-output", a.and_then(|a| a.query_output.as_deref())),
            Param::output("--position-output", a.and_then(|a| a.position_output.as_deref())),
            Param::output("--judgment-output", a.and_then(|a| a.judgment_output.as_deref())),
            Param::both(
                "--analytics-window",
                a.map_or_else(
                    || "off".into(),
                    |a| format_duration(Duration::from_millis(a.window.size_ms().unsigned_abs())),
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
        let mut plan = super::super::tests::plan();
        plan.late_output = Some("late.jsonl".into());
        let named: Vec<String> = plan.params().into_iter().map(|p| p.name).collect();
        let mut kafka_plan = plan.clone();
        kafka_plan.kafka.input = Some("kafka://127.0.0.1:9092/t".into());
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
        let plan = super::super::tests::plan();
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
        let before = super::super::tests::plan();
        let mut now = before.clone();
        now.gap = Duration::from_secs(600);
        let text = eddy::recovery::parameter_changes(&before.fingerprint(), &now.fingerprint());
        assert_eq!(text, "--gap was 30m, is 10m now");
    }
}
