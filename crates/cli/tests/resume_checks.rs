//! What a resume checks before it changes anything, on the real binary:
//! its inputs (size, modification time, sampled hashes), every part of the
//! snapshot (checksums), the store file itself; and that a refused resume
//! leaves the outputs byte for byte as they were and never says it resumed.
//! Also: dead letters keep the exact bytes of a line that is not UTF-8.
//!
//! "A crash" here is a finished run's store (its end snapshot) plus bytes
//! appended to the output after it, standing for the rows a killed run
//! wrote past its last snapshot: a resume that goes ahead truncates them,
//! one that is refused must keep them. No timing is involved.

mod common;

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use common::*;

/// Bytes a crashed run left after its last snapshot.
const AFTER_SNAPSHOT: &[u8] = b"{\"user\":\"1\",\"partial";

/// A run with `--recovery-dir` that ended after its last snapshot, with
/// output written past it.
struct Crashed {
    /// Deleted when dropped.
    _root: tempfile::TempDir,
    input: PathBuf,
    out: PathBuf,
    store: PathBuf,
    /// The output as the run finished it.
    rows: Vec<u8>,
    /// The output as the crash left it: what a refused resume must keep.
    before: Vec<u8>,
}

impl Crashed {
    fn new() -> Crashed {
        let root = tempfile::tempdir().expect("tempdir");
        let input = write(root.path(), "logs.jsonl", TUTORIAL.as_bytes());
        let out = root.path().join("out.jsonl");
        let store = root.path().join("state");
        let init = run(&["recovery", "init", s(&store)]);
        assert!(init.status.success(), "{}", stderr(&init));
        let mut crashed = Crashed {
            _root: root,
            input,
            out,
            store,
            rows: Vec::new(),
            before: Vec::new(),
        };
        let first = crashed.resume();
        assert!(first.status.success(), "{}", stderr(&first));
        crashed.rows = std::fs::read(&crashed.out).expect("rows");
        assert!(!crashed.rows.is_empty());
        let mut before = crashed.rows.clone();
        before.extend_from_slice(AFTER_SNAPSHOT);
        std::fs::write(&crashed.out, &before).expect("append");
        crashed.before = before;
        crashed
    }

    /// The run's command, again (not quiet: what it says is checked).
    fn resume(&self) -> Output {
        run_bounded(&[
            "run",
            "-I",
            s(&self.input),
            "-o",
            s(&self.out),
            "-r",
            s(&self.store),
        ])
    }

