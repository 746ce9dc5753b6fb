//! The documentation is part of the contract, so it is tested like code:
//!
//! - every relative link (and `#anchor`) in README.md, ARCHITECTURE.md and
//!   docs/*.md leads to a file (and heading) that exists, and every mention
//!   of a `docs/….md`, `spec/….md` or `DESIGN.md` path in them, in the
//!   sources under crates/ and in bench/ names a file of the repository;
//! - every ```` ```jsonl valid ```` block of docs/*.md is read by the real
//!   binary without an invalid line, and every line of the "invalid
//!   examples" table of docs/input-format.md is refused with the reason
//!   the table gives;
//! - every ```` ```console ```` block of docs/*.md is run (`$ search-ctr …`,
//!   `$ cat FILE`) in a directory holding the page's named ```` ```jsonl ````
//!   blocks, and prints exactly what the page shows.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::bin;

/// The workspace root.
fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The documentation pages under docs/, sorted.
fn doc_pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    pages
}

/// README.md, ARCHITECTURE.md and docs/*.md.
fn checked_pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md"), root().join("ARCHITECTURE.md")];
    pages.extend(doc_pages());
    pages
}

/// One fenced code block: its info string and its text (lines joined
/// with `\n`, a final `\n` included when not empty).
#[derive(Debug)]
struct Block {
    info: String,
    text: String,
    /// 1-based line of the opening fence.
    line: usize,
}

/// The fenced (```` ``` ````) blocks of a page, in order.
fn blocks(page: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in page.lines().enumerate() {
        match open.take() {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some(Block {
                        info: info.trim().to_owned(),
                        text: String::new(),
                        line: i + 1,
                    });
                }
            }
            Some(mut b) => {
                if line.trim_end() == "```" {
                    out.push(b);
                } else {
                    b.text.push_str(line);
                    b.text.push('\n');
                    open = Some(b);
                }
            }
        }
    }
    assert!(open.is_none(), "a code block is not closed");
    out
}

/// The page without its fenced blocks and inline code, where links live.
fn prose(page: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in page.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            } else if !in_code {
                out.push(c);
            }
        }
        out.push('\n');
    }
    out
}

/// Markdown link targets `[text](target)` in `text`.
fn link_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        match after.find(')') {
            Some(end) => {
                out.push(after[..end].trim().to_owned());
                rest = &after[end..];
            }
            None => break,
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a page's headings (outside code blocks).
fn anchors(page: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut out = BTreeSet::new();
    for line in page.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.insert(slug(line.trim_start_matches('#')));
        }
    }
    out
}

/// Every path-like word of `text` ending in `.md` that starts with
/// `docs/` or `spec/` or is `DESIGN.md`.
fn doc_mentions(text: &str) -> Vec<String> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-');
    let mut out = Vec::new();
    for word in text.split(|c: char| !is_path_char(c)) {
        let word = word.trim_end_matches('.');
        let word = word.strip_prefix("./").unwrap_or(word);
        if !word.ends_with(".md") {
            continue;
        }
        let named = ["docs/", "spec/"].iter().any(|p| word.starts_with(p))
            || word == "DESIGN.md"
            || word.ends_with("/DESIGN.md");
        if named {
            out.push(word.to_owned());
        }
    }
    out
}

#[test]
fn the_documentation_pages_exist_and_the_readme_lists_them() {
    let readme = read(&root().join("README.md"));
    for page in ["docs/input-format.md", "docs/sessions.md", "docs/design.md"] {
        assert!(root().join(page).is_file(), "{page} is missing");
        assert!(
            link_targets(&readme).iter().any(|t| t == page),
            "README.md does not link {page}"
        );
    }
    let help = Command::new(bin())
        .args(["run", "--help"])
        .output()
        .expect("run --help");
    let help = String::from_utf8_lossy(&help.stdout);
    for page in ["docs/input-format.md", "docs/sessions.md"] {
        assert!(
            help.contains(page),
            "`search-ctr run --help` does not cite {page}"
        );
    }
}

