//! `search-ctr report` and `run --report`: the real binary writes a page
//! that loads nothing, shows the run's own figures, and a real browser
//! (when Chromium is installed) renders.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// The `data-value` of the headline figure `key`.
fn figure(html: &str, key: &str) -> String {
    let at = format!("data-key=\"{key}\" data-value=\"");
    let start = html.find(&at).unwrap_or_else(|| panic!("no figure {key}")) + at.len();
    let len = html[start..].find('"').expect("closing quote");
    html[start..start + len].to_string()
}

/// The page loads nothing: no script, style sheet, image or font from
/// elsewhere.
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script src",
        "<link",
        "src=\"http",
        "src='http",
        "href=\"http",
        "href='http",
        "url(",
        "@import",
        "<iframe",
        "<img",
    ] {
        assert!(!lower.contains(bad), "the report holds {bad:?}");
    }
    assert!(lower.contains("<style>") && lower.contains("@media print"));
}

/// Every `<svg>…</svg>` of the page.
fn svgs(html: &str) -> Vec<&str> {
    html.split("<svg")
        .skip(1)
        .map(|s| &s[..s.find("</svg>").expect("closed svg")])
        .collect()
}

/// A chart has drawn marks: bars in the bar colour or a line.
fn has_marks(svg: &str) -> bool {
    svg.contains("fill=\"#3366CC\"") || svg.contains("<polyline")
}

