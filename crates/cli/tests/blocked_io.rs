//! Issue 25, items 5 and 6: a signal ends a run (and `generate`) whose
//! thread is blocked in a read or a write that never returns — a FIFO with
//! no writer or no reader, a pipe nobody writes to or reads from — with 1
//! and 2 workers and in a cluster of two processes. Each test forces the
//! block (a thread of the child is seen sleeping in the kernel's FIFO or
//! pipe wait, `/proc/PID/task/*/wchan`) before it sends the signal.
//!
//! The 20 s limits are hang guards (before the fix the process never
//! ended), not speed assertions.

mod common;

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// `O_NONBLOCK` (Linux): opens a FIFO's read end without waiting for a
/// writer.
const O_NONBLOCK: i32 = 0o4000;

/// A hang guard: how long a signalled child may take to end.
const GUARD: Duration = Duration::from_secs(20);

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A log big enough that its rows fill a pipe (64 KiB) many times over.
fn big_log(dir: &Path) -> PathBuf {
    let log = dir.join("log.jsonl");
    let o = run(&["generate", "--events", "60000", "--out", s(&log)]);
    assert!(o.status.success(), "{}", stderr(&o));
    log
}

/// Whether a thread of process `pid` sleeps in a kernel function whose
/// name contains one of `waits`.
fn blocked_in(pid: u32, waits: &[&str]) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|task| {
        let wchan = std::fs::read_to_string(task.path().join("wchan")).unwrap_or_default();
        waits.iter().any(|w| wchan.contains(w))
    })
}

