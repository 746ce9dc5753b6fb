//! SIGTERM and SIGINT on the real binary: a run held mid-way stops at
//! once with one line on stderr and exit status 143 / 130; with
//! `--recovery-dir`, the same command then resumes to the output of an
//! uninterrupted run.
//!
//! The 10 s limits are hang guards, not speed assertions.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// `search-ctr run` on a stdin that stays open, writing rows to stdout and
/// late events to `late`; returns once it has written both tutorial rows,
/// so the run is certainly under way (and its signal handler in place).
fn mid_run(late: &Path) -> (Child, ChildStdin) {
    let mut child = Command::new(bin())
        .args([
            "run",
            "-q",
            "--gap",
            "10s",
            "--wait",
            "1s",
            "--idle-timeout",
            "100ms",
        ])
        // Several workers: every one of them must stop.
        .args(["-w", "3", "--late-output", s(late)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // A hang guard: kill the child if no row comes within a minute, so
    // that the read below ends.
    let pid = child.id();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
    });
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(TUTORIAL.as_bytes()).expect("write");
    input.flush().expect("flush");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    for _ in 0..2 {
        lines.next().expect("a row").expect("utf-8");
    }
    (child, input)
}

#[test]
fn sigterm_stops_a_run_with_143_and_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let late = dir.path().join("late.jsonl");
    let (mut child, input) = mid_run(&late);
    signal(&child, "TERM");
    let status = exits_within(&mut child, Duration::from_secs(10));
    drop(input);
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(143), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("search-ctr: interrupted (SIGTERM); "), "{err}");
    // A stdin that stays open may never end: its outputs are written in
    // place, and an interrupted run keeps them (issue 24).
    assert!(
        err.contains("every whole row written so far is kept in --late-output"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&late).expect("the late output is kept"),
        b"",
        "the tutorial has no late event"
    );
}

#[test]
fn sigint_stops_a_run_with_130() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, input) = mid_run(&dir.path().join("late.jsonl"));
    signal(&child, "INT");
    let status = exits_within(&mut child, Duration::from_secs(10));
    drop(input);
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.starts_with("search-ctr: interrupted (SIGINT); ") && err.lines().count() == 1,
        "{err}"
    );
}

/// A generated log, its uninterrupted output, an initialised store, and
/// a recovering run of it started with snapshots every `interval`.
struct Recovering {
    _dir: tempfile::TempDir,
    args: Vec<String>,
    store: std::path::PathBuf,
    out: std::path::PathBuf,
    expected: Vec<u8>,
}

impl Recovering {
    fn new(events: &str, interval: &str, extra: &[&str]) -> Recovering {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log.jsonl");
        let o = run(&["generate", "--events", events, "--out", s(&log)]);
        assert!(o.status.success(), "{}", stderr(&o));
        let expected_out = dir.path().join("expected.jsonl");
        let o = run(&["run", "-q", "-I", s(&log), "-o", s(&expected_out)]);
        assert!(o.status.success(), "{}", stderr(&o));
        let store = dir.path().join("state");
        let o = run(&["recovery", "init", s(&store)]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = dir.path().join("out.jsonl");
        let args = [
            "run",
            "-q",
            "-I",
            s(&log),
            "-o",
            s(&out),
            "-r",
            s(&store),
            "-s",
            interval,
            // Two workers: the last snapshot must gather both workers' parts.
            "-w",
            "2",
        ];
        Recovering {
            args: args.iter().chain(extra).map(|a| a.to_string()).collect(),
            expected: std::fs::read(&expected_out).expect("expected"),
            _dir: dir,
            store,
            out,
        }
    }

    fn spawn(&self) -> Child {
        Command::new(bin())
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    }

    /// Runs the same command again and checks the output is the
    /// uninterrupted one.
    fn resume_gives_the_uninterrupted_output(&self) {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let got = std::fs::read(&self.out).expect("output");
        assert!(self.expected.len() > 1000);
        assert!(
            got == self.expected,
            "{} bytes resumed, {} uninterrupted",
            got.len(),
            self.expected.len()
        );
    }
}

#[test]
fn sigterm_with_recovery_then_the_same_command_gives_the_uninterrupted_output() {
    let r = Recovering::new("300000", "10ms", &[]);
    let store = &r.store;
    let mut child = r.spawn();
    // Mid-run: a snapshot is complete, and it is not the final one.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "the run ended before a snapshot was seen; generate more events"
        );
        assert!(Instant::now() < deadline, "no snapshot within a minute");
        let (epoch, last) = latest_complete(store);
        assert!(!last, "the run finished before the signal; generate more events");
        if epoch > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    signal(&child, "TERM");
    let status = exits_within(&mut child, Duration::from_secs(10));
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(143), "{err}");
    assert!(
        err.starts_with("search-ctr: interrupted (SIGTERM); ") && err.lines().count() == 1,
        "{err}"
    );
    assert!(!latest_complete(store).1, "the interrupted run did not finish");
    r.resume_gives_the_uninterrupted_output();
}

