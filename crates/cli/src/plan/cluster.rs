//! The cluster of a run, from `-i` and `-a` / `--hostfile`.

use anyhow::Context;
use eddy::ClusterConfig;

use crate::args::RunArgs;
use crate::usage::UsageError;

/// The cluster `args` describe (`None`: one process); its fingerprint is
/// filled in once the plan is made.
pub fn from_args(args: &RunArgs) -> anyhow::Result<Option<ClusterConfig>> {
    let addresses = match &args.hostfile {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the hostfile", path.display()))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect(),
        None => args.addresses.clone(),
    };
    if let Some(path) = args.hostfile.as_ref().filter(|_| addresses.is_empty()) {
        return Err(UsageError(format!(
            "--hostfile {}: no address in it (expected one host:port per line; blank lines and # comments are skipped)",
            path.display()
        ))
        .into());
    }
    for (i, a) in addresses.iter().enumerate() {
        if let Some(j) = addresses[..i].iter().position(|b| b == a) {
            return Err(UsageError(format!(
                "{a} is the address of process {j} and of process {i}; each process needs its own address"
            ))
            .into());
        }
    }
    match (args.process_id, addresses.is_empty()) {
        (None, true) => Ok(None),
        (None, false) => Err(UsageError("--addresses/--hostfile need --process-id".into()).into()),
        (Some(_), true) => Err(UsageError("--process-id needs --addresses or --hostfile".into()).into()),
        (Some(i), false) if i >= addresses.len() => Err(UsageError(format!(
            "--process-id {i} is out of range for {} addresses",
            addresses.len()
        ))
        .into()),
        (Some(i), false) => Ok(Some(ClusterConfig {
            connect_timeout: args.connect_timeout,
            peer_timeout: args.peer_timeout,
            ..ClusterConfig::new(i, addresses)
        })),
    }
}
