//! **Connections.** Process `i` dials every process before it and accepts
//! every one after it, on each process's one address. A pair of processes
//! has two connections, told apart by the handshake (magic, process index,
//! channel): the *data* connection, which carries timely's messages, and
//! the *heartbeat* connection.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::agreement::agree;
use crate::engine::cluster::ClusterConfig;
use crate::error::{EddyError, Result};

/// The handshake: this magic number, the connecting process's index and
/// the channel, each a little-endian `u64`.
const HANDSHAKE_MAGIC: u64 = 0xc2f1_fb77_0118_add9;

/// The two connections between a pair of processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    /// Timely's messages (after the agreement).
    Data,
    /// Heartbeats.
    Heartbeat,
}

impl Channel {
    fn tag(self) -> u64 {
        match self {
            Channel::Data => 0,
            Channel::Heartbeat => 1,
        }
    }

    fn from_tag(tag: u64) -> Option<Self> {
        match tag {
            0 => Some(Channel::Data),
            1 => Some(Channel::Heartbeat),
            _ => None,
        }
    }
}

/// This process's connections to every other (`None` at its own index),
/// made and agreed upon.
#[derive(Debug)]
pub(crate) struct Connections {
    /// For timely's messages.
    pub(crate) data: Vec<Option<TcpStream>>,
    /// For heartbeats.
    pub(crate) heartbeat: Vec<Option<TcpStream>>,
}

impl Connections {
    /// Every connection (clones), for [`RunShared`] to shut down on failure.
    pub(crate) fn all(&self) -> impl Iterator<Item = &TcpStream> {
        self.data.iter().chain(&self.heartbeat).flatten()
    }
}

/// Connects this process to every other one and checks that they all
/// have the same `identity` (item by item). Connecting and the agreement
/// each wait at most `connect_timeout`; waiting for peers ends with
/// [`EddyError::Interrupted`] as soon as `stopped()` says so (a signal).
pub(crate) fn connect(
    cluster: &ClusterConfig,
    identity: &[(String, String)],
    stopped: &dyn Fn() -> bool,
) -> Result<Connections> {
    let me = cluster.process_id;
    let addrs = &cluster.addresses;
    let timeout = cluster.connect_timeout;
    let deadline = Instant::now() + timeout;
    let listener = TcpListener::bind(&addrs[me])
        .map_err(|e| EddyError::network(format!("process {me}: cannot listen on {}", addrs[me]), e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| EddyError::network(format!("process {me}"), e))?;
    let none = || (0..addrs.len()).map(|_| None).collect::<Vec<Option<TcpStream>>>();
    let mut conns = Connections {
        data: none(),
        heartbeat: none(),
    };
    for (peer, addr) in addrs.iter().enumerate().take(me) {
        for channel in [Channel::Data, Channel::Heartbeat] {
            let stream = dial(me, peer, addr, channel, deadline, timeout, stopped)?;
            *conns.slot(channel, peer) = Some(stream);
        }
    }
    let mut waiting = 2 * (addrs.len() - me - 1);
    while waiting > 0 {
        match listener.accept() {
            Ok((mut stream, _)) => {
                let (peer, channel) = read_handshake(&mut stream, deadline)
                    .map_err(|e| EddyError::network(format!("process {me}: bad handshake from a peer"), e))?;
                if peer <= me || peer >= addrs.len() || conns.slot(channel, peer).is_some() {
                    return Err(EddyError::Engine(format!(
                        "process {me}: unexpected connection claiming to be process {peer}"
                    )));
                }
                stream
                    .set_nonblocking(false)
                    .and_then(|()| stream.set_nodelay(true))
                    .map_err(|e| EddyError::network(format!("process {me}"), e))?;
                *conns.slot(channel, peer) = Some(stream);
                waiting -= 1;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if stopped() {
                    return Err(EddyError::Interrupted);
                }
                if Instant::now() >= deadline {
                    let missing: Vec<String> = (me + 1..addrs.len())
                        .filter(|p| conns.data[*p].is_none() || conns.heartbeat[*p].is_none())
                        .map(|p| format!("process {p} ({})", addrs[p]))
                        .collect();
                    return Err(EddyError::Engine(format!(
                        "process {me}: no connection from {} within {timeout:?}",
                        missing.join(", ")
                    )));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(EddyError::network(format!("process {me}: accept failed"), e)),
        }
    }
    agree(me, addrs, &conns.data, identity, timeout, stopped)?;
    Ok(conns)
}

impl Connections {
    fn slot(&mut self, channel: Channel, peer: usize) -> &mut Option<TcpStream> {
        match channel {
            Channel::Data => &mut self.data[peer],
            Channel::Heartbeat => &mut self.heartbeat[peer],
        }
    }
}

/// Connects to process `peer`'s `channel`, retrying until the deadline
/// (or until `stopped()`).
fn dial(
    me: usize,
    peer: usize,
    addr: &str,
    channel: Channel,
    deadline: Instant,
    timeout: Duration,
    stopped: &dyn Fn() -> bool,
) -> Result<TcpStream> {
    let mut last_error = String::from("not tried");
    while Instant::now() < deadline {
        if stopped() {
            return Err(EddyError::Interrupted);
        }
        let target = addr.to_socket_addrs().ok().and_then(|mut a| a.next());
        match target.map(|t| TcpStream::connect_timeout(&t, Duration::from_millis(500))) {
            Some(Ok(mut stream)) => {
                let mut hello = [0u8; 24];
                hello[..8].copy_from_slice(&HANDSHAKE_MAGIC.to_le_bytes());
                hello[8..16].copy_from_slice(&(me as u64).to_le_bytes());
                hello[16..].copy_from_slice(&channel.tag().to_le_bytes());
                stream
                    .set_nodelay(true)
                    .and_then(|()| stream.write_all(&hello))
                    .map_err(|e| {
                        EddyError::network(format!("process {me}: handshake with process {peer}"), e)
                    })?;
                return Ok(stream);
            }
            Some(Err(e)) => last_error = e.to_string(),
            None => last_error = format!("cannot resolve {addr}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(EddyError::Engine(format!(
        "process {me}: cannot reach process {peer} at {addr} within {timeout:?} ({last_error})"
    )))
}

fn read_handshake(stream: &mut TcpStream, deadline: Instant) -> io::Result<(usize, Channel)> {
    stream.set_nonblocking(false)?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(100));
    stream.set_read_timeout(Some(left))?;
    let mut hello = [0u8; 24];
    stream.read_exact(&mut hello)?;
    stream.set_read_timeout(None)?;
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&hello[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    let channel = Channel::from_tag(word(2));
    match (word(0) == HANDSHAKE_MAGIC, channel) {
        (true, Some(channel)) => Ok((usize::try_from(word(1)).unwrap_or(usize::MAX), channel)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not an eddy process of this version",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn a_taken_address_is_a_network_error_with_the_os_error_as_source() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let cluster = ClusterConfig::new(0, vec![addr.clone(), "127.0.0.1:1".into()]);
        let Err(e) = connect(&cluster, &[], &|| false) else {
            panic!("listening on a taken address succeeded");
        };
        let EddyError::Network { what, source } = &e else {
            panic!("not a network error: {e:?}");
        };
        assert!(what.contains(&addr), "{what}");
        assert_eq!(source.kind(), io::ErrorKind::AddrInUse);
        let cause = e.source().expect("the OS error is the source");
        assert!(cause.downcast_ref::<io::Error>().is_some());
    }
}
