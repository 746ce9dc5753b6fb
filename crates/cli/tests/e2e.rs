//! End-to-end tests: the real `search-ctr` binary on real files.

mod common;

use std::io::Write;

use common::*;

const SPEC_ROW_2: &str = r#"{"user":"2","session_start":"2024-01-01T00:00:05.000Z","session_end":"2024-01-01T00:00:08.000Z","events":4,"searches":1,"clicks":2,"searches_with_click":1,"ctr":1.0,"clicks_per_search":2.0}"#;

const TUTORIAL_TEXT: &str =
    "User 1: 1 searches, 1 clicks\nUser 2: 1 searches, 2 clicks\n('1', 1.0)\n('2', 2.0)\n";

#[test]
fn no_arguments_runs_the_tutorial() {
    let o = run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), TUTORIAL_TEXT);
}

#[test]
fn jsonl_rows_match_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "tutorial.jsonl", TUTORIAL.as_bytes());
    let o = run(&[
        "run",
        "--input",
        s(&input),
        "--gap",
        "10s",
        "--wait",
        "1s",
        "--format",
        "jsonl",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.contains(&SPEC_ROW_2), "{out}");
    assert!(stderr(&o).contains("7 events read"), "{}", stderr(&o));
}

#[test]
fn text_format_prints_the_tutorial_style() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "t.jsonl", TUTORIAL.as_bytes());
    let o = run(&[
        "run",
        "-I",
        s(&input),
        "--gap",
        "10s",
        "--wait",
        "1s",
        "--format",
        "text",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), TUTORIAL_TEXT);
    assert_eq!(stderr(&o), "", "--quiet prints nothing on stderr");
}

#[test]
fn csv_to_a_file_with_header() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "t.jsonl", TUTORIAL.as_bytes());
    let out = dir.path().join("sessions.csv");
    let o = run(&[
        "run",
        "--input",
        s(&input),
        "--format",
        "csv",
        "--output",
        s(&out),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "user,session_start,session_end,events,searches,clicks,searches_with_click,ctr,clicks_per_search"
        )
    );
    assert!(
        csv.contains("\n2,2024-01-01T00:00:05.000Z,2024-01-01T00:00:08.000Z,4,1,2,1,1.0,2.0\n"),
        "{csv}"
    );
    assert_eq!(stdout(&o), "");
}

#[test]
fn stdin_is_an_input() {
    let o = run_with_stdin(&["run", "--input", "-", "-q"], TUTORIAL.as_bytes());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 2);
    // No --input at all means stdin too.
    let o = run_with_stdin(&["run", "-q"], TUTORIAL.as_bytes());
    assert!(stdout(&o).contains(SPEC_ROW_2));
}

#[test]
fn a_directory_several_inputs_and_gzip_give_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = TUTORIAL.split_at(TUTORIAL.find("{\"type\":\"search\",\"user\":2").unwrap());
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    write(&logs, "a.jsonl", first.as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(second.as_bytes()).unwrap();
    let gz_path = write(&logs, "b.jsonl.gz", &gz.finish().unwrap());
    let plain = write(dir.path(), "all.jsonl", TUTORIAL.as_bytes());

    let expected = {
        let o = run(&["run", "--input", s(&plain), "-q"]);
        assert!(o.status.success());
        stdout(&o)
    };
    let from_dir = run(&["run", "--input", s(&logs), "-q"]);
    assert!(from_dir.status.success(), "{}", stderr(&from_dir));
    let a = logs.join("a.jsonl");
    let from_two = run(&["run", "--input", s(&a), "--input", s(&gz_path), "-q", "-w", "2"]);
    assert!(from_two.status.success(), "{}", stderr(&from_two));
    let sorted = |t: String| {
        let mut v: Vec<String> = t.lines().map(str::to_owned).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(stdout(&from_dir)), sorted(expected.clone()));
    assert_eq!(sorted(stdout(&from_two)), sorted(expected));
}

