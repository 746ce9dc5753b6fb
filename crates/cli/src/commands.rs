//! The subcommands: validate the arguments, run, report.

use std::fs::File;
use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use ctr::generate::{generate, GenerateConfig, Profile};
use eddy::recovery::{self, RecoveryConfig};
use eddy::{run, RunConfig};

use crate::args::endpoint::Endpoint;
use crate::args::{
    ClickModelArg, GenerateArgs, ProfileArg, RecoveryArgs, RecoveryCommand, RecoveryFlags, RunArgs,
    SummaryFormat,
};
use crate::console::{self, Failure, Stream, StreamError};
use crate::duration::millis;
use crate::pipeline::{self, stats::Stats};
use crate::plan::Plan;
use crate::progress::Progress;
use crate::safety::Staging;
use crate::usage::UsageError;

/// The query, position and judgment output files of `plan` (stdout and
/// absent outputs: `None`).
fn analytics_files(plan: &Plan) -> [Option<PathBuf>; 3] {
    let file = |p: &Option<PathBuf>| p.clone().filter(|p| p.as_os_str() != "-");
    match &plan.analytics {
        Some(a) => [
            file(&a.query_output),
            file(&a.position_output),
            file(&a.judgment_output),
        ],
        None => [None, None, None],
    }
}

