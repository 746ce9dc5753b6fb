//! Search analytics through the real binary (`docs/analytics.md`): the
//! three outputs equal `ctr::analytics::reference` byte for byte, whatever
//! the worker count or chunk size; the docs' worked example; UBI input;
//! usage errors; the summary's top queries; a resume after SIGTERM; two
//! processes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bin, latest_complete, run, run_processes, s, stderr, stdout, write};
use ctr::analytics::reference::{reference_rows, ReferenceConfig};
use ctr::analytics::rows::{JudgmentRow, PositionRow, QueryRow, WindowRows};
use ctr::analytics::window::Window;
use ctr::event::Event;
use ctr::parse::{parse_line_detailed, Parsed};
use ctr::row_format::RowFormat;
use ctr::timestamp::TimeUnit;
use ctr::ubi::{parse_ubi_line, UbiConfig, UbiParsed};

/// The three outputs of the reference rows, as the binary writes them.
fn expected(rows: &[WindowRows], csv: bool) -> [Vec<u8>; 3] {
    fn write<R: RowFormat>(rows: &[R], csv: bool, out: &mut Vec<u8>) {
        for r in rows {
            if csv {
                r.write_csv(out)
            } else {
                r.write_jsonl(out)
            }
        }
    }
    let (mut q, mut p, mut j) = (Vec::new(), Vec::new(), Vec::new());
    if csv {
        q.extend_from_slice(QueryRow::CSV_HEADER.as_bytes());
        p.extend_from_slice(PositionRow::CSV_HEADER.as_bytes());
        j.extend_from_slice(JudgmentRow::CSV_HEADER.as_bytes());
    }
    for w in rows {
        write(&w.queries, csv, &mut q);
        write(&w.positions, csv, &mut p);
        write(&w.judgments, csv, &mut j);
    }
    [q, p, j]
}

/// Events of a search log, parsed as the binary parses them with
/// analytics on.
fn events_of(log: &[u8]) -> Vec<Event> {
    log.split(|&b| b == b'\n')
        .filter_map(|line| match parse_line_detailed(line, TimeUnit::Millis) {
            Ok(Parsed::Event(e)) => Some(e),
            _ => None,
        })
        .collect()
}

fn reference(events: &[Event], window: &str, min_impressions: u64, wait_ms: i64) -> Vec<WindowRows> {
    let cfg = ReferenceConfig {
        gap_ms: 30 * 60_000,
        wait_ms,
        window: Window::parse(window).expect("window"),
        min_impressions,
    };
    reference_rows(events, &cfg)
}