#[test]
fn late_events_are_written_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let late_line = r#"{"type":"click_result", "user":"1","item":"x","time":"2024-01-01T00:00:01Z"}"#;
    let log = format!(
        "{}\n{}\n{late_line}\r\n",
        r#"{"type":"search","user":"1","query":"q","time":"2024-01-01T00:00:10Z"}"#,
        r#"{"type":"click_result","user":"1","item":"x","time":"2024-01-01T00:00:12Z"}"#,
    );
    let input = write(dir.path(), "l.jsonl", log.as_bytes());
    let late = dir.path().join("late.jsonl");
    let o = run(&[
        "run",
        "--input",
        s(&input),
        "--wait",
        "5s",
        "--late-output",
        s(&late),
        "--summary",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&late).unwrap(),
        format!("{late_line}\r\n").into_bytes()
    );
    let summary: serde_json::Value = serde_json::from_str(stderr(&o).trim()).expect("json summary");
    assert_eq!(summary["late"], 1);
    assert_eq!(summary["events"], 3);
    assert_eq!(summary["rows"], 1);
    assert!(
        stdout(&o).contains(r#""events":2,"searches":1,"clicks":1"#),
        "{}",
        stdout(&o)
    );
}

#[test]
fn an_invalid_line_fails_the_run_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TUTORIAL.to_string();
    log.push_str("{\"type\":\"search\",\"user\":3,\"query\":\"q\",\"time\":\"yesterday\"}\n");
    let input = write(dir.path(), "bad.jsonl", log.as_bytes());
    let o = run(&["run", "--input", s(&input), "-q"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains(&format!("{}:8:", input.display())), "{err}");
    assert!(err.contains("time"), "{err}");
}

#[test]
fn skip_writes_dead_letters_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let log = format!("not json\n{TUTORIAL}{{\"type\":\"search\"}}\n{{\"type\":\"rocket\",\"user\":1}}\n\n");
    let input = write(dir.path(), "mixed.jsonl", log.as_bytes());
    let dead = dir.path().join("dead.jsonl");
    let o = run(&[
        "run",
        "--input",
        s(&input),
        "--on-invalid",
        "skip",
        "--dead-letter",
        s(&dead),
        "--summary",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 2);
    let letters: Vec<serde_json::Value> = std::fs::read_to_string(&dead)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("dead letter is JSON"))
        .collect();
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[0]["line"], 1);
    assert_eq!(letters[0]["text"], "not json");
    assert_eq!(letters[1]["line"], 9);
    assert!(
        letters[1]["reason"].as_str().unwrap().contains("user"),
        "{:?}",
        letters[1]
    );
    assert_eq!(letters[0]["file"], s(&input));
    let summary: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(
        (summary["invalid"].as_u64(), summary["other"].as_u64()),
        (Some(2), Some(1))
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["run", "--gap", "ten"],
        vec!["run", "--format", "xml"],
        vec!["run", "--no-such-flag"],
        vec!["run", "--dead-letter", "x.jsonl"],
        vec!["run", "--workers", "0"],
        vec!["generate", "--late-rate", "2"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty());
    }
}

