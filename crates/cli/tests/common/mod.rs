//! Helpers shared by the end-to-end tests: run the real binary.
#![allow(dead_code)]

pub mod kafka;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The tutorial's events as JSON Lines (docs/input-format.md).
pub const TUTORIAL: &str = r#"{"type":"search","user":1,"query":"dogs","time":"2024-01-01T00:00:05Z"}
{"type":"results","user":1,"items":["fido","rover","buddy"],"time":"2024-01-01T00:00:06Z"}
{"type":"click_result","user":1,"item":"rover","time":"2024-01-01T00:00:07Z"}
{"type":"search","user":2,"query":"cats","time":"2024-01-01T00:00:05Z"}
{"type":"results","user":2,"items":["fluffy","burrito","kathy"],"time":"2024-01-01T00:00:06Z"}
{"type":"click_result","user":2,"item":"fluffy","time":"2024-01-01T00:00:07Z"}
{"type":"click_result","user":2,"item":"kathy","time":"2024-01-01T00:00:08Z"}
"#;

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_search-ctr"))
}

/// Runs `search-ctr args…` with `stdin` fed in.
pub fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn search-ctr");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("wait")
}

/// Runs `search-ctr args…` with no stdin.
pub fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run search-ctr")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p
}

/// A path as `&str`.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `n` loopback addresses whose ports were free a moment ago.
pub fn free_ports(n: usize) -> Vec<String> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    listeners
        .iter()
        .map(|l| format!("127.0.0.1:{}", l.local_addr().expect("addr").port()))
        .collect()
}

/// Starts `n` processes of one cluster on free loopback ports:
/// `search-ctr args(i)… -i i -a addrs` for each `i` (stdin and stdout
/// closed, stderr piped).
pub fn spawn_processes(n: usize, args: impl Fn(usize) -> Vec<String>) -> Vec<std::process::Child> {
    let addrs = free_ports(n).join(",");
    (0..n)
        .map(|i| {
            Command::new(bin())
                .args(args(i))
                .args(["-i", &i.to_string(), "-a", &addrs])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect()
}

/// [`spawn_processes`], then waits for all; each must succeed (its stderr
/// in the failure message).
pub fn run_processes(n: usize, args: impl Fn(usize) -> Vec<String>) {
    for (i, child) in spawn_processes(n, args).into_iter().enumerate() {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "process {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The latest complete snapshot's epoch in `store` (0: none), and whether
/// it is the final one (taken at the end of input), as `recovery inspect`
/// lists them.
pub fn latest_complete(store: &Path) -> (u64, bool) {
    let out = run(&["recovery", "inspect", s(store)]);
    assert!(out.status.success(), "inspect: {}", stderr(&out));
    stdout(&out)
        .lines()
        .filter(|l| l.contains("complete  ") && !l.contains("incomplete"))
        .filter_map(|l| {
            Some((
                l.split_whitespace().nth(1)?.parse().ok()?,
                l.contains("end of input"),
            ))
        })
        .max()
        .unwrap_or((0, false))
}

/// Starts `search-ctr args…` with `env` (stdin and stdout closed, stderr
/// piped).
pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    Command::new(bin())
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn search-ctr")
}

/// Sends `signal` (`TERM`, `INT`, `STOP`, `CONT`) to the child.
pub fn signal(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal}");
}

/// Waits for `child` up to `limit` (a hang guard); kills it and fails the
/// test if it is still running then.
pub fn exits_within(child: &mut std::process::Child, limit: std::time::Duration) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running {limit:?} after the signal");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// What the child wrote to its (piped) stderr.
pub fn stderr_of(child: &mut std::process::Child) -> String {
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err).expect("read stderr");
    }
    err
}
