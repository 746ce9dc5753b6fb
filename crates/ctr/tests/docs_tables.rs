//! The docs' field tables of the output rows are those their declarations
//! make (`ctr::row_format::markdown_table`): a field added, renamed or
//! re-described in the code must be so in the docs too.

use ctr::analytics::rows::{JudgmentRow, PositionRow, QueryRow};
use ctr::metrics::Row;
use ctr::row_format::{markdown_table, RowFormat};

fn doc(name: &str) -> String {
    let path = format!("{}/../../docs/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn holds<R: RowFormat>(doc_name: &str, text: &str) {
    let table = markdown_table::<R>();
    assert!(
        text.contains(&table),
        "docs/{doc_name} must hold the {} row's table, as its declaration makes it:\n\n{table}",
        R::WHAT
    );
}

#[test]
fn the_docs_tables_are_the_declarations() {
    let sessions = doc("sessions.md");
    holds::<Row>("sessions.md", &sessions);
    let analytics = doc("analytics.md");
    holds::<QueryRow>("analytics.md", &analytics);
    holds::<PositionRow>("analytics.md", &analytics);
    holds::<JudgmentRow>("analytics.md", &analytics);
}

#[test]
#[ignore = "prints the tables, to paste into the docs"]
fn print_tables() {
    for t in [
        markdown_table::<Row>(),
        markdown_table::<QueryRow>(),
        markdown_table::<PositionRow>(),
        markdown_table::<JudgmentRow>(),
    ] {
        println!("{t}");
    }
}