#[test]
fn a_missing_input_fails_naming_it() {
    let o = run(&["run", "--input", "/no/such/log.jsonl", "-q"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/no/such/log.jsonl"), "{}", stderr(&o));
}

#[test]
fn help_documents_every_option() {
    let o = run(&["run", "--help"]);
    assert!(o.status.success());
    let help = stdout(&o);
    for flag in [
        "--input",
        "--gap",
        "--wait",
        "--format",
        "--output",
        "--late-output",
        "--on-invalid",
        "--dead-letter",
        "--max-line-bytes",
        "--workers",
        "--summary",
        "--quiet",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    assert!(
        help.contains("[default: 30m]") && help.contains("[default: 10s]"),
        "{help}"
    );
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("big.jsonl");
    let o = run(&["generate", "--events", "20000", "--out", s(&log)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut child = std::process::Command::new(bin())
        .args(["run", "--input", s(&log), "-q"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    drop(out);
    assert!(child.wait().unwrap().success());
}

#[test]
fn idle_timeout_emits_sessions_from_a_stdin_that_stays_open() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(bin())
        .args([
            "run",
            "-q",
            "--gap",
            "10s",
            "--wait",
            "1s",
            "--idle-timeout",
            "200ms",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Kill the child if no row has come after a minute, so that the read
    // below ends.
    kill_after_a_minute(&child);
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(TUTORIAL.as_bytes()).expect("write");
    input.flush().expect("flush");
    // Both rows arrive while stdin is still open.
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut rows: Vec<String> = (0..2)
        .map(|_| lines.next().expect("a row").expect("utf-8"))
        .collect();
    rows.sort();
    assert!(rows[1].contains(SPEC_ROW_2), "{rows:?}");
    drop(input);
    assert!(child.wait().expect("wait").success());
}

/// Issue 24: on a stdin that stays open, a user who leaves gets their row
/// once the input's event time (here another user's events) is past their
/// session's end + gap + wait — without their next event, without the
/// wall clock and before stdin closes.
fn a_departed_users_row_comes_from_a_stdin_that_stays_open_with(workers: &str) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(bin())
        .args(["run", "-q", "-w", workers])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    kill_after_a_minute(&child);
    let mut input = child.stdin.take().expect("stdin");
    let ada = [
        r#"{"type":"app_open","user":"ada","time":"2024-01-01T00:00:00Z"}"#,
        r#"{"type":"search","user":"ada","query":"dogs","time":"2024-01-01T00:00:01Z"}"#,
        r#"{"type":"results","user":"ada","items":["fido","rover"],"time":"2024-01-01T00:00:02Z"}"#,
        r#"{"type":"click_result","user":"ada","item":"rover","time":"2024-01-01T00:00:03Z"}"#,
    ];
    input
        .write_all((ada.join("\n") + "\n").as_bytes())
        .expect("write");
    // Bob searches every minute for 40 minutes (gap 30m, wait 10s): the
    // input passes 00:30:13 at his 31st search.
    for m in 0..40 {
        let line = format!(
            "{{\"type\":\"search\",\"user\":\"bob\",\"query\":\"q\",\"time\":\"2024-01-01T00:{m:02}:30Z\"}}\n"
        );
        input.write_all(line.as_bytes()).expect("write");
    }
    input.flush().expect("flush");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let row = lines.next().expect("a row").expect("utf-8");
    assert!(
        row.starts_with(r#"{"user":"ada","session_start":"2024-01-01T00:00:00.000Z","session_end":"2024-01-01T00:00:03.000Z""#),
        "{row}"
    );
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "stdin is still open"
    );
    drop(input);
    let rest: Vec<String> = lines.map(|l| l.expect("utf-8")).collect();
    assert_eq!(rest.len(), 1, "bob's session at the end: {rest:?}");
    assert!(rest[0].starts_with(r#"{"user":"bob""#), "{rest:?}");
    assert!(child.wait().expect("wait").success());
}

#[test]
fn a_departed_users_row_comes_from_a_stdin_that_stays_open() {
    for workers in ["1", "2"] {
        a_departed_users_row_comes_from_a_stdin_that_stays_open_with(workers);
    }
}

/// Issue 24: on a stdin that stays open the output file is written as rows
/// are final (not staged under a temporary name); Ctrl-C (SIGINT) keeps
/// every whole row written so far and says so.
fn sigint_on_a_live_stdin_keeps_the_rows_written_with(workers: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sessions.jsonl");
    let mut child = std::process::Command::new(bin())
        .args(["run", "-q", "-w", workers, "-o", s(&out)])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    // Ada's session, then Bob's searches moving the input 40 minutes on:
    // Ada's row is final while stdin stays open.
    let mut text = String::from(concat!(
        r#"{"type":"search","user":"ada","query":"dogs","time":"2024-01-01T00:00:01Z"}"#,
        "\n"
    ));
    for m in 0..40 {
        text.push_str(&format!(
            "{{\"type\":\"search\",\"user\":\"bob\",\"query\":\"q\",\"time\":\"2024-01-01T00:{m:02}:30Z\"}}\n"
        ));
    }
    input.write_all(text.as_bytes()).expect("write");
    input.flush().expect("flush");
    // Generous: only there to turn a hang into a failure.
    let start = std::time::Instant::now();
    let written = loop {
        let now = std::fs::read_to_string(&out).unwrap_or_default();
        if now.contains("\"user\":\"ada\"") {
            break now;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "no row in {}",
            out.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(written.ends_with('\n'), "whole lines only: {written:?}");
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let done = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(130), "{err}");
    assert!(
        err.contains("every whole row written so far is kept in --output"),
        "{err}"
    );
    let kept = std::fs::read_to_string(&out).expect("the output stays");
    assert!(kept.starts_with(&written), "what was written stays: {kept:?}");
    assert!(
        kept.lines().all(|l| l.starts_with('{') && l.ends_with('}')),
        "{kept:?}"
    );
    drop(input);
}

#[test]
fn sigint_on_a_live_stdin_keeps_the_rows_written() {
    for workers in ["1", "2"] {
        sigint_on_a_live_stdin_keeps_the_rows_written_with(workers);
    }
}

/// Issue 24: the same bytes piped on stdin give what the file gives —
/// session rows, every analytics output and the late lines, byte for byte
/// (stdin without --live is an input like any other).
#[test]
fn stdin_that_ends_equals_its_file_for_every_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs.jsonl");
    let generated = run(&[
        "generate",
        "--profile",
        "search",
        "--events",
        "30000",
        "--users",
        "300",
        "--late-rate",
        "0.02",
        "--out",
        s(&logs),
    ]);
    assert!(generated.status.success(), "{}", stderr(&generated));
    let outputs = ["rows", "late", "queries", "positions", "judgments"];
    let run_to = |tag: &str, stdin: Option<&[u8]>| -> Vec<Vec<u8>> {
        let path = |name: &str| s(&dir.path().join(format!("{tag}-{name}.jsonl"))).to_owned();
        let paths: Vec<String> = outputs.iter().map(|n| path(n)).collect();
        // A short delay: a live rule would count many searches late here
        // (their sessions close well after their windows' end + 1m).
        let mut args = vec![
            "run",
            "-q",
            "--min-impressions",
            "2",
            "--analytics-window",
            "1h",
            "--analytics-delay",
            "1m",
        ];
        args.extend([
            "-o",
            &paths[0],
            "--late-output",
            &paths[1],
            "--query-output",
            &paths[2],
        ]);
        args.extend(["--position-output", &paths[3], "--judgment-output", &paths[4]]);
        let out = match stdin {
            Some(bytes) => run_with_stdin(&args, bytes),
            None => {
                args.extend(["-I", s(&logs)]);
                run(&args)
            }
        };
        assert!(out.status.success(), "{tag}: {}", stderr(&out));
        paths.iter().map(|p| std::fs::read(p).expect("output")).collect()
    };
    let from_file = run_to("file", None);
    let from_stdin = run_to("stdin", Some(&std::fs::read(&logs).expect("logs")));
    for (i, name) in outputs.iter().enumerate() {
        assert!(
            !from_file[i].is_empty(),
            "{name}: the file run wrote nothing to compare"
        );
        assert!(
            from_file[i] == from_stdin[i],
            "{name}: stdin differs from the file"
        );
    }
}

/// A guard against a hang (it measures nothing): `kill -9` of `child` a
/// minute from now, so that a read of its output ends.
fn kill_after_a_minute(child: &std::process::Child) {
    let pid = child.id();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(60));
        let _ = std::process::Command::new("kill")
            .arg("-9")
            .arg(pid.to_string())
            .status();
    });
}

/// Issue 25, item 10: an unreasonable worker count is refused at once with
/// the machine's limit (8 per CPU), not run for minutes.
#[test]
fn an_unreasonable_worker_count_is_refused() {
    let o = run_with_stdin(&["run", "-w", "100000"], TUTORIAL.as_bytes());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--workers 100000: at most") && err.contains("8 per CPU"),
        "{err}"
    );
}

/// Issue 25, item 14: when the reader of stdout stops early (`| head -1`),
/// the run still ends quietly with status 0, but its summary does not
/// claim that every row reached stdout.
#[test]
fn a_summary_after_head_says_stdout_was_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs.jsonl");
    let made = run(&["generate", "--events", "50000", "--out", s(&logs)]);
    assert!(made.status.success(), "{}", stderr(&made));
    let mut child = std::process::Command::new(bin())
        .args(["run", "-I", s(&logs)])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    kill_after_a_minute(&child);
    let mut out = child.stdout.take().expect("stdout");
    let mut first = [0u8; 10];
    std::io::Read::read_exact(&mut out, &mut first).expect("a first row");
    drop(out);
    let done = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{err}");
    assert!(err.contains("rows written"), "{err}");
    assert!(
        err.contains("warning: stdout was closed by its reader") && err.contains("reached it"),
        "{err}"
    );
}
