//! `run --serve` and `--log-format`: the real binary on a stdin kept open,
//! scraped over HTTP while it runs.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::{bin, run, s};

/// Generous bound for anything that should take milliseconds (catches a
/// hang; never what a test measures).
const PATIENCE: Duration = Duration::from_secs(20);

/// `GET path` over HTTP/1.0 (the server closes the connection after the
/// answer): the status code and the body.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (status, body.to_owned())
}

/// The samples of a `/metrics` answer, parsed by `prometheus-parse`:
/// `name{labels}` → value.
fn scrape(addr: &str) -> HashMap<String, f64> {
    let (status, body) = get(addr, "/metrics");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF: {body}"
    );
    let lines = body.lines().map(|l| Ok(l.to_owned()));
    let parsed = prometheus_parse::Scrape::parse(lines).expect("the text format parses");
    parsed
        .samples
        .into_iter()
        .map(|sample| {
            let value = match sample.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                other => panic!("{}: unexpected {other:?}", sample.metric),
            };
            let mut labels: Vec<String> = sample
                .labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            labels.sort();
            let name = if labels.is_empty() {
                sample.metric
            } else {
                format!("{}{{{}}}", sample.metric, labels.join(","))
            };
            (name, value)
        })
        .collect()
}

/// Asks `f` until it returns `Some` (at most [`PATIENCE`]).
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(start.elapsed() < PATIENCE, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `search-ctr run … --serve`, its stdin open, its stderr
/// read line by line on a thread.
struct Job {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Receiver<String>,
    addr: String,
}

impl Job {
    /// Starts the binary with `args` and waits for its "serving" log line.
    fn start(args: &[&str]) -> Job {
        let mut child = Command::new(bin())
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let (tx, stderr) = channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = stderr.recv_timeout(PATIENCE).expect("a first line on stderr");
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap_or_else(|| panic!("the serving line names its address: {line}"))
            .to_owned();
        assert!(line.starts_with("search-ctr: serving /metrics"), "{line}");
        Job {
            child,
            stdin,
            stderr,
            addr,
        }
    }

    fn write(&mut self, text: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(text).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes stdin and waits for the exit status; returns the rest of
    /// stderr.
    fn finish(mut self) -> (i32, String) {
        drop(self.stdin.take());
        let start = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "the run did not end after stdin closed"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let rest: Vec<String> = self.stderr.try_iter().collect();
        (status.code().unwrap_or(-1), rest.join("\n"))
    }
}

/// Lines read so far: events, unknown types and invalid lines add up to
/// every line written (generated logs have no blank line).
fn lines_read(m: &HashMap<String, f64>) -> f64 {
    [
        "search_ctr_events_read_total",
        "search_ctr_other_types_total",
        "search_ctr_invalid_lines_total",
    ]
    .iter()
    .map(|k| m.get(*k).copied().unwrap_or(0.0))
    .sum()
}

#[test]
fn metrics_are_scraped_live_from_a_stdin_that_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs.jsonl");
    let out = run(&["generate", "--events", "3000", "--users", "60", "--out", s(&logs)]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&logs).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(1500);
    let rows = dir.path().join("rows.jsonl");
    let mut job = Job::start(&["run", "-I", "-", "-o", s(&rows), "--serve", "127.0.0.1:0"]);
    assert!(job.addr.starts_with("127.0.0.1:"), "{}", job.addr);

    assert_eq!(get(&job.addr, "/healthz"), (200, "ok\n".into()));
    wait_for("/readyz to turn ready", || {
        (get(&job.addr, "/readyz").0 == 200).then_some(())
    });

    job.write((first.join("\n") + "\n").as_bytes());
    let before = wait_for("the first 1500 lines to be counted", || {
        let m = scrape(&job.addr);
        (lines_read(&m) == 1500.0).then_some(m)
    });
    job.write((second.join("\n") + "\n").as_bytes());
    let after = wait_for("all 3000 lines to be counted", || {
        let m = scrape(&job.addr);
        (lines_read(&m) == 3000.0).then_some(m)
    });
    let grew = |name: &str| {
        let (a, b) = (before.get(name), after.get(name));
        assert!(a.is_some() && b.is_some(), "{name} missing: {before:?}");
        assert!(b > a, "{name}: {a:?} then {b:?}");
    };
    grew("search_ctr_events_read_total");
    grew("search_ctr_input_bytes_total");
    grew("eddy_step_items_out_total{step=\"search_ctr.read\"}");
    grew("eddy_step_items_in_total{step=\"search_ctr.by_user\"}");
    grew("eddy_step_items_out_total{step=\"search_ctr.by_user\"}");
    grew("eddy_step_items_in_total{step=\"search_ctr.sessions\"}");
    assert_eq!(
        after["eddy_step_items_out_total{step=\"search_ctr.read\"}"],
        3000.0
    );
    // Users whose sessions wait for their next event are tracked.
    assert!(after["search_ctr_users_tracked"] > 0.0, "{after:?}");
    assert!(after["search_ctr_sessions_open"] > 0.0, "{after:?}");
    assert_eq!(after["search_ctr_ready"], 1.0);
    for name in [
        "search_ctr_late_events_total",
        "search_ctr_rows_written_total",
        "search_ctr_event_time_lag_seconds",
        "process_resident_memory_bytes",
        "eddy_snapshots_total",
    ] {
        assert!(after.contains_key(name), "{name} missing: {after:?}");
    }
    assert!(after["process_resident_memory_bytes"] > 1e6);

    // The live page: the report's headline figures, as of now.
    let (status, page) = get(&job.addr, "/");
    assert_eq!(status, 200);
    let events = after["search_ctr_events_read_total"];
    for want in [
        format!("data-key=\"events\" data-value=\"{events}\""),
        "data-key=\"rows\"".to_owned(),
        "data-key=\"ctr\"".to_owned(),
        "data-key=\"live\"".to_owned(),
        "http-equiv=\"refresh\"".to_owned(),
    ] {
        assert!(page.contains(&want), "{want} not on the page");
    }
    assert_eq!(get(&job.addr, "/nothing-here").0, 404);

    let (code, rest) = job.finish();
    assert_eq!(code, 0, "{rest}");
    assert!(
        rest.contains("read (valid lines of a known type)"),
        "the summary: {rest}"
    );
}

#[test]
fn serve_listens_on_loopback_port_9464_unless_told() {
    let dir = tempfile::tempdir().unwrap();
    let rows = dir.path().join("rows.jsonl");
    // The default address is in use elsewhere (another run, another
    // test): then the run must say so, naming it.
    let free = std::net::TcpListener::bind("127.0.0.1:9464").map(drop).is_ok();
    let mut cmd = Command::new(bin());
    cmd.args(["run", "-I", "-", "-o", s(&rows), "--serve", "-q"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped());
    if !free {
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("--serve 127.0.0.1:9464: cannot listen there"),
            "{err}"
        );
        return;
    }
    let job = Job::start(&["run", "-I", "-", "-o", s(&rows), "--serve", "-q"]);
    assert_eq!(job.addr, "127.0.0.1:9464");
    assert_eq!(get(&job.addr, "/healthz").0, 200);
    let (code, _) = job.finish();
    assert_eq!(code, 0);
}

#[test]
fn a_taken_address_is_a_usage_error_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = common::run_with_stdin(&["run", "-I", "-", "--serve", &addr], b"");
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("--serve {addr}: cannot listen there")),
        "{err}"
    );
}

