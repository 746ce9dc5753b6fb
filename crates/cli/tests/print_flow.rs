//! `search-ctr run --print-flow`: the pipeline's step graph as Mermaid
//! text, printed without reading the input or writing any output.

mod common;

use common::{run, stdout, write, TUTORIAL};

#[test]
fn print_flow_prints_the_step_graph_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write(dir.path(), "events.jsonl", TUTORIAL.as_bytes());
    let output = dir.path().join("rows.jsonl");
    let late = dir.path().join("late.jsonl");
    let o = run(&[
        "run",
        "-I",
        input.to_str().expect("utf-8 path"),
        "-o",
        output.to_str().expect("utf-8 path"),
        "--late-output",
        late.to_str().expect("utf-8 path"),
        "--print-flow",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("flowchart TD\n"), "{text}");
    assert!(
        text.contains("subgraph flow_search_ctr [\"search_ctr (Dataflow)\"]"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("end"), "{text}");
    // Every line inside the subgraph is a node `id["label"]` or an arrow
    // `id --> id`.
    let body: Vec<&str> = text.lines().skip(2).take_while(|l| *l != "end").collect();
    for line in &body {
        let line = line.trim();
        let node = line.split_once("[\"").is_some_and(|(id, rest)| {
            id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && rest.ends_with("\"]")
        });
        let arrow = line.split_once(" --> ").is_some_and(|(a, b)| {
            [a, b]
                .iter()
                .all(|id| id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        });
        assert!(node || arrow, "not a Mermaid node or arrow: {line:?}");
    }
    for step in [
        "\"read (input)\"",
        "\"by_user\"",
        "\"sessions\"",
        "\"write (output)\"",
        "\"late_output (output)\"",
    ] {
        assert!(text.contains(step), "{step} in {text}");
    }
    assert!(body.iter().filter(|l| l.contains(" --> ")).count() >= 8, "{text}");
    // Described, not run: no output appears.
    assert!(!output.exists() && !late.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("events.jsonl")]);
}
