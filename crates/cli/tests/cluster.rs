//! Two `search-ctr` processes on loopback: the same rows as one worker, and
//! a clear, bounded failure when a peer is lost or never comes.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A generated log with disorder and late events, its lines dealt round
/// robin into `files` files (so every user is spread over all of them).
fn spread_log(dir: &Path, events: u64, files: usize) -> std::path::PathBuf {
    let whole = dir.join("whole.jsonl");
    let o = run(&[
        "generate",
        "--events",
        &events.to_string(),
        "--seed",
        "7",
        "--disorder",
        "3s",
        "--late-rate",
        "0.02",
        "--out",
        s(&whole),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&whole).expect("read log");
    let logs = dir.join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    let mut parts = vec![String::new(); files];
    for (i, line) in text.lines().enumerate() {
        parts[i % files].push_str(line);
        parts[i % files].push('\n');
    }
    for (i, p) in parts.iter().enumerate() {
        write(&logs, &format!("part-{i}.jsonl"), p.as_bytes());
    }
    logs
}

#[test]
fn two_processes_give_the_rows_of_one_worker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = spread_log(dir.path(), 20_000, 3);
    let single = dir.path().join("single.jsonl");
    let late_single = dir.path().join("late-single.jsonl");
    let args = |out: &Path, late: &Path| -> Vec<String> {
        [
            "run",
            "-I",
            s(&logs),
            "--wait",
            "5s",
            "--late-output",
            s(late),
            "-q",
            "-o",
            s(out),
        ]
        .map(String::from)
        .to_vec()
    };
    let o = run(&args(&single, &late_single)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));

    let outs = [dir.path().join("c0.jsonl"), dir.path().join("c1.jsonl")];
    let late = dir.path().join("late-cluster.jsonl");
    run_processes(2, |i| {
        let mut a = args(&outs[i], &late);
        a.extend(["-w".to_string(), "2".to_string()]);
        a
    });
    let expected = std::fs::read(&single).expect("single output");
    assert!(expected.len() > 1000);
    // Process 0 writes every row, in the same order as one worker does.
    assert_eq!(std::fs::read(&outs[0]).expect("process 0 output"), expected);
    assert!(!outs[1].exists(), "process 1 writes no rows");
    assert_eq!(
        std::fs::read(&late).expect("late"),
        std::fs::read(&late_single).expect("late single")
    );
}

#[test]
fn losing_a_process_stops_the_other_with_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("big.jsonl");
    let o = run(&["generate", "--events", "800000", "--out", s(&log)]);
    assert!(o.status.success());
    let addrs = free_ports(2);
    let joined = addrs.join(",");
    let spawn = |i: usize| {
        Command::new(bin())
            .args([
                "run",
                "-I",
                s(&log),
                "-q",
                "-o",
                "-",
                "-i",
                &i.to_string(),
                "-a",
                &joined,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let survivor = spawn(0);
    let mut victim = spawn(1);
    // Long enough for the two to connect, far shorter than the run (a debug
    // build reads 800k events for many seconds).
    std::thread::sleep(Duration::from_millis(1500));
    victim.kill().expect("kill");
    let killed_at = Instant::now();
    let out = survivor.wait_with_output().expect("wait");
    let took = killed_at.elapsed();
    let _ = victim.wait();
    assert!(!out.status.success(), "the survivor must not exit 0");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("lost connection to process 1 ({})", addrs[1])),
        "{err}"
    );
}

