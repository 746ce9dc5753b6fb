//! The report page: one HTML document with its style, charts (inline SVG)
//! and a small table-sorting script inside; it loads nothing.

use std::fmt::Write as _;

use ctr::timestamp::format_rfc3339_ms;

use super::aggregate::{ratio, Position, QueryTotals, CTR_BINS, DURATION_BINS, EVENT_BINS, FIRST_CLICK_BINS};
use super::charts::{self, escape, Mark, Series};
use super::Report;

/// Rows per table.
const TABLE_ROWS: usize = 50;
/// Query and item texts longer than this are cut (with `…`) in tables.
const MAX_TEXT: usize = 100;
/// Positions shown one by one; higher ones are one bar.
const MAX_POSITIONS: u32 = 30;

/// The page's style: system fonts, and a print layout.
const STYLE: &str = r#"
:root{--fg:#222;--muted:#666;--line:#ddd;--accent:#3366cc}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);max-width:1000px;margin:0 auto;padding:24px;line-height:1.4}
h1{font-size:1.6em;margin:0 0 4px}
h2{font-size:1.25em;border-bottom:2px solid var(--line);padding-bottom:4px;margin-top:36px}
h3{font-size:1em;margin:20px 0 4px}
.sub,.note,figcaption{color:var(--muted);font-size:.9em}
.warn{background:#fff4e0;border-left:4px solid #e69500;padding:6px 10px}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px;margin-top:16px}
.fig{border:1px solid var(--line);border-radius:6px;padding:10px 12px}
.fig .v{font-size:1.5em;font-weight:600;font-variant-numeric:tabular-nums}
.fig .k{color:var(--muted);font-size:.85em}
figure{margin:8px 0 20px}
svg{display:block;height:auto;max-width:100%}
svg .hover rect:hover{fill-opacity:.08}
table{border-collapse:collapse;width:100%;font-size:.9em;margin-bottom:8px}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:right;font-variant-numeric:tabular-nums}
th:first-child,td:first-child,th.text,td.text{text-align:left;overflow-wrap:anywhere}
th{background:#f5f5f5;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \25B2"}
th[aria-sort=descending]::after{content:" \25BC"}
ul.files{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}
@media print{
 body{max-width:none;padding:0;font-size:10pt}
 h2{break-after:avoid}
 figure,table,.figures{break-inside:avoid}
 th{cursor:auto;background:#eee}
 th::after{content:none!important}
 svg .hover{display:none}
}
"#;

/// Sorts a table by the clicked header: by each cell's `data-v` (a
/// number) or its text; a second click reverses.
const SCRIPT: &str = r#"
document.querySelectorAll("table.sortable").forEach(function(t){
 t.querySelectorAll("th").forEach(function(th,col){
  th.title="Sort by this column";
  th.addEventListener("click",function(){
   var desc=th.getAttribute("aria-sort")!=="descending";
   t.querySelectorAll("th").forEach(function(h){h.removeAttribute("aria-sort")});
   th.setAttribute("aria-sort",desc?"descending":"ascending");
   var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
   function key(r){var c=r.cells[col],v=c.getAttribute("data-v");return v===null?c.textContent:parseFloat(v)}
   rows.sort(function(a,b){var x=key(a),y=key(b),c=(typeof x==="number")?x-y:String(x).localeCompare(String(y));return desc?-c:c});
   rows.forEach(function(r){body.appendChild(r)});
  });
 });
});
"#;

/// `1234567` → `1,234,567`.
pub fn int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share as a percentage, two decimals.
pub fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

/// A time in ms as `YYYY-MM-DD HH:MM:SS.mmm` (UTC).
fn time(ms: i64) -> String {
    let mut b = Vec::new();
    format_rfc3339_ms(ms, &mut b);
    String::from_utf8_lossy(&b)
        .trim_end_matches('Z')
        .replacen('T', " ", 1)
}

/// A duration in ms, in the largest fitting unit.
fn duration(ms: i64) -> String {
    const UNITS: [(i64, &str, &str); 5] = [
        (86_400_000, "day", "days"),
        (3_600_000, "hour", "hours"),
        (60_000, "minute", "minutes"),
        (1_000, "second", "seconds"),
        (1, "millisecond", "milliseconds"),
    ];
    let (unit, one, many) = UNITS
        .iter()
        .copied()
        .find(|u| ms >= u.0 && ms % u.0 == 0)
        .unwrap_or(UNITS[4]);
    match ms / unit {
        1 => one.to_string(),
        n => format!("{n} {many}"),
    }
}

/// Milliseconds, written for people.
fn millis(ms: f64) -> String {
    if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1_000.0)
    }
}

/// Cuts `s` to [`MAX_TEXT`] characters.
fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A number cell: shown text, sort value.
fn num(shown: String, v: f64) -> String {
    format!("<td data-v=\"{v}\">{}</td>", escape(&shown))
}

/// A text cell.
fn text(s: &str) -> String {
    format!(
        "<td class=\"text\" title=\"{}\">{}</td>",
        escape(s),
        escape(&cut(s))
    )
}

/// A headline figure; `key`/`value` are machine-readable (`data-key`,
/// `data-value`).
fn figure(out: &mut String, key: &str, label: &str, shown: &str, value: impl std::fmt::Display) {
    let _ = write!(
        out,
        "<div class=\"fig\" data-key=\"{key}\" data-value=\"{value}\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
        escape(shown),
        escape(label)
    );
}

/// A chart with its heading and caption.
fn chart(out: &mut String, title: &str, caption: &str, s: &Series<'_>) -> anyhow::Result<()> {
    let svg = charts::draw(s)?;
    let _ = write!(
        out,
        "<figure><h3>{}</h3>{svg}<figcaption>{}</figcaption></figure>",
        escape(title),
        escape(caption)
    );
    Ok(())
}

/// A sortable table.
fn table(out: &mut String, title: &str, note: &str, headers: &[&str], rows: &[String]) {
    let _ = write!(out, "<h3>{}</h3>", escape(title));
    if rows.is_empty() {
        let _ = write!(out, "<p class=\"note\">None. {}</p>", escape(note));
        return;
    }
    let _ = write!(
        out,
        "<p class=\"note\">{}</p><table class=\"sortable\"><thead><tr>",
        escape(note)
    );
    for h in headers {
        let class = if matches!(*h, "query" | "item") {
            " class=\"text\""
        } else {
            ""
        };
        let _ = write!(out, "<th scope=\"col\"{class}>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        let _ = write!(out, "<tr>{r}</tr>");
    }
    out.push_str("</tbody></table>");
}

/// Bar charts of bins: labels and counts.
fn bins_series<'a>(
    x_desc: &'a str,
    y_desc: &'a str,
    labels: &[&str],
    counts: &[u64],
    what: &str,
) -> Series<'a> {
    let total: u64 = counts.iter().sum();
    Series {
        x_desc,
        y_desc,
        mark: Mark::Bars,
        values: counts.iter().map(|&c| c as f64).collect(),
        labels: labels.iter().map(|s| s.to_string()).collect(),
        hover: labels
            .iter()
            .zip(counts)
            .map(|(l, &c)| format!("{l}: {} {what} ({})", int(c), pct(ratio(c, total))))
            .collect(),
        y_max: None,
        y_format: axis_count,
        max_x_labels: 12,
    }
}

