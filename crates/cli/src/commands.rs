//! The subcommands: validate the arguments, run, report.

use std::fs::File;
use std::io::{BufWriter, ErrorKind, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use ctr::generate::{generate, GenerateConfig, Profile};
use eddy::recovery::{self, RecoveryConfig};
use eddy::{run, ClusterConfig, RunConfig};

use crate::args::{
    GenerateArgs, OnInvalid, ProfileArg, RecoveryArgs, RecoveryCommand, RecoveryFlags, RunArgs, SchemaArg,
    SummaryFormat,
};
use crate::console::{self, Failure, Stream, StreamError};
use crate::duration::millis;
use crate::pipeline::{self, stats::Stats, Plan};
use crate::progress::Progress;
use crate::safety::{self, Staging};

use crate::usage::UsageError;

/// Whether an input of the run may not end: stdin (or a named input) that
/// is a pipe, a terminal or a FIFO rather than a regular file, a Kafka
/// topic without --kafka-until-end, or --live.
fn may_not_end(args: &RunArgs) -> bool {
    let streams = |p: &std::path::Path| safety::input_metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir());
    args.live
        || args.inputs.iter().any(|p| {
            if pipeline::kafka::is_kafka(p) {
                !args.kafka.kafka_until_end
            } else {
                streams(p)
            }
        })
}

/// The most worker threads `-w` may ask for, per CPU of the machine.
const MAX_WORKERS_PER_CPU: usize = 8;

