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
    let o = run(&[
        "run",
        "-I",
        s(&logs),
        "--wait",
        "5s",
        "--late-output",
        s(&late_single),
        "-o",
        s(&single),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    let addrs = free_ports(2).join(",");
    let outs = [dir.path().join("c0.jsonl"), dir.path().join("c1.jsonl")];
    let late = dir.path().join("late-cluster.jsonl");
    let children: Vec<_> = (0..2)
        .map(|i| {
            Command::new(bin())
                .args([
                    "run",
                    "-I",
                    s(&logs),
                    "--wait",
                    "5s",
                    "--late-output",
                    s(&late),
                    "-q",
                    "-w",
                    "2",
                ])
                .args(["-o", s(&outs[i]), "-i", &i.to_string(), "-a", &addrs])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
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
