//! The synthetic log generator against its promises: deterministic, the
//! requested number of lines, valid lines that follow `docs/input-format.md`,
//! about `invalid_rate` invalid lines, disorder bounded for non-late events,
//! late events exactly those it reports, sessions well separated.

use std::collections::HashMap;

use ctr::generate::{generate, GenerateConfig, GenerateStats};
use serde_json::Value;

fn run(cfg: &GenerateConfig) -> (Vec<u8>, GenerateStats) {
    let mut out = Vec::new();
    let stats = generate(cfg, &mut out).expect("writing to a Vec cannot fail");
    (out, stats)
}

fn cfg(events: u64, users: u64, seed: u64) -> GenerateConfig {
    GenerateConfig {
        events,
        users,
        seed,
        ..GenerateConfig::default()
    }
}

/// A valid line of a known type: (user key, time ms, type).
#[derive(Debug)]
enum Line {
    Event(String, i64, String),
    Other,
    Invalid,
}

const KNOWN: [&str; 12] = [
    "app_open",
    "search",
    "results",
    "click_result",
    "app_close",
    "timeout",
    "AppOpen",
    "Search",
    "Results",
    "ClickResult",
    "AppClose",
    "Timeout",
];

/// An independent reading of `docs/input-format.md` (jiff parses the times).
fn classify(line: &str) -> Line {
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(line) else {
        return Line::Invalid;
    };
    let user = match obj.get("user") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        _ => return Line::Invalid,
    };
    let time = match obj.get("time") {
        Some(Value::Number(n)) if n.is_i64() => n.as_i64().unwrap(),
        Some(Value::String(s)) => match s.parse::<jiff::Timestamp>() {
            Ok(ts) => ts.as_millisecond(),
            Err(_) => return Line::Invalid,
        },
        _ => return Line::Invalid,
    };
    let Some(Value::String(kind)) = obj.get("type") else {
        return Line::Invalid;
    };
    if !KNOWN.contains(&kind.as_str()) {
        return Line::Other;
    }
    let payload_ok = match kind.to_ascii_lowercase().as_str() {
        "search" => obj.get("query").is_some_and(Value::is_string),
        "results" => obj
            .get("items")
            .and_then(Value::as_array)
            .is_some_and(|items| items.iter().all(Value::is_string)),
        "click_result" | "clickresult" => obj.get("item").is_some_and(Value::is_string),
        _ => true,
    };
    if !payload_ok {
        return Line::Invalid;
    }
    let kind = match kind.as_str() {
        "AppOpen" => "app_open",
        "Search" => "search",
        "Results" => "results",
        "ClickResult" => "click_result",
        "AppClose" => "app_close",
        "Timeout" => "timeout",
        k => k,
    };
    Line::Event(user, time, kind.to_owned())
}

fn field_is_integer(line: &str, field: &str) -> bool {
    line.find(field)
        .and_then(|at| line.as_bytes().get(at + field.len()))
        .is_some_and(u8::is_ascii_digit)
}

fn lines(out: &[u8]) -> Vec<&str> {
    std::str::from_utf8(out)
        .expect("output is UTF-8")
        .lines()
        .collect()
}

#[test]
fn same_config_gives_the_same_bytes_and_another_seed_does_not() {
    let c = GenerateConfig {
        invalid_rate: 0.01,
        late_rate: 0.01,
        ..cfg(20_000, 500, 7)
    };
    let (a, sa) = run(&c);
    let (b, sb) = run(&c);
    assert_eq!(a, b);
    assert_eq!(sa, sb);
    let (d, _) = run(&GenerateConfig { seed: 8, ..c });
    assert_ne!(a, d);
}

#[test]
fn the_output_is_pinned() {
    // Benchmarks and golden files rely on these exact bytes: change the
    // generator on purpose only, then update this hash.
    let (out, _) = run(&GenerateConfig {
        invalid_rate: 0.01,
        ..cfg(5_000, 100, 42)
    });
    let fnv = out.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    assert_eq!(fnv, PINNED_FNV, "generator output changed: {fnv:#x}");
}
const PINNED_FNV: u64 = 0x6602_d143_d648_13a2;

#[test]
fn writes_exactly_the_requested_number_of_lines() {
    for events in [0, 1, 2, 999, 10_000] {
        let (out, stats) = run(&cfg(events, 50, 1));
        assert_eq!(lines(&out).len() as u64, events);
        assert_eq!(stats.events, events);
        assert!(out.is_empty() || out.ends_with(b"\n"));
    }
    // One user, many events: the user is mostly busy or cooling down.
    let (out, _) = run(&cfg(5_000, 1, 3));
    assert_eq!(lines(&out).len(), 5_000);
}

#[test]
fn lines_average_about_a_hundred_bytes() {
    let (out, _) = run(&cfg(50_000, 1_000, 5));
    let avg = out.len() as f64 / 50_000.0;
    assert!((80.0..=120.0).contains(&avg), "{avg} bytes per line");
}

