//! End-to-end tests of how `search-ctr run` reads its inputs and reports
//! what looks wrong with them: directories, gzip, I/O errors, long lines,
//! unknown types, time units.

mod common;

use std::io::{Read, Write};
use std::path::Path;

use common::*;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// The tutorial's rows, as a plain run over a plain file gives them.
fn tutorial_rows(dir: &Path) -> String {
    let plain = write(dir, "plain-tutorial.jsonl", TUTORIAL.as_bytes());
    let o = run(&["run", "-I", s(&plain), "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 2);
    stdout(&o)
}

/// The tutorial with integer times: `scale` units per second.
fn tutorial_with_integer_times(scale: i64) -> String {
    TUTORIAL
        .lines()
        .map(|l| {
            let (head, tail) = l.split_once(r#""time":"2024-01-01T00:00:0"#).unwrap();
            let second: i64 = tail[..1].parse().unwrap();
            format!("{head}\"time\":{}}}\n", (1_704_067_200 + second) * scale)
        })
        .collect()
}

#[test]
fn nested_directories_are_read_in_path_order_skipping_hidden_entries() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("logs");
    for d in ["a", "a/b", "a-c", ".git", "a/.cache"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    // One invalid line per file: the dead letters come out in input order.
    for f in [
        "b.log",
        "a/b/x.log",
        "a/y.log",
        "a-c/z.log",
        ".hidden.log",
        ".git/h.log",
        "a/.cache/h.log",
    ] {
        write(&root, f, format!("not json {f}\n").as_bytes());
    }
    let dead = dir.path().join("dead.jsonl");
    let o = run(&[
        "run",
        "-I",
        s(&root),
        "--on-invalid",
        "skip",
        "--dead-letter",
        s(&dead),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let letters = std::fs::read_to_string(&dead).unwrap();
    let files: Vec<String> = letters
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let file = v["file"].as_str().unwrap().to_owned();
            Path::new(&file)
                .strip_prefix(&root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    // Whole-path byte order: "a-c/" sorts before "a/" ('-' < '/').
    assert_eq!(files, ["a-c/z.log", "a/b/x.log", "a/y.log", "b.log"]);
    let err = stderr(&o);
    assert!(err.contains("skipped 4 invalid lines"), "{err}");
    assert!(
        err.contains("skipped 1 hidden file and 2 hidden directories in input directories"),
        "{err}"
    );
    let o = run(&["run", "-I", s(&root), "--on-invalid", "skip", "--summary", "json"]);
    let summary: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(
        (summary["hidden_files"].as_u64(), summary["hidden_dirs"].as_u64()),
        (Some(1), Some(2))
    );
}

#[test]
fn gzip_data_is_decompressed_whatever_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let want = tutorial_rows(dir.path());
    let packed = write(dir.path(), "tutorial.log", &gzip(TUTORIAL.as_bytes()));
    let o = run(&["run", "-I", s(&packed), "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), want);
}

#[test]
fn a_plain_file_named_gz_is_read_as_plain() {
    let dir = tempfile::tempdir().unwrap();
    let want = tutorial_rows(dir.path());
    let plain = write(dir.path(), "tutorial.jsonl.gz", TUTORIAL.as_bytes());
    let o = run(&["run", "-I", s(&plain), "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), want);
}

#[test]
fn a_missing_file_is_named_with_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such.jsonl");
    let o = run(&["run", "-I", s(&missing)]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains(&format!("{}: ", missing.display())), "{err}");
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
}

#[test]
fn a_damaged_gz_names_the_last_line_read() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..20_000)
        .map(|i| {
            format!(
                r#"{{"type":"search","user":"u{}","query":"q{i}","time":{}}}"#,
                i % 97,
                1_704_067_200_000i64 + i
            ) + "\n"
        })
        .collect();
    let whole = gzip(text.as_bytes());
    let cut = &whole[..whole.len() / 2];
    let path = write(dir.path(), "logs.gz", cut);
    // What can be decompressed of it: that many whole lines.
    let mut good = Vec::new();
    let _ = flate2::read::MultiGzDecoder::new(cut).read_to_end(&mut good);
    let lines = good.iter().filter(|&&b| b == b'\n').count();
    assert!(lines > 0);
    let o = run(&["run", "-I", s(&path), "-q"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("logs.gz: corrupt gzip data after line {lines}: ")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_too_long_line_says_its_length_and_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("{{\"type\":\"search\",\"query\":\"{}\"}}\n", "x".repeat(2_000));
    let path = write(dir.path(), "long.jsonl", long.as_bytes());
    let o = run(&["run", "-I", s(&path), "--max-line-bytes", "100"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let len = long.len() - 1;
    assert!(
        err.contains(&format!(
            "long.jsonl:1: line too long: {len} bytes, the limit is 100 (--max-line-bytes)"
        )),
        "{err}"
    );
}

#[test]
fn unknown_types_are_listed_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = TUTORIAL.to_owned();
    for _ in 0..3 {
        text.push_str(r#"{"type":"SEARCH","user":1,"query":"dogs","time":"2024-01-01T00:00:05Z"}"#);
        text.push('\n');
    }
    text.push_str("{\"type\":\"Foo\"}\n");
    let path = write(dir.path(), "mixed.jsonl", text.as_bytes());
    let o = run(&["run", "-I", s(&path)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(r#"other (unknown type): 4 — "SEARCH" 3, "Foo" 1"#),
        "{err}"
    );
    let o = run(&["run", "-I", s(&path), "--summary", "json"]);
    let summary: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(summary["other"], 4);
    assert_eq!(
        summary["other_types"],
        serde_json::json!([{"type": "SEARCH", "count": 3}, {"type": "Foo", "count": 1}])
    );
}

#[test]
fn time_unit_s_reads_seconds_as_ms_reads_milliseconds() {
    let dir = tempfile::tempdir().unwrap();
    let want = tutorial_rows(dir.path());
    let ms = write(
        dir.path(),
        "ms.jsonl",
        tutorial_with_integer_times(1000).as_bytes(),
    );
    let secs = write(dir.path(), "s.jsonl", tutorial_with_integer_times(1).as_bytes());
    let ns = write(
        dir.path(),
        "ns.jsonl",
        tutorial_with_integer_times(1_000_000_000).as_bytes(),
    );
    for (path, unit) in [(&ms, "ms"), (&secs, "s"), (&ns, "ns")] {
        let o = run(&["run", "-I", s(path), "--time-unit", unit]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), want, "--time-unit {unit}");
        assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    }
}

#[test]
fn seconds_read_as_milliseconds_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let secs = write(dir.path(), "s.jsonl", tutorial_with_integer_times(1).as_bytes());
    let o = run(&["run", "-I", s(&secs)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(
            "search-ctr: warning: all 7 event times fall in January 1970: are they seconds? use --time-unit s"
        ),
        "{err}"
    );
    let o = run(&["run", "-I", s(&secs), "--summary", "json"]);
    let summary: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert!(
        summary["warnings"][0].as_str().unwrap().contains("January 1970"),
        "{summary}"
    );
}

#[test]
fn the_summary_says_one_row_and_one_session() {
    let dir = tempfile::tempdir().unwrap();
    let one = r#"{"type":"search","user":1,"query":"dogs","time":"2024-01-01T00:00:05Z"}"#;
    let path = write(dir.path(), "one.jsonl", format!("{one}\n").as_bytes());
    let o = run(&["run", "-I", s(&path), "-o", s(&dir.path().join("rows.jsonl"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("1 event read (valid lines of a known type)"),
        "{err}"
    );
    assert!(
        err.contains("1 session (0 without a search: no row), 1 row written"),
        "{err}"
    );
}

/// Issue 25, item 13: a dangling or self-looping symbolic link inside an
/// input directory fails the run naming it and saying what to do (exit 1,
/// nothing written), with 1 and 2 workers.
#[test]
fn a_broken_symlink_in_an_input_directory_is_named() {
    for (link, target, why) in [
        ("b.jsonl", "/nonexistent/file", "No such file or directory"),
        ("c.jsonl", "c.jsonl", "Too many levels of symbolic links"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        write(&logs, "a.jsonl", TUTORIAL.as_bytes());
        std::os::unix::fs::symlink(target, logs.join(link)).unwrap();
        let out = dir.path().join("out.jsonl");
        for workers in ["1", "2"] {
            let o = run(&["run", "-q", "-w", workers, "-I", s(&logs), "-o", s(&out)]);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{err}");
            assert!(
                err.contains(&format!(
                    "{}: a symbolic link in input directory {} whose target cannot be read",
                    s(&logs.join(link)),
                    s(&logs)
                )) && err.contains(why)
                    && err.contains("remove it, or make it point to a file"),
                "{err}"
            );
            assert!(!out.exists(), "nothing written");
        }
    }
}