/// Waits until a thread of one of `children` sleeps in a kernel function
/// whose name contains one of `waits` (`wait_for_partner`: opening a FIFO;
/// `pipe_read` / `pipe_write`: a pipe or FIFO with no data / no room), and
/// returns that child's index.
fn wait_until_one_blocked(children: &mut [&mut Child], waits: &[&str]) -> usize {
    let start = Instant::now();
    loop {
        for (i, child) in children.iter_mut().enumerate() {
            if blocked_in(child.id(), waits) {
                return i;
            }
            if let Some(status) = child.try_wait().expect("try_wait") {
                panic!("ended before it blocked ({status}): {}", stderr_of(child));
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no thread blocked in {waits:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// [`wait_until_one_blocked`] for one child.
fn wait_until_blocked(child: &mut Child, waits: &[&str]) {
    wait_until_one_blocked(&mut [child], waits);
}

/// Signals `child` with SIGTERM and checks it ends at once with 143 and
/// one line naming the signal; returns that line.
fn terminated(child: &mut Child) -> String {
    signal(child, "TERM");
    let status = exits_within(child, GUARD);
    let err = stderr_of(child);
    assert_eq!(status.code(), Some(143), "{err}");
    assert!(err.starts_with("search-ctr: interrupted (SIGTERM); "), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

/// No `.NAME.eddy-tmp-PID` file left in `dir`.
fn no_temporary_file(dir: &Path) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".eddy-tmp-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// `search-ctr args…` with stdin closed, stdout as given and stderr piped.
fn spawn_with(args: &[&str], stdout: Stdio) -> Child {
    Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn search-ctr")
}

/// `search-ctr run args…`.
fn spawn_run(args: &[&str], stdout: Stdio) -> Child {
    spawn_with(&[&["run"], args].concat(), stdout)
}

/// Process `process` of a two-process cluster at `addrs`, 2 workers each,
/// reading `input`.
fn cluster_member(addrs: &str, process: &str, input: &Path, stdout: Stdio) -> Child {
    spawn_run(
        &[
            "-w",
            "2",
            "-i",
            process,
            "-a",
            addrs,
            "-I",
            s(input),
            "--connect-timeout",
            "60s",
        ],
        stdout,
    )
}

#[test]
fn blocked_opening_an_input_fifo_nobody_writes() {
    for workers in ["1", "2"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("in.fifo");
        mkfifo(&fifo);
        let out = dir.path().join("out.jsonl");
        let mut child = spawn_run(&["-w", workers, "-I", s(&fifo), "-o", s(&out)], Stdio::null());
        wait_until_blocked(&mut child, &["wait_for_partner"]);
        let err = terminated(&mut child);
        // A FIFO may not end: the output is written in place and kept.
        assert!(
            err.contains("every whole row written so far is kept"),
            "-w {workers}: {err}"
        );
        no_temporary_file(dir.path());
    }
}

#[test]
fn blocked_reading_an_input_pipe_that_stays_silent() {
    for workers in ["1", "2"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out.jsonl");
        // `-I /dev/stdin` on a pipe held open with nothing written.
        let mut child = Command::new(bin())
            .args(["run", "-w", workers, "-I", "/dev/stdin", "-o", s(&out)])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let held = child.stdin.take();
        wait_until_blocked(&mut child, &["pipe_read"]);
        terminated(&mut child);
        drop(held);
        // `-I <(sleep 60)`: a process substitution that never writes (its
        // stderr not ours, so that reading ours ends with the run).
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "exec {} run -w {workers} -I <(sleep 60 2>/dev/null) -o {}",
                s(&bin()),
                s(&out)
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn bash");
        wait_until_blocked(&mut child, &["pipe_read"]);
        terminated(&mut child);
    }
}

#[test]
fn blocked_writing_to_stdout_that_nobody_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = big_log(dir.path());
    for workers in ["1", "2"] {
        let late = dir.path().join("late.jsonl");
        let mut child = spawn_run(
            &["-w", workers, "-I", s(&log), "--late-output", s(&late)],
            Stdio::piped(),
        );
        // The pipe is held open and never read.
        let held = child.stdout.take();
        wait_until_blocked(&mut child, &["pipe_write"]);
        let err = terminated(&mut child);
        assert!(err.contains("no output was written"), "-w {workers}: {err}");
        assert!(!late.exists(), "the staged late output is not put in place");
        no_temporary_file(dir.path());
        drop(held);
    }
}

#[test]
fn blocked_opening_and_writing_an_output_fifo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = big_log(dir.path());
    for workers in ["1", "2"] {
        let fifo = dir.path().join(format!("out-{workers}.fifo"));
        mkfifo(&fifo);
        // Nobody opens the FIFO to read.
        let mut child = spawn_run(&["-w", workers, "-I", s(&log), "-o", s(&fifo)], Stdio::null());
        wait_until_blocked(&mut child, &["wait_for_partner"]);
        terminated(&mut child);
        // A reader opens it and never reads.
        let mut child = spawn_run(&["-w", workers, "-I", s(&log), "-o", s(&fifo)], Stdio::null());
        let reader = OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open(&fifo)
            .expect("open the FIFO's read end");
        wait_until_blocked(&mut child, &["pipe_write"]);
        terminated(&mut child);
        drop(reader);
        no_temporary_file(dir.path());
    }
}

#[test]
fn blocked_in_a_cluster_on_a_fifo_and_on_stdout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = big_log(dir.path());
    let fifo = dir.path().join("in.fifo");
    mkfifo(&fifo);
    let addrs = free_ports(2).join(",");
    // A FIFO nobody writes to: the worker that has its partition blocks
    // opening it.
    let mut zero = cluster_member(&addrs, "0", &fifo, Stdio::null());
    let mut one = cluster_member(&addrs, "1", &fifo, Stdio::null());
    // The process whose worker has the FIFO's partition blocks opening it.
    let blocked = wait_until_one_blocked(&mut [&mut zero, &mut one], &["wait_for_partner"]);
    let (signalled, other) = if blocked == 0 {
        (&mut zero, &mut one)
    } else {
        (&mut one, &mut zero)
    };
    terminated(signalled);
    // The other process learns that its peer is gone and ends on its own.
    let status = exits_within(other, GUARD);
    assert!(!status.success(), "{}", stderr_of(other));
    // Both read the big log: process 0 writes the rows (of both), and its
    // stdout, never read, fills and blocks.
    let addrs2 = free_ports(2).join(",");
    let mut zero = cluster_member(&addrs2, "0", &log, Stdio::piped());
    let mut one = cluster_member(&addrs2, "1", &log, Stdio::null());
    let held = zero.stdout.take();
    wait_until_blocked(&mut zero, &["pipe_write"]);
    signal(&one, "TERM");
    terminated(&mut zero);
    let status = exits_within(&mut one, GUARD);
    assert!(!status.success(), "{}", stderr_of(&mut one));
    drop(held);
}

#[test]
fn generate_blocked_on_an_output_fifo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("gen.fifo");
    mkfifo(&fifo);
    let spawn = || {
        spawn_with(
            &["generate", "--events", "2000000", "--out", s(&fifo)],
            Stdio::null(),
        )
    };
    let mut child = spawn();
    wait_until_blocked(&mut child, &["wait_for_partner"]);
    terminated(&mut child);
    let mut child = spawn();
    let reader = OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(&fifo)
        .expect("open the FIFO's read end");
    wait_until_blocked(&mut child, &["pipe_write"]);
    terminated(&mut child);
    drop(reader);
    no_temporary_file(dir.path());
}
