use super::presets::{preset, PRESETS};
use super::*;

fn sample(name: &str) -> String {
    let path = format!("{}/../../docs/schemas/{name}.jsonl", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every line of a preset's sample: `(user, time, kind, detail)` per
/// event, or `other:TYPE`.
fn read(name: &str) -> Vec<String> {
    let mapping = preset(name).unwrap().spec().build().unwrap();
    let mut out = Vec::new();
    for line in sample(name).lines() {
        match parse_mapped(line.as_bytes(), &mapping, true) {
            Ok(MappedParsed::Events(a, b)) => {
                for e in std::iter::once(a).chain(b) {
                    let detail = match e.detail.as_deref() {
                        None => String::new(),
                        Some(Detail::Query(q)) => format!(" q={q}"),
                        Some(Detail::Items(items)) => {
                            format!(" items={}", items.iter().collect::<Vec<_>>().join(","))
                        }
                        Some(Detail::Click { item, position }) => format!(" item={item} pos={position:?}"),
                    };
                    out.push(format!("{} {} {:?}{detail}", e.user, e.time_ms, e.kind));
                }
            }
            Ok(MappedParsed::Other { type_name }) => out.push(format!("other:{type_name}")),
            Ok(MappedParsed::Blank) => {}
            Err(e) => panic!("{name}: {e}: {line}"),
        }
    }
    out
}

#[test]
fn every_preset_parses_and_reads_its_sample() {
    for p in PRESETS {
        SchemaSpec::from_toml(p.toml).unwrap_or_else(|e| panic!("{}: {e}", p.name));
        assert!(!read(p.name).is_empty(), "{}", p.name);
    }
}

#[test]
fn ga4_export_events() {
    assert_eq!(
        read("ga4"),
        [
            "1197596843.1704067200 1704067200000 AppOpen",
            "1197596843.1704067200 1704067205000 Search q=running shoes",
            "1197596843.1704067200 1704067206000 Results items=SKU_101,SKU_102,SKU_103",
            // GA4 counts list positions from 0: index 1 is the second result.
            "1197596843.1704067200 1704067212000 ClickResult item=SKU_102 pos=Some(2)",
            "other:page_view",
            "2230011.1704067290 1704067300000 Search q=socks",
        ]
    );
}

#[test]
fn snowplow_events() {
    assert_eq!(
        read("snowplow"),
        [
            "other:page_view",
            "bc2e92ec6c204a14 1704067205000 Search q=running shoes",
            "bc2e92ec6c204a14 1704067209000 ClickResult item=https://shop.example/p/road-runner pos=None",
            "77f0ad13c1e04b2f 1704067260000 Search q=socks",
        ]
    );
}

#[test]
fn elastic_events() {
    assert_eq!(
        read("elastic"),
        [
            "u-1 1704067205000 Search q=running shoes",
            "u-1 1704067205000 Results items=SKU_101,SKU_102,SKU_103",
            "u-1 1704067209000 ClickResult item=SKU_102 pos=None",
            "other:page_view",
            "u-2 1704067260000 Search q=socks",
            "u-2 1704067260000 Results items=",
        ]
    );
}

#[test]
fn algolia_events() {
    assert_eq!(
        read("algolia"),
        [
            "user-1 1704067205000 Search q=43b15df305339e827f0ac0bdc5ebcaa7",
            "user-1 1704067205000 Results items=SKU_101,SKU_102,SKU_103",
            "user-1 1704067209000 ClickResult item=SKU_102 pos=Some(2)",
            "other:conversion",
            "user-2 1704067400000 Search q=9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d",
            "user-2 1704067400000 Results items=SKU_201",
        ]
    );
}

fn mapping(pairs: &[(&str, &str)], types: &[(&str, &str)]) -> Mapping {
    let mut spec = SchemaSpec::default();
    for (f, p) in pairs {
        spec.map(f, p).unwrap();
    }
    for (n, k) in types {
        spec.type_map(n, k).unwrap();
    }
    spec.build().unwrap()
}

#[test]
fn errors_name_the_field_and_its_path() {
    let m = mapping(
        &[("user", "who.id"), ("time", "at"), ("type", "t")],
        &[("clicked", "click"), ("search", "search")],
    );
    let err = |line: &str| parse_mapped(line.as_bytes(), &m, true).unwrap_err().to_string();
    assert_eq!(
        err(r#"{"t":"search","at":1}"#),
        "missing field \"user\" (mapped to `who.id`)"
    );
    assert_eq!(
        err(r#"{"t":"search","who":{"id":true},"at":1}"#),
        "field \"user\" (mapped to `who.id`): expected a string or an integer"
    );
    assert_eq!(
        err(r#"{"t":"search","who":{"id":1},"at":"noon"}"#),
        "field \"time\" (mapped to `at`): expected RFC 3339 or integer milliseconds"
    );
    assert!(
        err(r#"{"t":"clicked","who":{"id":1},"at":5}"#).contains("give it with --map item=PATH"),
        "{}",
        err(r#"{"t":"clicked","who":{"id":1},"at":5}"#)
    );
    // A type the mapping does not list is "other"; without analytics only
    // user, time and type are read.
    assert_eq!(
        parse_mapped(br#"{"t":"view","who":{"id":1},"at":5}"#, &m, true),
        Ok(MappedParsed::Other {
            type_name: "view".into()
        })
    );
    let Ok(MappedParsed::Events(e, None)) =
        parse_mapped(br#"{"t":"clicked","who":{"id":1},"at":5}"#, &m, false)
    else {
        panic!("a plain event")
    };
    assert_eq!((e.kind, e.detail), (EventKind::ClickResult, None));
}

#[test]
fn specs_are_checked_when_built() {
    let mut spec = SchemaSpec::default();
    assert!(spec.map("usr", "u").unwrap_err().contains("not a field"));
    assert!(spec
        .type_map("x", "purchase")
        .unwrap_err()
        .contains("not an event kind"));
    spec.map("user", "u").unwrap();
    assert!(spec.build().unwrap_err().contains("--map time=PATH"));
    let e = SchemaSpec::from_toml("[fields]\nuser = 3\n").unwrap_err();
    assert!(e.contains("line 2"), "{e}");
    let e = SchemaSpec::from_toml("time_units = \"s\"\n").unwrap_err();
    assert!(e.contains("unknown field"), "{e}");
    // A type mapped again moves to its new kind.
    let mut spec = SchemaSpec::default();
    spec.type_map("go", "search").unwrap();
    spec.type_map("go", "click").unwrap();
    for (f, p) in [("user", "u"), ("time", "t"), ("type", "k")] {
        spec.map(f, p).unwrap();
    }
    assert_eq!(
        spec.build().unwrap().types,
        [("go".to_string(), EventKind::ClickResult)]
    );
}

#[test]
fn without_types_the_search_log_names_are_used() {
    let m = mapping(&[("user", "user"), ("time", "time"), ("type", "type")], &[]);
    let line = br#"{"type":"app_open","user":1,"time":5}"#;
    assert!(matches!(
        parse_mapped(line, &m, false),
        Ok(MappedParsed::Events(
            Event {
                kind: EventKind::AppOpen,
                ..
            },
            None
        ))
    ));
}