#[test]
fn without_invalid_rate_every_line_is_valid_with_the_required_fields() {
    let (out, stats) = run(&GenerateConfig {
        invalid_rate: 0.0,
        ..cfg(30_000, 300, 11)
    });
    assert_eq!(stats.invalid, 0);
    let (mut other, mut kinds) = (0, HashMap::<String, u64>::new());
    let (mut int_users, mut int_times) = (0, 0);
    for line in lines(&out) {
        match classify(line) {
            Line::Event(_, _, kind) => *kinds.entry(kind).or_default() += 1,
            Line::Other => other += 1,
            Line::Invalid => panic!("invalid line: {line}"),
        }
        int_users += u64::from(field_is_integer(line, "\"user\":"));
        int_times += u64::from(field_is_integer(line, "\"time\":"));
    }
    assert_eq!(other, stats.other);
    assert!(other > 0, "some unknown types");
    // The snake_case half of the known types.
    for &kind in &KNOWN[..6] {
        assert!(kinds.get(kind).copied().unwrap_or(0) > 0, "no {kind}: {kinds:?}");
    }
    assert!(int_users > 0 && int_times > 0, "variety: integer users and times");
}

#[test]
fn the_fraction_of_invalid_lines_is_about_invalid_rate() {
    for rate in [0.01, 0.1] {
        let (out, stats) = run(&GenerateConfig {
            invalid_rate: rate,
            ..cfg(40_000, 400, 13)
        });
        let invalid = lines(&out)
            .iter()
            .filter(|l| matches!(classify(l), Line::Invalid))
            .count() as u64;
        assert_eq!(invalid, stats.invalid, "reported = found");
        let frac = invalid as f64 / 40_000.0;
        assert!((rate * 0.8..=rate * 1.2).contains(&frac), "{frac} vs {rate}");
    }
}

#[test]
fn disorder_is_bounded_and_late_events_are_exactly_the_reported_ones() {
    let disorder_ms = 2_000;
    let wait_ms = 10_000;
    let (out, stats) = run(&GenerateConfig {
        disorder_ms,
        late_rate: 0.01,
        invalid_rate: 0.01,
        ..cfg(60_000, 600, 17)
    });
    let mut user_max: HashMap<String, i64> = HashMap::new();
    let mut global_max = i64::MIN;
    let (mut late, mut behind) = (0, 0);
    for line in lines(&out) {
        let Line::Event(user, time, _) = classify(line) else {
            continue;
        };
        let max = user_max.entry(user).or_insert(i64::MIN);
        if *max != i64::MIN && time < *max - wait_ms {
            late += 1;
            // Well behind: more than wait + disorder.
            assert!(time < *max - wait_ms - disorder_ms, "{line}");
            continue;
        }
        *max = (*max).max(time);
        assert!(
            time >= global_max.saturating_sub(disorder_ms),
            "disorder too large: {line}"
        );
        behind += u64::from(time < global_max);
        global_max = global_max.max(time);
    }
    assert_eq!(late, stats.late);
    assert!((300..=900).contains(&late), "{late} late of ~590 expected");
    assert!(behind > 1_000, "there is some disorder ({behind})");

    let (out, stats) = run(&GenerateConfig {
        disorder_ms: 0,
        late_rate: 0.0,
        ..cfg(20_000, 200, 17)
    });
    assert_eq!(stats.late, 0);
    let times: Vec<i64> = lines(&out)
        .iter()
        .filter_map(|l| match classify(l) {
            Line::Event(_, t, _) => Some(t),
            _ => None,
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "sorted without disorder");
}

#[test]
fn sessions_are_well_separated_and_activity_is_skewed() {
    let (out, _) = run(&GenerateConfig {
        late_rate: 0.0,
        ..cfg(100_000, 2_000, 19)
    });
    let mut per_user: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for line in lines(&out) {
        if let Line::Event(user, time, kind) = classify(line) {
            per_user.entry(user).or_default().push((time, kind));
        }
    }
    let (mut sessions, mut searches, mut clicked) = (0, 0, 0);
    for events in per_user.values_mut() {
        events.sort();
        sessions += 1;
        let mut in_search_clicked = None;
        for (i, (time, kind)) in events.iter().enumerate() {
            if i > 0 {
                let gap = time - events[i - 1].0;
                assert!(
                    gap <= 15 * 60_000 || gap >= 40 * 60_000,
                    "a pause of {gap} ms is ambiguous against a 30 min gap"
                );
                if gap >= 40 * 60_000 {
                    sessions += 1;
                    in_search_clicked = None;
                }
            }
            match kind.as_str() {
                "search" => {
                    searches += 1;
                    in_search_clicked = Some(false);
                }
                "click_result" if in_search_clicked == Some(false) => {
                    clicked += 1;
                    in_search_clicked = Some(true);
                }
                _ => {}
            }
        }
    }
    let users = per_user.len();
    assert!(sessions as f64 / users as f64 >= 2.0, "several sessions per user");
    let share = f64::from(clicked) / f64::from(searches);
    assert!((0.4..=0.6).contains(&share), "{share} of searches got a click");
    let mut counts: Vec<usize> = per_user.values().map(Vec::len).collect();
    counts.sort_unstable();
    let (median, max) = (counts[counts.len() / 2], counts[counts.len() - 1]);
    assert!(max >= 5 * median, "heavy users: max {max}, median {median}");
}
