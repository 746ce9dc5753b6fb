//! `search-ctr run`'s arguments → one checked [`Plan`].
//!
//! Clap parses each value once into its type (durations, formats,
//! [`Endpoint`]s and [`Input`]s: `kafka://` URIs are checked there);
//! [`Plan::try_from`] is then the only place options are checked against
//! each other and against the file system (inputs that exist, outputs that
//! are not inputs). The dataflow ([`crate::pipeline`]) and the command
//! ([`crate::commands::run_logs`]) only read the plan.
//!
//! A new option is added to [`crate::args::RunArgs`], here (its checks and
//! its field), and to the parameter table ([`params`]) with its test.

pub mod cluster;
pub mod kafka;
pub mod params;
pub mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ctr::analytics::window::Window;
use ctr::timestamp::TimeUnit;
use eddy::ClusterConfig;

use crate::args::endpoint::Endpoint;
use crate::args::{Format, OnInvalid, RecoveryFlags, RunArgs, SchemaArg, SummaryFormat};
use crate::safety;
use crate::usage::UsageError;

/// Everything a run needs to know, from the command line, checked.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Files, directories, `-` (a Kafka input is in [`Plan::kafka`]).
    pub inputs: Vec<PathBuf>,
    /// Session gap.
    pub gap: Duration,
    /// Allowed out-of-orderness.
    pub wait: Duration,
    /// Wall-clock idle timeout per user (live input).
    pub idle_timeout: Option<Duration>,
    /// How far the input's progress must pass a quiet user before their
    /// watermark follows it (`None`: never).
    pub horizon: Option<Duration>,
    /// An input may not end (stdin on a pipe or terminal, a FIFO, Kafka
    /// without an end): file outputs are written in place, each batch
    /// through to the file (not staged), so that a run stopped by a signal
    /// keeps every whole row written.
    pub live_outputs: bool,
    /// Row format.
    pub format: Format,
    /// Where rows go.
    pub output: Endpoint,
    /// Where late lines go.
    pub late_output: Option<Endpoint>,
    /// Fail or skip on invalid lines.
    pub on_invalid: OnInvalid,
    /// Where invalid lines go (with skip).
    pub dead_letter: Option<Endpoint>,
    /// Longest valid line.
    pub max_line_bytes: usize,
    /// Chunk size for big files (0 = whole files).
    pub chunk_bytes: u64,
    /// The unit of integer `time` values.
    pub time_unit: TimeUnit,
    /// The input lines' schema.
    pub schema: SchemaArg,
    /// With a mapped schema (`--schema ga4|…`, `--schema-file`, `--map`):
    /// how records become events.
    pub mapping: Option<ctr::mapping::Mapping>,
    /// With the UBI schema: the click actions.
    pub ubi_click_actions: Vec<String>,
    /// Search analytics, when any of its outputs is given.
    pub analytics: Option<Analytics>,
    /// The Kafka input, the Kafka flags and the outputs' exactly-once id.
    pub kafka: kafka::KafkaPlan,
    /// Worker threads per process (`-w`).
    pub workers: usize,
    /// Whether the run snapshots (`--recovery-dir`).
    pub recovery: bool,
    /// In a cluster: how long a silent peer is waited for.
    pub peer_timeout: Duration,
    /// What the process does around the dataflow.
    pub job: Job,
}

/// The analytics part of a run's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analytics {
    /// Window length.
    pub window: Window,
    /// Least impressions of a judgment row.
    pub min_impressions: u64,
    /// `Some(delay)` for a live input (stdin, a Kafka topic read without
    /// an end): a window closes once the input's event-time frontier has
    /// passed its end by `delay`. `None` (bounded inputs): every window
    /// closes at end of input, exact.
    pub close_after: Option<Duration>,
    /// Query rows go here.
    pub query_output: Option<PathBuf>,
    /// Position rows go here.
    pub position_output: Option<PathBuf>,
    /// Judgment rows go here.
    pub judgment_output: Option<PathBuf>,
    /// The click model that judges (`None`: COEC alone).
    pub model: Option<ctr::analytics::click_models::Model>,
}

/// The process's side of a run: not part of the dataflow.
#[derive(Debug, Clone)]
pub struct Job {
    /// The inputs as given (shown by `--serve` and the report).
    pub given_inputs: Vec<PathBuf>,
    /// The cluster (`-i`, `-a`/`--hostfile`), its fingerprint filled in.
    pub cluster: Option<ClusterConfig>,
    /// This process's index (0 alone).
    pub process_id: usize,
    /// Snapshots (`-r` given).
    pub recovery: Option<RecoveryFlags>,
    /// `--partition-idle` (`None`: 0s, never).
    pub partition_idle: Option<Duration>,
    /// `--report`.
    pub report: Option<PathBuf>,
    /// `--serve`.
    pub serve: Option<String>,
    /// `--quiet`.
    pub quiet: bool,
    /// `--summary`.
    pub summary: SummaryFormat,
    /// `--print-flow`.
    pub print_flow: bool,
}

