//! The malformed-input corpus: every line gets a definite outcome — an
//! event, "other", blank, or invalid with a reason — and none panics.

use ctr::event::EventKind::{self, *};
use ctr::parse::{parse_line, Parsed};

/// What a line must parse to.
enum Want {
    Event(&'static str, i64, EventKind),
    Other,
    Blank,
    /// Invalid, with this substring in the message.
    Invalid(&'static str),
}
use Want::*;

const T5: i64 = 1_704_067_205_000; // 2024-01-01T00:00:05Z

fn deep(n: usize) -> Vec<u8> {
    let mut s = br#"{"type":"search","user":1,"query":"q","time":5,"x":"#.to_vec();
    s.extend(std::iter::repeat_n(b'[', n));
    s.extend(std::iter::repeat_n(b']', n));
    s.push(b'}');
    s
}

fn corpus() -> Vec<(&'static str, Vec<u8>, Want)> {
    let s = |t: &str| t.as_bytes().to_vec();
    vec![
        // --- valid baselines and accepted variations
        (
            "tutorial search",
            s(r#"{"type":"search","user":1,"query":"dogs","time":"2024-01-01T00:00:05Z"}"#),
            Event("1", T5, Search),
        ),
        (
            "integer user equals string user",
            s(r#"{"type":"search","user":"1","query":"dogs","time":"2024-01-01T00:00:05Z"}"#),
            Event("1", T5, Search),
        ),
        (
            "negative integer user",
            s(r#"{"type":"app_open","user":-42,"time":0}"#),
            Event("-42", 0, AppOpen),
        ),
        (
            "u64 max user",
            s(r#"{"type":"app_open","user":18446744073709551615,"time":0}"#),
            Event("18446744073709551615", 0, AppOpen),
        ),
        (
            "i64 min user",
            s(r#"{"type":"app_open","user":-9223372036854775808,"time":0}"#),
            Event("-9223372036854775808", 0, AppOpen),
        ),
        (
            "escaped quote in user",
            s(r#"{"type":"app_open","user":"u\"1","time":0}"#),
            Event("u\"1", 0, AppOpen),
        ),
        (
            "unicode escapes in user",
            s(r#"{"type":"app_open","user":"\u00e9\ud83d\ude00","time":0}"#),
            Event("é😀", 0, AppOpen),
        ),
        (
            "raw UTF-8 user",
            s(r#"{"type":"app_open","user":"日本","time":0}"#),
            Event("日本", 0, AppOpen),
        ),
        (
            "long user (heap key)",
            s(r#"{"type":"app_open","user":"a-user-key-longer-than-24-bytes","time":0}"#),
            Event("a-user-key-longer-than-24-bytes", 0, AppOpen),
        ),
        (
            "CamelCase search",
            s(r#"{"type":"Search","user":1,"query":"q","time":5}"#),
            Event("1", 5, Search),
        ),
        (
            "CamelCase ClickResult",
            s(r#"{"type":"ClickResult","user":1,"item":"x","time":5}"#),
            Event("1", 5, ClickResult),
        ),
        (
            "CamelCase AppClose",
            s(r#"{"type":"AppClose","user":1,"time":5}"#),
            Event("1", 5, AppClose),
        ),
        (
            "timeout",
            s(r#"{"type":"timeout","user":1,"time":5}"#),
            Event("1", 5, Timeout),
        ),
        (
            "escaped type",
            s(r#"{"type":"se\u0061rch","user":1,"query":"q","time":5}"#),
            Event("1", 5, Search),
        ),
        (
            "results with empty items",
            s(r#"{"type":"results","user":1,"items":[],"time":5}"#),
            Event("1", 5, Results),
        ),
        (
            "negative integer time",
            s(r#"{"type":"app_open","user":1,"time":-1000}"#),
            Event("1", -1000, AppOpen),
        ),
        (
            "time with offset and fraction",
            s(r#"{"type":"app_open","user":1,"time":"2024-01-01T01:00:05.1239+01:00"}"#),
            Event("1", T5 + 123, AppOpen),
        ),
        (
            "lowercase t and z",
            s(r#"{"type":"app_open","user":1,"time":"2024-01-01t00:00:05z"}"#),
            Event("1", T5, AppOpen),
        ),
        (
            "whitespace everywhere",
            s(" {\t\"type\" : \"app_open\" ,\r\n \"user\" : 1 , \"time\" : 5 } "),
            Event("1", 5, AppOpen),
        ),
        (
            "BOM",
            [
                b"\xEF\xBB\xBF".as_slice(),
                br#"{"type":"app_open","user":1,"time":5}"#,
            ]
            .concat(),
            Event("1", 5, AppOpen),
        ),
        (
            "CRLF",
            s("{\"type\":\"app_open\",\"user\":1,\"time\":5}\r"),
            Event("1", 5, AppOpen),
        ),
        (
            "unknown fields of any shape",
            s(r#"{"a":{"b":[1,2.5e10,null,true,{"c":"d"}]},"type":"app_open","user":1,"time":5,"z":-0.0}"#),
            Event("1", 5, AppOpen),
        ),
        (
            "huge number in ignored field",
            s(r#"{"type":"app_open","user":1,"time":5,"n":1e400,"m":99999999999999999999999999999}"#),
            Event("1", 5, AppOpen),
        ),
        (
            "100000-deep nesting in ignored field",
            deep(100_000),
            Event("1", 5, Search),
        ),
        (
            "wrong query type ignored for non-search",
            s(r#"{"type":"app_open","user":1,"time":5,"query":7}"#),
            Event("1", 5, AppOpen),
        ),
        // --- other and blank
        (
            "unknown type",
            s(r#"{"type":"purchase","user":1,"time":5}"#),
            Other,
        ),
        (
            "unknown type needs nothing else",
            s(r#"{"type":"purchase"}"#),
            Other,
        ),
        (
            "unknown type with wrong fields",
            s(r#"{"type":"purchase","user":null,"time":1.5}"#),
            Other,
        ),
        (
            "type case matters",
            s(r#"{"type":"SEARCH","user":1,"time":5}"#),
            Other,
        ),
        ("empty line", s(""), Blank),
        ("spaces and tabs", s(" \t "), Blank),
        ("lone CR", s("\r"), Blank),
        ("lone BOM", b"\xEF\xBB\xBF".to_vec(), Blank),
        // --- not JSON / not an object
        (
            "truncated object",
            s(r#"{"type":"search","user":1"#),
            Invalid("invalid JSON: EOF while parsing an object"),
        ),
        (
            "truncated string",
            s(r#"{"type":"sea"#),
            Invalid("invalid JSON: EOF while parsing a string"),
        ),
        ("only an opening brace", s("{"), Invalid("invalid JSON")),
        (
            "trailing garbage",
            s(r#"{"type":"app_open","user":1,"time":5} x"#),
            Invalid("invalid JSON: trailing characters"),
        ),
        (
            "two objects",
            s(r#"{"type":"app_open","user":1,"time":5}{}"#),
            Invalid("trailing characters"),
        ),
        (
            "trailing comma",
            s(r#"{"type":"app_open","user":1,"time":5,}"#),
            Invalid("invalid JSON"),
        ),
        (
            "single quotes",
            s(r#"{'type':'app_open'}"#),
            Invalid("invalid JSON: key must be a string"),
        ),
        (
            "top-level array",
            s(r#"[{"type":"app_open","user":1,"time":5}]"#),
            Invalid("expected a JSON object"),
        ),
        (
            "top-level string",
            s(r#""search""#),
            Invalid("expected a JSON object"),
        ),
        ("top-level null", s("null"), Invalid("expected a JSON object")),
        ("bare word", s("hello"), Invalid("invalid JSON")),
        (
            "100000-deep array as the line",
            s(&"[".repeat(100_000)),
            Invalid("invalid JSON"),
        ),
        (
            "100000-deep balanced array as the line",
            s(&("[".repeat(100_000) + &"]".repeat(100_000))),
            Invalid("expected a JSON object"),
        ),
        (
            "deep nesting in a checked field",
            s(&format!(
                r#"{{"type":"search","user":1,"time":5,"query":{}}}"#,
                "[".repeat(200) + &"]".repeat(200)
            )),
            Invalid("recursion limit exceeded"),
        ),
        (
            "control character in string",
            s("{\"type\":\"app_open\",\"user\":\"a\u{1}b\",\"time\":5}"),
            Invalid("invalid JSON: control character"),
        ),
        (
            "bad escape",
            s(r#"{"type":"app_open","user":"\q","time":5}"#),
            Invalid("invalid JSON: invalid escape"),
        ),
        (
            "lone surrogate escape",
            s(r#"{"type":"app_open","user":"\ud800","time":5}"#),
            Invalid("invalid JSON"),
        ),
        (
            "leading zero number",
            s(r#"{"type":"app_open","user":01,"time":5}"#),
            Invalid("invalid JSON"),
        ),
        // --- invalid UTF-8
        (
            "invalid UTF-8 in a value",
            [
                br#"{"type":"app_open","user":""#.as_slice(),
                b"\xff",
                br#"","time":5}"#,
            ]
            .concat(),
            Invalid("not valid UTF-8 at byte 27"),
        ),
        (
            "invalid UTF-8 in a key",
            [br#"{"ty"#.as_slice(), b"\xc3\x28", br#"":1}"#].concat(),
            Invalid("not valid UTF-8 at byte 4"),
        ),
        (
            "invalid UTF-8 bare",
            b"\x80\x80".to_vec(),
            Invalid("not valid UTF-8 at byte 0"),
        ),
        (
            "invalid UTF-8 after BOM",
            b"\xEF\xBB\xBF{\xfe}".to_vec(),
            Invalid("not valid UTF-8 at byte 4"),
        ),
        // --- missing fields
        ("empty object", s("{}"), Invalid(r#"missing field "type""#)),
        (
            "missing type",
            s(r#"{"user":1,"time":5}"#),
            Invalid(r#"missing field "type""#),
        ),
        (
            "missing user",
            s(r#"{"type":"app_open","time":5}"#),
            Invalid(r#"missing field "user""#),
        ),
        (
            "missing time",
            s(r#"{"type":"app_open","user":1}"#),
            Invalid(r#"missing field "time""#),
        ),
        (
            "search without query",
            s(r#"{"type":"search","user":1,"time":5}"#),
            Invalid(r#"missing field "query""#),
        ),
        (
            "results without items",
            s(r#"{"type":"results","user":1,"time":5}"#),
            Invalid(r#"missing field "items""#),
        ),
        (
            "click without item",
            s(r#"{"type":"click_result","user":1,"time":5}"#),
            Invalid(r#"missing field "item""#),
        ),
        // --- wrong types
        (
            "type is a number",
            s(r#"{"type":1,"user":1,"time":5}"#),
            Invalid(r#"field "type": expected a string"#),
        ),
        (
            "type is null",
            s(r#"{"type":null,"user":1,"time":5}"#),
            Invalid(r#"field "type": expected a string"#),
        ),
        (
            "user is null",
            s(r#"{"type":"app_open","user":null,"time":5}"#),
            Invalid(r#"field "user": expected a string or an integer"#),
        ),
        (
            "user is a bool",
            s(r#"{"type":"app_open","user":true,"time":5}"#),
            Invalid(r#"field "user": expected a string or an integer"#),
        ),
        (
            "user is a float",
            s(r#"{"type":"app_open","user":1.5,"time":5}"#),
            Invalid(r#"field "user": expected a string or an integer"#),
        ),
        (
            "user in exponent form",
            s(r#"{"type":"app_open","user":1e3,"time":5}"#),
            Invalid(r#"field "user": expected a string or an integer"#),
        ),
        (
            "user is -0",
            s(r#"{"type":"app_open","user":-0,"time":5}"#),
            Invalid(r#"field "user": expected a string or an integer"#),
        ),
        (
            "user is an object",
            s(r#"{"type":"app_open","user":{"id":1},"time":5}"#),
            Invalid(r#"field "user": expected a string or an integer"#),
        ),
        (
            "user is an array",
            s(r#"{"type":"app_open","user":["1"],"time":5}"#),
            Invalid(r#"field "user": expected a string or an integer"#),
        ),
        (
            "user beyond u64",
            s(r#"{"type":"app_open","user":99999999999999999999999,"time":5}"#),
            Invalid(r#"field "user": integer out of range"#),
        ),
        (
            "user beyond i64 min",
            s(r#"{"type":"app_open","user":-9223372036854775809,"time":5}"#),
            Invalid(r#"field "user": integer out of range"#),
        ),
        (
            "user 1e400",
            s(r#"{"type":"app_open","user":1e400,"time":5}"#),
            Invalid("invalid JSON: number out of range"),
        ),
        (
            "query is a number",
            s(r#"{"type":"search","user":1,"query":5,"time":5}"#),
            Invalid(r#"field "query": expected a string"#),
        ),
        (
            "query is null",
            s(r#"{"type":"search","user":1,"query":null,"time":5}"#),
            Invalid(r#"field "query": expected a string"#),
        ),
        (
            "items is a string",
            s(r#"{"type":"results","user":1,"items":"a","time":5}"#),
            Invalid(r#"field "items": expected an array of strings"#),
        ),
        (
            "items holds a number",
            s(r#"{"type":"results","user":1,"items":["a",2],"time":5}"#),
            Invalid(r#"field "items": expected an array of strings"#),
        ),
        (
            "items holds an array",
            s(r#"{"type":"results","user":1,"items":[["a"]],"time":5}"#),
            Invalid(r#"field "items": expected an array of strings"#),
        ),
        (
            "item is an array",
            s(r#"{"type":"click_result","user":1,"item":["a"],"time":5}"#),
            Invalid(r#"field "item": expected a string"#),
        ),
        (
            "duplicate type",
            s(r#"{"type":"app_open","type":"search","user":1,"time":5}"#),
            Invalid(r#"duplicate field "type""#),
        ),
        (
            "duplicate time",
            s(r#"{"type":"app_open","user":1,"time":5,"time":6}"#),
            Invalid(r#"duplicate field "time""#),
        ),
        // --- bad times
        (
            "time is null",
            s(r#"{"type":"app_open","user":1,"time":null}"#),
            Invalid(r#"field "time": expected RFC 3339 or integer milliseconds"#),
        ),
        (
            "time is a float",
            s(r#"{"type":"app_open","user":1,"time":5.5}"#),
            Invalid(r#"field "time": expected RFC 3339 or integer milliseconds"#),
        ),
        (
            "time is a bool",
            s(r#"{"type":"app_open","user":1,"time":false}"#),
            Invalid(r#"field "time": expected RFC 3339"#),
        ),
        (
            "time is empty",
            s(r#"{"type":"app_open","user":1,"time":""}"#),
            Invalid(r#"field "time": expected RFC 3339"#),
        ),
        (
            "time is garbage",
            s(r#"{"type":"app_open","user":1,"time":"yesterday"}"#),
            Invalid(r#"field "time": expected RFC 3339"#),
        ),
        (
            "time has a space separator",
            s(r#"{"type":"app_open","user":1,"time":"2024-01-01 00:00:05Z"}"#),
            Invalid(r#"field "time": expected RFC 3339"#),
        ),
        (
            "time without offset",
            s(r#"{"type":"app_open","user":1,"time":"2024-01-01T00:00:05"}"#),
            Invalid(r#"field "time": no UTC offset"#),
        ),
        (
            "month 13",
            s(r#"{"type":"app_open","user":1,"time":"2024-13-01T00:00:05Z"}"#),
            Invalid(r#"field "time": no such date"#),
        ),
        (
            "Feb 30",
            s(r#"{"type":"app_open","user":1,"time":"2024-02-30T00:00:05Z"}"#),
            Invalid(r#"field "time": no such date"#),
        ),
        (
            "Feb 29 of a common year",
            s(r#"{"type":"app_open","user":1,"time":"2023-02-29T00:00:05Z"}"#),
            Invalid("no such date"),
        ),
        (
            "hour 24",
            s(r#"{"type":"app_open","user":1,"time":"2024-01-01T24:00:00Z"}"#),
            Invalid(r#"field "time": time of day out of range"#),
        ),
        (
            "offset 24:00",
            s(r#"{"type":"app_open","user":1,"time":"2024-01-01T00:00:00+24:00"}"#),
            Invalid("UTC offset out of range"),
        ),
        (
            "ms beyond year 9999",
            s(r#"{"type":"app_open","user":1,"time":253402300800000}"#),
            Invalid(r#"field "time": timestamp out of range"#),
        ),
        (
            "ms before year 0",
            s(r#"{"type":"app_open","user":1,"time":-62167219200001}"#),
            Invalid("timestamp out of range"),
        ),
        (
            "ms beyond i64",
            s(r#"{"type":"app_open","user":1,"time":18446744073709551615}"#),
            Invalid("timestamp out of range"),
        ),
        (
            "ms beyond u64",
            s(r#"{"type":"app_open","user":1,"time":99999999999999999999999}"#),
            Invalid("timestamp out of range"),
        ),
        (
            "time 1e400",
            s(r#"{"type":"app_open","user":1,"time":1e400}"#),
            Invalid("invalid JSON: number out of range"),
        ),
    ]
}

fn check(name: &str, line: &[u8], want: &Want) -> Result<(), String> {
    let got = parse_line(line);
    let ok = match (want, &got) {
        (Event(user, time, kind), Ok(Parsed::Event(e))) => {
            e.user == *user && e.time_ms == *time && e.kind == *kind
        }
        (Other, Ok(Parsed::Other { .. })) | (Blank, Ok(Parsed::Blank)) => true,
        (Invalid(part), Err(e)) => e.to_string().contains(part),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        let shown = match &got {
            Err(e) => format!("Err({e})"),
            Ok(p) => format!("{p:?}"),
        };
        Err(format!("{name}: got {shown}"))
    }
}

#[test]
fn every_corpus_line_gets_its_outcome() {
    let corpus = corpus();
    assert!(corpus.len() >= 50, "{} cases", corpus.len());
    let mut names: Vec<&str> = corpus.iter().map(|c| c.0).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), corpus.len(), "case names are unique");
    let failures: Vec<String> = corpus
        .iter()
        .filter_map(|(name, line, want)| check(name, line, want).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_prefix_of_every_corpus_line_is_handled() {
    // Truncation anywhere, including inside multi-byte characters: an
    // outcome, never a panic.
    for (_, line, _) in corpus() {
        for end in 0..line.len().min(300) {
            let _ = parse_line(&line[..end]);
        }
    }
}
