//! Schemas of common search-analytics exports, as [`SchemaSpec`]s
//! (`search-ctr run --schema NAME`). Each has a sample in `docs/schemas/`
//! and is tested on it.

use super::SchemaSpec;

/// A preset: its name, what it reads, and its TOML.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// `--schema` value.
    pub name: &'static str,
    /// What it reads.
    pub about: &'static str,
    /// The schema, as a `--schema-file` would give it.
    pub toml: &'static str,
}

/// Every preset.
pub const PRESETS: [Preset; 4] = [
    Preset {
        name: "ga4",
        about:
            "Google Analytics 4 BigQuery export as JSON Lines (one event per line): view_search_results is \
                the search (event_params.search_term), view_item_list the results (items), select_item the \
                click (items[0], its 0-based index)",
        toml: r#"
time_unit = "us"
position_base = 0
search_lists_results = false
[fields]
user = "user_pseudo_id"
time = "event_timestamp"
type = "event_name"
query = "event_params.search_term"
items = "items.*.item_id"
item = "items.0.item_id"
position = "items.0.index"
[types]
app_open = ["session_start"]
search = ["view_search_results", "search"]
results = ["view_item_list"]
click_result = ["select_item"]
"#,
    },
    Preset {
        name: "snowplow",
        about: "Snowplow enriched events as JSON (the Analytics SDK's shape): site_search is the search \
                (its terms, joined), link_click the click (its targetUrl)",
        toml: r#"
[fields]
user = "domain_userid"
time = "derived_tstamp"
type = "event_name"
query = "unstruct_event_com_snowplowanalytics_snowplow_site_search_1.terms"
item = "unstruct_event_com_snowplowanalytics_snowplow_link_click_1.targetUrl"
[types]
search = ["site_search"]
click_result = ["link_click"]
"#,
    },
    Preset {
        name: "elastic",
        about: "Elastic behavioral analytics events (search, search_click): the search with its result \
                documents, the click on a document",
        toml: r#"
[fields]
user = "user.id"
time = "@timestamp"
type = "event.action"
query = "search.query"
items = "search.results.items.*.document.id"
item = "document.id"
[types]
search = ["search"]
click_result = ["search_click"]
"#,
    },
    Preset {
        name: "algolia",
        about: "Algolia Insights events: a view is a search and its results (Insights events carry no \
                query text, so the query is the view's queryID), a click the click on objectIDs[0] at \
                positions[0]; conversions are skipped",
        toml: r#"
[fields]
user = "userToken"
time = "timestamp"
type = "eventType"
query_id = "queryID"
items = "objectIDs"
item = "objectIDs"
position = "positions"
[types]
search = ["view"]
click_result = ["click"]
"#,
    },
];

/// The preset called `name`.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

impl Preset {
    /// Its schema.
    pub fn spec(&self) -> SchemaSpec {
        // The presets are tested to parse (`every_preset_reads_its_sample`).
        SchemaSpec::from_toml(self.toml).unwrap_or_default()
    }
}