/// `search-ctr run`. The arguments become one checked [`Plan`] first
/// (every path is checked before anything is opened for writing, see
/// [`safety`]); without `--recovery-dir` the file outputs appear only if
/// the run succeeds.
pub fn run_logs(args: RunArgs) -> Result<(), Failure> {
    let mut plan = Plan::try_from(args)?;
    let job = plan.job.clone();
    if job.print_flow {
        // Built on one worker, not run: no output is opened.
        let picture = eddy::describe("search_ctr", move |flow| {
            pipeline::build(flow, &plan, &Arc::new(Stats::default()))
        })?;
        console::out(format_args!("{}", picture.trim_end()))?;
        return Ok(());
    }
    let outputs: Vec<(&'static str, PathBuf)> = plan
        .local_outputs()
        .into_iter()
        .map(|(o, p)| (o, p.to_path_buf()))
        .collect();
    let config = RunConfig {
        workers: plan.workers,
        cluster: job.cluster.clone(),
        recovery: recovery_config(job.recovery.as_ref(), &plan)?,
        ..RunConfig::workers(plan.workers)
    }
    .with_partition_idle(job.partition_idle)
    .with_stop(crate::signals::listen());
    // With --recovery-dir, outputs are written in place (a resume truncates
    // them back to a snapshot); processes other than 0 write none. An input
    // that may not end writes them in place too, batch by batch: such a run
    // ends with a signal, and keeps what it wrote.
    let mut staging = Staging::default();
    let live_outputs = plan.live_outputs;
    // The rows' file as the user named it (the report shows it), and the
    // analytics files (the report reads them back; stdout cannot be).
    let shown_output = plan.output.local().map(Path::to_path_buf).unwrap_or_default();
    let shown_analytics = analytics_files(&plan);
    if config.recovery.is_none() && !live_outputs && job.process_id == 0 {
        // A Kafka topic is written in place (at-least-once without recovery).
        let mut stage = |option: &'static str, to: &mut Endpoint| -> anyhow::Result<()> {
            if let Endpoint::File(path) = to {
                *path = staging.stage(option, path)?;
            }
            Ok(())
        };
        stage("--output", &mut plan.output)?;
        if let Some(to) = plan.late_output.as_mut() {
            stage("--late-output", to)?;
        }
        if let Some(to) = plan.dead_letter.as_mut() {
            stage("--dead-letter", to)?;
        }
        if let Some(a) = plan.analytics.as_mut() {
            for (option, path) in [
                ("--query-output", &mut a.query_output),
                ("--position-output", &mut a.position_output),
                ("--judgment-output", &mut a.judgment_output),
            ] {
                if let Some(p) = path.take() {
                    *path = Some(staging.stage(option, &p)?);
                }
            }
        }
    }
    // (where each is written now, staged or not; the name the user gave).
    let [queries, positions, judgments] = analytics_files(&plan);
    let [q, p, j] = shown_analytics;
    let analytics = crate::report::AnalyticsFiles {
        queries: queries.zip(q),
        positions: positions.zip(p),
        judgments: judgments.zip(j),
    };
    // The report is written last, under a temporary name until it is
    // complete (with or without --recovery-dir).
    let mut report_staging = Staging::default();
    let report_to = match &job.report {
        Some(p) => Some(report_staging.stage("--report", p)?),
        None => None,
    };
    let rows_at = plan.output.local().map(Path::to_path_buf);
    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    let progress = Progress::start(&plan.inputs, stats.clone(), job.quiet);
    let flow_stats = stats.clone();
    // Outputs are opened (a resume truncates them) only when the dataflow
    // is built, after every check of the store and the inputs.
    let built = Arc::new(AtomicBool::new(false));
    let flow_built = built.clone();
    if job.report.is_some() && config.recovery.is_none() {
        // `--report` charts the rows from aggregates folded as they are
        // written (reading them back would take longer than drawing).
        stats.keep_live_rows();
    }
    let server = match &job.serve {
        Some(addr) => {
            stats.keep_live_rows();
            let live = Arc::new(crate::serve::Live {
                stats: stats.clone(),
                built: built.clone(),
                finished: AtomicBool::new(false),
                recovery_dir: job.recovery.as_ref().and_then(|r| r.recovery_dir.clone()),
                inputs: job.given_inputs.clone(),
                started,
            });
            Some(crate::serve::Server::start(addr, live)?)
        }
        None => None,
    };
    tracing::debug!(workers = plan.workers, inputs = ?job.given_inputs, "run starts");
    // What each file output is before the run: a failed run says whether
    // it changed any.
    let state_of = |p: &std::path::Path| std::fs::metadata(p).ok().map(|m| (m.len(), m.modified().ok()));
    let before: Vec<_> = outputs.iter().map(|(_, p)| state_of(p)).collect();
    // The dataflow runs on a thread the signal path does not wait for
    // beyond a grace (a worker blocked writing to a pipe nobody reads must
    // not hold a signal back); with recovery, the grace includes the time
    // allowed for a last snapshot.
    let snapshot_wait = config
        .recovery
        .as_ref()
        .filter(|_| config.cluster.is_none())
        .map_or(Duration::ZERO, |r| r.stop_timeout);
    let run_config = config.clone();
    let result = crate::signals::run_unless_stuck(snapshot_wait, move || {
        run("search_ctr", &run_config, move |flow| {
            flow_built.store(true, Ordering::Relaxed);
            pipeline::build(flow, &plan, &flow_stats)
        })
    })
    .context("cannot start the run's thread")?
    .unwrap_or(Err(eddy::EddyError::Interrupted));
    tracing::debug!(
        ok = result.is_ok(),
        seconds = started.elapsed().as_secs_f64(),
        "run ends"
    );
    drop(server);
    drop(progress);
    if let Err(error) = result {
        let in_place: Vec<String> = outputs
            .iter()
            .filter(|(_, p)| p.as_os_str() != "-")
            .map(|(o, p)| format!("{o} {}", p.display()))
            .collect();
        // A resume refused (an output or the store changed since the
        // snapshot): every check comes before any output is cut back.
        let refused = matches!(
            &error,
            eddy::EddyError::Connector(eddy::connectors::ConnectorError::Resume(_))
                | eddy::EddyError::Recovery(
                    recovery::RecoveryError::Mismatch { .. }
                        | recovery::RecoveryError::Damaged { .. }
                        | recovery::RecoveryError::Foreign { .. }
                )
        );
        let note = if refused && !in_place.is_empty() {
            Some(format!(
                "the resume was refused: nothing was written or truncated ({} left as they were)",
                in_place.join(", ")
            ))
        } else if !staging.is_empty() {
            Some(format!(
                "no output was written ({} left as before the run)",
                staging.describe()
            ))
        } else if live_outputs
            && config.recovery.is_none()
            && built.load(Ordering::Relaxed)
            && !in_place.is_empty()
        {
            Some(format!(
                "the input may not end, so outputs are written as rows are final: every whole row \
                 written so far is kept in {}",
                in_place.join(", ")
            ))
        } else if config.recovery.is_some() && !in_place.is_empty() && !built.load(Ordering::Relaxed) {
            Some(format!(
                "nothing was written or truncated ({} left as before the run)",
                in_place.join(", ")
            ))
        } else if config.recovery.is_some()
            && !in_place.is_empty()
            && outputs
                .iter()
                .zip(&before)
                .all(|((_, p), was)| state_of(p) == *was)
        {
            Some(format!(
                "nothing was written ({} left as before the run); once the cause is fixed, the same \
                 command runs it",
                in_place.join(", ")
            ))
        } else if config.recovery.is_some() && !in_place.is_empty() {
            Some(format!(
                "with --recovery-dir outputs are written in place: {} may be partial; once the cause \
                 is fixed, the same command resumes the run from its last snapshot",
                in_place.join(", ")
            ))
        } else {
            None
        };
        // `staging` is dropped on return: its temporary files go.
        return Err(Failure {
            error: error.into(),
            note,
        });
    }
    let mut summary = stats.summary(started.elapsed());
    if eddy::connectors::stdio::output_pipe_closed() {
        summary.warnings.push(format!(
            "stdout was closed by its reader (`| head`?): not all of the {} rows the output took reached it",
            summary.rows
        ));
    }
    if let (Some(to), Some(shown_as), Some(rows_at)) = (&report_to, &job.report, &rows_at) {
        // From the rows as written, before they are put in place: a
        // report that fails leaves every output as before the run.
        let began = Instant::now();
        // Folded as written, unless a resumed run's output also holds
        // the rows of the runs before it: then read back.
        let folded = config.recovery.is_none().then(|| stats.live_rows_so_far());
        crate::report::write_after_run(
            rows_at,
            &shown_output,
            folded,
            &analytics,
            &summary,
            &job.given_inputs,
            to,
            shown_as,
        )?;
        tracing::debug!(
            seconds = began.elapsed().as_secs_f64(),
            bytes = std::fs::metadata(to).map_or(0, |m| m.len()),
            run_seconds = summary.wall_seconds,
            "report written"
        );
    }
    staging.commit()?;
    report_staging.commit()?;
    if !job.quiet {
        match job.summary {
            SummaryFormat::Text if config.cluster.is_some() => {
                console::err(format_args!(
                    "search-ctr: process {} of the cluster (its own share):",
                    job.process_id
                ))?;
                console::err(format_args!("{summary}"))?;
            }
            SummaryFormat::Text => console::err(format_args!("{summary}"))?,
            SummaryFormat::Json => console::err(format_args!("{}", serde_json::to_string(&summary)?))?,
        }
    }
    Ok(())
}

