//! Crash recovery of the real binary: `kill -9` at random moments (many
//! during a snapshot write), resumes with 1 → 2 → 4 → 1 workers, a failing
//! output, and damaged or foreign stores. Each resumed run must leave
//! exactly the files an uninterrupted run writes: 0 rows lost, 0 duplicated,
//! 0 different.
//!
//! The kill test forces one kill during a snapshot write with the snapshot
//! writer's test hook (`EDDY_TEST_PAUSE_IN_SNAPSHOT`, see
//! `eddy::recovery::writer`), then kills at random moments.
//!
//! The kill test's size is set by `EDDY_KILLS` (kills, default 20) and
//! `EDDY_KILL_EVENTS` (log lines, default 300 000); the full version is
//! `EDDY_KILLS=100 EDDY_KILL_EVENTS=2000000 cargo test --release -p search-ctr
//! --test recovery -- --nocapture`.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small xorshift generator: random kill moments, seed printed.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let seed = env_or("EDDY_KILL_SEED", 0).max(
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
                | 1,
        );
        eprintln!("kill test seed: {seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A generated log with disorder, late events and invalid lines.
fn log(dir: &Path, events: u64) -> std::path::PathBuf {
    let path = dir.join("logs.jsonl");
    let n = events.to_string();
    let users = (events / 60).max(1).to_string();
    let out = run(&[
        "generate",
        "--events",
        &n,
        "--users",
        &users,
        "--late-rate",
        "0.01",
        "--invalid-rate",
        "0.001",
        "--out",
        s(&path),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    path
}

/// The `run` arguments writing rows, late lines and dead letters to
/// `out.*` files in `dir`.
fn run_args(input: &Path, dir: &Path) -> Vec<String> {
    let f = |name: &str| dir.join(name).to_string_lossy().into_owned();
    vec![
        "run".into(),
        "-I".into(),
        input.to_string_lossy().into_owned(),
        "--format".into(),
        "csv".into(),
        "-o".into(),
        f("out.csv"),
        "--late-output".into(),
        f("out.late"),
        "--on-invalid".into(),
        "skip".into(),
        "--dead-letter".into(),
        f("out.dead"),
        "-q".into(),
    ]
}

fn outputs(dir: &Path) -> Vec<Vec<u8>> {
    ["out.csv", "out.late", "out.dead"]
        .iter()
        .map(|n| std::fs::read(dir.join(n)).unwrap_or_default())
        .collect()
}

/// The uninterrupted run's files.
fn reference(input: &Path, root: &Path) -> Vec<Vec<u8>> {
    let dir = root.join("reference");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let out = run(&run_args(input, &dir)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(out.status.success(), "{}", stderr(&out));
    let files = outputs(&dir);
    assert!(files.iter().all(|f| !f.is_empty()), "every output has lines");
    files
}

/// A scene for one test: a generated log, the uninterrupted run's files,
/// and a fresh store with the run's arguments.
struct Scene {
    /// Deleted when dropped: bind it for the whole test.
    root: tempfile::TempDir,
    expected: Vec<Vec<u8>>,
    dir: std::path::PathBuf,
    store: std::path::PathBuf,
    args: Vec<String>,
}

impl Scene {
    fn new(events: u64, name: &str) -> Scene {
        let root = tempfile::tempdir().expect("tempdir");
        let input = log(root.path(), events);
        let expected = reference(&input, root.path());
        let dir = root.path().join(name);
        let store = dir.join("state");
        std::fs::create_dir_all(&dir).expect("mkdir");
        init(&store);
        let args = run_args(&input, &dir);
        Scene {
            root,
            expected,
            dir,
            store,
            args,
        }
    }
}

fn spawn(args: &[String], workers: usize, store: &Path, interval: &str) -> Child {
    spawn_env(args, workers, store, interval, &[])
}

/// [`spawn`] with extra environment variables.
fn spawn_env(args: &[String], workers: usize, store: &Path, interval: &str, env: &[(&str, &str)]) -> Child {
    Command::new(bin())
        .envs(env.iter().copied())
        .args(args)
        .args(["-w", &workers.to_string(), "-r", s(store), "-s", interval])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn search-ctr")
}

/// Waits for `child` up to `limit`; `None` if still running.
fn wait_for(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if start.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn init(store: &Path) {
    let out = run(&["recovery", "init", s(store)]);
    assert!(out.status.success(), "{}", stderr(&out));
}

fn inspect(store: &Path) -> String {
    let out = run(&["recovery", "inspect", s(store)]);
    assert!(out.status.success(), "inspect: {}", stderr(&out));
    stdout(&out)
}

fn finish(mut child: Child) {
    let status = wait_for(&mut child, Duration::from_secs(600)).expect("the run finishes");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err).ok();
    }
    assert!(status.success(), "final run failed: {err}");
}

#[test]
fn kill_9_at_random_moments_then_resume_gives_the_uninterrupted_output() {
    let kills_wanted = env_or("EDDY_KILLS", 20);
    let events = env_or("EDDY_KILL_EVENTS", 300_000);
    let root = tempfile::tempdir().expect("tempdir");
    let input = log(root.path(), events);
    let expected = reference(&input, root.path());
    let mut rng = Rng::new();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let dir = root.path().join(format!("attempt{attempt}"));
        let store = dir.join("state");
        std::fs::create_dir_all(&dir).expect("mkdir");
        init(&store);
        let args = run_args(&input, &dir);
        let (mut kills, mut in_snapshot) = (0u64, 0u64);
        let started = Instant::now();
        kill_during_a_snapshot_write(&args, &store);
        kills += 1;
        let finished = loop {
            let mut child = spawn(&args, 2, &store, "20ms");
            if kills >= kills_wanted {
                finish(child);
                break true;
            }
            let delay = Duration::from_millis(30 + rng.below(220));
            if let Some(status) = wait_for(&mut child, delay) {
                assert!(status.success(), "a run failed on its own");
                break false;
            }
            child.kill().expect("kill -9");
            child.wait().expect("reap");
            kills += 1;
            if inspect(&store).contains("incomplete") {
                // Killed while the parts of a snapshot were being written
                // (by chance, on top of the forced one).
                in_snapshot += 1;
            }
        };
        if !finished {
            // Finished before enough kills: the machine is faster than the
            // log is long. Try again with shorter delays? No: a bigger log.
            assert!(
                attempt < 3,
                "the run kept finishing before {kills_wanted} kills; raise EDDY_KILL_EVENTS"
            );
            continue;
        }
        eprintln!(
            "kill test: {events} events, {kills} kills (1 forced and {in_snapshot} random ones during a \
             snapshot write), {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let got = outputs(&dir);
        for (name, (g, e)) in ["rows", "late lines", "dead letters"]
            .iter()
            .zip(got.iter().zip(&expected))
        {
            let (gl, el) = (g.split(|b| *b == b'\n').count(), e.split(|b| *b == b'\n').count());
            assert!(g == e, "{name}: {gl} lines after the kills, {el} uninterrupted");
        }
        return;
    }
}

/// The snapshot writer's test hook: pause in the Nth epoch, after a part.
const PAUSE_ENV: &str = "EDDY_TEST_PAUSE_IN_SNAPSHOT";
/// The file the hook creates in the store directory when it pauses.
const PAUSE_MARKER: &str = "test-paused-in-snapshot";

/// Runs `args` with the writer's test hook set to pause in the first epoch
/// (there always is one: a run that ends snapshots its end state), waits
/// until it has (some parts of that epoch written, not all),
/// kills it with `kill -9` there and checks that the store shows the epoch
/// incomplete.
fn kill_during_a_snapshot_write(args: &[String], store: &Path) {
    let marker = store.join(PAUSE_MARKER);
    let mut child = spawn_env(args, 2, store, "20ms", &[(PAUSE_ENV, "1")]);
    let start = Instant::now();
    while !marker.exists() {
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("the run ended ({status}) before pausing in its first snapshot");
        }
        // Generous: only there to turn a hang into a failure.
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the writer never paused"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    std::fs::remove_file(&marker).expect("remove the marker");
    let report = inspect(store);
    assert!(
        report.contains("incomplete"),
        "killed during a snapshot write, yet no epoch is incomplete:\n{report}"
    );
}

#[test]
fn the_writer_test_hook_leaves_an_incomplete_epoch_and_the_resume_completes() {
    let scene = Scene::new(50_000, "paused");
    kill_during_a_snapshot_write(&scene.args, &scene.store);
    finish(spawn(&scene.args, 1, &scene.store, "20ms"));
    assert!(outputs(&scene.dir) == scene.expected, "resumed output differs");
}

#[test]
fn resume_at_1_2_4_1_workers_gives_the_same_rows() {
    let Scene {
        root: _root,
        expected,
        dir,
        store,
        args,
    } = Scene::new(200_000, "rescaled");
    for workers in [1, 2, 4] {
        let before = latest_complete(&store).0;
        let mut child = [spawn(&args, workers, &store, "10ms")];
        assert!(
            kill_after_a_new_snapshot(&mut child, &store, before),
            "-w {workers} took a snapshot before the kill"
        );
    }
    finish(spawn(&args, 1, &store, "10ms"));
    assert_eq!(outputs(&dir), expected);
}

/// Waits until a snapshot newer than `before` is complete, then kills every
/// child; false if one finished (or a minute passed) first.
fn kill_after_a_new_snapshot(children: &mut [Child], store: &Path, before: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut newer = false;
    while Instant::now() < deadline && !newer {
        if children
            .iter_mut()
            .any(|c| c.try_wait().expect("try_wait").is_some())
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        newer = latest_complete(store).0 > before;
    }
    for c in children.iter_mut() {
        let _ = c.kill();
        c.wait().expect("reap");
    }
    newer
}

#[test]
fn two_processes_killed_resume_as_one_process_with_the_same_rows() {
    let Scene {
        root: _root,
        expected,
        dir,
        store,
        args,
    } = Scene::new(200_000, "cluster");
    let addrs = free_ports(2).join(",");
    let mut children: Vec<Child> = (0..2)
        .map(|i| {
            Command::new(bin())
                .args(&args)
                .args([
                    "-w",
                    "1",
                    "-r",
                    s(&store),
                    "-s",
                    "10ms",
                    "-i",
                    &i.to_string(),
                    "-a",
                    &addrs,
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    // Both processes write parts of each snapshot; kill both once one is
    // complete.
    assert!(
        kill_after_a_new_snapshot(&mut children, &store, 0),
        "a snapshot before the kill"
    );
    assert!(
        inspect(&store).contains("2 workers"),
        "the snapshot was written by 2 processes"
    );
    // One process with three workers takes over.
    finish(spawn(&args, 3, &store, "10ms"));
    assert_eq!(outputs(&dir), expected);
}

#[test]
fn a_write_error_stops_the_run_and_the_resume_completes() {
    let Scene {
        root: _root,
        expected,
        dir,
        store,
        args,
    } = Scene::new(20_000, "full");
    // The row output is a full disk.
    std::os::unix::fs::symlink("/dev/full", dir.join("out.csv")).expect("symlink");
    let out = Command::new(bin())
        .args(&args)
        .args(["-r", s(&store), "-s", "5ms"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("out.csv") && err.contains("No space left on device"),
        "{err}"
    );
    // Space is freed: the output is a plain file again.
    std::fs::remove_file(dir.join("out.csv")).expect("rm");
    std::fs::write(dir.join("out.csv"), b"").expect("touch");
    finish(spawn(&args, 2, &store, "5ms"));
    assert_eq!(outputs(&dir), expected);
}

#[test]
fn damaged_missing_and_foreign_stores_exit_1() {
    let root = tempfile::tempdir().expect("tempdir");
    let input = write(root.path(), "in.jsonl", TUTORIAL.as_bytes());
    let out_file = root.path().join("out.jsonl");
    let go = |store: &Path, gap: &str| {
        run(&[
            "run",
            "-I",
            s(&input),
            "-o",
            s(&out_file),
            "-r",
            s(store),
            "--gap",
            gap,
            "-q",
        ])
    };
    let missing = go(&root.path().join("nothing-here"), "30m");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no recovery store"),
        "{}",
        stderr(&missing)
    );

    let store = root.path().join("state");
    init(&store);
    assert!(go(&store, "30m").status.success());
    let first = std::fs::read(&out_file).expect("rows");
    assert!(inspect(&store).contains("search_ctr.sessions"));
    // Other options on the same store.
    let foreign = go(&store, "10m");
    assert_eq!(foreign.status.code(), Some(1));
    // It names the option that changed, with both values.
    assert!(
        stderr(&foreign).contains("other parameters: --gap was 30m, is 10m now;"),
        "{}",
        stderr(&foreign)
    );
    // A rerun of the finished run leaves the same output, and says so.
    let rerun = run(&[
        "run",
        "-I",
        s(&input),
        "-o",
        s(&out_file),
        "-r",
        s(&store),
        "--gap",
        "30m",
    ]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert!(
        stderr(&rerun).contains("this run finished before"),
        "{}",
        stderr(&rerun)
    );
    assert_eq!(std::fs::read(&out_file).expect("rows"), first);

    let file = store.join("recovery.sqlite3");
    let bytes = std::fs::read(&file).expect("store");
    std::fs::write(&file, &bytes[..bytes.len() / 3]).expect("truncate");
    let truncated = go(&store, "30m");
    assert_eq!(truncated.status.code(), Some(1), "{}", stderr(&truncated));
    assert!(stderr(&truncated).contains("recovery"), "{}", stderr(&truncated));
    std::fs::write(&file, b"not a database, just text").expect("garbage");
    let garbage = go(&store, "30m");
    assert_eq!(garbage.status.code(), Some(1));
    let inspected = run(&["recovery", "inspect", s(&store)]);
    assert_eq!(inspected.status.code(), Some(1));
    assert!(!stderr(&garbage).contains("panicked") && !stderr(&inspected).contains("panicked"));
}

#[test]
fn recovery_needs_replayable_input() {
    let root = tempfile::tempdir().expect("tempdir");
    let out = run_with_stdin(&["run", "-r", s(&root.path().join("state"))], TUTORIAL.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not stdin"), "{}", stderr(&out));
}

#[test]
fn text_format_resumes_with_its_pending_tuples() {
    let root = tempfile::tempdir().expect("tempdir");
    let input = log(root.path(), 100_000);
    let text_args = |out: &Path| {
        vec![
            "run".to_string(),
            "-I".into(),
            s(&input).into(),
            "--format".into(),
            "text".into(),
            "--on-invalid".into(),
            "skip".into(),
            "-o".into(),
            s(out).into(),
            "-q".into(),
        ]
    };
    let reference = root.path().join("reference.txt");
    let out = run(&text_args(&reference)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(out.status.success(), "{}", stderr(&out));
    let store = root.path().join("state");
    init(&store);
    let resumed = root.path().join("resumed.txt");
    let args = text_args(&resumed);
    let mut child = [spawn(&args, 2, &store, "10ms")];
    assert!(
        kill_after_a_new_snapshot(&mut child, &store, 0),
        "a snapshot before the kill"
    );
    finish(spawn(&args, 1, &store, "10ms"));
    let (want, got) = (
        std::fs::read(&reference).expect("ref"),
        std::fs::read(&resumed).expect("out"),
    );
    assert!(
        want.ends_with(b")\n") && !want.is_empty(),
        "the tuples close the text output"
    );
    assert!(got == want, "text output differs after a resume");
}

#[test]
fn a_second_run_on_a_store_in_use_is_refused() {
    let root = tempfile::tempdir().expect("tempdir");
    let input = write(root.path(), "in.jsonl", TUTORIAL.as_bytes());
    let store = root.path().join("state");
    init(&store);
    let out = root.path().join("out.jsonl");
    let args: Vec<String> = ["run", "-I", s(&input), "-o", s(&out), "-q"]
        .map(String::from)
        .to_vec();
    // The first run stops for good in its first snapshot write (the
    // writer's test hook): it holds its lock until it is killed.
    let mut first = spawn_env(&args, 1, &store, "1s", &[(PAUSE_ENV, "1")]);
    let marker = store.join(PAUSE_MARKER);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !marker.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(marker.exists(), "the first run paused in its snapshot");
    let second = run(&args
        .iter()
        .map(String::as_str)
        .chain(["-r", s(&store)])
        .collect::<Vec<_>>());
    assert!(
        first.try_wait().expect("try_wait").is_none(),
        "the first run still holds the store"
    );
    let _ = first.kill();
    first.wait().expect("reap");
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    assert!(stderr(&second).contains("another run"), "{}", stderr(&second));
}
