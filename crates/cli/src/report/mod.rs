//! `search-ctr report` and `run --report`: one self-contained HTML page of
//! charts and tables made from session rows (and, when given, the
//! per-query, per-position and judgment rows of `ctr::analytics`, and the
//! run's `--summary json`).
//!
//! Rows are read one at a time into [`aggregate`]s, so the page's size and
//! the memory used do not grow with the number of sessions: time buckets
//! are capped ([`aggregate::MAX_POINTS`] shown), tables show 50 rows.

pub mod aggregate;
mod charts;
mod html;
mod read;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};

use crate::args::ReportArgs;
use crate::console::Failure;
use crate::safety::{self, Staging};
use crate::usage::UsageError;
use aggregate::{Judgments, Positions, Queries, Sessions};

/// The figures of a run's `--summary json` the report shows (other fields
/// are ignored).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct RunSummary {
    /// Valid events read.
    pub events: u64,
    /// Invalid lines.
    pub invalid: u64,
    /// Objects of an unknown type.
    pub other: u64,
    /// Late events.
    pub late: u64,
    /// Sessions without a search (no row).
    pub sessions_without_search: u64,
    /// Rows written.
    pub rows: u64,
    /// Warnings about the input.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Everything a report shows.
#[derive(Debug, Default)]
pub struct Report {
    /// From the session rows.
    pub sessions: Sessions,
    /// From query rows, when given.
    pub queries: Option<Queries>,
    /// From position rows, when given.
    pub positions: Option<Positions>,
    /// From judgment rows, when given.
    pub judgments: Option<Judgments>,
    /// The run's summary, when given.
    pub summary: Option<RunSummary>,
    /// What was read: (what, path).
    pub sources: Vec<(String, String)>,
    /// Fewest searches for the worst-queries table.
    pub min_searches: u64,
    /// Fewest impressions for the judgments table.
    pub min_impressions: u64,
}

impl Report {
    /// An empty report with the tables' thresholds.
    pub fn new(min_searches: u64, min_impressions: u64) -> Self {
        Report {
            min_searches,
            min_impressions,
            ..Report::default()
        }
    }

    /// Reads the session rows of `path` (`option` names it in errors).
    pub fn read_sessions(&mut self, option: &str, path: &Path) -> anyhow::Result<()> {
        let sessions = &mut self.sessions;
        read::session_rows(option, path, |r| sessions.add(r))?;
        self.sources
            .push(("session rows".into(), path.display().to_string()));
        Ok(())
    }

    /// Reads query rows.
    pub fn read_queries(&mut self, path: &Path) -> anyhow::Result<()> {
        let q = self.queries.get_or_insert_with(Queries::default);
        read::rows("--queries", path, |r| q.add(r))?;
        self.sources
            .push(("query rows".into(), path.display().to_string()));
        Ok(())
    }

    /// Reads position rows.
    pub fn read_positions(&mut self, path: &Path) -> anyhow::Result<()> {
        let p = self.positions.get_or_insert_with(Positions::default);
        read::rows("--positions", path, |r| p.add(&r))?;
        self.sources
            .push(("position rows".into(), path.display().to_string()));
        Ok(())
    }

    /// Reads judgment rows.
    pub fn read_judgments(&mut self, path: &Path) -> anyhow::Result<()> {
        let j = self.judgments.get_or_insert_with(Judgments::default);
        read::rows("--judgments", path, |r| j.add(r))?;
        self.sources
            .push(("judgment rows".into(), path.display().to_string()));
        Ok(())
    }

    /// Reads a run's summary from `path`: what `run --summary json` wrote
    /// on stderr (the last line that is a JSON object; other lines, such
    /// as notes, are skipped).
    pub fn read_summary(&mut self, path: &Path) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--summary {}: cannot read", path.display()))?;
        let line = text
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .ok_or_else(|| {
                anyhow!(
                    "--summary {}: no JSON object in it (expected what `search-ctr run --summary json` prints \
                     on stderr)",
                    path.display()
                )
            })?;
        let summary = serde_json::from_str(line)
            .with_context(|| format!("--summary {}: not a run summary", path.display()))?;
        self.summary = Some(summary);
        self.sources
            .push(("run summary".into(), path.display().to_string()));
        Ok(())
    }

    /// The page.
    pub fn render(&self) -> anyhow::Result<String> {
        html::render(self)
    }
}

/// Writes `page` to `path` (`option` names it in errors).
fn write_page(option: &str, path: &Path, page: &str) -> anyhow::Result<()> {
    let what = || format!("{option} {}: cannot write the report", path.display());
    let file = File::create(path).with_context(what)?;
    let mut out = BufWriter::new(file);
    out.write_all(page.as_bytes()).with_context(what)?;
    out.flush().with_context(what)
}