#[test]
fn log_format_json_writes_json_lines_that_parse() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs.jsonl");
    assert!(run(&["generate", "--events", "200", "--out", s(&logs)])
        .status
        .success());
    let out = Command::new(bin())
        .args(["run", "-I", s(&logs), "-o", "-", "-q", "--log-format", "json"])
        .args(["--serve", "127.0.0.1:0"])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let lines: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let messages: Vec<&str> = lines
        .iter()
        .map(|l| {
            assert!(l["timestamp"].is_string() && l["level"].is_string(), "{l}");
            l["fields"]["message"].as_str().unwrap_or("")
        })
        .collect();
    for want in ["serving /metrics", "run starts", "run ends"] {
        assert!(
            messages.iter().any(|m| m.starts_with(want)),
            "{want}: {messages:?}"
        );
    }
    let serving = messages.iter().find(|m| m.starts_with("serving")).unwrap();
    assert!(serving.contains("http://127.0.0.1:"), "{serving}");
}

#[test]
fn log_format_text_keeps_the_usual_lines_and_rust_log_filters_them() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs.jsonl");
    assert!(run(&["generate", "--events", "50", "--out", s(&logs)])
        .status
        .success());
    let go = |rust_log: Option<&str>| {
        let mut cmd = Command::new(bin());
        cmd.args(["run", "-I", s(&logs), "-o", "-", "-q"]);
        match rust_log {
            Some(v) => cmd.env("RUST_LOG", v),
            None => cmd.env_remove("RUST_LOG"),
        };
        cmd.output().unwrap()
    };
    // Default (info): nothing to say on a quiet, plain run.
    let quiet = go(None);
    assert!(quiet.status.success());
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    let debug = go(Some("search_ctr=debug"));
    let err = String::from_utf8_lossy(&debug.stderr);
    assert!(
        err.contains("search-ctr: debug: search_ctr::commands: run starts"),
        "{err}"
    );
    let bad = go(Some("eddy=loud"));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(err.contains("RUST_LOG=\"eddy=loud\""), "{err}");
}

