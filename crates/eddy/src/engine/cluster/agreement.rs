//! **Agreement.** Before timely gets anything, every process sends every
//! peer its identity on the data connection — named items: the dataflow id,
//! the caller's run parameters ([`ClusterConfig::fingerprint`]), the worker
//! count, recovery on or off — reads every peer's, and compares them item
//! by item. The first difference is [`EddyError::ClusterMismatch`], naming
//! the item and both processes; as every process reads every identity
//! before it goes on, each of them finds a difference and stops.
//!
//! [`ClusterConfig::fingerprint`]: crate::engine::cluster::ClusterConfig::fingerprint

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::error::{EddyError, Result};

/// Starts an identity message (then its length and its bincode).
const IDENTITY_MAGIC: u64 = u64::from_le_bytes(*b"eddy-id1");

/// The largest identity accepted from a peer.
const MAX_IDENTITY_BYTES: u64 = 64 << 20;

/// Sends `identity` to every peer, reads every peer's, and returns the
/// first difference (or a peer that did not answer) as the error.
///
/// Every identity is read in full before this returns, so a process that
/// stops here leaves no unread data behind (its close is not a reset that
/// could destroy what a peer has yet to read).
pub(super) fn agree(
    me: usize,
    addrs: &[String],
    data: &[Option<TcpStream>],
    identity: &[(String, String)],
    timeout: Duration,
    stopped: &dyn Fn() -> bool,
) -> Result<()> {
    let body = bincode::serialize(identity)
        .map_err(|e| EddyError::Engine(format!("process {me}: cannot encode its identity: {e}")))?;
    let mut message = Vec::with_capacity(body.len() + 16);
    message.extend_from_slice(&IDENTITY_MAGIC.to_le_bytes());
    message.extend_from_slice(&(body.len() as u64).to_le_bytes());
    message.extend_from_slice(&body);
    let deadline = Instant::now() + timeout;
    std::thread::scope(|scope| {
        // Each peer is sent its copy from a thread of its own: a peer reads
        // only once it has sent its own, however big.
        let message = &message;
        let sends: Vec<_> = data
            .iter()
            .enumerate()
            .filter_map(|(peer, s)| s.as_ref().map(|s| (peer, s)))
            .map(|(peer, stream)| {
                let send = scope.spawn(move || {
                    stream
                        .set_write_timeout(Some(timeout))
                        .and_then(|()| (&*stream).write_all(message))
                        .and_then(|()| stream.set_write_timeout(None))
                });
                (peer, send)
            })
            .collect();
        let mut verdict = Ok(());
        for (peer, stream) in data.iter().enumerate() {
            let Some(stream) = stream else { continue };
            match read_identity(stream, deadline, stopped) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => verdict = Err(EddyError::Interrupted),
                Ok(theirs) => {
                    if let (Ok(()), Some(e)) = (&verdict, disagreement(me, identity, peer, &theirs)) {
                        verdict = Err(e);
                    }
                }
                Err(e) => {
                    if verdict.is_ok() {
                        verdict = Err(EddyError::Engine(format!(
                            "process {me}: process {peer} ({}) did not send its run parameters: {e} \
                             (see its own error)",
                            addrs[peer]
                        )));
                    }
                }
            }
        }
        for (peer, send) in sends {
            let sent = send
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the sending thread panicked")));
            if let (Ok(()), Err(e)) = (&verdict, sent) {
                verdict = Err(EddyError::Engine(format!(
                    "process {me}: cannot send its run parameters to process {peer} ({}): {e}",
                    addrs[peer]
                )));
            }
        }
        verdict
    })
}