#[test]
fn every_relative_link_leads_to_a_file_and_heading_that_exist() {
    let mut broken = Vec::new();
    for page in checked_pages() {
        let text = read(&page);
        let dir = page.parent().expect("a page has a directory");
        for target in link_targets(&prose(&text)) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = match target.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (target.as_str(), None),
            };
            let file = if file.is_empty() {
                page.clone()
            } else {
                dir.join(file)
            };
            if !file.exists() {
                broken.push(format!("{}: {target}: no such file", page.display()));
                continue;
            }
            if let Some(anchor) = anchor {
                if file.extension().is_some_and(|x| x == "md") && !anchors(&read(&file)).contains(anchor) {
                    broken.push(format!("{}: {target}: no such heading", page.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// Files under `dir` (recursively, skipping `target` and hidden entries)
/// whose name ends in one of `exts`.
fn files_under(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            files_under(&path, exts, out);
        } else if exts.iter().any(|x| name.ends_with(x)) {
            out.push(path);
        }
    }
}

#[test]
fn every_mention_of_a_doc_names_a_file_that_exists() {
    let mut files = checked_pages();
    let exts = ["rs", "md", "sh", "toml", "py"].map(|x| format!(".{x}"));
    let exts: Vec<&str> = exts.iter().map(String::as_str).collect();
    files_under(&root().join("crates"), &exts, &mut files);
    files_under(&root().join("bench"), &exts, &mut files);
    let this_file = Path::new(file!()).file_name().expect("a file name");
    let mut missing = Vec::new();
    for file in &files {
        if file.file_name() == Some(this_file) {
            continue;
        }
        let text = read(file);
        for mention in doc_mentions(&text) {
            if !root().join(&mention).is_file() {
                missing.push(format!("{}: {mention}", file.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "mentions of files that do not exist:\n{}",
        missing.join("\n")
    );
}

/// Runs `search-ctr args…` in `dir`; (exit code, stdout, stderr).
fn run_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run search-ctr");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_valid_jsonl_example_is_read_without_an_invalid_line() {
    let mut checked = 0;
    for page in doc_pages() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (i, b) in blocks(&read(&page)).iter().enumerate() {
            let words: Vec<&str> = b.info.split_whitespace().collect();
            if words.first() != Some(&"jsonl") {
                continue;
            }
            let at = format!("{}:{}", page.display(), b.line);
            match words.get(1) {
                Some(&"valid") => {}
                Some(&"file") => continue,
                _ => panic!("{at}: a ```jsonl block must be labelled `valid` or `file NAME`"),
            }
            let file = common::write(dir.path(), &format!("block{i}.jsonl"), b.text.as_bytes());
            let (code, _, stderr) = run_in(dir.path(), &["run", "-I", common::s(&file), "--summary", "json"]);
            assert_eq!(code, Some(0), "{at}: the example is refused: {stderr}");
            let summary: serde_json::Value = stderr
                .lines()
                .rev()
                .find_map(|l| serde_json::from_str(l).ok())
                .unwrap_or_else(|| panic!("{at}: no JSON summary in {stderr}"));
            let lines = b.text.lines().filter(|l| !l.trim().is_empty()).count() as u64;
            assert_eq!(summary["invalid"], 0, "{at}: {summary}");
            assert_eq!(
                summary["events"].as_u64().unwrap_or(0) + summary["other"].as_u64().unwrap_or(0),
                lines,
                "{at}: not every line was read as an event: {summary}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} valid examples found");
}

/// The rows of the table after the `docs-test: invalid examples` marker of
/// docs/input-format.md: (line, reason), both written as inline code.
fn invalid_examples() -> Vec<(String, String)> {
    let page = read(&root().join("docs/input-format.md"));
    let (_, after) = page
        .split_once("<!-- docs-test: invalid examples")
        .expect("docs/input-format.md has the invalid examples marker");
    let mut rows = Vec::new();
    for line in after.lines().skip(1) {
        if !line.starts_with('|') {
            if rows.is_empty() {
                continue;
            }
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let code = |c: &str| {
            c.strip_prefix('`')
                .and_then(|c| c.strip_suffix('`'))
                .map(str::to_owned)
        };
        if let [a, b] = cells.as_slice() {
            if let (Some(a), Some(b)) = (code(a), code(b)) {
                rows.push((a, b));
            }
        }
    }
    rows
}

#[test]
fn every_documented_invalid_line_gives_its_documented_reason() {
    let examples = invalid_examples();
    assert!(examples.len() >= 10, "only {} invalid examples", examples.len());
    let dir = tempfile::tempdir().expect("temp dir");
    let text: String = examples.iter().map(|(l, _)| format!("{l}\n")).collect();
    let input = common::write(dir.path(), "bad.jsonl", text.as_bytes());
    let dead = dir.path().join("dead.jsonl");
    let (code, _, stderr) = run_in(
        dir.path(),
        &[
            "run",
            "-I",
            common::s(&input),
            "--on-invalid",
            "skip",
            "--dead-letter",
            common::s(&dead),
            "-q",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let letters: Vec<serde_json::Value> = read(&dead)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a dead letter is JSON"))
        .collect();
    assert_eq!(
        letters.len(),
        examples.len(),
        "every example line must be invalid"
    );
    for ((line, reason), letter) in examples.iter().zip(&letters) {
        assert_eq!(letter["text"], line.as_str());
        assert_eq!(letter["reason"], reason.as_str(), "for {line}");
    }
    // And `--on-invalid fail` prints the same reason, naming file and line.
    let (line, reason) = &examples[0];
    let one = common::write(dir.path(), "one.jsonl", format!("\n{line}\n").as_bytes());
    let (code, _, stderr) = run_in(dir.path(), &["run", "-I", common::s(&one), "-q"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        format!("search-ctr: error: {}:2: {reason}\n", common::s(&one))
    );
}

#[test]
fn every_console_example_prints_what_the_page_shows() {
    let mut commands = 0;
    for page in doc_pages() {
        let dir = tempfile::tempdir().expect("temp dir");
        let all = blocks(&read(&page));
        for b in &all {
            let words: Vec<&str> = b.info.split_whitespace().collect();
            if let ["jsonl", "valid" | "file", name] = words.as_slice() {
                common::write(dir.path(), name, b.text.as_bytes());
            }
        }
        for b in all.iter().filter(|b| b.info == "console") {
            let at = format!("{}:{}", page.display(), b.line);
            let mut steps: Vec<(String, String)> = Vec::new();
            for line in b.text.lines() {
                if let Some(cmd) = line.strip_prefix("$ ") {
                    steps.push((cmd.to_owned(), String::new()));
                } else if let Some((_, expected)) = steps.last_mut() {
                    expected.push_str(line);
                    expected.push('\n');
                } else {
                    panic!("{at}: a console block starts with `$ COMMAND`");
                }
            }
            for (cmd, expected) in steps {
                assert!(
                    !cmd.contains(['"', '\'', '|', '>', '<', '&', ';']),
                    "{at}: `{cmd}`: quotes, pipes and redirections are not supported here"
                );
                let words: Vec<&str> = cmd.split_whitespace().collect();
                let got = match words.as_slice() {
                    ["search-ctr", args @ ..] => {
                        let (_, stdout, stderr) = run_in(dir.path(), args);
                        stdout + &stderr
                    }
                    ["cat", file] => read(&dir.path().join(file)),
                    _ => panic!("{at}: `{cmd}`: only `search-ctr …` and `cat FILE` can be checked"),
                };
                assert_eq!(got, expected, "{at}: `{cmd}` prints something else");
                commands += 1;
            }
        }
    }
    assert!(commands >= 5, "only {commands} console commands found");
}

#[test]
fn doc_mentions_are_found() {
    assert_eq!(
        doc_mentions("see `spec/events.md`, docs/a.md. and ./DESIGN.md §2; not x.md"),
        vec!["spec/events.md", "docs/a.md", "DESIGN.md"]
    );
    assert_eq!(slug(" The tutorial's events"), "the-tutorials-events");
    assert_eq!(
        slug(" Worked example: the tutorial"),
        "worked-example-the-tutorial"
    );
    assert_eq!(
        link_targets(&prose("a [b](x.md#c) `[d](e.md)` [f](https://g)")),
        vec!["x.md#c", "https://g"]
    );
}
