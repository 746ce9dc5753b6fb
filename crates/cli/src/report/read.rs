//! Reading the rows a report is made of, one at a time: session rows in
//! the `jsonl` or `csv` format of docs/sessions.md (told apart by their
//! first line), analytics rows as JSON Lines. Errors name the file and line
//! and what was expected.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{anyhow, Context};
use ctr::metrics::Row;
use ctr::row_format::RowFormat;

/// Opens `path` for reading (`option` names it in errors).
fn open(option: &str, path: &Path) -> anyhow::Result<BufReader<File>> {
    let file = File::open(path).with_context(|| format!("{option} {}: cannot open", path.display()))?;
    Ok(BufReader::with_capacity(1 << 20, file))
}

/// Calls `each` with every line of `path` (without its line break, blank
/// lines skipped) and its number from 1.
fn for_lines(
    option: &str,
    path: &Path,
    mut each: impl FnMut(&str, u64) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut input = open(option, path)?;
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = input
            .read_line(&mut line)
            .with_context(|| format!("{option} {}:{}: cannot read", path.display(), number + 1))?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        let text = line.trim_end_matches(['\n', '\r']);
        if !text.trim().is_empty() {
            each(text, number)?;
        }
    }
}

/// Reads the rows of `path` as `R`s, JSON Lines or CSV (a file whose
/// first line is `R`'s CSV header is CSV; a quoted field may hold line
/// breaks). JSON fields are read by name, unknown ones ignored.
pub fn rows<R: RowFormat>(option: &str, path: &Path, mut each: impl FnMut(R)) -> anyhow::Result<()> {
    let doc = R::DOC_PAGE;
    let mut csv: Option<bool> = None;
    // A CSV record runs on while a quoted field holds a line break: until
    // its double quotes balance.
    let mut pending = String::new();
    let mut pending_from = 0u64;
    for_lines(option, path, |text, number| {
        let is_csv =
            *csv.get_or_insert_with(|| text.trim_start_matches('\u{feff}') == R::CSV_HEADER.trim_end());
        if !is_csv {
            let row = R::read_jsonl(text).map_err(|e| {
                anyhow!(
                    "{option} {}:{number}: not a {} row (jsonl or csv, {doc}): {e}",
                    path.display(),
                    R::WHAT
                )
            })?;
            each(row);
            return Ok(());
        }
        if number == 1 {
            return Ok(());
        }
        if pending.is_empty() {
            pending_from = number;
        } else {
            pending.push('\n');
        }
        pending.push_str(text);
        if pending.bytes().filter(|&b| b == b'"').count() % 2 == 1 {
            return Ok(());
        }
        let row =
            R::read_csv(&pending).map_err(|e| anyhow!("{option} {}:{pending_from}: {e}", path.display()))?;
        pending.clear();
        each(row);
        Ok(())
    })?;
    if !pending.is_empty() {
        return Err(anyhow!(
            "{option} {}:{pending_from}: a quoted field is not closed before the end of the file",
            path.display()
        ));
    }
    Ok(())
}

/// Reads the session rows of `path`, `jsonl` or `csv`.
pub fn session_rows(option: &str, path: &Path, mut each: impl FnMut(&Row)) -> anyhow::Result<()> {
    rows(option, path, |r: Row| each(&r))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV_HEADER: &str = Row::CSV_HEADER;

    fn read(text: &str) -> anyhow::Result<Vec<Row>> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("rows");
        std::fs::write(&p, text)?;
        let mut rows = Vec::new();
        session_rows("--sessions", &p, |r| rows.push(r.clone()))?;
        Ok(rows)
    }

    const T5: i64 = 1_704_067_205_000;

    #[test]
    fn jsonl_and_csv_rows_read_the_same() {
        let jsonl = r#"{"user":"2","session_start":"2024-01-01T00:00:05.000Z","session_end":"2024-01-01T00:00:08.000Z","events":4,"searches":1,"clicks":2,"searches_with_click":1,"ctr":1.0,"clicks_per_search":2.0}
"#;
        let csv = format!(
            "{CSV_HEADER}\"a,\"\"b\"\"\nc\",2024-01-01T00:00:05.000Z,2024-01-01T00:00:08.000Z,4,1,2,1,1.0,2.0\n"
        );
        let want = Row {
            user: "2".into(),
            session_start: T5,
            session_end: T5 + 3_000,
            events: 4,
            searches: 1,
            clicks: 2,
            searches_with_click: 1,
            ctr: 1.0,
            clicks_per_search: 2.0,
        };
        assert_eq!(read(jsonl).unwrap(), std::slice::from_ref(&want));
        let from_csv = Row {
            user: "a,\"b\"\nc".into(),
            ..want
        };
        assert_eq!(read(&csv).unwrap(), [from_csv]);
        assert_eq!(read("").unwrap(), []);
    }

    #[test]
    fn bad_rows_name_the_line_and_what_was_expected() {
        let e = read("{\"user\":\"1\"}\n").unwrap_err();
        assert!(format!("{e:#}").contains("rows:1: not a session row"), "{e:#}");
        let e = read(&format!(
            "{CSV_HEADER}1,x,2024-01-01T00:00:05.000Z,1,1,0,0,0.0,0.0\n"
        ))
        .unwrap_err();
        assert!(
            format!("{e:#}").contains("rows:2: session_start: \"x\" is not an RFC 3339 time"),
            "{e:#}"
        );
        let e = read(&format!("{CSV_HEADER}\"open,2024-01-01T00:00:05.000Z\n")).unwrap_err();
        assert!(
            format!("{e:#}").contains("rows:2: a quoted field is not closed"),
            "{e:#}"
        );
    }
}
