//! Every flag of `search-ctr`, with its docs and default, in one place.

pub mod endpoint;
pub mod kafka;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::duration::{parse_duration, parse_horizon, Horizon};

/// Session click-through rates from search logs.
///
/// With no command, runs the Bytewax tutorial "Building Sessions from Search
/// Logs" on its simulated events and prints its output.
#[derive(Debug, Parser)]
#[command(name = "search-ctr", version, about, long_about)]
pub struct Cli {
    /// What to do (default: the tutorial).
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Diagnostic logs on stderr (notes, progress, snapshots, the live
    /// server): `text` lines or `json` objects, one per line. Which are
    /// shown follows RUST_LOG (default `info`; e.g. RUST_LOG=debug or
    /// RUST_LOG=eddy=debug). The run summary and error messages are not
    /// logs and keep their form.
    #[arg(long, value_enum, global = true, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`).
    Json,
}

/// Where `run --serve` listens when no address is given (loopback only).
pub const DEFAULT_SERVE: &str = "127.0.0.1:9464";

/// Where `search-ctr run --help` sends readers for the full contract (paths
/// in the source repository; `crates/cli/tests/docs.rs` checks they exist).
const RUN_DOCS: &str = "Input lines (which fields each event type needs, accepted time forms, the \
reasons invalid lines are given): docs/input-format.md. Sessions, lateness, metrics and the row, \
late-event and dead-letter formats: docs/sessions.md. Search analytics (--query-output, \
--position-output, --judgment-output, --schema ubi): docs/analytics.md. All are in the source repository.";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sessionize real search logs and write one CTR row per session.
    ///
    /// Example: search-ctr run --input logs/ --format csv --output sessions.csv
    #[command(after_help = RUN_DOCS)]
    Run(Box<RunArgs>),
    /// Write deterministic synthetic search logs (JSON Lines).
    ///
    /// Example: search-ctr generate --events 1000000 --out logs.jsonl
    Generate(GenerateArgs),
    /// Create or inspect a recovery store (for `run --recovery-dir`).
    ///
    /// Example: search-ctr recovery init state/
    Recovery(RecoveryArgs),
    /// Write one self-contained HTML page of charts and tables from session
    /// rows (and analytics rows, and a run's `--summary json`).
    ///
    /// Example: search-ctr report --sessions sessions.jsonl -o report.html
    Report(ReportArgs),
}

/// `search-ctr report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Session rows, as `run` writes them (`--format jsonl` or `csv`).
    #[arg(long, value_name = "PATH")]
    pub sessions: PathBuf,

    /// Per-query rows (`jsonl` or `csv`): adds the no-click and zero-result
    /// rates, MRR, time to first click and the query tables.
    #[arg(long, value_name = "PATH")]
    pub queries: Option<PathBuf>,

    /// Per-position rows (`jsonl` or `csv`): adds clicks and CTR by position.
    #[arg(long, value_name = "PATH")]
    pub positions: Option<PathBuf>,

    /// Judgment rows (`jsonl` or `csv`): adds the top (query, item) pairs by COEC.
    #[arg(long, value_name = "PATH")]
    pub judgments: Option<PathBuf>,

    /// What `run --summary json` printed on stderr: adds events read, late,
    /// invalid and unknown-type counts.
    ///
    /// Example: search-ctr run -I logs/ -o s.jsonl --summary json 2> summary.json
    #[arg(long, value_name = "PATH")]
    pub summary: Option<PathBuf>,

    /// The HTML file to write.
    #[arg(short, long, value_name = "PATH")]
    pub output: PathBuf,

    /// Fewest searches a query needs to appear among the worst by no-click
    /// rate.
    #[arg(long, value_name = "N", default_value_t = ReportArgs::MIN_SEARCHES)]
    pub min_searches: u64,

    /// Fewest impressions a (query, item) pair needs to appear among the top
    /// judgments.
    #[arg(long, value_name = "N", default_value_t = ReportArgs::MIN_IMPRESSIONS)]
    pub min_impressions: u64,
}

