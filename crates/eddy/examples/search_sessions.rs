//! Bytewax's tutorial "Building Sessions from Search Logs" in Eddy: the
//! flow is [`eddy::tutorial`] (read its source, `crates/eddy/src/tutorial.rs`,
//! step by step). Run it with `cargo run -p eddy --example search_sessions`;
//! it prints
//!
//! ```text
//! User 1: 1 searches, 1 clicks
//! User 2: 1 searches, 2 clicks
//! ('1', 1.0)
//! ('2', 2.0)
//! ```

fn main() -> eddy::Result<()> {
    eddy::tutorial::run_tutorial()
}