/// Snapshots from `-r`, `-s`, `--backup-interval` (checked by the plan).
fn recovery_config(flags: Option<&RecoveryFlags>, plan: &Plan) -> anyhow::Result<Option<RecoveryConfig>> {
    let Some((args, dir)) = flags.and_then(|f| f.recovery_dir.as_ref().map(|d| (f, d))) else {
        return Ok(None);
    };
    let quiet = plan.job.quiet;
    let to_stdout = plan.local_outputs().iter().any(|(_, p)| p.as_os_str() == "-");
    if to_stdout && !quiet {
        tracing::info!(
            "note: stdout cannot be taken back: after a resume, what was printed since the last snapshot is \
             printed again (write to a file for exactly-once output)"
        );
    }
    // What a resume compares: each input file's size, time and sampled
    // hashes (a missing input is the run's error, reported the same way);
    // a Kafka topic's partition count.
    let began = Instant::now();
    let mut inputs = eddy::connectors::files::input_records(&plan.inputs, plan.chunk_bytes)?;
    if let Some(topic) = &plan.kafka.input {
        inputs.push(eddy::connectors::kafka::input_record(
            &plan.kafka.with_options(topic),
        )?);
    }
    tracing::debug!(
        inputs = inputs.len(),
        seconds = began.elapsed().as_secs_f64(),
        "input identities taken (each file hashed whole)"
    );
    let mut config = RecoveryConfig {
        dir: dir.clone(),
        snapshot_interval: args.snapshot_interval,
        backup_interval: args.backup_interval,
        stop_timeout: args.stop_timeout,
        fingerprint: plan.fingerprint(),
        ..RecoveryConfig::new(dir)
    }
    .inputs(inputs);
    if !quiet {
        config = config.on_resume(announce_resume);
    }
    Ok(Some(config))
}

/// Logs which snapshot a run resumes from (the summary that follows
/// counts only the resumed run's own work). Called by the library once
/// every check of the resume passed.
fn announce_resume(e: &recovery::EpochRow) {
    if e.mark == u64::MAX {
        tracing::info!(
            "this run finished before (snapshot {}): rewriting its final output",
            e.epoch
        );
    } else {
        tracing::info!(
            "resuming from snapshot {} ({} bytes of state); the summary counts this run's work",
            e.epoch,
            e.bytes
        );
    }
}