/// Reads a peer's identity message.
fn read_identity(
    stream: &TcpStream,
    deadline: Instant,
    stopped: &dyn Fn() -> bool,
) -> io::Result<Vec<(String, String)>> {
    let mut head = [0u8; 16];
    read_full(stream, &mut head, deadline, stopped)?;
    let (magic, len) = head.split_at(8);
    let magic = u64::from_le_bytes(magic.try_into().unwrap_or_default());
    let len = u64::from_le_bytes(len.try_into().unwrap_or_default());
    if magic != IDENTITY_MAGIC || len > MAX_IDENTITY_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not an eddy identity message (another version?)",
        ));
    }
    let mut body = vec![0u8; usize::try_from(len).unwrap_or(0)];
    read_full(stream, &mut body, deadline, stopped)?;
    stream.set_read_timeout(None)?;
    bincode::deserialize(&body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Fills `buf` from `stream` by the deadline, looking at `stopped()` every
/// 50 ms (an `Interrupted` error once it says so): a signal never waits for
/// a silent peer.
fn read_full(
    stream: &TcpStream,
    buf: &mut [u8],
    deadline: Instant,
    stopped: &dyn Fn() -> bool,
) -> io::Result<()> {
    let mut reader = stream;
    let mut at = 0;
    while at < buf.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        stream.set_read_timeout(Some(
            left.clamp(Duration::from_millis(1), Duration::from_millis(50)),
        ))?;
        match reader.read(&mut buf[at..]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "it closed the connection",
                ))
            }
            Ok(n) => at += n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                if stopped() {
                    return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
                }
                if left.is_zero() {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The first item on which process `me` (with `mine`) and `peer` (with
/// `theirs`) differ, as the error both report.
pub(crate) fn disagreement(
    me: usize,
    mine: &[(String, String)],
    peer: usize,
    theirs: &[(String, String)],
) -> Option<EddyError> {
    let describe = |item: Option<&(String, String)>| match item {
        Some((name, value)) => format!("{name} = {value}"),
        None => "nothing".to_owned(),
    };
    let (item, ours, other) =
        (0..mine.len().max(theirs.len())).find_map(|i| match (mine.get(i), theirs.get(i)) {
            (Some((a, ours)), Some((b, other))) if a == b => {
                (ours != other).then(|| (a.clone(), ours.clone(), other.clone()))
            }
            (a, b) => Some(("the list of run parameters".to_owned(), describe(a), describe(b))),
        })?;
    // The higher id first: both processes report the same text.
    let ((process, value), (other, other_value)) = if me > peer {
        ((me, ours), (peer, other))
    } else {
        ((peer, other), (me, ours))
    };
    Some(EddyError::ClusterMismatch {
        item,
        process,
        value,
        other,
        other_value,
    })
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::time::Duration;

    use super::*;
    use crate::engine::cluster::connections::{connect, Connections};
    use crate::engine::cluster::ClusterConfig;

    fn items(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn the_first_differing_item_is_named_with_both_processes() {
        let zero = items(&[("dataflow", "f"), ("--gap", "10m"), ("--wait", "1s")]);
        let one = items(&[("dataflow", "f"), ("--gap", "30m"), ("--wait", "2s")]);
        let seen_by_0 = disagreement(0, &zero, 1, &one).map(|e| e.to_string());
        let seen_by_1 = disagreement(1, &one, 0, &zero).map(|e| e.to_string());
        assert_eq!(seen_by_0, seen_by_1);
        let text = seen_by_0.unwrap_or_default();
        assert!(
            text.starts_with(
                "process 1 disagrees with process 0 on --gap: 30m (process 1) vs 10m (process 0)"
            ),
            "{text}"
        );
        assert!(disagreement(0, &zero, 1, &zero).is_none());
        // Another list (another program): named as such.
        let short = items(&[("dataflow", "f")]);
        let e = disagreement(2, &short, 0, &zero)
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("on the list of run parameters: nothing (process 2) vs --gap = 10m (process 0)"),
            "{e}"
        );
    }

    fn cluster(id: usize, addresses: &[String]) -> ClusterConfig {
        ClusterConfig {
            connect_timeout: Duration::from_secs(10),
            ..ClusterConfig::new(id, addresses.to_vec())
        }
    }

    fn free_ports(n: usize) -> Vec<String> {
        let listeners: Vec<TcpListener> = (0..n)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        listeners
            .iter()
            .map(|l| format!("127.0.0.1:{}", l.local_addr().unwrap().port()))
            .collect()
    }

    /// Connects processes `0..n` (threads) with the given identities.
    fn connect_all(identities: Vec<Vec<(String, String)>>) -> Vec<Result<Connections>> {
        let addrs = free_ports(identities.len());
        let handles: Vec<_> = identities
            .into_iter()
            .enumerate()
            .map(|(i, id)| {
                let c = cluster(i, &addrs);
                std::thread::spawn(move || connect(&c, &id, &|| false))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    #[test]
    fn processes_that_agree_connect_and_any_difference_stops_them_all() {
        let same = items(&[("dataflow", "f"), ("--gap", "10m")]);
        for r in connect_all(vec![same.clone(), same.clone(), same.clone()]) {
            let c = r.unwrap();
            assert_eq!(c.all().count(), 4);
        }
        let odd = items(&[("dataflow", "f"), ("--gap", "30m")]);
        let results = connect_all(vec![same.clone(), same, odd]);
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Err(EddyError::ClusterMismatch { item, process: 2, .. }) => {
                    assert_eq!(item, "--gap", "process {i}")
                }
                other => panic!("process {i}: {other:?}"),
            }
        }
    }
}
