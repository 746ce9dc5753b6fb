//! **Relays.** Timely's receive thread prints a read error with `println!`
//! — on stdout, among a run's rows — and then panics, which poisons queues
//! that workers still use. So timely never holds a connection to another
//! process: it gets one end of a loopback connection per peer, and two
//! relay threads copy between the other end and the real connection. A
//! relay follows timely's framing just enough to see the zero-length
//! message that ends a stream cleanly. When the real connection ends
//! without it, the relay makes that the run's error ("lost connection to
//! process N") and tells timely nothing until the workers have returned;
//! then [`Relays::release`] closes timely's ends so that its threads end.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;

use super::framing::{Frames, Layout};
use crate::base::signal::RunShared;
use crate::error::{EddyError, Result};

/// The relays of a clustered run: see the module docs.
#[derive(Debug)]
pub(crate) struct Relays {
    peers: Vec<RelayEnds>,
}

#[derive(Debug)]
struct RelayEnds {
    /// The relay's end of timely's loopback connection.
    local: TcpStream,
    state: Arc<Mutex<RelayState>>,
    threads: Vec<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct RelayState {
    /// The workers have returned: timely may hear of breaks now.
    released: bool,
    /// The real connection broke; timely has not been told.
    withheld: bool,
}

/// What a relay needs to know about its peer and run.
#[derive(Clone)]
struct RelayCtx {
    peer: usize,
    address: String,
    shared: Weak<RunShared>,
    state: Arc<Mutex<RelayState>>,
}

impl RelayCtx {
    /// The real connection broke: the run's error, unless the run is
    /// already stopping or its workers have returned.
    fn lost(&self) {
        let released = self.state.lock().map(|s| s.released).unwrap_or(true);
        if released {
            return;
        }
        if let Some(run) = self.shared.upgrade() {
            if !run.aborted() {
                run.fail(lost_peer(self.peer, &self.address));
            }
        }
    }
}

/// The error of a broken connection to process `peer`.
pub(crate) fn lost_peer(peer: usize, address: &str) -> EddyError {
    EddyError::Engine(format!(
        "lost connection to process {peer} ({address}): it failed or exited"
    ))
}

/// Puts a relay between timely and each real connection in `data`;
/// returns timely's ends (one per process, `None` at this one's index).
pub(crate) fn relay(
    data: Vec<Option<TcpStream>>,
    addresses: &[String],
    shared: &Arc<RunShared>,
) -> Result<(Vec<Option<TcpStream>>, Relays)> {
    let engine = |e: io::Error| EddyError::Engine(format!("cannot set up the connection relays: {e}"));
    let layout = Layout::of_timely().map_err(engine)?;
    let mut timely_ends = Vec::with_capacity(data.len());
    let mut peers = Vec::new();
    for (peer, real) in data.into_iter().enumerate() {
        let Some(real) = real else {
            timely_ends.push(None);
            continue;
        };
        let (theirs, local) = loopback_pair().map_err(engine)?;
        let ctx = RelayCtx {
            peer,
            address: addresses.get(peer).cloned().unwrap_or_default(),
            shared: Arc::downgrade(shared),
            state: Arc::new(Mutex::new(RelayState::default())),
        };
        let inbound = {
            let (real, local, ctx) = (
                real.try_clone().map_err(engine)?,
                local.try_clone().map_err(engine)?,
                ctx.clone(),
            );
            std::thread::Builder::new()
                .name(format!("eddy-relay-in-{peer}"))
                .spawn(move || relay_in(real, local, layout, &ctx))
                .map_err(engine)?
        };
        let outbound = {
            let (local, ctx) = (local.try_clone().map_err(engine)?, ctx.clone());
            std::thread::Builder::new()
                .name(format!("eddy-relay-out-{peer}"))
                .spawn(move || relay_out(local, real, &ctx))
                .map_err(engine)?
        };
        timely_ends.push(Some(theirs));
        peers.push(RelayEnds {
            local,
            state: ctx.state,
            threads: vec![inbound, outbound],
        });
    }
    Ok((timely_ends, Relays { peers }))
}

/// A connected pair of loopback sockets: (timely's end, the relay's end).
pub(super) fn loopback_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    let theirs = TcpStream::connect(listener.local_addr()?)?;
    let expected = theirs.local_addr()?;
    loop {
        let (local, from) = listener.accept()?;
        // Anyone else who raced to this port is dropped.
        if from == expected {
            theirs.set_nodelay(true)?;
            local.set_nodelay(true)?;
            return Ok((theirs, local));
        }
    }
}

