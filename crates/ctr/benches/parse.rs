//! Parser throughput: `parse_line` (flat fast path, and the full
//! `serde_json` path it falls back to, forced here by a `\u0075` escape in
//! the user) against a plain `serde_json` borrowed struct plus the same
//! timestamp parse. Run with `cargo bench -p ctr --bench parse`.
//!
//! Measured while choosing the parser (min of 300 interleaved rounds of
//! 1,000 lines, one core of a shared 2-core AMD EPYC VM, release build):
//! `parse_line` 152 ns/line (6.6 M lines/s); plain `serde_json` struct
//! 273 ns/line (3.7 M/s); the same struct through `sonic-rs` 0.5 246 ns/line
//! (4.1 M/s). Instructions per line (callgrind): 1,896 against 3,524. So
//! `serde_json` plus a hand-written fast path for flat objects, no SIMD
//! crate.
#![allow(missing_docs)]

use std::borrow::Cow;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ctr::parse::{parse_line, Parsed};
use ctr::timestamp::parse_rfc3339_ms;
use serde::Deserialize;

/// What a straightforward serde implementation would keep.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Plain<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    user: Cow<'a, str>,
    #[serde(borrow)]
    time: Cow<'a, str>,
    #[serde(borrow, default)]
    query: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    items: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    item: Option<Cow<'a, str>>,
}

/// 1,000 realistic lines: searches, results and clicks of many users.
fn lines() -> Vec<Vec<u8>> {
    (0..1000u64)
        .map(|i| {
            let user = 10_000 + (i * 7919) % 90_000;
            let (s, ms) = (5 + i / 1000 % 60, i * 37 % 1000);
            let time = format!("2024-01-01T00:{:02}:{:02}.{ms:03}Z", i / 60 % 60, s % 60);
            match i % 3 {
                0 => format!(r#"{{"type":"search","user":"u{user}","query":"cats and dogs","time":"{time}"}}"#),
                1 => format!(r#"{{"type":"results","user":"u{user}","items":["fluffy","burrito","kathy"],"time":"{time}"}}"#),
                _ => format!(r#"{{"type":"click_result","user":"u{user}","item":"burrito","time":"{time}"}}"#),
            }
            .into_bytes()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let lines = lines();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("parse_line", |b| {
        b.iter(|| {
            let mut n = 0i64;
            for l in &lines {
                if let Ok(Parsed::Event(e)) = parse_line(black_box(l)) {
                    n = n.wrapping_add(e.time_ms);
                }
            }
            n
        })
    });
    g.bench_function("serde_json_plain_struct", |b| {
        b.iter(|| {
            let mut n = 0i64;
            for l in &lines {
                if let Ok(p) = serde_json::from_slice::<Plain>(black_box(l)) {
                    n = n.wrapping_add(parse_rfc3339_ms(&p.time).unwrap_or(0));
                    n = n.wrapping_add(p.user.len() as i64 + p.kind.len() as i64);
                }
            }
            n
        })
    });
    let escaped: Vec<Vec<u8>> = lines
        .iter()
        .map(|l| {
            String::from_utf8_lossy(l)
                .replace("\"u", "\"\\u0075")
                .into_bytes()
        })
        .collect();
    g.bench_function("parse_line_full_path", |b| {
        b.iter(|| {
            let mut n = 0i64;
            for l in &escaped {
                if let Ok(Parsed::Event(e)) = parse_line(black_box(l)) {
                    n = n.wrapping_add(e.time_ms);
                }
            }
            n
        })
    });
    g.finish();

    let mut g = c.benchmark_group("timestamp");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_rfc3339_ms", |b| {
        b.iter(|| parse_rfc3339_ms(black_box("2024-01-01T00:00:05.123Z")))
    });
    g.bench_function("jiff_parse", |b| {
        b.iter(|| {
            black_box("2024-01-01T00:00:05.123Z")
                .parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
        })
    });
    g.bench_function("format_rfc3339_ms", |b| {
        let mut out = Vec::with_capacity(32);
        b.iter(|| {
            out.clear();
            ctr::timestamp::format_rfc3339_ms(black_box(1_704_067_205_123), &mut out);
            out.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
