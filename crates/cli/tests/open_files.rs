//! Bounded open files (trust issue, part two): the number of files a run
//! holds open is bounded by the workers' read-ahead, not by the number of
//! input files or chunks, so big inputs work under a small `ulimit -n`.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{bin, s, stderr};

/// Runs `search-ctr args…` under `ulimit -n limit`.
fn run_limited(limit: u32, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
        .arg(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run sh")
}

fn generate(path: &Path, events: &str, seed: &str) {
    let out = common::run(&["generate", "--events", events, "--seed", seed, "--out", s(path)]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_directory_of_1100_files_reads_under_ulimit_64() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    let all = dir.path().join("all.jsonl");
    generate(&all, "11000", "7");
    let text = std::fs::read_to_string(&all).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    for (i, chunk) in lines.chunks(10).enumerate() {
        std::fs::write(logs.join(format!("part-{i:05}.jsonl")), chunk.join("\n") + "\n").expect("write");
    }
    let unlimited = common::run(&["run", "-I", s(&logs), "-q", "-w", "2"]);
    assert!(unlimited.status.success(), "{}", stderr(&unlimited));
    let limited = run_limited(64, &["run", "-I", s(&logs), "-q", "-w", "2"]);
    assert!(
        limited.status.success(),
        "under ulimit -n 64: {}",
        stderr(&limited)
    );
    assert!(!limited.stdout.is_empty());
    assert!(
        limited.stdout == unlimited.stdout,
        "other rows under ulimit -n 64"
    );
}

#[test]
fn a_file_in_1000_chunks_reads_under_ulimit_64() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("log.jsonl");
    generate(&log, "20000", "8");
    let size = std::fs::metadata(&log).expect("stat").len();
    let chunk = (size / 1000).to_string();
    let whole = common::run(&["run", "-I", s(&log), "-q", "--chunk-bytes", "0"]);
    assert!(whole.status.success(), "{}", stderr(&whole));
    for workers in ["1", "3"] {
        let limited = run_limited(
            64,
            &["run", "-I", s(&log), "-q", "--chunk-bytes", &chunk, "-w", workers],
        );
        assert!(
            limited.status.success(),
            "-w {workers} under ulimit -n 64: {}",
            stderr(&limited)
        );
        assert!(
            limited.stdout == whole.stdout,
            "-w {workers}: other rows than the whole file"
        );
    }
}