/// Copies the peer's bytes to timely. A clean end (timely's end message,
/// then the end of the stream) is passed on; a break is the run's error,
/// passed on to timely only once released.
fn relay_in(mut real: TcpStream, mut local: TcpStream, layout: Layout, ctx: &RelayCtx) {
    let mut frames = Frames::new(layout);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match real.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => 0,
        };
        if n == 0 {
            break;
        }
        frames.feed(&buf[..n]);
        if local.write_all(&buf[..n]).is_err() {
            // Timely's side is gone (released): nobody to tell.
            return;
        }
    }
    if frames.clean() {
        let _ = local.shutdown(Shutdown::Write);
        return;
    }
    ctx.lost();
    if let Ok(mut state) = ctx.state.lock() {
        if state.released {
            let _ = local.shutdown(Shutdown::Both);
        } else {
            state.withheld = true;
        }
    }
}

/// Copies timely's bytes to the peer. If the peer cannot take them, that
/// is the run's error, and timely's bytes are read and dropped from then
/// on, so that its writes never fail.
fn relay_out(mut local: TcpStream, mut real: TcpStream, ctx: &RelayCtx) {
    let mut buf = vec![0u8; 64 << 10];
    let mut forwarding = true;
    loop {
        let n = match local.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        if n == 0 {
            if forwarding {
                let _ = real.shutdown(Shutdown::Write);
            }
            return;
        }
        if forwarding && real.write_all(&buf[..n]).is_err() {
            forwarding = false;
            ctx.lost();
        }
    }
}

impl Relays {
    /// The workers have returned: from now on a break reaches timely at
    /// once, and the breaks held back so far are passed on (timely's
    /// threads for those peers end).
    pub(crate) fn release(&self) {
        for p in &self.peers {
            if let Ok(mut state) = p.state.lock() {
                state.released = true;
                if state.withheld {
                    let _ = p.local.shutdown(Shutdown::Both);
                }
            }
        }
    }

    /// Waits for every relay thread (after a successful run, once timely's
    /// threads have ended): everything timely sent has been handed to the
    /// peers' connections.
    pub(crate) fn join(self) {
        for p in self.peers {
            for t in p.threads {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::engine::cluster::framing::tests::header;

    #[test]
    fn a_break_is_the_runs_error_and_reaches_timely_only_when_released() {
        let (peer_side, real) = loopback_pair().unwrap();
        let shared = Arc::new(RunShared::default());
        let (mut ends, relays) =
            relay(vec![None, Some(real)], &["x".into(), "peer:1".into()], &shared).unwrap();
        let mut timely = ends[1].take().unwrap();
        let mut peer = peer_side;
        peer.write_all(&header(2)).unwrap();
        peer.write_all(&[1, 2]).unwrap();
        timely.write_all(b"from timely").unwrap();
        let mut got = vec![0u8; 11];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(got, b"from timely");
        // The peer dies mid-stream (no end message).
        drop(peer);
        let mut seen = vec![0u8; header(2).len() + 2];
        timely.read_exact(&mut seen).unwrap();
        let started = Instant::now();
        while !shared.aborted() && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let e = shared.take_error().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            e,
            "engine error: lost connection to process 1 (peer:1): it failed or exited"
        );
        // Timely hears nothing yet: its reader would panic on an end.
        timely.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut one = [0u8; 1];
        let pending = timely.read(&mut one).unwrap_err();
        assert!(matches!(
            pending.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ));
        relays.release();
        timely.set_read_timeout(None).unwrap();
        assert_eq!(timely.read(&mut one).unwrap(), 0);
    }

    #[test]
    fn a_clean_end_is_passed_on() {
        let (mut peer, real) = loopback_pair().unwrap();
        let shared = Arc::new(RunShared::default());
        let (mut ends, relays) =
            relay(vec![Some(real), None], &["peer:0".into(), "x".into()], &shared).unwrap();
        let mut timely = ends[0].take().unwrap();
        peer.write_all(&header(0)).unwrap();
        peer.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        timely.read_to_end(&mut got).unwrap();
        assert_eq!(got, header(0));
        timely.shutdown(Shutdown::Write).unwrap();
        relays.join();
        assert!(!shared.aborted());
        let mut rest = Vec::new();
        peer.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }
}
