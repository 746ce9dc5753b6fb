//! Several processes: connecting them (with a deadline, binding only the
//! address this process was given) and noticing when one is lost.
//!
//! Sockets are made here, with timely's own handshake, and handed to
//! timely's `initialize_networking_from_sockets`, so that a peer that never
//! comes up is an error naming it after `connect_timeout`, not a silent
//! retry loop. During the run, timely's network threads panic when a
//! connection breaks; `engine::failure` turns that into the run's error
//! ("lost connection to process N"), and every worker stops. A process
//! whose run fails shuts its connections down (`RunShared::fail`), so
//! that the others learn it at once.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::engine::run::ClusterConfig;
use crate::error::{EddyError, Result};

/// Timely's handshake: this magic number, then the connecting process's
/// index, both as little-endian `u64`.
const HANDSHAKE_MAGIC: u64 = 0xc2f1_fb77_0118_add9;

/// Connects this process to every other one: it connects to the processes
/// before it and accepts the ones after it. Returns one socket per process
/// (`None` at this process's own index).
pub fn connect(cluster: &ClusterConfig, timeout: Duration) -> Result<Vec<Option<TcpStream>>> {
    let me = cluster.process_id;
    let addrs = &cluster.addresses;
    let deadline = Instant::now() + timeout;
    let listener = TcpListener::bind(&addrs[me])
        .map_err(|e| EddyError::Engine(format!("process {me}: cannot listen on {}: {e}", addrs[me])))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| EddyError::Engine(format!("process {me}: {e}")))?;
    let mut sockets: Vec<Option<TcpStream>> = (0..addrs.len()).map(|_| None).collect();
    for (peer, addr) in addrs.iter().enumerate().take(me) {
        sockets[peer] = Some(dial(me, peer, addr, deadline, timeout)?);
    }
    let mut waiting = addrs.len() - me - 1;
    while waiting > 0 {
        match listener.accept() {
            Ok((mut stream, _)) => {
                let peer = read_handshake(&mut stream, deadline).map_err(|e| {
                    EddyError::Engine(format!("process {me}: bad handshake from a peer: {e}"))
                })?;
                if peer <= me || peer >= addrs.len() || sockets[peer].is_some() {
                    return Err(EddyError::Engine(format!(
                        "process {me}: unexpected connection claiming to be process {peer}"
                    )));
                }
                stream
                    .set_nonblocking(false)
                    .and_then(|()| stream.set_nodelay(true))
                    .map_err(|e| EddyError::Engine(format!("process {me}: {e}")))?;
                sockets[peer] = Some(stream);
                waiting -= 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    let missing: Vec<String> = (me + 1..addrs.len())
                        .filter(|p| sockets[*p].is_none())
                        .map(|p| format!("process {p} ({})", addrs[p]))
                        .collect();
                    return Err(EddyError::Engine(format!(
                        "process {me}: no connection from {} within {timeout:?}",
                        missing.join(", ")
                    )));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(EddyError::Engine(format!("process {me}: accept failed: {e}"))),
        }
    }
    Ok(sockets)
}

/// Connects to process `peer`, retrying until the deadline.
fn dial(me: usize, peer: usize, addr: &str, deadline: Instant, timeout: Duration) -> Result<TcpStream> {
    let mut last_error = String::from("not tried");
    while Instant::now() < deadline {
        let target = addr.to_socket_addrs().ok().and_then(|mut a| a.next());
        match target.map(|t| TcpStream::connect_timeout(&t, Duration::from_millis(500))) {
            Some(Ok(mut stream)) => {
                let mut hello = [0u8; 16];
                hello[..8].copy_from_slice(&HANDSHAKE_MAGIC.to_le_bytes());
                hello[8..].copy_from_slice(&(me as u64).to_le_bytes());
                stream
                    .set_nodelay(true)
                    .and_then(|()| stream.write_all(&hello))
                    .map_err(|e| {
                        EddyError::Engine(format!("process {me}: handshake with process {peer}: {e}"))
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

fn read_handshake(stream: &mut TcpStream, deadline: Instant) -> std::io::Result<usize> {
    stream.set_nonblocking(false)?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(100));
    stream.set_read_timeout(Some(left))?;
    let mut hello = [0u8; 16];
    stream.read_exact(&mut hello)?;
    stream.set_read_timeout(None)?;
    let (magic, index) = hello.split_at(8);
    let magic = u64::from_le_bytes(magic.try_into().unwrap_or_default());
    if magic != HANDSHAKE_MAGIC {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a timely peer",
        ));
    }
    let index = u64::from_le_bytes(index.try_into().unwrap_or_default());
    Ok(usize::try_from(index).unwrap_or(usize::MAX))
}