/// A count on an axis (`12k`, `3.5M`).
fn axis_count(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if a >= 1e4 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

/// A number with at most two decimals, no trailing zeros.
fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A share on an axis.
fn axis_pct(v: f64) -> String {
    format!("{}%", trim(v * 100.0))
}

/// The page.
pub fn render(r: &Report) -> anyhow::Result<String> {
    let s = &r.sessions;
    let mut out = String::with_capacity(256 << 10);
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>search-ctr report</title><style>",
    );
    out.push_str(STYLE);
    out.push_str("</style></head><body>\n<header><h1>Search sessions report</h1><p class=\"sub\">");
    match (s.first_ms, s.last_ms) {
        (Some(a), Some(b)) => {
            let _ = write!(
                out,
                "Event time <span data-key=\"first\">{}</span> to <span data-key=\"last\">{}</span> UTC. ",
                time(a),
                time(b)
            );
        }
        _ => out.push_str("No sessions. "),
    }
    let _ = writeln!(
        out,
        "Made by search-ctr {}.</p></header>",
        env!("CARGO_PKG_VERSION")
    );

    // Headline figures.
    out.push_str("<section class=\"figures\">");
    figure(&mut out, "rows", "sessions (rows)", &int(s.rows), s.rows);
    figure(&mut out, "searches", "searches", &int(s.searches), s.searches);
    figure(
        &mut out,
        "ctr",
        "CTR (searches with a click)",
        &pct(s.ctr()),
        s.ctr(),
    );
    figure(
        &mut out,
        "clicks_per_search",
        "clicks per search",
        &format!("{:.3}", s.clicks_per_search()),
        s.clicks_per_search(),
    );
    if let Some(q) = &r.queries {
        let all = q.overall();
        figure(
            &mut out,
            "no_click_rate",
            "no-click rate",
            &pct(all.no_click_rate()),
            all.no_click_rate(),
        );
        figure(
            &mut out,
            "zero_result_rate",
            "zero-result rate",
            &pct(all.zero_result_rate()),
            all.zero_result_rate(),
        );
        figure(&mut out, "mrr", "MRR", &format!("{:.3}", all.mrr()), all.mrr());
    }
    if let Some(sum) = &r.summary {
        figure(&mut out, "events", "events read", &int(sum.events), sum.events);
        figure(&mut out, "late", "late events", &int(sum.late), sum.late);
        figure(
            &mut out,
            "invalid",
            "invalid lines",
            &int(sum.invalid),
            sum.invalid,
        );
        figure(&mut out, "other", "unknown types", &int(sum.other), sum.other);
        figure(
            &mut out,
            "sessions_without_search",
            "sessions without a search",
            &int(sum.sessions_without_search),
            sum.sessions_without_search,
        );
    }
    out.push_str("</section>\n");
    if let Some(sum) = &r.summary {
        if sum.rows != s.rows {
            let _ = write!(
                out,
                "<p class=\"warn\">The run summary counts {} rows, the session rows hold {}: are they from the same run?</p>",
                int(sum.rows),
                int(s.rows)
            );
        }
        for w in &sum.warnings {
            let _ = write!(out, "<p class=\"warn\">Run warning: {}</p>", escape(w));
        }
    }

    if s.rows > 0 {
        over_time(&mut out, r)?;
        out.push_str("<section id=\"sessions\"><h2>Sessions</h2>");
        let ctr_labels: Vec<String> = (0..CTR_BINS)
            .map(|i| format!("{}–{}", trim(i as f64 / 10.0), trim((i + 1) as f64 / 10.0)))
            .collect();
        let ctr_refs: Vec<&str> = ctr_labels.iter().map(String::as_str).collect();
        chart(
            &mut out,
            "Session CTR",
            "Sessions by their share of searches with a click (each bin includes its lower bound; the last also 1).",
            &bins_series("session CTR", "sessions", &ctr_refs, &s.ctr_bins, "sessions"),
        )?;
        let labels: Vec<&str> = EVENT_BINS.iter().map(|b| b.1).collect();
        chart(
            &mut out,
            "Session length (events)",
            "Sessions by their number of events, of every type.",
            &bins_series(
                "events in the session",
                "sessions",
                &labels,
                &s.event_bins,
                "sessions",
            ),
        )?;
        let labels: Vec<&str> = DURATION_BINS.iter().map(|b| b.1).collect();
        chart(
            &mut out,
            "Session duration",
            "Sessions by the time from their first to their last event (a one-event session lasts 0 s).",
            &bins_series(
                "session duration",
                "sessions",
                &labels,
                &s.duration_bins,
                "sessions",
            ),
        )?;
        out.push_str("</section>\n");
    }
    if let Some(p) = &r.positions {
        positions(&mut out, p)?;
    }
    if let Some(q) = &r.queries {
        queries(&mut out, r, q)?;
    }
    if let Some(j) = &r.judgments {
        out.push_str("<section id=\"judgments\"><h2>Judgments</h2>");
        let rows: Vec<String> = j
            .top_by_coec(TABLE_ROWS, r.min_impressions)
            .iter()
            .map(|((q, i), t)| {
                format!(
                    "{}{}{}{}{}{}{}",
                    text(q),
                    text(i),
                    num(int(t.impressions), t.impressions as f64),
                    num(int(t.clicks), t.clicks as f64),
                    num(pct(t.ctr()), t.ctr()),
                    num(format!("{:.2}", t.mean_position()), t.mean_position()),
                    num(format!("{:.3}", t.coec()), t.coec()),
                )
            })
            .collect();
        // COEC, or a click model's relevance (`--judgment-model`).
        let coec = j.models.iter().all(|m| m == "coec");
        let (measure, column) = if coec {
            ("clicks over expected clicks (COEC".to_owned(), "COEC".to_owned())
        } else {
            let names: Vec<String> = j.models.iter().map(|m| m.to_uppercase()).collect();
            (
                format!("the click model's relevance ({}", names.join(", ")),
                format!("relevance ({})", names.join(", ")),
            )
        };
        let title = format!("Top judgments by {}", if coec { "COEC" } else { "relevance" });
        table(
            &mut out,
            &title,
            &format!(
                "(query, item) pairs with at least {} impressions, by {measure}; over windows, weighted by \
                 impressions). {} pairs in all.",
                int(r.min_impressions),
                int(j.by_pair.len() as u64)
            ),
            &[
                "query",
                "item",
                "impressions",
                "clicks",
                "CTR",
                "mean position",
                &column,
            ],
            &rows,
        );
        out.push_str("</section>\n");
    }

    out.push_str("<section id=\"sources\"><h2>Sources</h2><ul class=\"files\">");
    for (what, path) in &r.sources {
        let _ = write!(out, "<li>{}: {}</li>", escape(what), escape(path));
    }
    out.push_str("</ul></section>\n<script>");
    out.push_str(SCRIPT);
    out.push_str("</script>\n</body></html>\n");
    Ok(out)
}

