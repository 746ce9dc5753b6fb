//! `run --serve`: while the run lasts, a small HTTP server (tiny_http, one
//! thread) answers
//!
//! - `/metrics`: Prometheus / OpenMetrics text (`prometheus-client`): the
//!   run's counters (read from [`Stats`] at each scrape), eddy's per-step
//!   counters and snapshot figures ([`eddy::metrics`]) and the process's
//!   resident memory;
//! - `/healthz`: 200 while the process runs;
//! - `/readyz`: 200 once the dataflow is built (its inputs open) and the
//!   recovery store, if any, is usable; 503 with the reason before, and
//!   once the run has ended;
//! - `/`: the report page of the rows written so far, refreshed by the
//!   browser every [`REFRESH_SECONDS`].
//!
//! The workers never wait for the server: the counters are atomics, and
//! the rows the page shows are folded into fixed-size aggregates as the
//! row output takes them (one lock per batch, on the writing worker).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::Context;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use tiny_http::{Header, Method, Request, Response};

use crate::commands::UsageError;
use crate::pipeline::stats::{Stats, Tally};
use crate::report::{Report, RunSummary};

/// How often the live page reloads itself, in seconds.
pub const REFRESH_SECONDS: u32 = 5;

/// The step whose keys are the users tracked.
const SESSIONS_STEP: &str = "search_ctr.sessions";

/// What the server reads: the run's counters and its state.
#[derive(Debug)]
pub struct Live {
    /// The run's counters (and, once served, its rows' aggregates).
    pub stats: Arc<Stats>,
    /// Set once the dataflow is built: its inputs are open.
    pub built: Arc<AtomicBool>,
    /// Set once the run has returned.
    pub finished: AtomicBool,
    /// The recovery directory, when the run snapshots.
    pub recovery_dir: Option<PathBuf>,
    /// The inputs, as given (shown on the page).
    pub inputs: Vec<PathBuf>,
    /// When the run started.
    pub started: Instant,
}

impl Live {
    /// Why the job is not ready, or `None` when it is.
    fn not_ready(&self) -> Option<String> {
        if self.finished.load(Ordering::Relaxed) {
            return Some("the run has ended".into());
        }
        if !self.built.load(Ordering::Relaxed) {
            return Some("the dataflow is not built yet (inputs not open)".into());
        }
        if let Some(dir) = &self.recovery_dir {
            return store_problem(dir);
        }
        None
    }
}

/// What is wrong with the recovery store in `dir` for writing snapshots,
/// if anything.
fn store_problem(dir: &Path) -> Option<String> {
    let file = eddy::recovery::store_file(dir);
    match std::fs::metadata(&file) {
        Ok(m) if m.is_file() && !m.permissions().readonly() => None,
        Ok(_) => Some(format!(
            "the recovery store {} is not a writable file",
            file.display()
        )),
        Err(e) => Some(format!("the recovery store {}: {e}", file.display())),
    }
}

/// The run's own figures, read at each scrape.
#[derive(Debug)]
struct RunCollector(Arc<Live>);

/// Encodes one metric of `kind` whose value is `value` (a counter or a
/// gauge).
fn encode_one(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: Value,
) -> Result<(), std::fmt::Error> {
    match value {
        Value::Counter(v) => {
            let m = encoder.encode_descriptor(name, help, unit, MetricType::Counter)?;
            ConstCounter::new(v).encode(m)
        }
        Value::Gauge(v) => {
            let m = encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?;
            ConstGauge::new(v).encode(m)
        }
        Value::Real(v) => {
            let m = encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?;
            ConstGauge::new(v).encode(m)
        }
    }
}

/// A metric's value.
enum Value {
    Counter(u64),
    Gauge(i64),
    Real(f64),
}

impl prometheus_client::collector::Collector for RunCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let live = &self.0;
        let s = &live.stats;
        let gauge = |n: u64| Value::Gauge(i64::try_from(n).unwrap_or(i64::MAX));
        let mut all: Vec<(&str, &str, Option<Unit>, Value)> = vec![
            (
                "search_ctr_events_read",
                "Valid events of a known type read (late ones included)",
                None,
                Value::Counter(s.count(Tally::EVENTS)),
            ),
            (
                "search_ctr_invalid_lines",
                "Invalid input lines",
                None,
                Value::Counter(s.count(Tally::INVALID)),
            ),
            (
                "search_ctr_other_types",
                "Input objects of an unknown type (skipped)",
                None,
                Value::Counter(s.count(Tally::OTHER)),
            ),
            (
                "search_ctr_late_events",
                "Late events (in no session)",
                None,
                Value::Counter(s.late.get()),
            ),
            (
                "search_ctr_rows_written",
                "Session rows the row output took",
                None,
                Value::Counter(s.rows.get()),
            ),
            (
                "search_ctr_sessions_closed",
                "Sessions closed (with or without a search)",
                None,
                Value::Counter(s.sessions.get()),
            ),
            (
                "search_ctr_sessions_open",
                "Sessions open now",
                None,
                gauge(s.sessions_open()),
            ),
            (
                "search_ctr_users_tracked",
                "Users with state in the sessions step (an open session; with --horizon off also a clock for lateness)",
                None,
                Value::Gauge(eddy::metrics::global().keys(SESSIONS_STEP)),
            ),
            (
                "search_ctr_input",
                "Input bytes read (lines and newlines)",
                Some(Unit::Bytes),
                Value::Counter(s.count(Tally::BYTES)),
            ),
            (
                "search_ctr_up_time",
                "Time since the run started",
                Some(Unit::Seconds),
                Value::Real(live.started.elapsed().as_secs_f64()),
            ),
            (
                "search_ctr_ready",
                "1 when /readyz answers ready",
                None,
                Value::Gauge(i64::from(live.not_ready().is_none())),
            ),
        ];
        if let Some(t) = s.max_event_time_ms() {
            let now = jiff::Timestamp::now().as_millisecond();
            all.push((
                "search_ctr_event_time_lag",
                "Wall clock minus the latest event time read",
                Some(Unit::Seconds),
                Value::Real(now.saturating_sub(t) as f64 / 1000.0),
            ));
            all.push((
                "search_ctr_event_time_latest",
                "The latest event time read (Unix time)",
                Some(Unit::Seconds),
                Value::Real(t as f64 / 1000.0),
            ));
        }
        if let Some(rss) = resident_bytes() {
            all.push((
                "process_resident_memory",
                "Resident memory of the process",
                Some(Unit::Bytes),
                gauge(rss),
            ));
        }
        for (name, help, unit, value) in all {
            encode_one(&mut encoder, name, help, unit.as_ref(), value)?;
        }
        Ok(())
    }
}

