//! The subcommands: validate the arguments, run, report.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use ctr::generate::{generate, GenerateConfig};
use eddy::recovery::{self, RecoveryConfig};
use eddy::{run, ClusterConfig, RunConfig};

use crate::args::{
    GenerateArgs, OnInvalid, RecoveryArgs, RecoveryCommand, RecoveryFlags, RunArgs, SummaryFormat,
};
use crate::duration::millis;
use crate::pipeline::{self, stats::Stats, Plan};
use crate::progress::Progress;

/// An error in the arguments themselves (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// `search-ctr run`.
pub fn run_logs(args: RunArgs) -> anyhow::Result<()> {
    if args.dead_letter.is_some() && args.on_invalid == OnInvalid::Fail {
        return Err(UsageError("--dead-letter needs --on-invalid skip".into()).into());
    }
    if args.workers == 0 {
        return Err(UsageError("--workers must be at least 1".into()).into());
    }
    let cluster = cluster(&args)?;
    let plan = Plan {
        inputs: args.inputs,
        gap: args.gap,
        wait: args.wait,
        idle_timeout: args.idle_timeout,
        format: args.format,
        output: args.output,
        late_output: args.late_output,
        on_invalid: args.on_invalid,
        dead_letter: args.dead_letter,
        max_line_bytes: args.max_line_bytes,
        chunk_bytes: args.chunk_bytes,
        time_unit: args.time_unit.into(),
    };
    let config = RunConfig {
        workers: args.workers,
        cluster,
        recovery: recovery_config(&args.recovery, args.quiet, &plan)?,
        stop: Some(crate::signals::listen()),
    };
    if let (Some(rc), false) = (&config.recovery, args.quiet) {
        announce_resume(&rc.dir);
    }
    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    let progress = Progress::start(&plan.inputs, stats.clone(), args.quiet);
    let flow_stats = stats.clone();
    run("search_ctr", &config, move |flow| {
        pipeline::build(flow, &plan, &flow_stats)
    })?;
    drop(progress);
    if !args.quiet {
        let summary = stats.summary(started.elapsed());
        match args.summary {
            SummaryFormat::Text if config.cluster.is_some() => {
                eprintln!(
                    "search-ctr: process {} of the cluster (its own share):",
                    args.process_id.unwrap_or(0)
                );
                eprintln!("{summary}");
            }
            SummaryFormat::Text => eprintln!("{summary}"),
            SummaryFormat::Json => eprintln!("{}", serde_json::to_string(&summary)?),
        }
    }
    Ok(())
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
    let to_stdout = [
        Some(&plan.output),
        plan.late_output.as_ref(),
        plan.dead_letter.as_ref(),
    ]
    .into_iter()
    .flatten()
    .any(|p| p.as_os_str() == "-");
    if to_stdout && !quiet {
        eprintln!(
            "search-ctr: note: stdout cannot be taken back: after a resume, what was printed since the \
             last snapshot is printed again (write to a file for exactly-once output)"
        );
    }
    Ok(Some(RecoveryConfig {
        dir: dir.clone(),
        snapshot_interval: args.snapshot_interval,
        backup_interval: args.backup_interval,
        fingerprint: plan.fingerprint(),
    }))
}

/// Says on stderr which snapshot a run resumes from (the summary that
/// follows counts only the resumed run's own work). Errors are left to the
/// run, which reports them.
fn announce_resume(dir: &std::path::Path) {
    if let Ok(Some(e)) = recovery::latest_complete(dir) {
        if e.mark == u64::MAX {
            eprintln!(
                "search-ctr: this run finished before (snapshot {}): rewriting its final output",
                e.epoch
            );
        } else {
            eprintln!(
                "search-ctr: resuming from snapshot {} ({} bytes of state); the summary counts this run's work",
                e.epoch, e.bytes
            );
        }
    }
}

/// `search-ctr recovery init|inspect`.
pub fn recovery(args: RecoveryArgs) -> anyhow::Result<()> {
    match args.command {
        RecoveryCommand::Init { dir } => {
            let path = recovery::init_store(&dir)?;
            println!("created recovery store {}", path.display());
        }
        RecoveryCommand::Inspect { dir } => {
            let info = recovery::inspect(&dir)?;
            print!("{}", crate::pipeline::describe_store(&info));
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
            process_id: i,
            addresses,
            connect_timeout: args.connect_timeout,
        })),
    }
}

/// `search-ctr generate`.
pub fn generate_logs(args: GenerateArgs) -> anyhow::Result<()> {
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
        ..GenerateConfig::default()
    };
    let out: Box<dyn Write> = if args.out.as_os_str() == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(File::create(&args.out).with_context(|| format!("{}: cannot create", args.out.display()))?)
    };
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let result = generate(&config, &mut out).and_then(|_| out.flush());
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => bail!("{}: {e}", args.out.display()),
    }
}