impl ReportArgs {
    /// Default of `--min-searches`.
    pub const MIN_SEARCHES: u64 = 20;
    /// Default of `--min-impressions`.
    pub const MIN_IMPRESSIONS: u64 = 20;
}

/// `search-ctr recovery`.
#[derive(Debug, Args)]
pub struct RecoveryArgs {
    /// What to do with the store.
    #[command(subcommand)]
    pub command: RecoveryCommand,
}

/// The recovery subcommands.
#[derive(Debug, Subcommand)]
pub enum RecoveryCommand {
    /// Create an empty recovery store in DIR (made if missing).
    Init {
        /// The recovery directory.
        dir: PathBuf,
    },
    /// Verify the store in DIR and show its snapshots: epochs, steps, sizes.
    Inspect {
        /// The recovery directory.
        dir: PathBuf,
    },
}

/// Output row formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The tutorial's style: `User 1: 1 searches, 1 clicks` lines, then
    /// `('1', 1.0)` lines (user, clicks per search).
    Text,
    /// One JSON object per session (docs/sessions.md).
    Jsonl,
    /// The same fields as CSV, with a header.
    Csv,
}

/// `run --schema`: how input lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaArg {
    /// The search-log format of docs/input-format.md.
    Tutorial,
    /// OpenSearch User Behavior Insights (UBI 1.x) query and event records.
    Ubi,
    /// Google Analytics 4 BigQuery export, as JSON Lines (docs/schemas.md).
    Ga4,
    /// Snowplow enriched events as JSON (docs/schemas.md).
    Snowplow,
    /// Elastic behavioral analytics events (docs/schemas.md).
    Elastic,
    /// Algolia Insights events (docs/schemas.md).
    Algolia,
}

/// `NAME=VALUE` (`--map`, `--type-map`).
fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{text:?}: expected NAME=VALUE")),
    }
}

/// `--analytics-window`: `1d`, `1h`, `30m`, `10s`, `500ms`.
fn parse_window(text: &str) -> Result<ctr::analytics::window::Window, String> {
    ctr::analytics::window::Window::parse(text).map_err(|e| e.to_string())
}

/// `run --judgment-model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JudgmentModelArg {
    /// Clicks over expected clicks (no model).
    Coec,
    /// The position-based model (EM).
    Pbm,
    /// The cascade model.
    Cascade,
    /// The dynamic Bayesian network (EM).
    Dbn,
}

impl JudgmentModelArg {
    /// The click model (`None` for COEC).
    pub fn model(self) -> Option<ctr::analytics::click_models::Model> {
        use ctr::analytics::click_models::Model;
        match self {
            JudgmentModelArg::Coec => None,
            JudgmentModelArg::Pbm => Some(Model::Pbm),
            JudgmentModelArg::Cascade => Some(Model::Cascade),
            JudgmentModelArg::Dbn => Some(Model::Dbn),
        }
    }
}

/// `generate --click-model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClickModelArg {
    /// The position-based model.
    Pbm,
    /// The cascade model.
    Cascade,
    /// The dynamic Bayesian network.
    Dbn,
}

/// `generate --profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// Random queries and items (the default; same bytes as always).
    Classic,
    /// Repeated queries, stable result lists, zero-result searches,
    /// rank-biased clicks, reformulations.
    Search,
}

/// What to do with an invalid input line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnInvalid {
    /// Stop the run (exit status 1), naming the file and line.
    Fail,
    /// Count it, write it to --dead-letter if given, and go on.
    Skip,
}

/// The unit of integer `time` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimeUnitArg {
    /// Seconds since the Unix epoch.
    S,
    /// Milliseconds since the Unix epoch.
    Ms,
    /// Microseconds since the Unix epoch.
    Us,
    /// Nanoseconds since the Unix epoch.
    Ns,
}

