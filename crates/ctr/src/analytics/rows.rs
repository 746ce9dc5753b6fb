//! The analytics rows and their JSON Lines and CSV forms, written like the
//! session rows of [`crate::format`]: times as RFC 3339 UTC with three
//! fractional digits, floats in `serde_json`'s shortest form, a missing
//! value (a mean of nothing) as `null` in JSON and an empty CSV field.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use super::searches::Position;
use crate::format::{write_json_f64, write_json_str, write_u64};
use crate::timestamp::format_rfc3339_ms;

/// One (window, query) row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryRow {
    /// Start of the window, ms since the Unix epoch.
    pub window_start: i64,
    /// The normalised query.
    pub query: CompactString,
    /// Searches.
    pub searches: u64,
    /// Searches with at least one click.
    pub searches_with_click: u64,
    /// `searches_with_click / searches`.
    pub ctr: f64,
    /// `1 - ctr`, computed as `(searches - searches_with_click) / searches`.
    pub no_click_rate: f64,
    /// Share of searches whose result list is empty.
    pub zero_result_rate: f64,
    /// Clicks of the query's searches.
    pub clicks: u64,
    /// Mean position of first clicks, over searches whose first click is
    /// ranked; `None` when there is none.
    pub mean_first_click_position: Option<f64>,
    /// Mean reciprocal rank over all searches (0 for those without a ranked
    /// first click).
    pub mrr: f64,
    /// Mean time from search to first click, over clicked searches.
    pub mean_time_to_first_click_ms: Option<f64>,
    /// Share of searches that were reformulated.
    pub reformulation_rate: f64,
}

/// One (window, position) row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionRow {
    /// Start of the window, ms since the Unix epoch.
    pub window_start: i64,
    /// The position (`unranked` last).
    pub position: Position,
    /// Clicks at this position.
    pub clicks: u64,
    /// Searches whose first click is at this position.
    pub first_clicks: u64,
    /// Searches whose result list has this position (impressions).
    pub searches_with_results_at_position: u64,
    /// `clicks / searches_with_results_at_position`; `None` without
    /// impressions (always for `unranked`).
    pub ctr_at_position: Option<f64>,
}

/// One implicit judgment: (window, query, item).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgmentRow {
    /// Start of the window, ms since the Unix epoch.
    pub window_start: i64,
    /// The normalised query.
    pub query: CompactString,
    /// The item.
    pub item: CompactString,
    /// Searches of the query whose result list holds the item.
    pub impressions: u64,
    /// Clicks on the item by those searches.
    pub clicks: u64,
    /// Mean position of the item over its impressions.
    pub mean_position: f64,
    /// `clicks / impressions`.
    pub ctr: f64,
    /// Clicks over expected clicks: `clicks / Σ ctr_at_position(p)` over
    /// the impressions; `None` when the expected clicks are 0.
    pub coec: Option<f64>,
}

/// The rows of one closed window, each kind in its output order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowRows {
    /// Start of the window, ms since the Unix epoch.
    pub window_start: i64,
    /// Query rows, by query.
    pub queries: Vec<QueryRow>,
    /// Position rows, by position (`unranked` last).
    pub positions: Vec<PositionRow>,
    /// Judgment rows, by query then item.
    pub judgments: Vec<JudgmentRow>,
}

/// CSV header of query rows, `\n` included.
pub const QUERY_CSV_HEADER: &str = "window_start,query,searches,searches_with_click,ctr,no_click_rate,\
zero_result_rate,clicks,mean_first_click_position,mrr,mean_time_to_first_click_ms,reformulation_rate\n";

/// CSV header of position rows, `\n` included.
pub const POSITION_CSV_HEADER: &str =
    "window_start,position,clicks,first_clicks,searches_with_results_at_position,ctr_at_position\n";

/// CSV header of judgment rows, `\n` included.
pub const JUDGMENT_CSV_HEADER: &str = "window_start,query,item,impressions,clicks,mean_position,ctr,coec\n";

