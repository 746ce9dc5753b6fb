//! `run --schema ga4|snowplow|elastic|algolia`, `--schema-file`, `--map`
//! and `--type-map` on the real binary: each preset on its documented
//! sample (docs/schemas/), a schema of one's own without any converter,
//! and errors that name the option, the file, the line and the mapping.

mod common;

use std::path::PathBuf;

use common::{bin, run, s, stderr, stdout, write};

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../docs/schemas/{name}.jsonl"))
}

/// `(user, searches, clicks, searches_with_click)` of each row.
fn sessions(out: &str) -> Vec<(String, u64, u64, u64)> {
    out.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["user"].as_str().unwrap().to_owned(),
                v["searches"].as_u64().unwrap(),
                v["clicks"].as_u64().unwrap(),
                v["searches_with_click"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_preset_runs_on_its_sample_with_analytics() {
    let dir = tempfile::tempdir().unwrap();
    for (schema, first_user) in [
        ("ga4", "1197596843.1704067200"),
        ("snowplow", "bc2e92ec6c204a14"),
        ("elastic", "u-1"),
        ("algolia", "user-1"),
    ] {
        let positions = dir.path().join(format!("{schema}-positions.jsonl"));
        let o = run(&[
            "run",
            "-I",
            s(&sample(schema)),
            "--schema",
            schema,
            "--position-output",
            s(&positions),
            "-q",
        ]);
        assert!(o.status.success(), "{schema}: {}", stderr(&o));
        let rows = sessions(&stdout(&o));
        assert_eq!(rows.len(), 2, "{schema}: {}", stdout(&o));
        assert_eq!(rows[0], (first_user.to_owned(), 1, 1, 1), "{schema}");
        assert_eq!((rows[1].1, rows[1].2), (1, 0), "{schema}");
        let positions = std::fs::read_to_string(&positions).unwrap();
        // Where the log gives the list or the position, the click is ranked.
        if schema != "snowplow" {
            assert!(
                positions.contains(r#""position":2,"clicks":1,"first_clicks":1"#),
                "{schema}: {positions}"
            );
        }
    }
}

#[test]
fn a_schema_of_ones_own_needs_no_converter() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "app.jsonl",
        br#"{"kind":"query_submitted","session":{"user_id":42},"ts":1704067205,"q":"Dogs","hits":["a","b"]}
{"kind":"result_clicked","session":{"user_id":42},"ts":1704067209,"hit":"b","rank":2}
{"kind":"heartbeat","session":{"user_id":42},"ts":1704067210}
"#,
    );
    let mut args = vec!["run", "-I", s(&log), "--time-unit", "s", "-q"];
    for m in [
        "user=session.user_id",
        "time=ts",
        "type=kind",
        "query=q",
        "items=hits",
        "item=hit",
        "position=rank",
    ] {
        args.extend(["--map", m]);
    }
    args.extend([
        "--type-map",
        "query_submitted=search",
        "--type-map",
        "result_clicked=click",
    ]);
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(sessions(&stdout(&o)), [("42".to_owned(), 1, 1, 1)]);
    assert!(stdout(&o).contains(r#""session_start":"2024-01-01T00:00:05.000Z""#));

    // The same as a schema file.
    let schema = write(
        dir.path(),
        "app.toml",
        br#"time_unit = "s"
[fields]
user = "/session/user_id"
time = "ts"
type = "kind"
query = "q"
items = "hits"
item = "hit"
position = "rank"
[types]
search = ["query_submitted"]
click_result = ["result_clicked"]
"#,
    );
    let o2 = run(&["run", "-I", s(&log), "--schema-file", s(&schema), "-q"]);
    assert!(o2.status.success(), "{}", stderr(&o2));
    assert_eq!(stdout(&o2), stdout(&o));
}

#[test]
fn mapping_errors_name_the_option_file_line_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "a.jsonl",
        b"{\"t\":\"search\",\"u\":1,\"at\":5}\n{\"t\":\"search\",\"at\":6}\n",
    );
    let base = ["run", "-I", s(&log), "--map", "time=at", "--map", "type=t"];
    for workers in ["1", "2"] {
        let o = run(&[&base[..], &["--map", "user=u", "-q", "-w", workers]].concat());
        assert_eq!(o.status.code(), Some(1), "-w {workers}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("a.jsonl:2") && stderr(&o).contains("missing field \"user\" (mapped to `u`)"),
            "-w {workers}: {}",
            stderr(&o)
        );
    }
    for (extra, why) in [
        (
            vec!["--map", "user=u", "--map", "usr=x"],
            "--map usr=x: \"usr\" is not a field",
        ),
        (
            vec!["--map", "user=u", "--type-map", "t=buy"],
            "--type-map t=buy: \"buy\" is not an event kind",
        ),
        (vec![], "--map: no path for the field \"user\""),
        (vec!["--map", "user=a..b"], "is not a path"),
        (
            vec!["--map", "user=u", "--schema", "ubi"],
            "do not apply to --schema ubi",
        ),
        (vec!["--map", "user"], "expected NAME=VALUE"),
    ] {
        let o = run(&[&base[..], &extra[..]].concat());
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "{extra:?}: {}", stderr(&o));
    }
    let bad = write(dir.path(), "bad.toml", b"[fields]\nuser = 1\n");
    let o = run(&["run", "-I", s(&log), "--schema-file", s(&bad)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("bad.toml") && stderr(&o).contains("line 2"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_resume_with_another_mapping_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "ga4.jsonl", &std::fs::read(sample("ga4")).unwrap());
    let store = dir.path().join("state");
    let o = run(&["recovery", "init", s(&store)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("rows.jsonl");
    let base = [
        "run",
        "-I",
        s(&input),
        "-o",
        s(&out),
        "-r",
        s(&store),
        "--schema",
        "ga4",
        "-q",
    ];
    let o = run(&base);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = std::fs::read(&out).unwrap();
    let o = run(&[&base[..], &["--map", "user=event_params.ga_session_id"]].concat());
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--map was") && stderr(&o).contains("user=event_params.ga_session_id"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        rows,
        "the refused resume changed the output"
    );
}

#[test]
fn the_search_log_format_mapped_gives_the_same_rows_as_its_own_parser() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs.jsonl");
    let o = run(&[
        "generate",
        "--events",
        "20000",
        "--profile",
        "search",
        "--out",
        s(&logs),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plain = run(&["run", "-I", s(&logs), "--query-output", "-", "-q"]);
    let mapped = run(&[
        "run",
        "-I",
        s(&logs),
        "--query-output",
        "-",
        "-q",
        "--map",
        "user=user",
        "--map",
        "time=time",
        "--map",
        "type=type",
        "--map",
        "query=query",
        "--map",
        "items=items",
        "--map",
        "item=item",
    ]);
    assert!(
        plain.status.success() && mapped.status.success(),
        "{}",
        stderr(&mapped)
    );
    assert!(stdout(&plain).lines().count() > 100);
    assert_eq!(stdout(&plain), stdout(&mapped));
}

/// A mapped schema on a stdin that stays open: a departed user's row is
/// written while the input is still open, for 1 and 2 workers; closing
/// stdin ends the run with the last row.
#[test]
fn a_mapped_schema_streams_rows_from_a_live_stdin() {
    use std::io::Write as _;
    for workers in ["1", "2"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("rows.jsonl");
        let mut child = std::process::Command::new(bin())
            .args(["run", "-q", "-w", workers, "-o", s(&out), "--time-unit", "s"])
            .args([
                "--map",
                "user=who",
                "--map",
                "time=at",
                "--map",
                "type=ev",
                "--map",
                "query=text",
            ])
            .args(["--type-map", "q=search"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut input = child.stdin.take().expect("stdin");
        // Ada searches once; Bob's searches then move the input 40 minutes on.
        let mut text = String::from("{\"ev\":\"q\",\"who\":\"ada\",\"text\":\"dogs\",\"at\":1704067201}\n");
        for m in 0..40 {
            let at = 1_704_067_230 + m * 60;
            text.push_str(&format!(
                "{{\"ev\":\"q\",\"who\":\"bob\",\"text\":\"q\",\"at\":{at}}}\n"
            ));
        }
        input.write_all(text.as_bytes()).expect("write");
        input.flush().expect("flush");
        // Generous: only there to turn a hang into a failure.
        let start = std::time::Instant::now();
        while !std::fs::read_to_string(&out)
            .unwrap_or_default()
            .contains("\"user\":\"ada\"")
        {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "-w {workers}: no row while stdin is open"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        drop(input);
        let done = child.wait_with_output().expect("wait");
        assert!(
            done.status.success(),
            "-w {workers}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
        let rows = std::fs::read_to_string(&out).unwrap();
        assert_eq!(rows.lines().count(), 2, "-w {workers}: {rows}");
        assert!(rows.contains("\"user\":\"bob\""), "-w {workers}: {rows}");
    }
}