/// `search-ctr recovery init|inspect`.
pub fn recovery(args: RecoveryArgs) -> anyhow::Result<()> {
    match args.command {
        RecoveryCommand::Init { dir } => {
            let path = recovery::init_store(&dir)?;
            console::out(format_args!("created recovery store {}", path.display()))?;
        }
        RecoveryCommand::Inspect { dir } => {
            let info = recovery::inspect(&dir)?;
            let report = crate::pipeline::describe_store(&info);
            console::out(format_args!("{}", report.trim_end()))?;
        }
    }
    Ok(())
}

/// `search-ctr generate`. A file is written under a temporary name and put
/// in place when complete (see [`Staging`]).
pub fn generate_logs(args: GenerateArgs) -> Result<(), Failure> {
    for (name, rate) in [
        ("--late-rate", args.late_rate),
        ("--invalid-rate", args.invalid_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            return Err(UsageError(format!("{name} must be between 0 and 1, got {rate}")).into());
        }
    }
    if args.click_model.is_some() && args.profile != ProfileArg::Search {
        return Err(UsageError("--click-model needs --profile search".into()).into());
    }
    let config = GenerateConfig {
        events: args.events,
        users: args.users.unwrap_or(args.events / 50).max(1),
        seed: args.seed,
        disorder_ms: millis(args.disorder),
        late_rate: args.late_rate,
        invalid_rate: args.invalid_rate,
        profile: match args.profile {
            ProfileArg::Classic => Profile::Classic,
            ProfileArg::Search => Profile::Search,
        },
        click_model: args.click_model.map(|m| match m {
            ClickModelArg::Pbm => ctr::analytics::click_models::Model::Pbm,
            ClickModelArg::Cascade => ctr::analytics::click_models::Model::Cascade,
            ClickModelArg::Dbn => ctr::analytics::click_models::Model::Dbn,
        }),
        ..GenerateConfig::default()
    };
    if let Some(to) = &args.to {
        return generate_to_kafka(&config, to, &args);
    }
    let to_stdout = args.out.as_os_str() == "-";
    let mut staging = Staging::default();
    let path = staging.stage("--out", &args.out)?;
    // Opening (a FIFO waits for its reader) and writing (a pipe nobody
    // reads) may block for good: the signal path waits for them only a
    // grace (see `signals`). SIGINT/SIGTERM otherwise stop the writing at
    // the next buffer (1 MiB): the staged file goes and the message is the
    // run's.
    let result = crate::signals::run_unless_stuck(Duration::ZERO, move || {
        let out: Box<dyn Write + Send> = if to_stdout {
            Box::new(std::io::stdout())
        } else {
            Box::new(
                File::create(&path)
                    .map_err(|e| std::io::Error::new(e.kind(), format!("cannot create it: {e}")))?,
            )
        };
        let mut out = BufWriter::with_capacity(1 << 20, StopOnSignal(out));
        let result = generate(&config, &mut out).and_then(|_| out.flush());
        drop(out);
        result
    })
    .context("cannot start the generator's thread")?;
    if crate::signals::received().is_some() {
        return Err(Failure {
            error: eddy::EddyError::Interrupted.into(),
            note: (!staging.is_empty())
                .then(|| format!("no output was written ({} left as before)", staging.describe())),
        });
    }
    match result.unwrap_or(Ok(())) {
        Ok(()) => Ok(staging.commit()?),
        Err(source) if to_stdout => Err(StreamError {
            stream: Stream::Stdout,
            source,
        }
        .into()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure {
            error: anyhow!("--out {}: {e}", args.out.display()),
            note: (!staging.is_empty())
                .then(|| format!("no output was written ({} left as before)", staging.describe())),
        }),
    }
}

/// A writer that fails once SIGINT or SIGTERM has come (see [`generate_logs`]).
struct StopOnSignal<W>(W);

impl<W: Write> Write for StopOnSignal<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if crate::signals::received().is_some() {
            return Err(std::io::Error::other("interrupted by a signal"));
        }
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// `search-ctr generate --to kafka://…`: the same lines as a file, one
/// message each, keyed by user (a missing topic is made with --partitions).
fn generate_to_kafka(config: &GenerateConfig, to: &str, args: &GenerateArgs) -> Result<(), Failure> {
    let mut uri =
        eddy::connectors::kafka::KafkaUri::parse(to).map_err(|e| UsageError(format!("--to {e}")))?;
    uri.options = args.kafka_option.clone();
    if args.partitions < 1 {
        return Err(UsageError("--partitions must be at least 1".into()).into());
    }
    let mut producer = pipeline::kafka::LineProducer::open(uri, args.rate, args.partitions)?;
    generate(config, &mut producer).with_context(|| format!("--to {to}"))?;
    producer.finish().with_context(|| format!("--to {to}"))?;
    Ok(())
}