/// Appends a query row as one JSON object and `\n`, fields in the order of
/// [`QueryRow`].
///
/// ```
/// use ctr::analytics::aggregate::QueryAgg;
/// use ctr::analytics::rows::write_query_jsonl;
/// let row = QueryAgg { searches: 2, searches_with_click: 1, ..Default::default() }.row(0, "dogs");
/// let mut out = Vec::new();
/// write_query_jsonl(&row, &mut out);
/// assert!(out.starts_with(b"{\"window_start\":\"1970-01-01T00:00:00.000Z\",\"query\":\"dogs\",\"searches\":2,"));
/// ```
pub fn write_query_jsonl(row: &QueryRow, out: &mut Vec<u8>) {
    json_time(b"{\"window_start\":", row.window_start, out);
    out.extend_from_slice(b",\"query\":");
    write_json_str(&row.query, out);
    json_u64(b",\"searches\":", row.searches, out);
    json_u64(b",\"searches_with_click\":", row.searches_with_click, out);
    json_f64(b",\"ctr\":", Some(row.ctr), out);
    json_f64(b",\"no_click_rate\":", Some(row.no_click_rate), out);
    json_f64(b",\"zero_result_rate\":", Some(row.zero_result_rate), out);
    json_u64(b",\"clicks\":", row.clicks, out);
    json_f64(
        b",\"mean_first_click_position\":",
        row.mean_first_click_position,
        out,
    );
    json_f64(b",\"mrr\":", Some(row.mrr), out);
    json_f64(
        b",\"mean_time_to_first_click_ms\":",
        row.mean_time_to_first_click_ms,
        out,
    );
    json_f64(b",\"reformulation_rate\":", Some(row.reformulation_rate), out);
    out.extend_from_slice(b"}\n");
}

/// Appends a query row as one CSV record, columns as in [`QUERY_CSV_HEADER`].
pub fn write_query_csv(row: &QueryRow, out: &mut Vec<u8>) {
    format_rfc3339_ms(row.window_start, out);
    out.push(b',');
    csv_str(&row.query, out);
    csv_u64(row.searches, out);
    csv_u64(row.searches_with_click, out);
    csv_f64(Some(row.ctr), out);
    csv_f64(Some(row.no_click_rate), out);
    csv_f64(Some(row.zero_result_rate), out);
    csv_u64(row.clicks, out);
    csv_f64(row.mean_first_click_position, out);
    csv_f64(Some(row.mrr), out);
    csv_f64(row.mean_time_to_first_click_ms, out);
    csv_f64(Some(row.reformulation_rate), out);
    out.push(b'\n');
}

/// Appends a position row as one JSON object and `\n`; the position is a
/// number, or the string `"unranked"`.
pub fn write_position_jsonl(row: &PositionRow, out: &mut Vec<u8>) {
    json_time(b"{\"window_start\":", row.window_start, out);
    out.extend_from_slice(b",\"position\":");
    match row.position {
        Position::Ranked(p) => write_u64(u64::from(p), out),
        Position::Unranked => out.extend_from_slice(b"\"unranked\""),
    }
    json_u64(b",\"clicks\":", row.clicks, out);
    json_u64(b",\"first_clicks\":", row.first_clicks, out);
    json_u64(
        b",\"searches_with_results_at_position\":",
        row.searches_with_results_at_position,
        out,
    );
    json_f64(b",\"ctr_at_position\":", row.ctr_at_position, out);
    out.extend_from_slice(b"}\n");
}

/// Appends a position row as one CSV record, columns as in
/// [`POSITION_CSV_HEADER`].
pub fn write_position_csv(row: &PositionRow, out: &mut Vec<u8>) {
    format_rfc3339_ms(row.window_start, out);
    out.push(b',');
    match row.position {
        Position::Ranked(p) => write_u64(u64::from(p), out),
        Position::Unranked => out.extend_from_slice(b"unranked"),
    }
    csv_u64(row.clicks, out);
    csv_u64(row.first_clicks, out);
    csv_u64(row.searches_with_results_at_position, out);
    csv_f64(row.ctr_at_position, out);
    out.push(b'\n');
}

/// Appends a judgment row as one JSON object and `\n`.
pub fn write_judgment_jsonl(row: &JudgmentRow, out: &mut Vec<u8>) {
    json_time(b"{\"window_start\":", row.window_start, out);
    out.extend_from_slice(b",\"query\":");
    write_json_str(&row.query, out);
    out.extend_from_slice(b",\"item\":");
    write_json_str(&row.item, out);
    json_u64(b",\"impressions\":", row.impressions, out);
    json_u64(b",\"clicks\":", row.clicks, out);
    json_f64(b",\"mean_position\":", Some(row.mean_position), out);
    json_f64(b",\"ctr\":", Some(row.ctr), out);
    json_f64(b",\"coec\":", row.coec, out);
    out.extend_from_slice(b"}\n");
}

/// Appends a judgment row as one CSV record, columns as in
/// [`JUDGMENT_CSV_HEADER`].
pub fn write_judgment_csv(row: &JudgmentRow, out: &mut Vec<u8>) {
    format_rfc3339_ms(row.window_start, out);
    out.push(b',');
    csv_str(&row.query, out);
    out.push(b',');
    csv_str(&row.item, out);
    csv_u64(row.impressions, out);
    csv_u64(row.clicks, out);
    csv_f64(Some(row.mean_position), out);
    csv_f64(Some(row.ctr), out);
    csv_f64(row.coec, out);
    out.push(b'\n');
}