/// Generates `events` events and runs them with `--report`; returns the
/// page and the summary JSON.
fn generated_run(dir: &Path, events: u64, format: &str) -> (String, serde_json::Value, PathBuf) {
    let logs = dir.join(format!("logs-{events}.jsonl"));
    let o = run(&[
        "generate",
        "--events",
        &events.to_string(),
        "--late-rate",
        "0.001",
        "--invalid-rate",
        "0.001",
        "--out",
        s(&logs),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = dir.join(format!("sessions-{events}.{format}"));
    let page = dir.join(format!("report-{events}-{format}.html"));
    let o = run(&[
        "run",
        "-I",
        s(&logs),
        "-o",
        s(&rows),
        "--format",
        format,
        "--on-invalid",
        "skip",
        "--summary",
        "json",
        "--report",
        s(&page),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_str(stderr(&o).trim()).expect("summary json");
    (std::fs::read_to_string(&page).expect("report"), summary, page)
}

#[test]
fn run_report_shows_the_runs_figures_loads_nothing_and_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let (html, summary, _) = generated_run(dir.path(), 200_000, "jsonl");
    assert_self_contained(&html);
    for key in [
        "rows",
        "events",
        "late",
        "invalid",
        "other",
        "sessions_without_search",
    ] {
        assert_eq!(figure(&html, key), summary[key].to_string(), "{key}");
    }
    assert!(summary["late"].as_u64().unwrap() > 0 && summary["invalid"].as_u64().unwrap() > 0);
    let ctr: f64 = figure(&html, "ctr").parse().unwrap();
    assert_eq!(ctr, summary["ctr"].as_f64().unwrap());
    // The generated log starts at 2024-01-01, give or take its disorder.
    assert!(
        html.contains("Event time <span data-key=\"first\">202"),
        "no time range"
    );
    assert!(
        html.contains("<span data-key=\"last\">2024-01-0"),
        "no time range"
    );
    // Sessions and CTR over time, session CTR, length, duration.
    let charts = svgs(&html);
    assert_eq!(charts.len(), 5);
    for svg in &charts {
        assert!(
            has_marks(svg),
            "a chart without marks: {}",
            &svg[..svg.len().min(300)]
        );
        assert!(svg.contains("<title>"), "a chart without hover values");
    }
    // Every bucket of the time charts has a hover value, at most 200.
    let buckets = charts[0].matches("<title>").count();
    assert!((2..=200).contains(&buckets), "{buckets}");
    assert_eq!(charts[1].matches("<title>").count(), buckets);
    // The page does not grow with the input: 10× the events, far from 10×
    // the bytes.
    let (small, _, _) = generated_run(dir.path(), 20_000, "jsonl");
    let (big, small_len) = (html.len(), small.len());
    assert!(big < 5 << 20, "{big} bytes");
    assert!(
        big < 2 * small_len,
        "{small_len} bytes for 20k events, {big} for 200k"
    );
}

#[test]
fn run_report_folds_the_rows_as_written_into_the_page_reading_them_back_gives() {
    let dir = tempfile::tempdir().unwrap();
    let (html, _, _) = generated_run(dir.path(), 20_000, "jsonl");
    let rows = dir.path().join("sessions-20000.jsonl");
    let page = dir.path().join("read-back.html");
    let o = run(&["report", "--sessions", s(&rows), "-o", s(&page)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let read_back = std::fs::read_to_string(&page).unwrap();
    assert_eq!(svgs(&html), svgs(&read_back));
    for key in ["rows", "searches", "ctr", "clicks_per_search"] {
        assert_eq!(figure(&html, key), figure(&read_back, key), "{key}");
    }
    let range = |h: &str| h.split("data-key=\"first\">").nth(1).map(|r| r[..60].to_owned());
    assert_eq!(range(&html), range(&read_back));
}

#[test]
fn csv_rows_give_the_same_figures_as_jsonl_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (jsonl, _, _) = generated_run(dir.path(), 5_000, "jsonl");
    let (csv, _, _) = generated_run(dir.path(), 5_000, "csv");
    for key in ["rows", "searches", "ctr", "clicks_per_search", "late", "invalid"] {
        assert_eq!(figure(&jsonl, key), figure(&csv, key), "{key}");
    }
    assert_eq!(svgs(&jsonl), svgs(&csv));
}

const QUERIES: &str = r#"{"window_start":"2024-01-01T00:00:00.000Z","query":"dogs","searches":30,"searches_with_click":24,"ctr":0.8,"no_click_rate":0.2,"zero_result_rate":0.0,"clicks":40,"mean_first_click_position":1.5,"mrr":0.7,"mean_time_to_first_click_ms":1500.0,"reformulation_rate":0.1}
{"window_start":"2024-01-01T01:00:00.000Z","query":"dogs","searches":10,"searches_with_click":6,"ctr":0.6,"no_click_rate":0.4,"zero_result_rate":0.0,"clicks":6,"mean_first_click_position":2.0,"mrr":0.5,"mean_time_to_first_click_ms":4000.0,"reformulation_rate":0.0}
{"window_start":"2024-01-01T00:00:00.000Z","query":"<script>alert(1)</script>","searches":25,"searches_with_click":0,"ctr":0.0,"no_click_rate":1.0,"zero_result_rate":0.8,"clicks":0,"mean_first_click_position":null,"mrr":0.0,"mean_time_to_first_click_ms":null,"reformulation_rate":0.5}
"#;

const POSITIONS: &str = r#"{"window_start":"2024-01-01T00:00:00.000Z","position":1,"clicks":30,"first_clicks":25,"searches_with_results_at_position":60,"ctr_at_position":0.5}
{"window_start":"2024-01-01T00:00:00.000Z","position":2,"clicks":12,"first_clicks":4,"searches_with_results_at_position":60,"ctr_at_position":0.2}
{"window_start":"2024-01-01T00:00:00.000Z","position":3,"clicks":4,"first_clicks":1,"searches_with_results_at_position":40,"ctr_at_position":0.1}
{"window_start":"2024-01-01T00:00:00.000Z","position":"unranked","clicks":2,"first_clicks":0,"searches_with_results_at_position":0,"ctr_at_position":null}
"#;

const JUDGMENTS: &str = r#"{"window_start":"2024-01-01T00:00:00.000Z","query":"dogs","item":"rover","impressions":40,"clicks":20,"mean_position":1.0,"ctr":0.5,"coec":1.0}
{"window_start":"2024-01-01T00:00:00.000Z","query":"dogs","item":"fido","impressions":40,"clicks":10,"mean_position":2.0,"ctr":0.25,"coec":1.25}
{"window_start":"2024-01-01T00:00:00.000Z","query":"dogs","item":"rare","impressions":3,"clicks":3,"mean_position":3.0,"ctr":1.0,"coec":10.0}
"#;

/// Runs the tutorial log through `run` (gap 10 s, wait 1 s) with `before`
/// and `after` around `-o DIR/name`; the rows' path and the run's output.
fn tutorial_rows(dir: &Path, name: &str, before: &[&str], after: &[&str]) -> (PathBuf, std::process::Output) {
    let input = write(dir, "tutorial.jsonl", TUTORIAL.as_bytes());
    let rows = dir.join(name);
    let mut args = vec!["run", "-I", s(&input), "--gap", "10s", "--wait", "1s"];
    args.extend_from_slice(before);
    args.extend(["-o", s(&rows)]);
    args.extend_from_slice(after);
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    (rows, o)
}

#[test]
fn report_command_adds_query_position_and_judgment_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, _) = tutorial_rows(dir.path(), "s.csv", &["--format", "csv"], &["-q"]);
    let q = write(dir.path(), "q.jsonl", QUERIES.as_bytes());
    let p = write(dir.path(), "p.jsonl", POSITIONS.as_bytes());
    let j = write(dir.path(), "j.jsonl", JUDGMENTS.as_bytes());
    let page = dir.path().join("r.html");
    let o = run(&[
        "report",
        "--sessions",
        s(&rows),
        "--queries",
        s(&q),
        "--positions",
        s(&p),
        "--judgments",
        s(&j),
        "-o",
        s(&page),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert_self_contained(&html);
    assert_eq!(figure(&html, "rows"), "2");
    assert_eq!(figure(&html, "ctr"), "1");
    assert_eq!(figure(&html, "clicks_per_search"), "1.5");
    // Over 65 searches: no-click (0.2×30 + 0.4×10 + 25) / 65, MRR (21 + 5) / 65.
    assert_eq!(
        figure(&html, "no_click_rate").parse::<f64>().unwrap(),
        35.0 / 65.0
    );
    assert_eq!(figure(&html, "mrr").parse::<f64>().unwrap(), 26.0 / 65.0);
    assert_eq!(
        figure(&html, "zero_result_rate").parse::<f64>().unwrap(),
        20.0 / 65.0
    );
    // No summary given: no run counts.
    assert!(!html.contains("data-key=\"late\""));
    // The query text is shown, never run.
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    for table in [
        "Top queries",
        "Zero-result queries",
        "Worst queries by no-click rate",
        "Top judgments by COEC",
    ] {
        assert!(html.contains(&format!("<h3>{table}</h3>")), "{table}");
    }
    // fido (COEC 1.25) before rover (1.0); rare has too few impressions.
    let (fido, rover) = (html.find(">fido<").unwrap(), html.find(">rover<").unwrap());
    assert!(fido < rover);
    assert!(!html.contains(">rare<"));
    // 5 session charts, clicks and CTR by position, time to first click.
    let charts = svgs(&html);
    assert_eq!(charts.len(), 8);
    assert!(charts.iter().all(|c| has_marks(c)));
    assert!(html.contains("<title>position 1: CTR 50.00 % over 60 searches</title>"));
    assert!(html.contains("<title>position unranked: 2 clicks, 0 first clicks</title>"));
}

#[test]
fn report_reads_a_summary_from_captured_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, o) = tutorial_rows(dir.path(), "s.jsonl", &[], &["--summary", "json"]);
    let summary = write(
        dir.path(),
        "summary.json",
        format!("a note first\n{}", stderr(&o)).as_bytes(),
    );
    let page = dir.path().join("r.html");
    let o = run(&[
        "report",
        "--sessions",
        s(&rows),
        "--summary",
        s(&summary),
        "-o",
        s(&page),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(figure(&html, "events"), "7");
    assert_eq!(figure(&html, "late"), "0");
    assert!(!html.contains("class=\"warn\""), "rows and summary agree");
}

#[test]
fn report_errors_name_the_file_line_or_option() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "tutorial.jsonl", TUTORIAL.as_bytes());
    let page = dir.path().join("r.html");
    let (x_txt, x_jsonl) = (dir.path().join("x.txt"), dir.path().join("x.jsonl"));
    // Rows that cannot be read back.
    for (extra, want) in [
        (
            &["--format", "jsonl"][..],
            "--report reads the rows back from the --output file",
        ),
        (
            &["--format", "text", "-o", s(&x_txt)][..],
            "--report needs --format jsonl or csv",
        ),
    ] {
        let mut args = vec!["run", "-I", s(&input), "--report", s(&page)];
        args.extend_from_slice(extra);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(want), "{}", stderr(&o));
    }
    // The report is an output: never an input.
    let o = run(&["run", "-I", s(&input), "-o", s(&x_jsonl), "--report", s(&input)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--report"), "{}", stderr(&o));
    // A failed run writes no report.
    let bad = write(dir.path(), "bad.jsonl", b"{\"type\":\"search\"}\n");
    let rows = dir.path().join("s.jsonl");
    let o = run(&["run", "-I", s(&bad), "-o", s(&rows), "--report", s(&page)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!page.exists() && !rows.exists());
    // Not session rows.
    let o = run(&["report", "--sessions", s(&input), "-o", s(&page)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("tutorial.jsonl:1: not a session row"),
        "{}",
        stderr(&o)
    );
    assert!(!page.exists());
    let good = write(dir.path(), "s2.jsonl", b"");
    let q = write(dir.path(), "q.jsonl", b"{\"query\":\"q\"}\n");
    let o = run(&[
        "report",
        "--sessions",
        s(&good),
        "--queries",
        s(&q),
        "-o",
        s(&page),
    ]);
    assert!(
        stderr(&o).contains("--queries") && stderr(&o).contains("q.jsonl:1: not a query row"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("missing field `window_start`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn judgments_by_a_click_model_are_ranked_and_named_by_its_relevance() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, _) = tutorial_rows(dir.path(), "s.jsonl", &[], &["-q"]);
    let pbm = JUDGMENTS
        .replace(
            r#""coec":1.0}"#,
            r#""coec":1.0,"model":"pbm","attractiveness":0.95,"satisfaction":null,"relevance":0.95}"#,
        )
        .replace(
            r#""coec":1.25}"#,
            r#""coec":1.25,"model":"pbm","attractiveness":0.9,"satisfaction":null,"relevance":0.9}"#,
        )
        .replace(
            r#""coec":10.0}"#,
            r#""coec":10.0,"model":"pbm","attractiveness":1.0,"satisfaction":null,"relevance":1.0}"#,
        );
    let j = write(dir.path(), "j.jsonl", pbm.as_bytes());
    let page = dir.path().join("r.html");
    let o = run(&[
        "report",
        "--sessions",
        s(&rows),
        "--judgments",
        s(&j),
        "--min-impressions",
        "10",
        "-o",
        s(&page),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    let j = section(&html, "judgments");
    assert!(
        j.contains("Top judgments by relevance") && j.contains("relevance (PBM)"),
        "{j}"
    );
    // By relevance rover (0.95) comes before fido (0.1), though fido's COEC
    // (1.25) is the higher.
    assert!(j.find("rover").unwrap() < j.find("fido").unwrap(), "{j}");
}

/// The `<section id="ID">` of a page.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\""))
        .unwrap_or_else(|| panic!("no section {id}"));
    let end = html[start..].find("</section>").map_or(html.len(), |e| start + e);
    &html[start..end]
}

/// A run of the search profile with every analytics output and
/// `--report`, in `format`: (its page, the standalone report's page of the
/// same files).
fn analytics_run(dir: &Path, format: &str) -> (String, String) {
    let logs = dir.join("search.jsonl");
    if !logs.exists() {
        let o = run(&[
            "generate",
            "--profile",
            "search",
            "--events",
            "40000",
            "--out",
            s(&logs),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let out = |name: &str| dir.join(format!("{name}.{format}"));
    let page = dir.join(format!("run-{format}.html"));
    let o = run(&[
        "run",
        "-I",
        s(&logs),
        "--format",
        format,
        "-o",
        s(&out("s")),
        "--query-output",
        s(&out("q")),
        "--position-output",
        s(&out("p")),
        "--judgment-output",
        s(&out("j")),
        "--min-impressions",
        "2",
        "--report",
        s(&page),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let standalone = dir.join(format!("report-{format}.html"));
    let o = run(&[
        "report",
        "--sessions",
        s(&out("s")),
        "--queries",
        s(&out("q")),
        "--positions",
        s(&out("p")),
        "--judgments",
        s(&out("j")),
        "-o",
        s(&standalone),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    (
        std::fs::read_to_string(&page).unwrap(),
        std::fs::read_to_string(&standalone).unwrap(),
    )
}

#[test]
fn run_report_charts_every_analytics_output_as_report_does() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["jsonl", "csv"] {
        let (from_run, standalone) = analytics_run(dir.path(), format);
        for id in ["queries", "positions", "judgments", "sessions", "over-time"] {
            assert_eq!(
                section(&from_run, id),
                section(&standalone, id),
                "{format}: section {id}"
            );
            assert!(
                svgs(section(&from_run, id)).iter().all(|svg| has_marks(svg)),
                "{format}: {id}"
            );
        }
        // The sources name the files as given, not their temporary names.
        let sources = section(&from_run, "sources");
        for name in ["q", "p", "j"] {
            assert!(sources.contains(&format!("{name}.{format}<")), "{sources}");
        }
        for item in sources.split("<li>").skip(1) {
            let path = item.split(": ").nth(1).and_then(|p| p.split('<').next()).unwrap();
            assert!(Path::new(path).exists(), "{path} in {sources}");
        }
    }
}

/// With Chromium on PATH (Debian: `apt-get install chromium`; `.ci/run`
/// installs it), the page renders offline without console errors and its
/// script runs: `bench/report-screenshot.sh` checks both and writes a PNG.
#[test]
fn a_real_browser_renders_the_report() {
    let has_chromium = ["chromium", "chromium-browser", "google-chrome"].iter().any(|b| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {b}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !has_chromium {
        eprintln!("skipped: no chromium on PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (rows, _) = tutorial_rows(dir.path(), "s.jsonl", &[], &["-q"]);
    let q = write(dir.path(), "q.jsonl", QUERIES.as_bytes());
    let page = dir.path().join("r.html");
    let o = run(&[
        "report",
        "--sessions",
        s(&rows),
        "--queries",
        s(&q),
        "-o",
        s(&page),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/report-screenshot.sh");
    let png = dir.path().join("r.png");
    let o = std::process::Command::new("bash")
        .arg(&script)
        .arg(&page)
        .arg(&png)
        .output()
        .expect("run the screenshot script");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let bytes = std::fs::read(&png).expect("a screenshot");
    assert!(bytes.len() > 10_000, "{} bytes", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // `run --report` with every analytics output: the position-bias curve
    // and the query and judgment tables render too.
    analytics_run(dir.path(), "jsonl");
    let page = dir.path().join("run-jsonl.html");
    let png = dir.path().join("run.png");
    let o = std::process::Command::new("bash")
        .arg(&script)
        .arg(&page)
        .arg(&png)
        .output()
        .expect("run the screenshot script");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(std::fs::metadata(&png).expect("a screenshot").len() > 10_000);
}