/// `search-ctr report`.
pub fn report_command(args: ReportArgs) -> Result<(), Failure> {
    if args.output.as_os_str() == "-" {
        return Err(UsageError("-o/--output needs a file name for the report (not - )".into()).into());
    }
    let inputs: Vec<PathBuf> = [
        Some(&args.sessions),
        args.queries.as_ref(),
        args.positions.as_ref(),
        args.judgments.as_ref(),
        args.summary.as_ref(),
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    safety::check_paths(&inputs, &[("--output", args.output.as_path())], None)?;
    let mut staging = Staging::default();
    let temp = staging.stage("--output", &args.output)?;
    let mut report = Report::new(args.min_searches, args.min_impressions);
    report.read_sessions("--sessions", &args.sessions)?;
    if let Some(p) = &args.queries {
        report.read_queries(p)?;
    }
    if let Some(p) = &args.positions {
        report.read_positions(p)?;
    }
    if let Some(p) = &args.judgments {
        report.read_judgments(p)?;
    }
    if let Some(p) = &args.summary {
        report.read_summary(p)?;
    }
    write_page("--output", &temp, &report.render()?)?;
    staging.commit()?;
    Ok(())
}

/// Why `run --report` cannot be used with these outputs, if it cannot: the
/// report reads the rows back from the `--output` file once the run is
/// over.
pub fn run_report_usage(
    output: &crate::args::endpoint::Endpoint,
    format: crate::args::Format,
    cluster: bool,
) -> Option<String> {
    use crate::args::endpoint::Endpoint;
    let output = match output {
        Endpoint::File(path) => path,
        // (Kafka: refused with its own reason by the plan's Kafka checks.)
        Endpoint::Stdout | Endpoint::Kafka(_) => return Some(
            "--report reads the rows back from the --output file when the run ends: give -o FILE (rows on \
             stdout cannot be read back; or run `search-ctr report --sessions FILE` later)"
                .into(),
        ),
    };
    if format == crate::args::Format::Text {
        return Some("--report needs --format jsonl or csv: the text format has no session times".into());
    }
    if cluster {
        return Some(
            "--report is not available in a cluster (each process's summary counts its own share): run \
             `search-ctr report --sessions FILE` on process 0's output"
                .into(),
        );
    }
    if let Ok(m) = std::fs::metadata(output) {
        if !m.is_file() {
            return Some(format!(
                "--report reads the rows back from --output {}, which is not a regular file",
                output.display()
            ));
        }
    }
    None
}

/// The analytics outputs of a run, each as (where it is written now,
/// perhaps a temporary name; how the user named it).
#[derive(Debug, Clone, Default)]
pub struct AnalyticsFiles {
    /// `--query-output`.
    pub queries: Option<(PathBuf, PathBuf)>,
    /// `--position-output`.
    pub positions: Option<(PathBuf, PathBuf)>,
    /// `--judgment-output`.
    pub judgments: Option<(PathBuf, PathBuf)>,
}

/// `run --report`: the report of a finished run, from `folded` (the
/// aggregates of the rows, folded as the output took them) or, when
/// `None`, from the rows in `rows` (the output file, perhaps still under
/// its temporary name; shown as `output`), the analytics outputs it wrote
/// to files (read back: the same charts and tables as `search-ctr report`
/// with them), its `summary` (the run's, as `--summary json` writes it)
/// and `inputs`, written to `to`.
#[allow(clippy::too_many_arguments)]
pub fn write_after_run(
    rows: &Path,
    output: &Path,
    folded: Option<Sessions>,
    analytics: &AnalyticsFiles,
    summary: &impl serde::Serialize,
    inputs: &[PathBuf],
    to: &Path,
    shown_as: &Path,
) -> anyhow::Result<()> {
    let mut report = Report::new(ReportArgs::MIN_SEARCHES, ReportArgs::MIN_IMPRESSIONS);
    match folded {
        Some(sessions) => report.sessions = sessions,
        None => report.read_sessions("--output", rows)?,
    }
    let mut sources: Vec<(String, String)> = inputs
        .iter()
        .map(|p| ("input".to_string(), p.display().to_string()))
        .collect();
    sources.push(("session rows".into(), output.display().to_string()));
    type Reader = fn(&mut Report, &Path) -> anyhow::Result<()>;
    type File = Option<(PathBuf, PathBuf)>;
    let readers: [(&File, &str, Reader); 3] = [
        (&analytics.queries, "query rows", Report::read_queries),
        (&analytics.positions, "position rows", Report::read_positions),
        (&analytics.judgments, "judgment rows", Report::read_judgments),
    ];
    for (file, what, read) in readers {
        if let Some((now, shown)) = file {
            read(&mut report, now)?;
            sources.push((what.into(), shown.display().to_string()));
        }
    }
    report.sources = sources;
    report.summary = Some(serde_json::from_value(serde_json::to_value(summary)?)?);
    write_page("--report", to, &report.render()?).with_context(|| format!("--report {}", shown_as.display()))
}
