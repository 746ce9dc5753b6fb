//! [`UsageError`]: an error in the arguments themselves, which every
//! module that checks an option can raise (it depends on nothing).

/// An error in the arguments themselves (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