/// Issue 24: 100,000 one-time users on a stdin that stays open. Each user's
/// session is final once the input's event time is past its end + gap +
/// wait, whether or not the user comes back, and the user is then
/// forgotten: `search_ctr_users_tracked` falls to the users of the last
/// gap's worth of input, while stdin is still open; with 1 and 2 workers.
#[test]
fn one_time_users_on_a_live_stdin_are_not_tracked_forever() {
    let users = 100_000u64;
    let mut text = String::with_capacity(users as usize * 80);
    for i in 0..users {
        // One search per user, a second apart: 27.8 h of event time.
        let t = 1_704_067_200_000 + i * 1_000;
        text.push_str(&format!(
            "{{\"type\":\"search\",\"user\":\"u{i}\",\"query\":\"q\",\"time\":{t}}}\n"
        ));
    }
    // Each worker holds its share of the last minute's users.
    for workers in ["1", "2"] {
        let dir = tempfile::tempdir().unwrap();
        let rows = dir.path().join("rows.jsonl");
        let mut job = Job::start(&[
            "run",
            "-w",
            workers,
            "-I",
            "-",
            "-o",
            s(&rows),
            "--gap",
            "1m",
            "--wait",
            "1s",
            "--serve",
            "127.0.0.1:0",
        ]);
        job.write(text.as_bytes());
        // Users within the last minute (+1 s of wait) of event time are still
        // open: at most 62 of them; every other user's session is closed.
        let m = wait_for(
            "every line counted, the departed users closed and released",
            || {
                let m = scrape(&job.addr);
                let get = |k: &str| m.get(k).copied().unwrap_or(f64::NAN);
                (lines_read(&m) == users as f64
                    && get("search_ctr_users_tracked") <= 62.0
                    && get("search_ctr_sessions_closed_total") >= (users - 62) as f64)
                    .then_some(m)
            },
        );
        assert!(m["search_ctr_users_tracked"] >= 1.0, "{m:?}");
        let (code, rest) = job.finish();
        assert_eq!(code, 0, "{rest}");
        let written = std::fs::read_to_string(&rows).unwrap().lines().count();
        assert_eq!(written as u64, users, "one row per user in the end");
    }
}

/// The number of threads of process `pid` (`/proc/PID/status`).
fn threads_of(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Threads: line")
}

/// `GET /healthz`, or `None` when the connection is closed without an
/// answer (all connection slots taken).
fn try_healthz(addr: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(PATIENCE)).ok()?;
    write!(stream, "GET /healthz HTTP/1.0\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// Issue 25, item 2: clients that misbehave hold neither the server nor
/// the run. One pipelines 2,000 `GET /` and never reads an answer; one
/// sends a request head without end; 1,000 connect and say nothing. While
/// they are all connected, `/healthz` answers, the process keeps a handful
/// of threads, and once stdin ends the run puts its output in place and
/// exits 0 (before the fix, the one server thread stayed blocked writing
/// to the first client, `/healthz` went silent, and the run never ended).
#[test]
fn no_client_holds_the_server_or_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let rows = dir.path().join("rows.jsonl");
    let mut job = Job::start(&["run", "-I", "-", "-o", s(&rows), "--serve", "127.0.0.1:0"]);
    let addr = job.addr.clone();
    job.write(common::TUTORIAL.as_bytes());

    // Pipelined requests, never read: the answers (live pages of several
    // KiB each) fill the socket's buffers and the server's writes wait.
    let mut pipeliner = TcpStream::connect(&addr).unwrap();
    pipeliner.set_write_timeout(Some(PATIENCE)).unwrap();
    let requests = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(2000);
    pipeliner.write_all(requests.as_bytes()).unwrap();

    // A head that never ends: the server closes the connection after its
    // cap (16 KiB), long before 256 MiB are sent.
    let mut header = TcpStream::connect(&addr).unwrap();
    header.set_write_timeout(Some(PATIENCE)).unwrap();
    header.write_all(b"GET / HTTP/1.1\r\nX-Big: ").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let mut sent = 0usize;
    let cut_off = loop {
        match header.write_all(&chunk) {
            Ok(()) => sent += chunk.len(),
            Err(_) => break true,
        }
        if sent >= 256 << 20 {
            break false;
        }
    };
    assert!(cut_off, "the server took a {sent}-byte head");

    // Silent connections.
    let silent: Vec<TcpStream> = (0..1000).filter_map(|_| TcpStream::connect(&addr).ok()).collect();
    assert!(silent.len() > 900, "{} connections", silent.len());

    let status = wait_for("/healthz to answer beside the misbehaving clients", || {
        try_healthz(&addr)
    });
    assert_eq!(status, 200);
    let threads = threads_of(job.child.id());
    assert!(threads <= 16, "{threads} threads with 1,000 connections open");

    let (code, rest) = job.finish();
    assert_eq!(code, 0, "{rest}");
    let written = std::fs::read_to_string(&rows).expect("the output is in place");
    assert_eq!(written.lines().count(), 2, "the tutorial's two rows: {written}");
    drop((pipeliner, header, silent));
}