#[test]
fn a_process_that_never_comes_is_named_after_the_timeout() {
    let addrs = free_ports(2).join(",");
    let started = Instant::now();
    let o = run_with_stdin(
        &["run", "-q", "-i", "0", "-a", &addrs, "--connect-timeout", "1s"],
        common::TUTORIAL.as_bytes(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        stderr(&o).contains("no connection from process 1"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn cluster_flags_are_checked() {
    for args in [
        vec!["run", "-i", "0"],
        vec!["run", "-a", "127.0.0.1:1,127.0.0.1:2"],
        vec!["run", "-i", "2", "-a", "127.0.0.1:1,127.0.0.1:2"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

/// Waits until process `pid` has connected to its cluster and agreed with
/// it: its heartbeat thread, started only then, exists.
fn wait_connected(pid: u32) {
    let started = Instant::now();
    loop {
        let found = std::fs::read_dir(format!("/proc/{pid}/task")).is_ok_and(|tasks| {
            tasks.flatten().any(|t| {
                std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "eddy-heartbeat")
            })
        });
        if found {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "process {pid} never connected"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` (`-STOP`, `-CONT`, `-KILL`) to `pid`.
fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {pid}");
}

/// Waits for `child`, killing it (and failing) if it runs past `limit`.
fn wait_within(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let started = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!(
                "still running after {limit:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("wait")
}

#[test]
fn processes_started_differently_all_stop_and_name_what_differs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = write(dir.path(), "a.jsonl", TUTORIAL.as_bytes());
    let b = write(dir.path(), "b.jsonl", format!("{TUTORIAL}{TUTORIAL}").as_bytes());
    let dead = dir.path().join("dead.jsonl");
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        ("input file 1", vec!["-I", s(&a)], vec!["-I", s(&b)]),
        ("--gap", vec!["--gap", "30m"], vec!["--gap", "10m"]),
        ("--wait", vec!["--wait", "10s"], vec!["--wait", "5s"]),
        ("--chunk-bytes", vec!["--chunk-bytes", "100"], vec![]),
        ("--workers", vec!["-w", "2"], vec!["-w", "1"]),
        // Issue 25, item 16: how long a silent peer is waited for.
        (
            "--peer-timeout",
            vec!["--peer-timeout", "10s"],
            vec!["--peer-timeout", "3s"],
        ),
        ("--horizon", vec!["--horizon", "0s"], vec!["--horizon", "off"]),
        (
            "--dead-letter",
            vec!["--on-invalid", "skip", "--dead-letter", s(&dead)],
            vec!["--on-invalid", "skip"],
        ),
    ];
    for (item, zero, one) in cases {
        let extras = [zero, one];
        let children = spawn_processes(2, |i| {
            let out = dir.path().join(format!("out-{i}.jsonl"));
            let mut args = vec!["run", "-q", "-o", s(&out)];
            if !extras[i].contains(&"-I") {
                args.extend(["-I", s(&a)]);
            }
            args.extend(&extras[i]);
            args.into_iter().map(String::from).collect()
        });
        for (i, child) in children.into_iter().enumerate() {
            let out = wait_within(child, Duration::from_secs(20));
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{item}, process {i}: {err}");
            assert!(
                err.contains(&format!("process 1 disagrees with process 0 on {item}: ")),
                "{item}, process {i}: {err}"
            );
        }
        assert!(!dead.exists(), "nothing ran");
    }
}

#[test]
fn a_frozen_process_is_named_by_the_other_after_the_peer_timeout() {
    let addrs = free_ports(2);
    let joined = addrs.join(",");
    // Stdin held open: neither run ends by itself.
    let mut children: Vec<_> = (0..2)
        .map(|i| {
            Command::new(bin())
                .args(["run", "-q", "-o", "-", "--peer-timeout", "3s"])
                .args(["-i", &i.to_string(), "-a", &joined])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for c in &children {
        wait_connected(c.id());
    }
    let frozen = children.pop().expect("process 1");
    signal(frozen.id(), "-STOP");
    let survivor = children.pop().expect("process 0");
    let out = wait_within(survivor, Duration::from_secs(3 + 10));
    signal(frozen.id(), "-CONT");
    signal(frozen.id(), "-KILL");
    let _ = frozen.wait_with_output();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("process 1 ({}) stopped answering for 3s", addrs[1])),
        "{err}"
    );
}

#[test]
fn a_killed_process_leaves_only_rows_on_the_survivors_stdout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("big.jsonl");
    let o = run(&["generate", "--events", "800000", "--out", s(&log)]);
    assert!(o.status.success());
    let addrs = free_ports(2);
    let joined = addrs.join(",");
    let spawn = |i: usize, stdout: Stdio| {
        Command::new(bin())
            .args(["run", "-I", s(&log), "-q", "-o", "-", "--peer-timeout", "60s"])
            .args(["-i", &i.to_string(), "-a", &joined])
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let mut survivor = spawn(0, Stdio::piped());
    let victim = spawn(1, Stdio::null());
    let mut rows = survivor.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut rows, &mut text).expect("read stdout");
        text
    });
    wait_connected(survivor.id());
    wait_connected(victim.id());
    // Stopped first, the victim leaves what the survivor sends it unread,
    // so its death resets the connection (a read error, not an end).
    signal(victim.id(), "-STOP");
    std::thread::sleep(Duration::from_secs(1));
    signal(victim.id(), "-KILL");
    let _ = victim.wait_with_output();
    let out = wait_within(survivor, Duration::from_secs(20));
    let text = reader.join().expect("reader");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for line in text.lines() {
        let row: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a row ({e}): {line}"));
        assert!(row.get("user").is_some() && row.get("ctr").is_some(), "{line}");
    }
    assert!(
        err.contains(&format!("lost connection to process 1 ({})", addrs[1])),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

/// Issue 25, item 11: an empty hostfile and one address given to two
/// processes are usage errors at once, naming what is wrong (not "needs
/// --addresses", not a wait for the connect timeout).
#[test]
fn an_empty_hostfile_and_a_repeated_address_are_refused_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hosts = write(dir.path(), "hosts", b"# no process yet\n\n");
    let o = run(&["run", "-i", "0", "--hostfile", s(&hosts)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no address in it"), "{err}");
    let port = free_ports(1).remove(0);
    let twice = format!("{port},{port}");
    // Before: a wait of the whole connect timeout, then exit 1.
    let o = run(&["run", "-i", "0", "-a", &twice, "--connect-timeout", "30s"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{port} is the address of process 0 and of process 1")),
        "{err}"
    );
}