impl Plan {
    /// Every local output, with its option: the session rows, late lines,
    /// dead letters and analytics outputs (`-` for stdout).
    pub fn local_outputs(&self) -> Vec<safety::Named<'_>> {
        let a = self.analytics.as_ref();
        [
            ("--output", self.output.local()),
            (
                "--late-output",
                self.late_output.as_ref().and_then(Endpoint::local),
            ),
            (
                "--dead-letter",
                self.dead_letter.as_ref().and_then(Endpoint::local),
            ),
            ("--query-output", a.and_then(|a| a.query_output.as_deref())),
            ("--position-output", a.and_then(|a| a.position_output.as_deref())),
            ("--judgment-output", a.and_then(|a| a.judgment_output.as_deref())),
        ]
        .into_iter()
        .filter_map(|(o, p)| p.map(|p| (o, p)))
        .collect()
    }
}

/// The most worker threads `-w` may ask for, per CPU of the machine.
const MAX_WORKERS_PER_CPU: usize = 8;

impl TryFrom<RunArgs> for Plan {
    type Error = anyhow::Error;

    /// Checks `args` against each other and the file system; a usage
    /// error ([`UsageError`], exit status 2) names the options.
    fn try_from(args: RunArgs) -> anyhow::Result<Plan> {
        if args.dead_letter.is_some() && args.on_invalid == OnInvalid::Fail {
            return Err(UsageError("--dead-letter needs --on-invalid skip".into()).into());
        }
        check_workers(args.workers)?;
        let (inputs, kafka_input) = kafka::check(&args)?;
        let analytics = analytics(&args, kafka_input.is_some())?;
        let cluster = cluster::from_args(&args)?;
        if let Some(report) = &args.report {
            if let Some(why) = crate::report::run_report_usage(&args.output, args.format, cluster.is_some()) {
                return Err(UsageError(why).into());
            }
            let mut checked = local_outputs_of(&args);
            checked.push(("--report", report.as_path()));
            safety::check_paths(&inputs, &checked, args.recovery.recovery_dir.as_deref())?;
        } else {
            safety::check_paths(
                &inputs,
                &local_outputs_of(&args),
                args.recovery.recovery_dir.as_deref(),
            )?;
        }
        let recovery = match &args.recovery.recovery_dir {
            Some(_) => Some(check_recovery(&args.recovery, &inputs)?),
            None => None,
        };
        let live_outputs = may_not_end(&args, &inputs, kafka_input.is_some());
        let transaction_timeout = kafka::transaction_timeout(&args.kafka)?;
        let mapping = schema::mapping(&args)?;
        let time_unit = match &mapping {
            Some(m) => m.time_unit,
            None => args.time_unit.map_or(TimeUnit::Millis, Into::into),
        };
        let mut plan = Plan {
            gap: args.gap,
            wait: args.wait,
            idle_timeout: args.idle_timeout,
            horizon: args.horizon.0,
            live_outputs,
            format: args.format,
            output: args.output,
            late_output: args.late_output,
            on_invalid: args.on_invalid,
            dead_letter: args.dead_letter,
            max_line_bytes: args.max_line_bytes,
            chunk_bytes: args.chunk_bytes,
            time_unit,
            schema: args.schema,
            mapping,
            ubi_click_actions: args.ubi_click_actions,
            analytics,
            kafka: kafka::KafkaPlan {
                input: kafka_input,
                flags: args.kafka,
                dedup: None,
                transaction_timeout,
            },
            workers: args.workers,
            recovery: recovery.is_some(),
            peer_timeout: args.peer_timeout,
            job: Job {
                given_inputs: args.inputs.iter().map(|i| PathBuf::from(i.to_string())).collect(),
                cluster,
                process_id: args.process_id.unwrap_or(0),
                recovery,
                partition_idle: Some(args.partition_idle).filter(|d| !d.is_zero()),
                report: args.report,
                serve: args.serve,
                quiet: args.quiet,
                summary: args.summary,
                print_flow: args.print_flow,
            },
            inputs,
        };
        if plan.recovery {
            // Kafka outputs: exactly-once, under an id of this job.
            plan.kafka.dedup = Some(plan.fingerprint());
        }
        // What every process of a cluster must share (checked as they connect).
        if let Some(c) = plan.job.cluster.take() {
            plan.job.cluster = Some(ClusterConfig {
                fingerprint: plan.cluster_fingerprint(),
                ..c
            });
        }
        Ok(plan)
    }
}

