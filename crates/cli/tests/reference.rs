//! On generated logs (disorder, late events, invalid lines, unknown types),
//! `search-ctr run` gives exactly the rows of a plain reference sessionizer
//! written here from the spec, with 1 and 2 workers.

mod common;

use std::collections::HashMap;

use common::*;
use serde_json::Value;

const GAP: i64 = 30 * 60 * 1000;
const WAIT: i64 = 10 * 1000;

fn time_ms(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => ctr::timestamp::parse_rfc3339_ms(s).ok(),
        _ => None,
    }
}

fn user(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// (time, kind) of each valid event of a known type, per user, in input order.
fn read_events(text: &str) -> Vec<(String, i64, String)> {
    text.lines()
        .filter_map(|line| {
            let v: Value = serde_json::from_str(line).ok()?;
            let kind = v.get("type")?.as_str()?.to_string();
            let kind = match kind.as_str() {
                "search" | "Search" => "search",
                "click_result" | "ClickResult" => "click",
                "results" | "Results" | "app_open" | "AppOpen" | "app_close" | "AppClose" | "timeout"
                | "Timeout" => "other_known",
                _ => return None,
            };
            let ok = match kind {
                "search" => v.get("query").is_some_and(Value::is_string),
                "click" => v.get("item").is_some_and(Value::is_string),
                _ => true,
            };
            ok.then_some(())?;
            Some((user(v.get("user")?)?, time_ms(v.get("time")?)?, kind.to_string()))
        })
        .collect()
}

fn reference_rows(text: &str) -> Vec<String> {
    let mut max_seen: HashMap<String, i64> = HashMap::new();
    let mut accepted: HashMap<String, Vec<(i64, usize, String)>> = HashMap::new();
    for (seq, (u, t, kind)) in read_events(text).into_iter().enumerate() {
        let m = max_seen.entry(u.clone()).or_insert(i64::MIN);
        if *m != i64::MIN && t < *m - WAIT {
            continue; // late
        }
        *m = (*m).max(t);
        accepted.entry(u).or_default().push((t, seq, kind));
    }
    let mut rows = Vec::new();
    for (u, mut evs) in accepted {
        evs.sort();
        let mut sessions: Vec<Vec<(i64, usize, String)>> = vec![];
        for e in evs {
            match sessions.last_mut() {
                Some(s) if e.0 - s[s.len() - 1].0 <= GAP => s.push(e),
                _ => sessions.push(vec![e]),
            }
        }
        for s in sessions {
            let (mut searches, mut clicks, mut swc, mut open, mut clicked) = (0u64, 0u64, 0u64, false, false);
            for (_, _, k) in &s {
                match k.as_str() {
                    "search" => {
                        searches += 1;
                        open = true;
                        clicked = false;
                    }
                    "click" => {
                        clicks += 1;
                        if open && !clicked {
                            swc += 1;
                            clicked = true;
                        }
                    }
                    _ => {}
                }
            }
            if searches == 0 {
                continue;
            }
            let fmt = |ms: i64| {
                let mut b = Vec::new();
                ctr::timestamp::format_rfc3339_ms(ms, &mut b);
                String::from_utf8(b).expect("ascii")
            };
            let row = serde_json::json!({
                "user": u, "session_start": fmt(s[0].0), "session_end": fmt(s[s.len() - 1].0),
                "events": s.len(), "searches": searches, "clicks": clicks, "searches_with_click": swc,
                "ctr": swc as f64 / searches as f64, "clicks_per_search": clicks as f64 / searches as f64,
            });
            rows.push(row.to_string());
        }
    }
    rows.sort();
    rows
}

#[test]
fn generated_logs_match_the_reference_for_1_and_2_workers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("log.jsonl");
    let o = run(&[
        "generate",
        "--events",
        "60000",
        "--users",
        "300",
        "--seed",
        "11",
        "--disorder",
        "5s",
        "--late-rate",
        "0.01",
        "--invalid-rate",
        "0.005",
        "--out",
        s(&log),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let expected = reference_rows(&std::fs::read_to_string(&log).expect("log"));
    assert!(expected.len() > 500, "{} rows", expected.len());
    for workers in ["1", "2"] {
        let o = run(&["run", "-I", s(&log), "--on-invalid", "skip", "-w", workers, "-q"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let mut got: Vec<String> = stdout(&o)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("json row").to_string())
            .collect();
        got.sort();
        assert_eq!(got.len(), expected.len(), "{workers} workers");
        assert!(
            got == expected,
            "{workers} workers: rows differ from the reference"
        );
    }
}