/// Sessions and CTR per time bucket.
fn over_time(out: &mut String, r: &Report) -> anyhow::Result<()> {
    let (step, points) = r.sessions.timeline.points();
    let (Some(&(first, _)), Some(&(last, _))) = (points.first(), points.last()) else {
        return Ok(());
    };
    let day = 86_400_000;
    let label = |ms: i64| -> String {
        let t = time(ms);
        if step % day == 0 {
            t[..10].to_string()
        } else if first.div_euclid(day) == last.div_euclid(day) {
            t[11..if step % 60_000 == 0 { 16 } else { 19 }].to_string()
        } else {
            format!("{} {}", &t[5..10], &t[11..16])
        }
    };
    let labels: Vec<String> = points.iter().map(|(ms, _)| label(*ms)).collect();
    let bucket = duration(step);
    let x_desc = if step % day != 0 && first.div_euclid(day) == last.div_euclid(day) {
        format!("session start, UTC, {} (per {bucket})", &time(first)[..10])
    } else {
        format!("session start, UTC (per {bucket})")
    };
    let hover_time = |ms: i64| {
        let t = time(ms);
        if step % 1_000 == 0 {
            t[..19].to_string()
        } else {
            t
        }
    };
    out.push_str("<section id=\"over-time\"><h2>Over event time</h2>");
    let _ = write!(
        out,
        "<p class=\"note\">Sessions by the time they started, in buckets of {bucket} ({} buckets).</p>",
        points.len()
    );
    chart(
        out,
        &format!("Sessions per {bucket}"),
        "Sessions (rows) that started in each bucket.",
        &Series {
            x_desc: &x_desc,
            y_desc: "sessions",
            mark: Mark::Bars,
            values: points.iter().map(|(_, b)| b.sessions as f64).collect(),
            labels: labels.clone(),
            hover: points
                .iter()
                .map(|(ms, b)| format!("{} UTC: {} sessions", hover_time(*ms), int(b.sessions)))
                .collect(),
            y_max: None,
            y_format: axis_count,
            max_x_labels: 8,
        },
    )?;
    chart(
        out,
        &format!("CTR per {bucket}"),
        "Searches with a click ÷ searches, over the sessions that started in each bucket (a gap where there were no searches: no data, not 0 %).",
        &Series {
            x_desc: &x_desc,
            y_desc: "CTR",
            mark: Mark::Line,
            values: points
                .iter()
                .map(|(_, b)| if b.searches == 0 { f64::NAN } else { b.ctr() })
                .collect(),
            labels,
            hover: points
                .iter()
                .map(|(ms, b)| {
                    if b.searches == 0 {
                        return format!("{} UTC: no searches", hover_time(*ms));
                    }
                    format!(
                        "{} UTC: CTR {} ({} of {} searches)",
                        hover_time(*ms),
                        pct(b.ctr()),
                        int(b.searches_with_click),
                        int(b.searches)
                    )
                })
                .collect(),
            y_max: Some(1.0),
            y_format: axis_pct,
            max_x_labels: 8,
        },
    )?;
    out.push_str("</section>\n");
    Ok(())
}