/// `-w`: at least 1, at most [`MAX_WORKERS_PER_CPU`] per CPU.
fn check_workers(workers: usize) -> Result<(), UsageError> {
    if workers == 0 {
        return Err(UsageError("--workers must be at least 1".into()));
    }
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let most = MAX_WORKERS_PER_CPU * cpus;
    if workers > most {
        return Err(UsageError(format!(
            "--workers {workers}: at most {most} on this machine ({MAX_WORKERS_PER_CPU} per CPU, {cpus} CPUs); \
             more threads than that only add overhead (each worker keeps its own buffers and \
             exchange channels to every other)"
        )));
    }
    Ok(())
}

/// The local outputs of `args` (as [`Plan::local_outputs`]).
fn local_outputs_of(args: &RunArgs) -> Vec<safety::Named<'_>> {
    [
        ("--output", Some(&args.output)),
        ("--late-output", args.late_output.as_ref()),
        ("--dead-letter", args.dead_letter.as_ref()),
        ("--query-output", args.query_output.as_ref()),
        ("--position-output", args.position_output.as_ref()),
        ("--judgment-output", args.judgment_output.as_ref()),
    ]
    .into_iter()
    .filter_map(|(o, e)| e.and_then(Endpoint::local).map(|p| (o, p)))
    .collect()
}

/// Whether an input of the run may not end: stdin (or a named input) that
/// is a pipe, a terminal or a FIFO rather than a regular file, a Kafka
/// topic without --kafka-until-end, or --live.
fn may_not_end(args: &RunArgs, files: &[PathBuf], kafka: bool) -> bool {
    let streams = |p: &Path| safety::input_metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir());
    args.live || (kafka && !args.kafka.kafka_until_end) || files.iter().any(|p| streams(p))
}

/// The analytics part of the plan: `None` unless an analytics output is
/// given; its options without one, or `--format text`, are usage errors.
fn analytics(args: &RunArgs, kafka_input: bool) -> Result<Option<Analytics>, UsageError> {
    if args.schema != SchemaArg::Ubi && args.ubi_click_actions != ["click"] {
        return Err(UsageError("--ubi-click-actions needs --schema ubi".into()));
    }
    if args.ubi_click_actions.iter().any(|a| a.trim().is_empty()) {
        return Err(UsageError(
            "--ubi-click-actions: expected a comma-separated list of action names, without empty ones".into(),
        ));
    }
    let outputs = [
        ("--query-output", &args.query_output),
        ("--position-output", &args.position_output),
        ("--judgment-output", &args.judgment_output),
    ];
    // Files (or `-`) only.
    let file = |(option, endpoint): (&str, &Option<Endpoint>)| match endpoint {
        Some(Endpoint::Kafka(_)) => Err(UsageError(format!(
            "{option} cannot be a Kafka topic (files only)"
        ))),
        Some(e) => Ok(e.local().map(Path::to_path_buf)),
        None => Ok(None),
    };
    let [query_output, position_output, judgment_output] =
        [file(outputs[0])?, file(outputs[1])?, file(outputs[2])?];
    let Some(first) = outputs.iter().find(|(_, e)| e.is_some()).map(|(o, _)| *o) else {
        return Ok(None);
    };
    if args.format == Format::Text {
        return Err(UsageError(format!(
            "{first} needs --format jsonl or csv (analytics rows have no text form)"
        )));
    }
    // A live input (said so, or a Kafka topic without an end) closes
    // windows by event time; any other (a stdin that ends included) exactly
    // at end of input.
    let live = args.live || (kafka_input && !args.kafka.kafka_until_end);
    let model = args.judgment_model.model();
    if model.is_some() && args.judgment_output.is_none() && args.position_output.is_none() {
        return Err(UsageError(
            "--judgment-model needs --judgment-output or --position-output (where its estimates go)".into(),
        ));
    }
    Ok(Some(Analytics {
        window: args.analytics_window,
        min_impressions: args.min_impressions,
        close_after: live.then_some(args.analytics_delay),
        query_output,
        position_output,
        judgment_output,
        model,
    }))
}

/// `-r`'s conditions: inputs that can be read again, snapshots at all.
fn check_recovery(flags: &RecoveryFlags, inputs: &[PathBuf]) -> Result<RecoveryFlags, UsageError> {
    if inputs.iter().any(|p| p.as_os_str() == "-") {
        return Err(UsageError(
            "--recovery-dir needs inputs that can be read again after a crash (files or directories), \
             not stdin"
                .into(),
        ));
    }
    if flags.snapshot_interval.is_zero() {
        return Err(UsageError("--snapshot-interval must be above 0".into()));
    }
    for input in inputs {
        if let Some(kind) = not_rereadable(input) {
            return Err(UsageError(format!(
                "--recovery-dir needs inputs that can be read again after a crash (files or directories): \
                 --input {} is {kind}",
                input.display()
            )));
        }
    }
    Ok(flags.clone())
}

