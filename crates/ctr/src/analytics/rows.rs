//! The analytics rows, each declared once with [`crate::row_type!`]: its
//! JSON Lines and CSV writers and readers, its CSV header and its docs
//! table come from that declaration ([`crate::row_format`]).

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use super::searches::Position;
use crate::row_format::{write_json_str, write_u64, Cell, Count, Float, MaybeFloat, Text, Time};

crate::row_type! {
    /// One (window, query) row (`--query-output`).
    pub struct QueryRow as "query" in "docs/analytics.md" {
        /// start of the window
        pub window_start: i64 => Time,
        /// the normalised query
        pub query: CompactString => Text,
        /// searches
        pub searches: u64 => Count,
        /// searches with at least one click
        pub searches_with_click: u64 => Count,
        /// `searches_with_click / searches`
        pub ctr: f64 => Float,
        /// `(searches - searches_with_click) / searches`
        pub no_click_rate: f64 => Float,
        /// zero-result searches / `searches`
        pub zero_result_rate: f64 => Float,
        /// clicks of these searches, ranked or not
        pub clicks: u64 => Count,
        /// mean of `first_click_position` over searches whose earliest click is ranked; `null` if none
        pub mean_first_click_position: Option<f64> => MaybeFloat,
        /// mean reciprocal rank over **all** searches (those without a ranked first click count 0)
        pub mrr: f64 => Float,
        /// mean time from search to earliest click over clicked searches; `null` if none
        pub mean_time_to_first_click_ms: Option<f64> => MaybeFloat,
        /// reformulated searches / `searches`
        pub reformulation_rate: f64 => Float,
    }
}

crate::row_type! {
    /// One (window, position) row (`--position-output`).
    pub struct PositionRow as "position" in "docs/analytics.md" {
        /// start of the window
        pub window_start: i64 => Time,
        /// 1, 2, …, or `"unranked"` (JSON string; `unranked` in CSV), sorted ranks first
        pub position: Position => Rank,
        /// clicks at this position
        pub clicks: u64 => Count,
        /// searches whose earliest click is at this position
        pub first_clicks: u64 => Count,
        /// impressions: searches whose list has this position
        pub searches_with_results_at_position: u64 => Count,
        /// `clicks / searches_with_results_at_position`; `null` without impressions (always for `unranked`, and for a reported position beyond every list)
        pub ctr_at_position: Option<f64> => MaybeFloat,
        /// with `--judgment-model pbm|cascade|dbn`: the probability that a search's user examined this position, as the model infers it (PBM: relative to position 1); `null` otherwise, and for `unranked` and positions past the model's depth (10)
        pub examination: Option<f64> => MaybeFloat,
    }
}