    /// Asserts that `out` is a refused resume: exit 1, every word of
    /// `expect` in its message, no claim that it resumed, the output as
    /// the crash left it.
    fn assert_refused(&self, out: &Output, expect: &[&str]) {
        let err = stderr(out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        for e in expect {
            assert!(err.contains(e), "{e:?} not in: {err}");
        }
        assert!(
            !err.contains("resuming from snapshot") && !err.contains("finished before"),
            "a refused resume said it resumed: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.contains("nothing was written or truncated (--output") && !err.contains("may be partial"),
            "{err}"
        );
        assert!(
            std::fs::read(&self.out).expect("output") == self.before,
            "the refused resume changed the output"
        );
    }

    fn modified(&self) -> SystemTime {
        std::fs::metadata(&self.input)
            .and_then(|m| m.modified())
            .expect("mtime")
    }

    fn set_modified(&self, t: SystemTime) {
        File::options()
            .write(true)
            .open(&self.input)
            .and_then(|f| f.set_modified(t))
            .expect("set mtime");
    }
}

/// Runs `search-ctr args…`; a run that has not ended after 10 s (a FIFO
/// opened for reading would block forever) is killed and fails the test.
fn run_bounded(args: &[&str]) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn search-ctr");
    let start = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("search-ctr {args:?} still runs after 10 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn an_input_replaced_with_the_same_size_is_refused_even_with_its_time_restored() {
    let c = Crashed::new();
    let was = c.modified();
    let changed = TUTORIAL.replacen("dogs", "cats", 1);
    assert_eq!(changed.len(), TUTORIAL.len());
    std::fs::write(&c.input, changed).expect("replace");
    c.set_modified(was);
    let out = c.resume();
    c.assert_refused(
        &out,
        &[
            &format!("input {} changed since the snapshot", s(&c.input)),
            "bytes differ",
            "a resume needs the same inputs",
        ],
    );
}

#[test]
fn an_input_of_another_size_is_refused() {
    let c = Crashed::new();
    let mut grown = TUTORIAL.to_owned();
    grown.push_str(r#"{"type":"search","user":3,"query":"owls","time":"2024-01-01T00:00:09Z"}"#);
    grown.push('\n');
    std::fs::write(&c.input, &grown).expect("append");
    let out = c.resume();
    c.assert_refused(
        &out,
        &[
            &format!("input {} changed since the snapshot", s(&c.input)),
            &format!("size {} → {} bytes: it grew", TUTORIAL.len(), grown.len()),
        ],
    );
}

#[test]
fn a_touched_input_is_refused_until_its_time_is_restored() {
    let c = Crashed::new();
    let was = c.modified();
    c.set_modified(was + Duration::from_secs(60));
    let out = c.resume();
    c.assert_refused(
        &out,
        &[
            &format!(
                "input {} changed since the snapshot (modification time",
                s(&c.input)
            ),
            "touch -m -d @",
        ],
    );
    // Same contents, the time put back: the resume goes ahead, truncates
    // what was written after the snapshot and says so first.
    c.set_modified(was);
    let out = c.resume();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("this run finished before"),
        "{}",
        stderr(&out)
    );
    assert!(std::fs::read(&c.out).expect("rows") == c.rows);
}

#[test]
fn a_damaged_snapshot_part_is_refused_before_any_output_is_truncated() {
    let c = Crashed::new();
    let db = rusqlite::Connection::open(c.store.join("recovery.sqlite3")).expect("open store");
    // The keyed state of the sessions: built before the output, which the
    // old code truncated anyway.
    let (epoch, worker, mut data): (i64, i64, Vec<u8>) = db
        .query_row(
            "SELECT epoch, worker, data FROM parts WHERE step = 'search_ctr.sessions'
             ORDER BY epoch DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("a sessions part");
    let last = data.len() - 1;
    data[last] ^= 0x01;
    db.execute(
        "UPDATE parts SET data = ?1 WHERE epoch = ?2 AND step = 'search_ctr.sessions' AND worker = ?3",
        rusqlite::params![data, epoch, worker],
    )
    .expect("damage");
    drop(db);
    let out = c.resume();
    c.assert_refused(
        &out,
        &[
            &format!("snapshot {epoch}, step search_ctr.sessions, worker {worker}"),
            "checksum mismatch",
        ],
    );
}

#[test]
fn an_empty_store_file_says_so() {
    let c = Crashed::new();
    std::fs::write(c.store.join("recovery.sqlite3"), b"").expect("truncate");
    let out = c.resume();
    c.assert_refused(
        &out,
        &[
            &format!(
                "the recovery store {} is empty (0 bytes): it was never initialised or was truncated",
                s(&c.store.join("recovery.sqlite3"))
            ),
            &format!("search-ctr recovery init {}", s(&c.store)),
        ],
    );
    assert!(!stderr(&out).contains("foreign"), "{}", stderr(&out));
    // The advice works.
    let init = run(&["recovery", "init", s(&c.store)]);
    assert!(init.status.success(), "{}", stderr(&init));
}

#[test]
fn a_fifo_input_with_recovery_is_a_usage_error_before_anything_is_written() {
    let root = tempfile::tempdir().expect("tempdir");
    let fifo = root.path().join("live.jsonl");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let store = root.path().join("state");
    let init = run(&["recovery", "init", s(&store)]);
    assert!(init.status.success(), "{}", stderr(&init));
    let store_bytes = std::fs::read(store.join("recovery.sqlite3")).expect("store");
    let out = write(root.path(), "out.jsonl", b"earlier rows\n");
    let got = run_bounded(&["run", "-I", s(&fifo), "-o", s(&out), "-r", s(&store)]);
    let err = stderr(&got);
    assert_eq!(got.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("--input {} is a FIFO", s(&fifo))) && err.contains("read again after a crash"),
        "{err}"
    );
    assert_eq!(std::fs::read(&out).expect("out"), b"earlier rows\n");
    assert_eq!(
        std::fs::read(store.join("recovery.sqlite3")).expect("store"),
        store_bytes
    );
    assert!(
        !store.join("process-0.lock").exists(),
        "the store was not even opened"
    );
}

#[test]
fn a_dead_letter_keeps_the_exact_bytes_of_a_line_that_is_not_utf8() {
    let root = tempfile::tempdir().expect("tempdir");
    let bad: &[u8] = b"{\"type\":\"search\",\"user\":\"\xff\xfe\x80\"}";
    let mut input = TUTORIAL.as_bytes().to_vec();
    input.extend_from_slice(bad);
    input.extend_from_slice(b"\nnot json \xc3\xa9\n");
    let input = write(root.path(), "in.jsonl", &input);
    let dead = root.path().join("dead.jsonl");
    let out = run(&[
        "run",
        "-I",
        s(&input),
        "-o",
        s(&root.path().join("rows.jsonl")),
        "--on-invalid",
        "skip",
        "--dead-letter",
        s(&dead),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let letters: Vec<serde_json::Value> = std::fs::read_to_string(&dead)
        .expect("dead letters")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(letters.len(), 2, "{letters:?}");
    let b64 = letters[0]["text_base64"].as_str().expect("text_base64");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("standard base64");
    assert_eq!(bytes, bad);
    assert_eq!(letters[0]["line"], 8);
    assert!(letters[0]["text"].as_str().expect("text").contains('\u{fffd}'));
    // A valid UTF-8 line keeps only `text`.
    assert_eq!(letters[1]["text"], "not json é");
    assert!(letters[1].get("text_base64").is_none(), "{}", letters[1]);
}

/// Issue 25, item 3: a resume refused because one output (`--output`) was
/// cut shorter than at the snapshot changes none of the others: the dead
/// letters appended to after the snapshot and the late events keep every
/// byte and their modification time; the message says what to do instead
/// of "the same command resumes the run". With 1 and 2 workers.
#[test]
fn a_resume_refused_for_one_output_changes_no_other() {
    for workers in ["1", "2"] {
        let root = tempfile::tempdir().expect("tempdir");
        let input = root.path().join("logs.jsonl");
        let o = run(&[
            "generate",
            "--events",
            "3000",
            "--late-rate",
            "0.05",
            "--invalid-rate",
            "0.02",
            "--out",
            s(&input),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let store = root.path().join("state");
        let init = run(&["recovery", "init", s(&store)]);
        assert!(init.status.success(), "{}", stderr(&init));
        let [out, late, dead] = ["out.jsonl", "late.jsonl", "dead.jsonl"].map(|n| root.path().join(n));
        let args = [
            "run",
            "-w",
            workers,
            "-I",
            s(&input),
            "-o",
            s(&out),
            "--late-output",
            s(&late),
            "--on-invalid",
            "skip",
            "--dead-letter",
            s(&dead),
            "-r",
            s(&store),
        ];
        let first = run_bounded(&args);
        assert!(first.status.success(), "{}", stderr(&first));
        for p in [&out, &late, &dead] {
            assert!(std::fs::metadata(p).expect("output").len() > 0, "{}", p.display());
        }
        // After "the crash": the output halved, dead letters appended to.
        let rows = std::fs::read(&out).expect("rows");
        std::fs::write(&out, &rows[..rows.len() / 2]).expect("halve");
        let mut letters = std::fs::read(&dead).expect("dead letters");
        letters.extend_from_slice(AFTER_SNAPSHOT);
        std::fs::write(&dead, &letters).expect("append");
        let late_before = std::fs::read(&late).expect("late");
        let stamp = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).expect("mtime");
        let (late_time, dead_time) = (stamp(&late), stamp(&dead));
        // Modification times are only as fine as the clock's tick.
        std::thread::sleep(Duration::from_millis(20));

        let refused = run_bounded(&args);
        let err = stderr(&refused);
        assert_eq!(refused.status.code(), Some(1), "-w {workers}: {err}");
        for want in [
            "fewer than the",
            "put the file back as the run left it",
            "a new --recovery-dir",
            "the resume was refused: nothing was written or truncated",
        ] {
            assert!(err.contains(want), "-w {workers}: {want:?} not in: {err}");
        }
        assert!(!err.contains("the same command resumes"), "{err}");
        assert!(
            !err.contains("resuming from snapshot") && !err.contains("finished before"),
            "a refused resume said it resumed: {err}"
        );
        assert_eq!(
            std::fs::read(&dead).expect("dead"),
            letters,
            "-w {workers}: dead letters changed"
        );
        assert_eq!(
            std::fs::read(&late).expect("late"),
            late_before,
            "-w {workers}: late changed"
        );
        assert_eq!(stamp(&dead), dead_time, "-w {workers}: dead letters touched");
        assert_eq!(stamp(&late), late_time, "-w {workers}: late events touched");
        assert_eq!(std::fs::read(&out).expect("out"), &rows[..rows.len() / 2]);

        // Put back as the run left it, the same command resumes.
        std::fs::write(&out, &rows).expect("restore");
        let resumed = run_bounded(&args);
        assert!(resumed.status.success(), "{}", stderr(&resumed));
        assert_eq!(std::fs::read(&out).expect("out"), rows);
        assert_eq!(
            std::fs::read(&dead).expect("dead"),
            &letters[..letters.len() - AFTER_SNAPSHOT.len()],
            "the resume cut the dead letters back to the snapshot"
        );
    }
}

/// Issue 25, item 4: a same-size edit in the middle of a chunk, far from
/// the hashed edges and chunk boundaries, with the modification time put
/// back, is refused too (the whole-file hash), naming what changed.
#[test]
fn a_same_size_edit_far_from_every_sample_with_its_time_restored_is_refused() {
    let root = tempfile::tempdir().expect("tempdir");
    let input = root.path().join("logs.jsonl");
    let o = run(&["generate", "--events", "40000", "--out", s(&input)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let store = root.path().join("state");
    let init = run(&["recovery", "init", s(&store)]);
    assert!(init.status.success(), "{}", stderr(&init));
    let out = root.path().join("out.jsonl");
    // Chunks of 1 MiB: the edit lands in the middle of the second one,
    // more than 64 KiB from each end and 4 KiB from each chunk start.
    let args = [
        "run",
        "-I",
        s(&input),
        "-o",
        s(&out),
        "--chunk-bytes",
        "1048576",
        "-r",
        s(&store),
    ];
    let first = run_bounded(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    let rows = std::fs::read(&out).expect("rows");
    let mut after = rows.clone();
    after.extend_from_slice(AFTER_SNAPSHOT);
    std::fs::write(&out, &after).expect("append");

    let mut bytes = std::fs::read(&input).expect("input");
    assert!(bytes.len() > 2 << 20, "{} bytes", bytes.len());
    let was = std::fs::metadata(&input)
        .and_then(|m| m.modified())
        .expect("mtime");
    // A digit of a timestamp in the middle of [1 MiB, 2 MiB).
    let middle = (1 << 20) + (1 << 19);
    let at = middle
        + bytes[middle..]
            .iter()
            .position(u8::is_ascii_digit)
            .expect("a digit");
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&input, &bytes).expect("edit");
    File::options()
        .write(true)
        .open(&input)
        .and_then(|f| f.set_modified(was))
        .expect("restore the time");

    let refused = run_bounded(&args);
    let err = stderr(&refused);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("input {} changed since the snapshot", s(&input)))
            && err.contains("its contents differ (xxh3 of the whole file)"),
        "{err}"
    );
    assert!(err.contains("nothing was written or truncated"), "{err}");
    assert_eq!(std::fs::read(&out).expect("out"), after, "the output was changed");
}