/// The process's resident memory, from `/proc/self/statm` (Linux; `None`
/// elsewhere).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The running server; stops when dropped.
pub struct Server {
    http: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    live: Arc<Live>,
}

impl Server {
    /// Listens on `addr` (a usage error if it cannot) and serves `live`.
    pub fn start(addr: &str, live: Arc<Live>) -> anyhow::Result<Server> {
        let http = tiny_http::Server::http(addr).map_err(|e| {
            UsageError(format!(
                "--serve {addr}: cannot listen there: {e} (expected a free HOST:PORT, e.g. 127.0.0.1:9464)"
            ))
        })?;
        let bound = http
            .server_addr()
            .to_ip()
            .map_or_else(|| addr.to_owned(), |a| a.to_string());
        let http = Arc::new(http);
        let mut registry = Registry::default();
        eddy::metrics::global().register(&mut registry);
        registry.register_collector(Box::new(RunCollector(live.clone())));
        let thread = std::thread::Builder::new()
            .name("search-ctr-serve".into())
            .spawn({
                let http = http.clone();
                let live = live.clone();
                move || {
                    for request in http.incoming_requests() {
                        answer(request, &registry, &live);
                    }
                }
            })
            .context("--serve: cannot start the server thread")?;
        tracing::info!("serving /metrics, /healthz, /readyz and the live page at http://{bound}/");
        Ok(Server {
            http,
            thread: Some(thread),
            live,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.live.finished.store(true, Ordering::Relaxed);
        self.http.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A response with a body and a content type.
fn reply(status: u16, content_type: &str, body: String) -> Response<Cursor<Vec<u8>>> {
    let mut r = Response::from_string(body).with_status_code(status);
    if let Ok(h) = Header::from_bytes("Content-Type", content_type) {
        r = r.with_header(h);
    }
    r
}

const TEXT: &str = "text/plain; charset=utf-8";

/// Answers one request (a client gone away is not our problem).
fn answer(request: Request, registry: &Registry, live: &Live) {
    let path = request.url().split('?').next().unwrap_or("").to_owned();
    let response = if !matches!(request.method(), Method::Get | Method::Head) {
        reply(405, TEXT, "only GET and HEAD\n".into())
    } else {
        match path.as_str() {
            "/metrics" => {
                let mut body = String::new();
                match prometheus_client::encoding::text::encode(&mut body, registry) {
                    Ok(()) => reply(
                        200,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        body,
                    ),
                    Err(e) => reply(500, TEXT, format!("cannot encode the metrics: {e}\n")),
                }
            }
            "/healthz" => reply(200, TEXT, "ok\n".into()),
            "/readyz" => match live.not_ready() {
                None => reply(200, TEXT, "ready\n".into()),
                Some(why) => reply(503, TEXT, format!("not ready: {why}\n")),
            },
            "/" | "/index.html" => match page(live) {
                Ok(html) => reply(200, "text/html; charset=utf-8", html),
                Err(e) => reply(500, TEXT, format!("cannot render the page: {e:#}\n")),
            },
            _ => reply(
                404,
                TEXT,
                "not found: try /, /metrics, /healthz or /readyz\n".into(),
            ),
        }
    };
    if let Err(e) = request.respond(response) {
        tracing::debug!(error = %e, path, "a client went away before its answer");
    }
}

/// The live page: the report of the rows so far, with the run's figures.
fn page(live: &Live) -> anyhow::Result<String> {
    let mut report = Report::new(
        crate::args::ReportArgs::MIN_SEARCHES,
        crate::args::ReportArgs::MIN_IMPRESSIONS,
    );
    report.sessions = live.stats.live_rows_so_far();
    let summary = live.stats.summary(live.started.elapsed());
    let summary: RunSummary = serde_json::from_value(serde_json::to_value(&summary)?)?;
    report.summary = Some(summary);
    report.sources = live
        .inputs
        .iter()
        .map(|p| ("input".to_string(), p.display().to_string()))
        .collect();
    let html = report.render()?;
    let note = format!(
        "<p class=\"note\" data-key=\"live\">Live page of a running job: the rows written so far, \
         reloaded every {REFRESH_SECONDS} seconds (run time {:.0} s).</p>",
        live.started.elapsed().as_secs_f64()
    );
    Ok(html
        .replacen(
            "<head>",
            &format!("<head><meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">"),
            1,
        )
        .replacen("<header>", &format!("<header>{note}"), 1))
}