crate::row_type! {
    /// One implicit judgment: (window, query, item) (`--judgment-output`).
    pub struct JudgmentRow as "judgment" in "docs/analytics.md" {
        /// start of the window
        pub window_start: i64 => Time,
        /// the normalised query
        pub query: CompactString => Text,
        /// the item
        pub item: CompactString => Text,
        /// searches of the query whose list holds the item
        pub impressions: u64 => Count,
        /// clicks on the item by those searches
        pub clicks: u64 => Count,
        /// mean position of the item over its impressions
        pub mean_position: f64 => Float,
        /// `clicks / impressions`
        pub ctr: f64 => Float,
        /// clicks over expected clicks: `clicks / Σ ctr_at_position(p)`, the sum taken over the item's impressions, `p` the position it was shown at, `ctr_at_position` that of the same window (as OpenSearch's Search Relevance Workbench defines COEC); `null` when the expected clicks are 0
        pub coec: Option<f64> => MaybeFloat,
        /// the judgment model (`--judgment-model`): `coec`, `pbm`, `cascade` or `dbn`
        pub model: CompactString => ModelName,
        /// the model's attractiveness of the item for the query (PBM, cascade, DBN); `null` with `coec`, or when the model never saw the item examined
        pub attractiveness: Option<f64> => MaybeFloat,
        /// DBN's probability that a click on the item satisfied the user; `null` otherwise
        pub satisfaction: Option<f64> => MaybeFloat,
        /// the judgment: `coec` (COEC), the attractiveness (PBM, cascade) or attractiveness × satisfaction (DBN)
        pub relevance: Option<f64> => MaybeFloat,
    }
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

fn json_time(key: &[u8], ms: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(key);
    Time::json(&ms, out);
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

/// A result position: 1, 2, … or `unranked`.
pub struct Rank;

/// A judgment model's name; absent in rows written before click models
/// existed, which are COEC's.
pub struct ModelName;

impl Cell<CompactString> for ModelName {
    const DOC: &'static str = "string";
    type Json = Option<CompactString>;
    fn json(v: &CompactString, out: &mut Vec<u8>) {
        Text::json(v, out);
    }
    fn csv(v: &CompactString, out: &mut Vec<u8>) {
        Text::csv(v, out);
    }
    fn from_json(j: Option<CompactString>) -> Result<CompactString, String> {
        Ok(j.unwrap_or_else(|| CompactString::const_new("coec")))
    }
    fn from_csv(field: &str) -> Result<CompactString, String> {
        Text::from_csv(field)
    }
}

/// A position as JSON: a number, or the string `unranked`.
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub enum JsonRank {
    /// 1, 2, …
    Ranked(u64),
    /// `"unranked"`.
    Name(String),
}

impl Cell<Position> for Rank {
    const DOC: &'static str = "integer ≥ 1, or `unranked`";
    type Json = JsonRank;
    fn json(v: &Position, out: &mut Vec<u8>) {
        match v {
            Position::Ranked(p) => write_u64(u64::from(*p), out),
            Position::Unranked => out.extend_from_slice(b"\"unranked\""),
        }
    }
    fn csv(v: &Position, out: &mut Vec<u8>) {
        match v {
            Position::Ranked(p) => write_u64(u64::from(*p), out),
            Position::Unranked => out.extend_from_slice(b"unranked"),
        }
    }
    fn from_json(j: JsonRank) -> Result<Position, String> {
        match j {
            JsonRank::Ranked(r) => Self::from_csv(&r.to_string()),
            JsonRank::Name(s) => Self::from_csv(&s),
        }
    }
    fn from_csv(field: &str) -> Result<Position, String> {
        if field == "unranked" {
            return Ok(Position::Unranked);
        }
        match field.parse::<u32>() {
            Ok(r) if r >= 1 => Ok(Position::Ranked(r)),
            _ => Err(format!(
                "{field:?} is not a position (a rank from 1, or \"unranked\")"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row_format::RowFormat;

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
            model: "coec".into(),
            attractiveness: None,
            satisfaction: None,
            relevance: None,
        };
        let mut out = Vec::new();
        row.write_csv(&mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "1970-01-01T00:00:00.000Z,\"a,b\",\"say \"\"hi\"\"\",10,0,1.5,0.0,,coec,,,\n"
        );
        out.clear();
        row.write_jsonl(&mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "{\"window_start\":\"1970-01-01T00:00:00.000Z\",\"query\":\"a,b\",\"item\":\"say \\\"hi\\\"\",\
             \"impressions\":10,\"clicks\":0,\"mean_position\":1.5,\"ctr\":0.0,\"coec\":null,\"model\":\"coec\",\
             \"attractiveness\":null,\"satisfaction\":null,\"relevance\":null}\n"
        );
        out.clear();
        crate::row_format::Text::csv(&"".into(), &mut out);
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
            examination: Some(0.5),
        };
        let mut out = Vec::new();
        row.write_csv(&mut out);
        row.position = Position::Unranked;
        row.ctr_at_position = None;
        row.examination = None;
        row.searches_with_results_at_position = 0;
        row.write_csv(&mut out);
        row.write_jsonl(&mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "1970-01-02T00:00:00.000Z,3,1,1,4,0.25,0.5\n\
             1970-01-02T00:00:00.000Z,unranked,1,1,0,,\n\
             {\"window_start\":\"1970-01-02T00:00:00.000Z\",\"position\":\"unranked\",\"clicks\":1,\
             \"first_clicks\":1,\"searches_with_results_at_position\":0,\"ctr_at_position\":null,\
             \"examination\":null}\n"
        );
    }

    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = CompactString> {
        // Commas, quotes, line breaks, controls and non-ASCII included.
        "[a-z ,\"\n\r\tüé€\u{1}]{0,12}".prop_map(CompactString::from)
    }

    fn float() -> impl Strategy<Value = f64> {
        prop_oneof![Just(0.0), Just(1.0), Just(1e16), -1e6f64..1e6, 0.0f64..1.0]
    }

    fn maybe() -> impl Strategy<Value = Option<f64>> {
        proptest::option::of(float())
    }

    fn time() -> impl Strategy<Value = i64> {
        // Year 0001 to 9999.
        -62_135_596_800_000i64..253_402_300_799_999
    }

    fn round_trips<R: RowFormat + PartialEq + std::fmt::Debug>(row: &R) -> Result<(), TestCaseError> {
        let mut line = Vec::new();
        row.write_jsonl(&mut line);
        let text = std::str::from_utf8(&line).unwrap();
        prop_assert_eq!(&R::read_jsonl(text.strip_suffix('\n').unwrap()).unwrap(), row);
        line.clear();
        row.write_csv(&mut line);
        let text = std::str::from_utf8(&line).unwrap();
        prop_assert_eq!(&R::read_csv(text.strip_suffix('\n').unwrap()).unwrap(), row);
        Ok(())
    }

    proptest! {
        #[test]
        fn query_rows_read_back_as_written(
            window_start in time(), query in text(), n in proptest::array::uniform4(0u64..u64::MAX),
            f in proptest::array::uniform5(float()), m in proptest::array::uniform2(maybe()),
        ) {
            round_trips(&QueryRow {
                window_start, query, searches: n[0], searches_with_click: n[1], ctr: f[0],
                no_click_rate: f[1], zero_result_rate: f[2], clicks: n[2],
                mean_first_click_position: m[0], mrr: f[3], mean_time_to_first_click_ms: m[1],
                reformulation_rate: f[4],
            })?;
        }

        #[test]
        fn position_rows_read_back_as_written(
            window_start in time(), rank in proptest::option::of(1u32..u32::MAX),
            n in proptest::array::uniform3(0u64..u64::MAX), ctr_at_position in maybe(),
            examination in maybe(),
        ) {
            round_trips(&PositionRow {
                window_start,
                position: rank.map_or(Position::Unranked, Position::Ranked),
                clicks: n[0], first_clicks: n[1], searches_with_results_at_position: n[2],
                ctr_at_position, examination,
            })?;
        }

        #[test]
        fn judgment_rows_read_back_as_written(
            window_start in time(), query in text(), item in text(),
            n in proptest::array::uniform2(0u64..u64::MAX), f in proptest::array::uniform2(float()),
            coec in maybe(), model in text(), m in proptest::array::uniform3(maybe()),
        ) {
            round_trips(&JudgmentRow {
                window_start, query, item, impressions: n[0], clicks: n[1],
                mean_position: f[0], ctr: f[1], coec, model,
                attractiveness: m[0], satisfaction: m[1], relevance: m[2],
            })?;
        }
    }

    #[test]
    fn rows_written_before_the_click_models_still_read() {
        let j = JudgmentRow::read_jsonl(
            r#"{"window_start":"2024-01-01T00:00:00.000Z","query":"q","item":"i","impressions":4,"clicks":1,"mean_position":1.0,"ctr":0.25,"coec":1.5}"#,
        )
        .unwrap();
        assert_eq!(
            (j.model.as_str(), j.relevance, j.attractiveness),
            ("coec", None, None)
        );
        let p = PositionRow::read_jsonl(
            r#"{"window_start":"2024-01-01T00:00:00.000Z","position":1,"clicks":1,"first_clicks":1,"searches_with_results_at_position":2,"ctr_at_position":0.5}"#,
        )
        .unwrap();
        assert_eq!(p.examination, None);
    }

    #[test]
    fn headers_name_the_fields_in_order() {
        assert_eq!(
            JudgmentRow::CSV_HEADER,
            "window_start,query,item,impressions,clicks,mean_position,ctr,coec,model,attractiveness,satisfaction,relevance\n"
        );
        assert_eq!(
            PositionRow::CSV_HEADER,
            "window_start,position,clicks,first_clicks,searches_with_results_at_position,ctr_at_position,examination\n"
        );
        assert_eq!(QueryRow::COLUMNS.len(), 12);
    }

    #[test]
    fn a_bad_row_names_the_field_and_what_was_expected() {
        let e = PositionRow::read_csv("1970-01-01T00:00:00.000Z,0,1,1,1,,").unwrap_err();
        assert!(e.starts_with("position: \"0\" is not a position"), "{e}");
        let e = PositionRow::read_csv("1970-01-01T00:00:00.000Z,1").unwrap_err();
        assert!(e.contains("expected 7 comma-separated fields"), "{e}");
        let e = PositionRow::read_jsonl(
            r#"{"window_start":"yesterday","position":1,"clicks":1,"first_clicks":0,"searches_with_results_at_position":1,"ctr_at_position":1.0,"examination":null}"#,
        )
        .unwrap_err();
        assert!(
            e.starts_with("window_start: \"yesterday\" is not an RFC 3339 time"),
            "{e}"
        );
        let e = QueryRow::read_jsonl(r#"{"window_start":"2024-01-01T00:00:00.000Z"}"#).unwrap_err();
        assert!(e.contains("missing field `query`"), "{e}");
    }
}
