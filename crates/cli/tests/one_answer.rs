//! "One file, one answer" (trust issue): the same log gives byte-identical
//! rows, late lines and dead letters whether it is read whole, in chunks of
//! any size, gzip-compressed or from stdin, with any number of workers —
//! also when its disorder is far beyond `--wait`, so that lateness
//! verdicts at chunk boundaries would differ if chunks were not taken in
//! byte order.

mod common;

use std::path::Path;

use common::{run, run_with_stdin, s, stderr};

/// Rows, late lines and dead letters of one run.
fn outputs(dir: &Path, input: &str, extra: &[&str], stdin: Option<&[u8]>) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (rows, late, dead) = (
        dir.join("rows.csv"),
        dir.join("late.jsonl"),
        dir.join("dead.jsonl"),
    );
    let mut args = vec![
        "run",
        "-I",
        input,
        "--format",
        "csv",
        "--wait",
        "1s",
        "--gap",
        "20s",
        "--on-invalid",
        "skip",
        "--dead-letter",
        s(&dead),
        "--late-output",
        s(&late),
        "-o",
        s(&rows),
        "-q",
    ];
    args.extend_from_slice(extra);
    let out = match stdin {
        Some(bytes) => run_with_stdin(&args, bytes),
        None => run(&args),
    };
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let read = |p: &Path| std::fs::read(p).expect("read output");
    (read(&rows), read(&late), read(&dead))
}

#[test]
fn a_file_gives_the_same_bytes_whole_chunked_gzipped_and_from_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("log.jsonl");
    // Disorder of 30 s against a wait of 1 s: many late events.
    let gen = run(&[
        "generate",
        "--events",
        "60000",
        "--users",
        "300",
        "--disorder",
        "30s",
        "--late-rate",
        "0.01",
        "--invalid-rate",
        "0.002",
        "--out",
        s(&log),
    ]);
    assert!(gen.status.success(), "{}", stderr(&gen));
    let bytes = std::fs::read(&log).expect("read log");
    let work = tempfile::tempdir().expect("tempdir");
    let whole = outputs(work.path(), s(&log), &["--chunk-bytes", "0"], None);
    assert!(!whole.0.is_empty() && !whole.1.is_empty() && !whole.2.is_empty());

    // Chunks of several sizes (the log is about 5 MB), 1, 2 and 4 workers.
    for (chunk, workers) in [("100000", "1"), ("100000", "4"), ("777777", "2"), ("16384", "3")] {
        let got = outputs(
            work.path(),
            s(&log),
            &["--chunk-bytes", chunk, "-w", workers],
            None,
        );
        assert!(
            got.0 == whole.0,
            "rows differ with --chunk-bytes {chunk} -w {workers}"
        );
        assert!(
            got.1 == whole.1,
            "late lines differ with --chunk-bytes {chunk} -w {workers}"
        );
        assert!(
            got.2 == whole.2,
            "dead letters differ with --chunk-bytes {chunk} -w {workers}"
        );
    }

    // Compressed, and from stdin.
    let gz = dir.path().join("log.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &bytes).expect("gzip");
    std::fs::write(&gz, enc.finish().expect("gzip")).expect("write gz");
    let from_gz = outputs(work.path(), s(&gz), &["-w", "2"], None);
    assert!(
        from_gz.0 == whole.0 && from_gz.1 == whole.1,
        "a .gz gives other rows"
    );
    let from_stdin = outputs(work.path(), "-", &["-w", "2"], Some(&bytes));
    assert!(
        from_stdin.0 == whole.0 && from_stdin.1 == whole.1,
        "stdin gives other rows"
    );
    // Dead letters name the file: only the rows and the late lines compare
    // across file names; their line numbers must still agree.
    let lines = |d: &[u8]| -> Vec<u64> {
        String::from_utf8_lossy(d)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("dead letter is JSON");
                v["line"].as_u64().expect("line number")
            })
            .collect()
    };
    assert_eq!(lines(&from_gz.2), lines(&whole.2));
    assert_eq!(lines(&from_stdin.2), lines(&whole.2));
}

#[test]
fn fail_mode_names_the_first_invalid_line_in_byte_order_whatever_the_chunking() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A far-future event early on, then an invalid line at 35 and another
    // much later, in another chunk whose own marks are lower.
    let mut text = String::new();
    for i in 0..6000u64 {
        let line = match i + 1 {
            3 => r#"{"type":"search","user":9,"query":"q","time":"2099-01-01T00:00:00Z"}"#.to_string(),
            35 | 5000 => "{not json".to_string(),
            _ => format!(
                r#"{{"type":"search","user":{},"query":"q","time":{}}}"#,
                i % 17,
                1_700_000_000_000u64 + i * 1000
            ),
        };
        text.push_str(&line);
        text.push('\n');
    }
    let log = common::write(dir.path(), "log.jsonl", text.as_bytes());
    for chunk in ["0", "4096", "100000"] {
        for workers in ["1", "3"] {
            let out = run(&["run", "-I", s(&log), "--chunk-bytes", chunk, "-w", workers, "-q"]);
            assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
            assert!(
                stderr(&out).contains("log.jsonl:35:"),
                "--chunk-bytes {chunk} -w {workers}: {}",
                stderr(&out)
            );
        }
    }
}