impl From<TimeUnitArg> for ctr::timestamp::TimeUnit {
    fn from(u: TimeUnitArg) -> Self {
        use ctr::timestamp::TimeUnit;
        match u {
            TimeUnitArg::S => TimeUnit::Seconds,
            TimeUnitArg::Ms => TimeUnit::Millis,
            TimeUnitArg::Us => TimeUnit::Micros,
            TimeUnitArg::Ns => TimeUnit::Nanos,
        }
    }
}

/// Run summary formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    /// A few lines for people.
    Text,
    /// One JSON object for machines.
    Json,
}

/// `search-ctr run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Input: a file (gzip data is decompressed, whatever the name), a
    /// directory (every file under it, sorted by path; hidden ones skipped)
    /// or `-` for stdin. Repeat for several. Or one Kafka topic,
    /// kafka://HOST:PORT[,HOST:PORT]/TOPIC (see --kafka-*).
    ///
    /// Example: --input day1.jsonl --input day2.jsonl.gz
    #[arg(short = 'I', long = "input", value_name = "PATH", default_value = "-", value_parser = endpoint::InputParser)]
    pub inputs: Vec<endpoint::Input>,

    /// Inactivity that ends a session (event time).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub gap: Duration,

    /// Allowed out-of-orderness: an event more than this behind its user's
    /// latest event is late.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub wait: Duration,

    /// How far the input's event time must pass a quiet user's latest event
    /// (beyond --wait) before that user's watermark follows the input: with
    /// 0s a user who leaves gets their row once the input is --gap + --wait
    /// past their last event, on a live stream too. Larger: room for users
    /// whose events arrive late in a block (apps uploading hours later);
    /// off: a user's sessions close only at their next event or the end of
    /// input.
    #[arg(long, value_name = "DURATION|off", default_value = "0s", value_parser = parse_horizon)]
    pub horizon: Horizon,

    /// For live input (stdin that does not end): close a user's sessions,
    /// and forget the user, after this much wall-clock time without an event
    /// from them. Off by default: with it, results depend on timing.
    ///
    /// Example: tail -f app.log | search-ctr run --idle-timeout 5m
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,

    /// For live input with several partitions (a Kafka topic without
    /// --kafka-until-end): a partition that has had nothing to read for this
    /// long stops holding the others back: its progress mark follows the
    /// highest one of the topic's other partitions (as Flink's idle
    /// sources). What it receives afterwards is placed at that mark, so an
    /// event older than it is late for the analytics windows that closed
    /// meanwhile. `0s`: never (an idle partition then holds every other
    /// one back until it receives data). Bounded inputs never idle.
    ///
    /// Example: search-ctr run -I kafka://127.0.0.1:9092/search-events --partition-idle 30s
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub partition_idle: Duration,

    /// Row format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,

    /// Where rows go (`-` = stdout), or kafka://HOST:PORT/TOPIC (one JSON
    /// message per row, keyed by user; also for --late-output and
    /// --dead-letter). Kafka outputs are exactly-once with --recovery-dir
    /// (each message carries its position in an `eddy-pos` header; a resume
    /// skips what the crashed run wrote), at-least-once without it
    /// (idempotent producer).
    ///
    /// Example: --output sessions.csv
    #[arg(short, long, value_name = "PATH", default_value = "-", value_parser = endpoint::EndpointParser)]
    pub output: endpoint::Endpoint,

    /// Write late events here, each as its original line.
    #[arg(long, value_name = "PATH", value_parser = endpoint::EndpointParser)]
    pub late_output: Option<endpoint::Endpoint>,

    /// Search analytics (docs/analytics.md): write one row per (window,
    /// query) here, in the --format (jsonl or csv). Any of the three
    /// analytics outputs turns analytics on.
    ///
    /// Example: --query-output queries.jsonl
    #[arg(long, value_name = "PATH", value_parser = endpoint::EndpointParser)]
    pub query_output: Option<endpoint::Endpoint>,

    /// Search analytics: write one row per (window, result position) here.
    #[arg(long, value_name = "PATH", value_parser = endpoint::EndpointParser)]
    pub position_output: Option<endpoint::Endpoint>,

    /// Search analytics: write implicit relevance judgments (CTR, COEC) per
    /// (window, query, item) here.
    #[arg(long, value_name = "PATH", value_parser = endpoint::EndpointParser)]
    pub judgment_output: Option<endpoint::Endpoint>,

    /// Search analytics: how judgments are made (docs/analytics.md, "Click
    /// models"): `coec` (clicks over expected clicks), or a click model
    /// fitted to each window's searches — `pbm` (position-based), `cascade`,
    /// `dbn` (dynamic Bayesian network) — whose estimates go into the
    /// judgment rows (attractiveness, satisfaction, relevance) and the
    /// position rows (examination).
    #[arg(long, value_enum, default_value_t = JudgmentModelArg::Coec)]
    pub judgment_model: JudgmentModelArg,

    /// Search analytics: the length of the event-time windows (UTC-aligned).
    #[arg(long, value_name = "DURATION", default_value = "1d", value_parser = parse_window)]
    pub analytics_window: ctr::analytics::window::Window,

    /// Search analytics: least impressions a (query, item) needs in a
    /// window for a judgment row.
    #[arg(long, value_name = "N", default_value_t = ctr::analytics::aggregate::MIN_IMPRESSIONS)]
    pub min_impressions: u64,

    /// Search analytics on a live input (--live, or a Kafka topic without
    /// --kafka-until-end): a window's rows are written once the input's
    /// event time has passed the window's end by this much; a search that
    /// comes later is counted late (summary, --late-output). Other inputs
    /// (files, and stdin without --live) close every window at end of input
    /// (exact).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub analytics_delay: Duration,

    /// The input does not end (stdin fed by `tail -f`, an app's pipe): search
    /// analytics windows close by --analytics-delay instead of at end of
    /// input. Implied by a Kafka topic without --kafka-until-end. Without
    /// it, a stdin that ends gives exactly what its file gives.
    ///
    /// Example: tail -f app.log | search-ctr run --live --query-output q.jsonl
    #[arg(long)]
    pub live: bool,

    /// The input lines' schema: `tutorial` (docs/input-format.md), `ubi`
    /// (OpenSearch User Behavior Insights records, docs/analytics.md), or
    /// an analytics export read through a mapping: `ga4`, `snowplow`,
    /// `elastic`, `algolia` (docs/schemas.md; --map and --type-map adjust
    /// them).
    ///
    /// Example: search-ctr run -I ga4-export.jsonl --schema ga4 -o sessions.jsonl
    #[arg(long, value_enum, default_value_t = SchemaArg::Tutorial)]
    pub schema: SchemaArg,

    /// Read the input lines through the mapping in this TOML schema file
    /// (docs/schemas.md): where the user, time, type, query, items, item
    /// and position are, which record types are which event kinds.
    ///
    /// Example: --schema-file my-app.toml
    #[arg(long, value_name = "FILE", conflicts_with = "schema")]
    pub schema_file: Option<std::path::PathBuf>,

    /// Where a field is in the input records: FIELD is user, time, type,
    /// query, query_id, items, item or position; PATH is dotted (`user.id`,
    /// `items.0.item_id`, `items.*.item_id`, GA4's `event_params.search_term`)
    /// or a JSON pointer (`/user/id`). Repeat for several. Alone it
    /// describes a schema of its own (user, time and type needed); with
    /// --schema or --schema-file it changes theirs.
    ///
    /// Example: --map user=session.user_id --map time=ts --map type=kind --map query=q
    #[arg(long = "map", value_name = "FIELD=PATH", value_parser = parse_pair)]
    pub maps: Vec<(String, String)>,

    /// Which record types are which event kind (app_open, search, results,
    /// click_result, app_close, timeout); repeat for several names of one
    /// kind. Types not mapped are counted as "other" and skipped.
    ///
    /// Example: --type-map query_submitted=search --type-map result_clicked=click_result
    #[arg(long = "type-map", value_name = "NAME=KIND", value_parser = parse_pair)]
    pub type_maps: Vec<(String, String)>,

    /// With --schema ubi: the `action_name`s that are clicks on a result,
    /// comma-separated.
    ///
    /// Example: --ubi-click-actions click,product_click
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "click")]
    pub ubi_click_actions: Vec<String>,

    /// What an invalid line does.
    #[arg(long, value_enum, default_value_t = OnInvalid::Fail)]
    pub on_invalid: OnInvalid,

    /// With `--on-invalid skip`: write each invalid line here, as JSON
    /// `{"file":…,"line":…,"reason":…,"text":…}`.
    #[arg(long, value_name = "PATH", value_parser = endpoint::EndpointParser)]
    pub dead_letter: Option<endpoint::Endpoint>,

    /// Lines longer than this many bytes are invalid.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_line_bytes: usize,

    /// The unit of integer `time` values since the Unix epoch (RFC 3339
    /// strings are unaffected).
    ///
    /// Example: --time-unit s   (for {"time":1704067205,...})
    /// Default: ms, or the --schema's own (GA4: us).
    #[arg(long, value_enum, value_name = "UNIT")]
    pub time_unit: Option<TimeUnitArg>,

    /// Files larger than this are read in chunks of this many bytes, in
    /// parallel (0 = never split). Chunks do not depend on the worker count.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20, hide_short_help = true)]
    pub chunk_bytes: u64,

    /// Crash recovery.
    #[command(flatten)]
    pub recovery: RecoveryFlags,

    /// Kafka inputs and outputs.
    #[command(flatten)]
    pub kafka: kafka::KafkaFlags,

    /// Worker threads in this process.
    #[arg(short, long, value_name = "N", default_value_t = 1)]
    pub workers: usize,

    /// This process's index in the cluster (0-based), with --addresses or
    /// --hostfile. Process 0 writes the output.
    #[arg(short = 'i', long, value_name = "I")]
    pub process_id: Option<usize>,

    /// Every process's host:port, in process order, comma-separated. Each
    /// process listens on its own entry only.
    ///
    /// Example: -a 127.0.0.1:2101,127.0.0.1:2102
    #[arg(
        short = 'a',
        long,
        value_name = "HOST:PORT,...",
        value_delimiter = ',',
        conflicts_with = "hostfile"
    )]
    pub addresses: Vec<String>,

    /// A file with one host:port per line, in process order (instead of
    /// --addresses).
    #[arg(long, value_name = "FILE")]
    pub hostfile: Option<PathBuf>,

    /// How long to wait for the other processes to connect.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// In a cluster: a process silent this long (stopped, hung, cut off)
    /// stops the run (0s = never).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub peer_timeout: Duration,

    /// Summary format on stderr.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub summary: SummaryFormat,

    /// When the run succeeds, also write an HTML report of its rows here
    /// (as `search-ctr report` does; needs -o FILE and --format jsonl or
    /// csv: the rows are read back from that file).
    ///
    /// Example: search-ctr run -I logs/ -o sessions.jsonl --report report.html
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,

    /// While the run lasts, serve HTTP on ADDR (default 127.0.0.1:9464,
    /// loopback only; give another address, e.g. 0.0.0.0:9464, to be
    /// reached from elsewhere): /metrics (Prometheus text), /healthz,
    /// /readyz and, at /, the report page of the rows so far, refreshed
    /// every 5 seconds.
    ///
    /// Example: search-ctr run -I - -o sessions.jsonl --idle-timeout 1m --serve
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = DEFAULT_SERVE)]
    pub serve: Option<String>,

    /// No summary and no progress bar.
    #[arg(short, long)]
    pub quiet: bool,

    /// Print the pipeline's step graph for these options (Mermaid
    /// `flowchart` text, like `python -m bytewax.visualize`) and exit:
    /// nothing is read or written.
    ///
    /// Example: search-ctr run -I events.jsonl --print-flow > flow.mmd
    #[arg(long)]
    pub print_flow: bool,
}