/// The position-bias curve.
fn positions(out: &mut String, p: &super::aggregate::Positions) -> anyhow::Result<()> {
    out.push_str("<section id=\"positions\"><h2>Positions</h2>");
    // Ranks up to MAX_POSITIONS one by one, the rest together, then unranked.
    let mut shown: Vec<(String, super::aggregate::PositionTotals)> = Vec::new();
    let mut beyond: Option<super::aggregate::PositionTotals> = None;
    for (pos, t) in &p.by_position {
        match pos {
            Position::Ranked(r) if *r > MAX_POSITIONS => {
                let b = beyond.get_or_insert_with(Default::default);
                b.clicks += t.clicks;
                b.first_clicks += t.first_clicks;
            }
            _ => shown.push((pos.to_string(), *t)),
        }
    }
    if let Some(b) = beyond {
        let at = shown
            .iter()
            .position(|(l, _)| l == "unranked")
            .unwrap_or(shown.len());
        shown.insert(at, (format!("{}+", MAX_POSITIONS + 1), b));
    }
    if shown.is_empty() {
        out.push_str("<p class=\"note\">No position rows.</p></section>\n");
        return Ok(());
    }
    let labels: Vec<String> = shown.iter().map(|(l, _)| l.clone()).collect();
    chart(
        out,
        "Clicks by position",
        "Clicks on the result at each position, over all windows (unranked: clicks on items not in the results).",
        &Series {
            x_desc: "position",
            y_desc: "clicks",
            mark: Mark::Bars,
            values: shown.iter().map(|(_, t)| t.clicks as f64).collect(),
            labels: labels.clone(),
            hover: shown
                .iter()
                .map(|(l, t)| format!("position {l}: {} clicks, {} first clicks", int(t.clicks), int(t.first_clicks)))
                .collect(),
            y_max: None,
            y_format: axis_count,
            max_x_labels: 31,
        },
    )?;
    let ranked: Vec<&(String, super::aggregate::PositionTotals)> = shown
        .iter()
        .filter(|(_, t)| t.searches_with_results > 0)
        .collect();
    if !ranked.is_empty() {
        chart(
            out,
            "CTR by position",
            "The position-bias curve: CTR at each position over the searches whose results reached it \
             (windows weighted by those searches).",
            &Series {
                x_desc: "position",
                y_desc: "CTR at position",
                mark: Mark::Line,
                values: ranked.iter().map(|(_, t)| t.ctr()).collect(),
                labels: ranked.iter().map(|(l, _)| l.clone()).collect(),
                hover: ranked
                    .iter()
                    .map(|(l, t)| {
                        format!(
                            "position {l}: CTR {} over {} searches",
                            pct(t.ctr()),
                            int(t.searches_with_results)
                        )
                    })
                    .collect(),
                y_max: Some(nice_rate_max(ranked.iter().map(|(_, t)| t.ctr()))),
                y_format: axis_pct,
                max_x_labels: 31,
            },
        )?;
    }
    out.push_str("</section>\n");
    Ok(())
}