/// Runs `search-ctr run` on `input` with the three analytics outputs in
/// `dir` (named after `tag`), plus `extra`; returns their bytes.
fn analytics_run(dir: &Path, input: &Path, tag: &str, extra: &[&str]) -> [Vec<u8>; 3] {
    let paths: Vec<PathBuf> = ["queries", "positions", "judgments"]
        .iter()
        .map(|k| dir.join(format!("{tag}-{k}")))
        .collect();
    let sessions = dir.join(format!("{tag}-sessions"));
    let mut args = vec![
        "run",
        "-q",
        "-I",
        s(input),
        "-o",
        s(&sessions),
        "--query-output",
        s(&paths[0]),
        "--position-output",
        s(&paths[1]),
        "--judgment-output",
        s(&paths[2]),
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    let read = |p: &PathBuf| std::fs::read(p).expect("output");
    [read(&paths[0]), read(&paths[1]), read(&paths[2])]
}

fn generated(dir: &Path, events: &str) -> PathBuf {
    let log = dir.join("log.jsonl");
    let o = run(&[
        "generate",
        "--profile",
        "search",
        "--events",
        events,
        "--out",
        s(&log),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    log
}

#[test]
fn generated_logs_give_the_reference_rows_for_any_worker_count_and_chunk_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = generated(dir.path(), "30000");
    let events = events_of(&std::fs::read(&log).expect("log"));
    let rows = reference(&events, "1h", 3, 10_000);
    assert!(rows.len() > 1, "several windows: {}", rows.len());
    assert!(rows.iter().any(|w| !w.judgments.is_empty()));
    let want = expected(&rows, false);
    let base = ["--analytics-window", "1h", "--min-impressions", "3"];
    for (tag, extra) in [
        ("w1", vec!["-w", "1"]),
        ("w2", vec!["-w", "2"]),
        ("w4", vec!["-w", "4"]),
        ("chunks", vec!["-w", "3", "--chunk-bytes", "4096"]),
    ] {
        let args: Vec<&str> = base.iter().copied().chain(extra).collect();
        let got = analytics_run(dir.path(), &log, tag, &args);
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                g == w,
                "{tag}: output {k} differs ({} bytes vs {})",
                g.len(),
                w.len()
            );
        }
    }
    // CSV: the same rows, with headers.
    let args = [&base[..], &["--format", "csv", "-w", "2"]].concat();
    let got = analytics_run(dir.path(), &log, "csv", &args);
    assert_eq!(got, expected(&rows, true));
    // The session rows are those of a run without analytics.
    let plain = dir.path().join("plain-sessions");
    let o = run(&["run", "-q", "-I", s(&log), "-o", s(&plain), "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&plain).expect("plain"),
        std::fs::read(dir.path().join("csv-sessions")).expect("csv sessions")
    );
}

#[test]
fn two_processes_give_the_analytics_and_late_lines_of_one_worker() {
    // Sessions and their searches cross the process boundary serialized
    // (the sessions step's records with their analytics steps, then the
    // search records to the window's owner): every output of process 0 must
    // be the bytes of one worker, and process 1 writes none.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("late-log.jsonl");
    let o = run(&[
        "generate",
        "--profile",
        "search",
        "--events",
        "20000",
        "--late-rate",
        "0.01",
        "--out",
        s(&log),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let outputs = |tag: &str| -> Vec<PathBuf> {
        ["sessions", "queries", "positions", "judgments", "late"]
            .iter()
            .map(|k| dir.path().join(format!("{tag}-{k}")))
            .collect()
    };
    let args = |o: &[PathBuf]| -> Vec<String> {
        let mut a: Vec<String> = [
            "run",
            "-q",
            "-I",
            s(&log),
            "--analytics-window",
            "1h",
            "--min-impressions",
            "3",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        for (flag, path) in [
            "-o",
            "--query-output",
            "--position-output",
            "--judgment-output",
            "--late-output",
        ]
        .iter()
        .zip(o)
        {
            a.push(flag.to_string());
            a.push(s(path).to_string());
        }
        a
    };
    let single = outputs("single");
    let mut one: Vec<String> = args(&single);
    one.extend(["-w".to_string(), "1".to_string()]);
    let o = run(&one.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));

    let per_process = [outputs("p0"), outputs("p1")];
    run_processes(2, |i| {
        let mut a = args(&per_process[i]);
        a.extend(["-w".to_string(), "1".to_string()]);
        a
    });
    for (want, got) in single.iter().zip(&per_process[0]) {
        let want = std::fs::read(want).expect("single output");
        assert_eq!(
            std::fs::read(got).expect("process 0 output"),
            want,
            "{}",
            got.display()
        );
    }
    assert!(std::fs::read(&single[1]).expect("queries").len() > 1000);
    assert!(std::fs::read(&single[4]).expect("late lines").len() > 1000);
    for path in &per_process[1] {
        assert!(!path.exists(), "process 1 writes no {}", path.display());
    }
}

/// The fenced block after `<!-- analytics-test: NAME -->` in
/// docs/analytics.md.
fn docs_block(docs: &str, name: &str) -> String {
    let marker = format!("<!-- analytics-test: {name} -->");
    let at = docs.find(&marker).unwrap_or_else(|| panic!("{marker}"));
    let rest = &docs[at..];
    let open = rest.find("```").expect("fence");
    let body = &rest[open..];
    let body = &body[body.find('\n').expect("fence line") + 1..];
    body[..body.find("```").expect("closing fence")].to_owned()
}

#[test]
fn the_worked_example_of_the_docs_comes_out_of_the_binary() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/analytics.md"))
        .expect("docs/analytics.md");
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write(dir.path(), "example.jsonl", docs_block(&docs, "input").as_bytes());
    let [q, _, j] = analytics_run(dir.path(), &input, "jsonl", &["--min-impressions", "1"]);
    assert_eq!(String::from_utf8_lossy(&q), docs_block(&docs, "queries"));
    assert_eq!(String::from_utf8_lossy(&j), docs_block(&docs, "judgments"));
    let [_, p, _] = analytics_run(
        dir.path(),
        &input,
        "csv",
        &["--min-impressions", "1", "--format", "csv", "-w", "2"],
    );
    assert_eq!(String::from_utf8_lossy(&p), docs_block(&docs, "positions"));
}

#[test]
fn the_ubi_sample_gives_the_defined_rows() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../ctr/tests/data/ubi-sample.jsonl");
    let text = std::fs::read(sample).expect("sample");
    let cfg = UbiConfig {
        click_actions: vec!["click".into(), "product_click".into()],
        ..UbiConfig::default()
    };
    let events: Vec<Event> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .flat_map(|l| {
            parse_ubi_line(l, &cfg)
                .map(UbiParsed::into_events)
                .unwrap_or_default()
        })
        .collect();
    // Records out of order by hours: none is late with --wait 1d.
    let rows = reference(&events, "1d", 1, 86_400_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = [
        "--schema",
        "ubi",
        "--ubi-click-actions",
        "click,product_click",
        "--min-impressions",
        "1",
        "--wait",
        "1d",
        "-w",
        "2",
    ];
    let got = analytics_run(dir.path(), Path::new(sample), "ubi", &extra);
    assert_eq!(got, expected(&rows, false));
    // What crates/ctr/tests/ubi.rs defines for this sample.
    let q = String::from_utf8_lossy(&got[0]).into_owned();
    assert!(q.contains(
        r#""query":"laptop","searches":3,"searches_with_click":3,"ctr":1.0,"no_click_rate":0.0,"zero_result_rate":0.0,"clicks":3,"mean_first_click_position":1.6666666666666667,"mrr":0.6666666666666666"#
    ), "{q}");
    assert!(q.contains(r#""query":"tablet","#) && q.contains(r#""mean_first_click_position":5.0,"mrr":0.2"#));
    assert_eq!(q.lines().count(), 9);
    // Without product_click as a click action, that click is skipped.
    let plain = analytics_run(
        dir.path(),
        Path::new(sample),
        "ubi-default",
        &["--schema", "ubi", "--wait", "1d"],
    );
    assert_ne!(plain[0], got[0]);
    // A UBI line read as the search-log format is invalid.
    let o = run(&[
        "run",
        "-q",
        "-I",
        sample,
        "--query-output",
        s(&dir.path().join("x")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn analytics_outputs_are_checked_like_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write(dir.path(), "in.jsonl", common::TUTORIAL.as_bytes());
    let q = dir.path().join("q.jsonl");
    let usage = |args: &[&str], want: &str| {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    };
    usage(
        &[
            "run",
            "-I",
            s(&input),
            "--format",
            "text",
            "--query-output",
            s(&q),
        ],
        "--query-output needs --format jsonl or csv",
    );
    usage(
        &[
            "run",
            "-I",
            s(&input),
            "--analytics-window",
            "1w",
            "--query-output",
            s(&q),
        ],
        "--analytics-window",
    );
    usage(
        &["run", "-I", s(&input), "--ubi-click-actions", "tap"],
        "--ubi-click-actions needs --schema ubi",
    );
    // Clashes: with an input, with another output.
    let clash = |args: &[&str], want: &str| {
        let o = run(args);
        assert!(!o.status.success(), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert_eq!(std::fs::read(&input).expect("input"), common::TUTORIAL.as_bytes());
    };
    clash(
        &["run", "-I", s(&input), "--judgment-output", s(&input)],
        "--judgment-output",
    );
    let out = dir.path().join("out.jsonl");
    clash(
        &[
            "run",
            "-I",
            s(&input),
            "-o",
            s(&out),
            "--position-output",
            s(&out),
        ],
        "--position-output",
    );
    clash(
        &[
            "run",
            "-I",
            s(&input),
            "--query-output",
            s(&q),
            "--judgment-output",
            s(&q),
        ],
        "--judgment-output",
    );
    assert!(!q.exists() && !out.exists());
    // A failed run leaves no analytics output behind (staged without -r).
    let bad = write(dir.path(), "bad.jsonl", b"{\"type\":\"search\"}\n");
    let o = run(&["run", "-q", "-I", s(&bad), "-o", s(&out), "--query-output", s(&q)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!q.exists() && !out.exists());
    let names: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(names.len(), 2, "temporary files left: {names:?}");
}

#[test]
fn the_summary_lists_the_top_queries_in_text_and_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = String::new();
    // "dogs": 25 searches, 5 clicked; "cats": 21, none clicked, 3 with no
    // results; "rare": 1, zero results. One user per search.
    let mut n = 0;
    let mut search = |q: &str, items: &str, click: bool| {
        n += 1;
        let t = 1_700_000_000_000i64 + n * 1000;
        log += &format!("{{\"type\":\"search\",\"user\":\"u{n}\",\"query\":\"{q}\",\"time\":{t}}}\n");
        log += &format!(
            "{{\"type\":\"results\",\"user\":\"u{n}\",\"items\":[{items}],\"time\":{}}}\n",
            t + 1
        );
        if click {
            log += &format!(
                "{{\"type\":\"click_result\",\"user\":\"u{n}\",\"item\":\"a\",\"time\":{}}}\n",
                t + 2
            );
        }
    };
    for i in 0..25 {
        search("dogs", "\"a\"", i < 5);
    }
    for i in 0..21 {
        search("Cats", if i < 3 { "" } else { "\"a\"" }, false);
    }
    search("rare", "", false);
    let input = write(dir.path(), "in.jsonl", log.as_bytes());
    let q = dir.path().join("q.jsonl");
    let o = run(&["run", "-I", s(&input), "-o", "/dev/null", "--query-output", s(&q)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("search-ctr: top queries by searches: \"dogs\" 25, \"cats\" 21, \"rare\" 1\n"),
        "{err}"
    );
    assert!(
        err.contains("search-ctr: top zero-result queries: \"cats\" 3 of 21, \"rare\" 1 of 1\n"),
        "{err}"
    );
    assert!(
        err.contains(
            "search-ctr: top queries by no-click rate (at least 20 searches): \"cats\" 1.000 of 21, \"dogs\" 0.800 of 25\n"
        ),
        "{err}"
    );
    let o = run(&[
        "run",
        "-I",
        s(&input),
        "-o",
        "/dev/null",
        "--query-output",
        s(&q),
        "--summary",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(stderr(&o).trim()).expect("json summary");
    let top = &json["top_queries"];
    assert_eq!(top["by_searches"][0]["query"], "dogs");
    assert_eq!(top["by_searches"][0]["searches"], 25);
    assert_eq!(top["by_zero_results"][1]["query"], "rare");
    assert_eq!(top["by_no_click_rate"][0]["query"], "cats");
    assert_eq!(top["by_no_click_rate"][1]["no_click_rate"], 0.8);
    assert_eq!(top["by_no_click_rate"].as_array().map(Vec::len), Some(2));
    // Without --query-output there are no top lists.
    let o = run(&["run", "-I", s(&input), "-o", "/dev/null", "--summary", "json"]);
    let json: serde_json::Value = serde_json::from_str(stderr(&o).trim()).expect("json summary");
    assert!(json.get("top_queries").is_none());
    assert!(stdout(&o).is_empty());
}

#[test]
fn sigterm_with_recovery_then_the_same_command_gives_the_uninterrupted_analytics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = generated(dir.path(), "300000");
    let extra = ["--analytics-window", "6h", "--min-impressions", "2", "-w", "2"];
    let want = analytics_run(dir.path(), &log, "want", &extra);
    assert!(want.iter().all(|o| o.len() > 1000));
    let store = dir.path().join("state");
    let o = run(&["recovery", "init", s(&store)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names = ["queries", "positions", "judgments"].map(|k| dir.path().join(format!("got-{k}")));
    let args: Vec<String> = [
        "run",
        "-q",
        "-I",
        s(&log),
        "-o",
        s(&dir.path().join("got-sessions")),
        "--query-output",
        s(&names[0]),
        "--position-output",
        s(&names[1]),
        "--judgment-output",
        s(&names[2]),
        "-r",
        s(&store),
        "-s",
        "10ms",
    ]
    .iter()
    .chain(&extra)
    .map(|a| a.to_string())
    .collect();
    let mut child = Command::new(bin())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Mid-run: a snapshot is complete, and it is not the final one.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "the run ended before a snapshot was seen; generate more events"
        );
        assert!(Instant::now() < deadline, "no snapshot within a minute");
        let (epoch, last) = latest_complete(&store);
        assert!(!last, "the run finished before the signal; generate more events");
        if epoch > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success());
    let limit = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status.code();
        }
        if Instant::now() > limit {
            let _ = child.kill();
            panic!("the run did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(143));
    assert!(!latest_complete(&store).1, "the interrupted run did not finish");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    for (name, want) in names.iter().zip(&want) {
        let got = std::fs::read(name).expect("output");
        assert!(
            &got == want,
            "{}: {} bytes, {} wanted",
            name.display(),
            got.len(),
            want.len()
        );
    }
}

#[test]
fn run_help_lists_the_analytics_options_and_cites_the_contract() {
    let o = run(&["run", "--help"]);
    assert!(o.status.success());
    let help = stdout(&o);
    for option in [
        "--query-output",
        "--position-output",
        "--judgment-output",
        "--analytics-window",
        "--min-impressions",
        "--schema",
        "--ubi-click-actions",
        "docs/analytics.md",
    ] {
        assert!(help.contains(option), "`run --help` lacks {option}");
    }
}

/// A live run: stdin stays open. A window's rows come out once the
/// input's event time has passed its end by `--analytics-delay`, before
/// the input ends; a search that comes for it afterwards is counted late
/// and written to `--late-output` as a tagged line, not lost.
#[test]
fn a_live_input_writes_a_window_once_its_delay_has_passed_and_counts_later_searches_late() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let sessions = dir.path().join("s.jsonl");
    let late = dir.path().join("late.jsonl");
    let mut child = Command::new(bin())
        .args([
            "run",
            "-I",
            "-",
            "--live",
            "-o",
            s(&sessions),
            "--query-output",
            "-",
        ])
        .args([
            "--late-output",
            s(&late),
            "--analytics-window",
            "1h",
            "--analytics-delay",
            "1h",
            // Users' sessions close 1 h of input after their last event
            // (beyond gap + wait), so Bob's is still open when the window
            // is written.
            "--horizon",
            "1h",
        ])
        .args(["--summary", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let event = |user: &str, kind: &str, extra: &str, time: &str| {
        format!("{{\"type\":\"{kind}\",\"user\":\"{user}\",{extra}\"time\":\"2024-01-01T{time}Z\"}}\n")
    };
    // Window [10:00, 11:00), closed once the input passes 12:00.
    let first = [
        event("ann", "search", "\"query\":\"Dogs\",", "10:00:00"),
        event("ann", "results", "\"items\":[\"x\",\"y\"],", "10:00:01"),
        event("ann", "click_result", "\"item\":\"y\",", "10:00:05"),
        // Ann's next session: her first one closes (gap 30m).
        event("ann", "app_open", "", "10:45:00"),
        // Bob's search stays in an open session.
        event("bob", "search", "\"query\":\"cats\",", "10:50:00"),
        // The input passes 12:00: the window closes.
        event("cid", "app_open", "", "12:00:01"),
        event("cid", "app_open", "", "12:00:02"),
    ];
    input.write_all(first.concat().as_bytes()).expect("write");
    input.flush().expect("flush");
    // The window's row, while stdin is still open (generous bound: a hang
    // fails, a slow machine does not).
    let row = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the window's row before the input ends");
    assert!(
        row.starts_with(
            "{\"window_start\":\"2024-01-01T10:00:00.000Z\",\"query\":\"dogs\",\"searches\":1,\"searches_with_click\":1,"
        ),
        "{row}"
    );
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the run must still be going"
    );
    // Bob comes back: his session closes, and its search is for a window
    // already written.
    input
        .write_all(event("bob", "app_open", "", "12:30:00").as_bytes())
        .expect("write");
    drop(input);
    let status = child.wait().expect("wait");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err).expect("stderr");
    }
    assert!(status.success(), "{err}");
    reader.join().expect("reader");
    // No other row: the late search did not reopen the window.
    assert!(rx.try_recv().is_err());
    let json: serde_json::Value = serde_json::from_str(err.trim()).expect("json summary");
    assert_eq!(json["late_searches"], 1, "{err}");
    assert_eq!(json["late"], 0, "{err}");
    let late = std::fs::read_to_string(&late).expect("late output");
    assert_eq!(
        late,
        "{\"late\":\"search\",\"window_start\":\"2024-01-01T10:00:00.000Z\",\"time\":\"2024-01-01T10:50:00.000Z\",\"query\":\"cats\",\"clicks\":0}\n"
    );
}

/// `--judgment-model pbm|cascade|dbn`: the model's estimates are in the
/// judgment rows (attractiveness, DBN's satisfaction, relevance) and the
/// position rows (examination, from 1 at the top for PBM and cascade);
/// the other columns are COEC's, unchanged.
#[test]
fn click_models_fill_the_judgment_and_position_rows() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("search.jsonl");
    let o = run(&[
        "generate",
        "--profile",
        "search",
        "--events",
        "30000",
        "--out",
        s(&logs),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let coec_j = dir.path().join("coec-j.jsonl");
    let o = run(&[
        "run",
        "-I",
        s(&logs),
        "-o",
        "/dev/null",
        "--judgment-output",
        s(&coec_j),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let coec_rows = std::fs::read_to_string(&coec_j).unwrap();
    for model in ["pbm", "cascade", "dbn"] {
        let (j, p) = (
            dir.path().join(format!("{model}-j.jsonl")),
            dir.path().join(format!("{model}-p.jsonl")),
        );
        let o = run(&[
            "run",
            "-I",
            s(&logs),
            "-o",
            "/dev/null",
            "--judgment-output",
            s(&j),
            "--position-output",
            s(&p),
            "--judgment-model",
            model,
            "-q",
        ]);
        assert!(o.status.success(), "{model}: {}", stderr(&o));
        let rows: Vec<serde_json::Value> = std::fs::read_to_string(&j)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), coec_rows.lines().count(), "{model}");
        for (row, coec) in rows.iter().zip(coec_rows.lines()) {
            let coec: serde_json::Value = serde_json::from_str(coec).unwrap();
            assert_eq!(row["model"], model);
            assert_eq!(row["coec"], coec["coec"], "{model}: COEC stays");
            // Null only where the model never saw the item examined (a
            // cascade's items always below the first click).
            match row["attractiveness"].as_f64() {
                Some(a) => {
                    assert!((0.0..=1.0).contains(&a), "{model}: {row}");
                    assert_eq!(row["satisfaction"].is_null(), model != "dbn", "{model}: {row}");
                    assert!(row["relevance"].as_f64().is_some(), "{model}: {row}");
                }
                None => assert!(model == "cascade" && row["relevance"].is_null(), "{model}: {row}"),
            }
        }
        let positions: Vec<serde_json::Value> = std::fs::read_to_string(&p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let first = positions.iter().find(|r| r["position"] == 1).unwrap();
        let examination = first["examination"].as_f64().unwrap();
        assert!((examination - 1.0).abs() < 1e-9, "{model}: {first}");
        let fifth = positions.iter().find(|r| r["position"] == 5).unwrap();
        assert!(fifth["examination"].as_f64().unwrap() < 1.0, "{model}: {fifth}");
    }
    // A model without an output for its estimates is a usage error.
    let o = run(&[
        "run",
        "-I",
        s(&logs),
        "--query-output",
        s(&dir.path().join("q")),
        "--judgment-model",
        "pbm",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--judgment-model needs --judgment-output or --position-output"));
}

/// `generate --click-model pbm` draws clicks from known examination
/// probabilities; `run --judgment-model pbm` fits them back from the log
/// alone (the position rows' `examination`), and the cascade and DBN fits
/// of their own logs see examination fall down the list.
#[test]
fn a_model_fits_back_the_examination_its_generated_clicks_were_drawn_from() {
    let dir = tempfile::tempdir().unwrap();
    for model in ["pbm", "cascade", "dbn"] {
        let logs = dir.path().join(format!("{model}.jsonl"));
        let o = run(&[
            "generate",
            "--profile",
            "search",
            "--click-model",
            model,
            "--events",
            "300000",
            "--out",
            s(&logs),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let p = dir.path().join(format!("{model}-p.jsonl"));
        let o = run(&[
            "run",
            "-I",
            s(&logs),
            "-o",
            "/dev/null",
            "--position-output",
            s(&p),
            "--judgment-model",
            model,
            "--analytics-window",
            "1d",
            "-q",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let mut fitted = vec![f64::NAN; 10];
        for line in std::fs::read_to_string(&p).unwrap().lines() {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            if let (Some(r), Some(e)) = (row["position"].as_u64(), row["examination"].as_f64()) {
                fitted[r as usize - 1] = e;
            }
        }
        if model == "pbm" {
            for (r, (f, t)) in fitted
                .iter()
                .zip(ctr::generate::truth::EXAMINATION)
                .enumerate()
                .take(5)
            {
                assert!((f - t).abs() < 0.05, "position {}: fitted {f}, true {t}", r + 1);
            }
        } else {
            assert!(fitted[..5].windows(2).all(|w| w[1] < w[0]), "{model}: {fitted:?}");
        }
    }
    let o = run(&["generate", "--click-model", "pbm", "--events", "10", "--out", "-"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--click-model needs --profile search"));
}