/// `search-ctr run`. Every path is checked before anything is opened for
/// writing (see [`safety`]); without `--recovery-dir` the file outputs
/// appear only if the run succeeds.
pub fn run_logs(args: RunArgs) -> Result<(), Failure> {
    if args.dead_letter.is_some() && args.on_invalid == OnInvalid::Fail {
        return Err(UsageError("--dead-letter needs --on-invalid skip".into()).into());
    }
    if args.workers == 0 {
        return Err(UsageError("--workers must be at least 1".into()).into());
    }
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let most = MAX_WORKERS_PER_CPU * cpus;
    if args.workers > most {
        return Err(UsageError(format!(
            "--workers {}: at most {most} on this machine ({MAX_WORKERS_PER_CPU} per CPU, {cpus} CPUs); \
             more threads than that only add overhead (each worker keeps its own buffers and \
             exchange channels to every other)",
            args.workers
        ))
        .into());
    }
    let analytics = analytics_plan(&args)?;
    let cluster = cluster(&args)?;
    let (file_inputs, kafka_input) = pipeline::kafka::check_run(&args).map_err(UsageError)?;
    let outputs: Vec<safety::Named<'_>> = [
        Some(("--output", args.output.as_path())),
        args.late_output.as_deref().map(|p| ("--late-output", p)),
        args.dead_letter.as_deref().map(|p| ("--dead-letter", p)),
        args.query_output.as_deref().map(|p| ("--query-output", p)),
        args.position_output.as_deref().map(|p| ("--position-output", p)),
        args.judgment_output.as_deref().map(|p| ("--judgment-output", p)),
    ]
    .into_iter()
    .flatten()
    .filter(|(_, p)| !pipeline::kafka::is_kafka(p))
    .collect();
    let mut checked = outputs.clone();
    if let Some(report) = &args.report {
        if let Some(why) = crate::report::run_report_usage(&args.output, args.format, cluster.is_some()) {
            return Err(UsageError(why).into());
        }
        checked.push(("--report", report.as_path()));
    }
    safety::check_paths(&file_inputs, &checked, args.recovery.recovery_dir.as_deref())?;
    let mut plan = Plan {
        inputs: file_inputs,
        gap: args.gap,
        wait: args.wait,
        idle_timeout: args.idle_timeout,
        horizon: args.horizon.0,
        live_outputs: may_not_end(&args),
        format: args.format,
        output: args.output.clone(),
        late_output: args.late_output.clone(),
        on_invalid: args.on_invalid,
        dead_letter: args.dead_letter.clone(),
        max_line_bytes: args.max_line_bytes,
        chunk_bytes: args.chunk_bytes,
        time_unit: args.time_unit.into(),
        schema: args.schema,
        ubi_click_actions: args.ubi_click_actions.clone(),
        analytics,
        kafka: pipeline::kafka::KafkaPlan {
            input: kafka_input,
            flags: args.kafka.clone(),
            dedup: None,
        },
        workers: args.workers,
        recovery: args.recovery.recovery_dir.is_some(),
        peer_timeout: args.peer_timeout,
    };
    if args.recovery.recovery_dir.is_some() {
        // Kafka outputs: exactly-once, under an id of this job.
        plan.kafka.dedup = Some(plan.fingerprint());
    }
    if args.print_flow {
        // Built on one worker, not run: no output is opened.
        let picture = eddy::describe("search_ctr", move |flow| {
            pipeline::build(flow, &plan, &Arc::new(Stats::default()))
        })?;
        console::out(format_args!("{}", picture.trim_end()))?;
        return Ok(());
    }
    // What every process of a cluster must share (checked as they connect).
    let cluster = cluster.map(|c| ClusterConfig {
        fingerprint: plan.cluster_fingerprint(),
        ..c
    });
    let config = RunConfig {
        workers: args.workers,
        cluster,
        recovery: recovery_config(&args.recovery, args.quiet, &plan)?,
        ..RunConfig::workers(args.workers)
    }
    .with_partition_idle(Some(args.partition_idle).filter(|d| !d.is_zero()))
    .with_stop(crate::signals::listen());
    // With --recovery-dir, outputs are written in place (a resume truncates
    // them back to a snapshot); processes other than 0 write none. An input
    // that may not end writes them in place too, batch by batch: such a run
    // ends with a signal, and keeps what it wrote.
    let mut staging = Staging::default();
    let live_outputs = plan.live_outputs;
    if config.recovery.is_none() && !live_outputs && args.process_id.unwrap_or(0) == 0 {
        // A Kafka topic is written in place (at-least-once without recovery).
        let kafka = pipeline::kafka::is_kafka;
        if !kafka(&plan.output) {
            plan.output = staging.stage("--output", &plan.output)?;
        }
        if let Some(p) = plan.late_output.take() {
            plan.late_output = Some(if kafka(&p) {
                p
            } else {
                staging.stage("--late-output", &p)?
            });
        }
        if let Some(p) = plan.dead_letter.take() {
            plan.dead_letter = Some(if kafka(&p) {
                p
            } else {
                staging.stage("--dead-letter", &p)?
            });
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
    // The report is written last, under a temporary name until it is
    // complete (with or without --recovery-dir).
    let mut report_staging = Staging::default();
    let report_to = match &args.report {
        Some(p) => Some(report_staging.stage("--report", p)?),
        None => None,
    };
    let rows_at = plan.output.clone();
    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    let progress = Progress::start(&plan.inputs, stats.clone(), args.quiet);
    let flow_stats = stats.clone();
    // Outputs are opened (a resume truncates them) only when the dataflow
    // is built, after every check of the store and the inputs.
    let built = Arc::new(AtomicBool::new(false));
    let flow_built = built.clone();
    if args.report.is_some() && config.recovery.is_none() {
        // `--report` charts the rows from aggregates folded as they are
        // written (reading them back would take longer than drawing).
        stats.keep_live_rows();
    }
    let server = match &args.serve {
        Some(addr) => {
            stats.keep_live_rows();
            let live = Arc::new(crate::serve::Live {
                stats: stats.clone(),
                built: built.clone(),
                finished: AtomicBool::new(false),
                recovery_dir: args.recovery.recovery_dir.clone(),
                inputs: args.inputs.clone(),
                started,
            });
            Some(crate::serve::Server::start(addr, live)?)
        }
        None => None,
    };
    tracing::debug!(workers = args.workers, inputs = ?args.inputs, "run starts");
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
    if let (Some(to), Some(shown_as)) = (&report_to, &args.report) {
        // From the rows as written, before they are put in place: a
        // report that fails leaves every output as before the run.
        let began = Instant::now();
        // Folded as written, unless a resumed run's output also holds
        // the rows of the runs before it: then read back.
        let folded = config.recovery.is_none().then(|| stats.live_rows_so_far());
        crate::report::write_after_run(
            &rows_at,
            &args.output,
            folded,
            &summary,
            &args.inputs,
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
    if !args.quiet {
        match args.summary {
            SummaryFormat::Text if config.cluster.is_some() => {
                console::err(format_args!(
                    "search-ctr: process {} of the cluster (its own share):",
                    args.process_id.unwrap_or(0)
                ))?;
                console::err(format_args!("{summary}"))?;
            }
            SummaryFormat::Text => console::err(format_args!("{summary}"))?,
            SummaryFormat::Json => console::err(format_args!("{}", serde_json::to_string(&summary)?))?,
        }
    }
    Ok(())
}

/// The analytics part of the plan: `None` unless an analytics output is
/// given; its options without one, or `--format text`, are usage errors.
fn analytics_plan(args: &RunArgs) -> Result<Option<pipeline::analytics::Analytics>, UsageError> {
    let given: Vec<&str> = [
        ("--query-output", &args.query_output),
        ("--position-output", &args.position_output),
        ("--judgment-output", &args.judgment_output),
    ]
    .into_iter()
    .filter_map(|(o, p)| p.as_ref().map(|_| o))
    .collect();
    if args.schema != SchemaArg::Ubi && args.ubi_click_actions != ["click"] {
        return Err(UsageError("--ubi-click-actions needs --schema ubi".into()));
    }
    if args.ubi_click_actions.iter().any(|a| a.trim().is_empty()) {
        return Err(UsageError(
            "--ubi-click-actions: expected a comma-separated list of action names, without empty ones".into(),
        ));
    }
    let Some(first) = given.first() else {
        return Ok(None);
    };
    if args.format == crate::args::Format::Text {
        return Err(UsageError(format!(
            "{first} needs --format jsonl or csv (analytics rows have no text form)"
        )));
    }
    // A live input (said so, or a Kafka topic without an end) closes
    // windows by event time; any other (a stdin that ends included) exactly
    // at end of input.
    let live = args.live
        || args
            .inputs
            .iter()
            .any(|p| pipeline::kafka::is_kafka(p) && !args.kafka.kafka_until_end);
    Ok(Some(pipeline::analytics::Analytics {
        window: args.analytics_window,
        min_impressions: args.min_impressions,
        close_after: live.then_some(args.analytics_delay),
        query_output: args.query_output.clone(),
        position_output: args.position_output.clone(),
        judgment_output: args.judgment_output.clone(),
    }))
}

/// Snapshots from `-r`, `-s`, `--backup-interval`.
fn recovery_config(args: &RecoveryFlags, quiet: bool, plan: &Plan) -> anyhow::Result<Option<RecoveryConfig>> {
    let Some(dir) = &args.recovery_dir else {
        return Ok(None);
    };
    if plan.inputs.iter().any(|p| p.as_os_str() == "-") {
        return Err(UsageError(
            "--recovery-dir needs inputs that can be read again after a crash (files or directories), \
             not stdin"
                .into(),
        )
        .into());
    }
    if args.snapshot_interval.is_zero() {
        return Err(UsageError("--snapshot-interval must be above 0".into()).into());
    }
    for input in &plan.inputs {
        if let Some(kind) = not_rereadable(input) {
            return Err(UsageError(format!(
                "--recovery-dir needs inputs that can be read again after a crash (files or directories): \
                 --input {} is {kind}",
                input.display()
            ))
            .into());
        }
    }
    let a = plan.analytics.as_ref();
    let to_stdout = [
        Some(&plan.output),
        plan.late_output.as_ref(),
        plan.dead_letter.as_ref(),
        a.and_then(|a| a.query_output.as_ref()),
        a.and_then(|a| a.position_output.as_ref()),
        a.and_then(|a| a.judgment_output.as_ref()),
    ]
    .into_iter()
    .flatten()
    .any(|p| p.as_os_str() == "-");
    if to_stdout && !quiet {
        tracing::info!(
            "note: stdout cannot be taken back: after a resume, what was printed since the last snapshot is \
             printed again (write to a file for exactly-once output)"
        );
    }
    // What a resume compares: each input file's size, time and sampled
    // hashes (a missing input is the run's error, reported the same way).
    let began = Instant::now();
    let inputs = eddy::connectors::files::input_identities(&plan.inputs, plan.chunk_bytes)?;
    tracing::debug!(
        files = inputs.len(),
        bytes = inputs.iter().map(|i| i.size).sum::<u64>(),
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

/// The cluster from `-i`, `-a` / `--hostfile`.
fn cluster(args: &RunArgs) -> anyhow::Result<Option<ClusterConfig>> {
    let addresses = match &args.hostfile {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the hostfile", path.display()))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect(),
        None => args.addresses.clone(),
    };
    if let Some(path) = args.hostfile.as_ref().filter(|_| addresses.is_empty()) {
        return Err(UsageError(format!(
            "--hostfile {}: no address in it (expected one host:port per line; blank lines and # comments are skipped)",
            path.display()
        ))
        .into());
    }
    for (i, a) in addresses.iter().enumerate() {
        if let Some(j) = addresses[..i].iter().position(|b| b == a) {
            return Err(UsageError(format!(
                "{a} is the address of process {j} and of process {i}; each process needs its own address"
            ))
            .into());
        }
    }
    match (args.process_id, addresses.is_empty()) {
        (None, true) => Ok(None),
        (None, false) => Err(UsageError("--addresses/--hostfile need --process-id".into()).into()),
        (Some(_), true) => Err(UsageError("--process-id needs --addresses or --hostfile".into()).into()),
        (Some(i), false) if i >= addresses.len() => Err(UsageError(format!(
            "--process-id {i} is out of range for {} addresses",
            addresses.len()
        ))
        .into()),
        (Some(i), false) => Ok(Some(ClusterConfig {
            connect_timeout: args.connect_timeout,
            peer_timeout: args.peer_timeout,
            ..ClusterConfig::new(i, addresses)
        })),
    }
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