/// `search-ctr generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Lines to write.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,

    /// Distinct users (default: events / 50, at least 1).
    #[arg(long)]
    pub users: Option<u64>,

    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// How far an event may lie behind earlier ones (keep it ≤ the run's --wait).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub disorder: Duration,

    /// Fraction of events made late on purpose.
    #[arg(long, default_value_t = 0.0)]
    pub late_rate: f64,

    /// Fraction of lines made invalid.
    #[arg(long, default_value_t = 0.0)]
    pub invalid_rate: f64,

    /// What searches look like (`search`: for search analytics, see
    /// docs/analytics.md).
    #[arg(long, value_enum, default_value_t = ProfileArg::Classic)]
    pub profile: ProfileArg,

    /// With --profile search: draw clicks from this click model, with the
    /// generator's true parameters (docs/analytics.md, "Click models";
    /// each search then shows its query's list in a random order, so that
    /// position bias can be measured), instead of rank-biased clicks.
    ///
    /// Example: search-ctr generate --profile search --click-model pbm --out clicks.jsonl
    #[arg(long, value_enum, value_name = "MODEL")]
    pub click_model: Option<ClickModelArg>,

    /// Where to write (`-` = stdout). A file appears only once complete
    /// (written under a temporary name, then renamed).
    #[arg(short, long, value_name = "PATH", default_value = "-")]
    pub out: PathBuf,

    /// Produce the lines to a Kafka topic instead (it must exist), one
    /// message per line keyed by its user.
    ///
    /// Example: --to kafka://127.0.0.1:9092/search-events --rate 5000/s
    #[arg(long, value_name = "URI", conflicts_with = "out")]
    pub to: Option<String>,

    /// With --to: lines per second (default: as fast as the broker takes them).
    #[arg(long, value_name = "N/s", requires = "to", value_parser = kafka::parse_rate)]
    pub rate: Option<f64>,

    /// With --to: the partitions of the topic when it has to be made.
    #[arg(long, value_name = "N", requires = "to", default_value_t = 4)]
    pub partitions: i32,

    /// With --to: a librdkafka setting (KEY=VALUE), repeatable.
    #[arg(long, value_name = "KEY=VALUE", requires = "to", value_parser = kafka::parse_option)]
    pub kafka_option: Vec<(String, String)>,
}

/// `run`'s recovery flags.
#[derive(Debug, Clone, Args)]
pub struct RecoveryFlags {
    /// Snapshot the run's state into this recovery store (made with
    /// `search-ctr recovery init DIR`). After a crash, the same command
    /// resumes from the last snapshot: file outputs end up exactly as an
    /// uninterrupted run writes them.
    ///
    /// Example: search-ctr recovery init state/ && search-ctr run -I logs/ -o out.jsonl -r state/
    #[arg(short = 'r', long, value_name = "DIR")]
    pub recovery_dir: Option<PathBuf>,

    /// Wall-clock time between snapshots (with --recovery-dir).
    #[arg(short = 's', long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub snapshot_interval: Duration,

    /// How long a snapshot is kept once a newer one is complete (with
    /// --recovery-dir): time to back the store up.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub backup_interval: Duration,

    /// With --recovery-dir: how long a run stopped by SIGINT/SIGTERM waits for
    /// its last snapshot before it exits without it (the previous snapshot
    /// then stays the one a resume starts from).
    #[arg(long, value_name = "DURATION", default_value = "800ms", value_parser = parse_duration)]
    pub stop_timeout: Duration,
}
