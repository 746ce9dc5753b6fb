//! `search-ctr`: session click-through rates from search logs.

fn main() {}