/// The top of a rate axis: 1, or less when every rate is small.
fn nice_rate_max(rates: impl Iterator<Item = f64>) -> f64 {
    let max = rates.fold(0.0, f64::max);
    [0.05, 0.1, 0.2, 0.25, 0.5, 1.0]
        .into_iter()
        .find(|&m| max <= m)
        .unwrap_or(1.0)
}

/// Query tables and the time-to-first-click chart.
fn queries(out: &mut String, r: &Report, q: &super::aggregate::Queries) -> anyhow::Result<()> {
    out.push_str("<section id=\"queries\"><h2>Queries</h2>");
    let with_click: u64 = q.first_click_bins.iter().sum();
    if with_click > 0 {
        let labels: Vec<&str> = FIRST_CLICK_BINS.iter().map(|b| b.1).collect();
        chart(
            out,
            "Time to first click",
            "Searches with a click, by their window's mean time from the search to its first click.",
            &bins_series(
                "mean time to first click",
                "searches with a click",
                &labels,
                &q.first_click_bins,
                "searches",
            ),
        )?;
    }
    let row = |name: &str, t: &QueryTotals| {
        format!(
            "{}{}{}{}{}{}{}",
            text(name),
            num(int(t.searches), t.searches as f64),
            num(pct(t.ctr()), t.ctr()),
            num(pct(t.no_click_rate()), t.no_click_rate()),
            num(pct(t.zero_result_rate()), t.zero_result_rate()),
            num(format!("{:.3}", t.mrr()), t.mrr()),
            match t.mean_time_to_first_click_ms() {
                Some(ms) => num(millis(ms), ms),
                None => "<td data-v=\"-1\">–</td>".to_string(),
            },
        )
    };
    const HEADERS: [&str; 7] = [
        "query",
        "searches",
        "CTR",
        "no-click rate",
        "zero-result rate",
        "MRR",
        "time to first click",
    ];
    let rows: Vec<String> = q
        .top(TABLE_ROWS, |_| true, |t| t.searches as f64)
        .iter()
        .map(|(n, t)| row(n, t))
        .collect();
    table(
        out,
        "Top queries",
        &format!(
            "The most searched queries, over all windows ({} distinct queries). Rates over windows are weighted \
             by searches.",
            int(q.by_query.len() as u64)
        ),
        &HEADERS,
        &rows,
    );
    let rows: Vec<String> = q
        .top(
            TABLE_ROWS,
            |t| t.zero_result_searches() > 0,
            |t| t.zero_result_searches() as f64,
        )
        .iter()
        .map(|(n, t)| {
            format!(
                "{}{}{}{}",
                text(n),
                num(int(t.searches), t.searches as f64),
                num(int(t.zero_result_searches()), t.zero_result_searches() as f64),
                num(pct(t.zero_result_rate()), t.zero_result_rate()),
            )
        })
        .collect();
    table(
        out,
        "Zero-result queries",
        "Queries whose searches returned no results, most such searches first.",
        &["query", "searches", "zero-result searches", "zero-result rate"],
        &rows,
    );
    let rows: Vec<String> = q
        .top(
            TABLE_ROWS,
            |t| t.searches >= r.min_searches,
            |t| t.no_click_rate(),
        )
        .iter()
        .map(|(n, t)| row(n, t))
        .collect();
    table(
        out,
        "Worst queries by no-click rate",
        &format!(
            "Queries with at least {} searches, highest no-click rate first.",
            int(r.min_searches)
        ),
        &HEADERS,
        &rows,
    );
    out.push_str("</section>\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1_234_567), "1,234,567");
        assert_eq!(pct(0.4123), "41.23 %");
        assert_eq!(axis_count(25_000.0), "25k");
        assert_eq!(axis_count(2_500_000.0), "2.5M");
        assert_eq!(axis_pct(0.25), "25%");
        assert_eq!(duration(3_600_000), "hour");
        assert_eq!(duration(6 * 3_600_000), "6 hours");
        assert_eq!(duration(86_400_000), "day");
        assert_eq!(duration(30_000), "30 seconds");
        assert_eq!(time(1_704_067_205_000), "2024-01-01 00:00:05.000");
        assert_eq!(cut(&"é".repeat(MAX_TEXT + 5)).chars().count(), MAX_TEXT + 1);
    }
}