/// What an input is when it cannot be read again after a crash (a FIFO, a
/// device, a socket); `None` for a regular file, a directory, or a path
/// that does not exist (the run reports that).
fn not_rereadable(input: &Path) -> Option<&'static str> {
    let meta = std::fs::metadata(input).ok()?;
    if meta.is_file() || meta.is_dir() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_char_device() {
            return Some("a character device");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// The plans the unit tests start from.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// The job of a plain single-process run.
    pub fn job() -> Job {
        Job {
            given_inputs: vec!["logs".into()],
            cluster: None,
            process_id: 0,
            recovery: None,
            partition_idle: None,
            report: None,
            serve: None,
            quiet: true,
            summary: SummaryFormat::Text,
            print_flow: false,
        }
    }

    /// A plan with the defaults of `search-ctr run -I logs`.
    pub fn plan() -> Plan {
        Plan {
            inputs: vec!["logs".into()],
            gap: Duration::from_secs(1800),
            wait: Duration::from_secs(10),
            idle_timeout: None,
            horizon: Some(Duration::ZERO),
            live_outputs: false,
            format: Format::Jsonl,
            output: Endpoint::Stdout,
            late_output: None,
            on_invalid: OnInvalid::Fail,
            dead_letter: None,
            max_line_bytes: 1 << 20,
            chunk_bytes: 16 << 20,
            time_unit: TimeUnit::Millis,
            schema: SchemaArg::Tutorial,
            mapping: None,
            ubi_click_actions: vec!["click".into()],
            analytics: None,
            kafka: Default::default(),
            workers: 1,
            recovery: false,
            peer_timeout: Duration::from_secs(10),
            job: job(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

    fn try_plan(args: &[&str]) -> anyhow::Result<Plan> {
        let cli = Cli::try_parse_from(["search-ctr", "run"].iter().chain(args))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        match cli.command {
            Some(Command::Run(args)) => Plan::try_from(*args),
            _ => unreachable!("a run command"),
        }
    }

    #[test]
    fn a_plan_is_made_once_from_the_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.jsonl");
        std::fs::write(&input, "").unwrap();
        let out = dir.path().join("out.csv");
        let plan = try_plan(&[
            "-I",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--format",
            "csv",
            "--late-output",
            "kafka://127.0.0.1:9092/late",
            "--query-output",
            "-",
            "-w",
            "2",
        ])
        .unwrap();
        assert_eq!(plan.output, Endpoint::File(out.clone()));
        assert!(plan.late_output.as_ref().is_some_and(Endpoint::is_kafka));
        assert_eq!(
            plan.analytics.as_ref().and_then(|a| a.query_output.clone()),
            Some("-".into())
        );
        assert_eq!(
            plan.local_outputs(),
            vec![("--output", out.as_path()), ("--query-output", Path::new("-"))]
        );
        assert!(!plan.live_outputs && !plan.recovery && plan.job.cluster.is_none());
    }

    #[test]
    fn options_that_contradict_each_other_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.jsonl");
        std::fs::write(&input, "").unwrap();
        let i = input.to_str().unwrap();
        for (args, why) in [
            (
                vec!["-I", i, "--dead-letter", "d.jsonl"],
                "--dead-letter needs --on-invalid skip",
            ),
            (vec!["-I", i, "-w", "0"], "--workers must be at least 1"),
            (
                vec!["-I", i, "--query-output", "q", "--format", "text"],
                "needs --format jsonl or csv",
            ),
            (
                vec!["-I", i, "--query-output", "kafka://h:1/q"],
                "cannot be a Kafka topic",
            ),
            (vec!["-I", i, "--ubi-click-actions", "tap"], "needs --schema ubi"),
            (vec!["-I", i, "-i", "0"], "--process-id needs --addresses"),
            (
                vec!["-I", i, "--report", "r.html"],
                "--report reads the rows back",
            ),
            (vec!["-I", "-", "-r", "state"], "not stdin"),
            (vec!["-I", i, "-o", i], "--output"),
        ] {
            let e = try_plan(&args).expect_err(why);
            assert!(
                e.downcast_ref::<UsageError>().is_some() || why == "--output",
                "{args:?}: {e:#}"
            );
            assert!(format!("{e:#}").contains(why), "{args:?}: {e:#}");
        }
    }
}