/// With recovery on, an interrupted run takes a last snapshot before it
/// stops: here the snapshot interval (1 h) would never have taken one, yet
/// the store holds a complete snapshot afterwards, and the resume from it
/// gives the uninterrupted output.
#[test]
fn sigterm_with_recovery_takes_a_last_snapshot() {
    // No deadline on the last snapshot (a loaded machine may take more than
    // the default 0.8 s): the test does not depend on speed.
    let r = Recovering::new("1000000", "1h", &["--stop-timeout", "1h"]);
    let (store, out) = (&r.store, &r.out);
    let mut child = r.spawn();
    // Mid-run: rows are being written (in place, with recovery).
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(out).map_or(0, |m| m.len()) == 0 {
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "the run ended before it was signalled; generate more events"
        );
        assert!(Instant::now() < deadline, "no row within a minute");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(latest_complete(store).0, 0, "no snapshot yet at a 1 h interval");
    signal(&child, "TERM");
    let status = exits_within(&mut child, Duration::from_secs(10));
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(143), "{err}");
    let (epoch, last) = latest_complete(store);
    assert!(epoch > 0, "the interrupted run took no last snapshot: {err}");
    assert!(!last, "the interrupted run did not finish");
    r.resume_gives_the_uninterrupted_output();
}

/// Issue 25, item 8: SIGTERM during a big `generate --out` stops it with
/// 143 and one line, and leaves neither the file nor its temporary file
/// (it used to die by the signal's default action, leaving a hidden
/// temporary file of hundreds of MB).
#[test]
fn sigterm_stops_generate_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("x.jsonl");
    let mut child = Command::new(bin())
        .args(["generate", "--events", "50000000", "--out", s(&out)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Forced: the temporary file exists and has grown past a first buffer.
    let temp = || {
        std::fs::read_dir(dir.path())
            .expect("read_dir")
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().contains(".eddy-tmp-"))
    };
    let start = Instant::now();
    while temp().and_then(|e| e.metadata().ok()).map_or(0, |m| m.len()) < 2 << 20 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "generate never wrote 2 MiB"
        );
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "generate ended too early"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    signal(&child, "TERM");
    let status = exits_within(&mut child, Duration::from_secs(10));
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(143), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.starts_with("search-ctr: interrupted (SIGTERM); no output was written"),
        "{err}"
    );
    assert!(temp().is_none(), "no temporary file left");
    assert!(!out.exists(), "no output");
}

/// Issue 25, item 7: a process waiting for its peers (here, for a process
/// 1 that never comes; and, as process 1, for a process 0 that connects
/// but never sends its run parameters) stops on SIGTERM with 143 and one
/// line, without waiting out `--connect-timeout`.
#[test]
fn sigterm_stops_a_process_waiting_for_its_peers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = write(dir.path(), "logs.jsonl", TUTORIAL.as_bytes());
    let addrs = free_ports(2);
    let port_of = |addr: &str| {
        addr.rsplit_once(':')
            .expect("host:port")
            .1
            .parse::<u16>()
            .expect("port")
    };
    for process in ["0", "1"] {
        let out = dir.path().join(format!("out-{process}.jsonl"));
        // As process 1, it dials process 0: the test plays a process 0 that
        // takes both connections and then says nothing.
        let fake_zero = (process == "1").then(|| std::net::TcpListener::bind(&addrs[0]).expect("bind"));
        let mut child = Command::new(bin())
            .args([
                "run",
                "-I",
                s(&logs),
                "-o",
                s(&out),
                "-i",
                process,
                "-a",
                &addrs.join(","),
            ])
            .args(["--connect-timeout", "60s"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Forced: the process is in its wait. Process 0 listens on its port
        // for process 1; process 1 has both its connections to process 0
        // and waits for process 0's run parameters.
        let mut held = Vec::new();
        match fake_zero {
            Some(listener) => {
                for _ in 0..2 {
                    held.push(listener.accept().expect("process 1 dials process 0").0);
                }
            }
            None => {
                let start = Instant::now();
                while !listening(port_of(&addrs[0])) {
                    assert!(
                        start.elapsed() < Duration::from_secs(60),
                        "process 0 never listened"
                    );
                    assert!(
                        child.try_wait().expect("try_wait").is_none(),
                        "process 0 ended early"
                    );
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        signal(&child, "TERM");
        // Far below the 60 s connect timeout; a hang guard, not a speed test.
        let status = exits_within(&mut child, Duration::from_secs(30));
        let err = stderr_of(&mut child);
        assert_eq!(status.code(), Some(143), "process {process}: {err}");
        assert!(err.starts_with("search-ctr: interrupted (SIGTERM); "), "{err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}

/// Whether something listens on TCP `port` of this machine (Linux's
/// `/proc/net/tcp`: state `0A`).
fn listening(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let local = format!(":{port:04X}");
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.len() > 3 && fields[1].ends_with(&local) && fields[3] == "0A"
    })
}
