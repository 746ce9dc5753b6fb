//! `search-ctr` with no arguments: the Bytewax tutorial, from the library's
//! example (`crates/eddy/examples/search_sessions.rs`), so there is one copy.

#[path = "../../eddy/examples/search_sessions.rs"]
#[allow(dead_code)]
mod example;

pub use example::run_tutorial;
