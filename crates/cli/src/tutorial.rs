//! `search-ctr` with no arguments: the Bytewax tutorial, as the library
//! holds it ([`eddy::tutorial`]; one copy).

pub use eddy::tutorial::run_tutorial;
