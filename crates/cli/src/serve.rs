//! `run --serve`: while the run lasts, a small HTTP server (hyper on a
//! one-thread tokio runtime) answers
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
//! row output takes them (one lock per batch, on the writing worker). Nor
//! does the run's end: no client can hold the server (bounded connections,
//! requests per connection, head size, head time and connection lifetime),
//! and stopping it drops its connections without waiting for them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::pipeline::stats::{Stats, Tally};
use crate::report::{Report, RunSummary};
use crate::usage::UsageError;

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

/// Connections served at once; one more is closed as soon as it is
/// accepted (a scraper retries; a flood cannot take threads or memory).
pub const MAX_CONNECTIONS: usize = 256;

/// Requests answered on one connection before it is closed (pipelining
/// and keep-alive are bounded too).
pub const MAX_REQUESTS_PER_CONNECTION: u32 = 100;

/// The most bytes of request head (request line and headers) read before
/// the request is refused (hyper answers 431 and closes).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How long a client may take to send a request's head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest a connection lives: a client that stops reading its
/// answers (so writes wait) is cut off then.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);

/// The running server; stops when dropped, without waiting for any client.
pub struct Server {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    live: Arc<Live>,
}

impl Server {
    /// Listens on `addr` (a usage error if it cannot) and serves `live`
    /// from one thread (a one-thread tokio runtime running hyper).
    pub fn start(addr: &str, live: Arc<Live>) -> anyhow::Result<Server> {
        let cannot = |e: std::io::Error| {
            UsageError(format!(
                "--serve {addr}: cannot listen there: {e} (expected a free HOST:PORT, e.g. 127.0.0.1:9464)"
            ))
        };
        let listener = std::net::TcpListener::bind(addr).map_err(cannot)?;
        listener.set_nonblocking(true).map_err(cannot)?;
        let bound = listener
            .local_addr()
            .map_or_else(|_| addr.to_owned(), |a| a.to_string());
        let mut registry = Registry::default();
        eddy::metrics::global().register(&mut registry);
        registry.register_collector(Box::new(RunCollector(live.clone())));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .context("--serve: cannot start the server's runtime")?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel();
        let state = Arc::new(State {
            registry,
            live: live.clone(),
        });
        std::thread::Builder::new()
            .name("search-ctr-serve".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => {
                            tokio::select! {
                                () = accept_loop(listener, state) => {}
                                _ = stopped => {}
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "--serve: cannot serve"),
                    }
                });
                // Dropping the runtime drops every connection still open.
            })
            .context("--serve: cannot start the server thread")?;
        tracing::info!("serving /metrics, /healthz, /readyz and the live page at http://{bound}/");
        Ok(Server {
            shutdown: Some(shutdown),
            live,
        })
    }
}

impl Drop for Server {
    /// Tells the server thread to stop (it drops its connections) and goes
    /// on at once: the run's end never waits for a client.
    fn drop(&mut self) {
        self.live.finished.store(true, Ordering::Relaxed);
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

/// What every request reads.
struct State {
    registry: Registry,
    live: Arc<Live>,
}

/// Accepts connections for ever, each served as a task of its own within
/// the bounds above.
async fn accept_loop(listener: tokio::net::TcpListener, state: Arc<State>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, say: wait a little, go on.
                tracing::debug!(error = %e, "--serve: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!("--serve: {MAX_CONNECTIONS} connections open; one more closed");
            drop(stream);
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let served = AtomicU32::new(0);
            let service = hyper::service::service_fn(|request| {
                let n = served.fetch_add(1, Ordering::Relaxed) + 1;
                let mut response = answer(&request, &state.registry, &state.live);
                if n >= MAX_REQUESTS_PER_CONNECTION {
                    response
                        .headers_mut()
                        .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
                }
                std::future::ready(Ok::<_, std::convert::Infallible>(response))
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_LIFETIME, connection).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "--serve: a connection failed"),
                Err(_) => tracing::debug!("--serve: a connection outlived {CONNECTION_LIFETIME:?}; closed"),
            }
            drop(slot);
        });
    }
}

/// A response with a body and a content type.
fn reply(status: u16, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    r
}

const TEXT: &str = "text/plain; charset=utf-8";

/// Answers one request.
fn answer<B>(request: &Request<B>, registry: &Registry, live: &Live) -> Response<Full<Bytes>> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return reply(405, TEXT, "only GET and HEAD\n".into());
    }
    match request.uri().path() {
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