fn json_time(key: &[u8], ms: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(key);
    out.push(b'"');
    format_rfc3339_ms(ms, out);
    out.push(b'"');
}

fn json_u64(key: &[u8], n: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(key);
    write_u64(n, out);
}

fn json_f64(key: &[u8], x: Option<f64>, out: &mut Vec<u8>) {
    out.extend_from_slice(key);
    match x {
        Some(x) => write_json_f64(x, out),
        None => out.extend_from_slice(b"null"),
    }
}

fn csv_u64(n: u64, out: &mut Vec<u8>) {
    out.push(b',');
    write_u64(n, out);
}

fn csv_f64(x: Option<f64>, out: &mut Vec<u8>) {
    out.push(b',');
    if let Some(x) = x.filter(|x| x.is_finite()) {
        write_json_f64(x, out);
    }
}

/// A CSV field, quoted (RFC 4180, `"` doubled) when it holds a `,`, `"`,
/// CR or LF, or is empty (so that an empty query is not a missing value).
fn csv_str(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    if bytes.is_empty() || bytes.iter().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        out.push(b'"');
        for &b in bytes {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(bytes);
    }
}

/// Appends a late search (one that came for a window whose rows were
/// already written, `docs/analytics.md`, "Live input") as one tagged JSON
/// object and `\n`: `late`, `window_start`, `time`, `query`, `clicks`.
///
/// ```
/// use ctr::analytics::rows::write_late_search_jsonl;
/// use ctr::analytics::searches::SearchRecord;
/// use ctr::analytics::window::Window;
/// let r = SearchRecord { time_ms: 5_000, query: "dogs".into(), results: None, clicks: vec![], next_is_search: false };
/// let mut out = Vec::new();
/// write_late_search_jsonl(&r, Window::DAY, &mut out);
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "{\"late\":\"search\",\"window_start\":\"1970-01-01T00:00:00.000Z\",\"time\":\"1970-01-01T00:00:05.000Z\",\"query\":\"dogs\",\"clicks\":0}\n"
/// );
/// ```
pub fn write_late_search_jsonl(
    r: &super::searches::SearchRecord,
    window: super::window::Window,
    out: &mut Vec<u8>,
) {
    json_time(
        b"{\"late\":\"search\",\"window_start\":",
        window.start_of(r.time_ms),
        out,
    );
    json_time(b",\"time\":", r.time_ms, out);
    out.extend_from_slice(b",\"query\":");
    write_json_str(&r.query, out);
    out.extend_from_slice(b",\"clicks\":");
    write_u64(r.clicks.len() as u64, out);
    out.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it_and_leaves_missing_values_empty() {
        let row = JudgmentRow {
            window_start: 0,
            query: "a,b".into(),
            item: "say \"hi\"".into(),
            impressions: 10,
            clicks: 0,
            mean_position: 1.5,
            ctr: 0.0,
            coec: None,
        };
        let mut out = Vec::new();
        write_judgment_csv(&row, &mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "1970-01-01T00:00:00.000Z,\"a,b\",\"say \"\"hi\"\"\",10,0,1.5,0.0,\n"
        );
        out.clear();
        write_judgment_jsonl(&row, &mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "{\"window_start\":\"1970-01-01T00:00:00.000Z\",\"query\":\"a,b\",\"item\":\"say \\\"hi\\\"\",\
             \"impressions\":10,\"clicks\":0,\"mean_position\":1.5,\"ctr\":0.0,\"coec\":null}\n"
        );
        out.clear();
        csv_str("", &mut out);
        assert_eq!(out, b"\"\"");
    }

    #[test]
    fn positions_are_numbers_or_unranked() {
        let mut row = PositionRow {
            window_start: 86_400_000,
            position: Position::Ranked(3),
            clicks: 1,
            first_clicks: 1,
            searches_with_results_at_position: 4,
            ctr_at_position: Some(0.25),
        };
        let mut out = Vec::new();
        write_position_csv(&row, &mut out);
        row.position = Position::Unranked;
        row.ctr_at_position = None;
        row.searches_with_results_at_position = 0;
        write_position_csv(&row, &mut out);
        write_position_jsonl(&row, &mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "1970-01-02T00:00:00.000Z,3,1,1,4,0.25\n\
             1970-01-02T00:00:00.000Z,unranked,1,1,0,\n\
             {\"window_start\":\"1970-01-02T00:00:00.000Z\",\"position\":\"unranked\",\"clicks\":1,\
             \"first_clicks\":1,\"searches_with_results_at_position\":0,\"ctr_at_position\":null}\n"
        );
    }
}
