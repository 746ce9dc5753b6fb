//! **Heartbeats.** A thread per process sends a byte on every heartbeat
//! connection every 250 ms and reads what its peers send; a peer silent
//! for [`ClusterConfig::peer_timeout`] (stopped, hung, cut off: TCP itself
//! notices none of these, a stopped process's kernel even answers
//! keepalives) ends the run with "process N stopped answering". The
//! heartbeat connection is separate so that beats never wait behind data.
//!
//! [`ClusterConfig::peer_timeout`]: crate::engine::cluster::ClusterConfig::peer_timeout

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::base::signal::RunShared;
use crate::error::{EddyError, Result};

/// How often a heartbeat is sent to every peer.
pub(crate) const BEAT_EVERY: Duration = Duration::from_millis(250);

/// How often the heartbeat thread wakes up.
const BEAT_TICK: Duration = Duration::from_millis(50);

/// A heartbeat byte.
const BEAT: u8 = 1;

/// The last byte on a heartbeat connection: "my run is over, stop
/// watching me".
const BYE: u8 = 2;

/// The heartbeat thread of a clustered run: see the module docs.
#[derive(Debug)]
pub(crate) struct Heartbeat {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// A peer as the heartbeat thread sees it.
struct Watched {
    index: usize,
    address: String,
    stream: TcpStream,
    last_heard: Instant,
    /// Still expected to beat.
    watching: bool,
    /// Still to be sent beats.
    sending: bool,
}

impl Heartbeat {
    /// Starts beating on `links` (one per process, `None` at this one's
    /// index) and, unless `timeout` is zero, failing `shared`'s run when a
    /// peer stays silent for longer than `timeout`.
    pub(crate) fn start(
        links: Vec<Option<TcpStream>>,
        addresses: &[String],
        timeout: Duration,
        shared: Weak<RunShared>,
    ) -> Result<Heartbeat> {
        let now = Instant::now();
        let mut peers = Vec::new();
        for (index, link) in links.into_iter().enumerate() {
            let Some(stream) = link else { continue };
            stream
                .set_nonblocking(true)
                .map_err(|e| EddyError::network(format!("heartbeat connection to process {index}"), e))?;
            peers.push(Watched {
                index,
                address: addresses.get(index).cloned().unwrap_or_default(),
                stream,
                last_heard: now,
                watching: true,
                sending: true,
            });
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("eddy-heartbeat".to_owned())
            .spawn(move || beat(peers, timeout, &shared, &flag))
            .map_err(|e| EddyError::network("cannot start the heartbeat thread", e))?;
        Ok(Heartbeat {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Heartbeat {
    /// Says goodbye to every peer (this run is over) and stops.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The heartbeat thread's loop.
fn beat(mut peers: Vec<Watched>, timeout: Duration, shared: &Weak<RunShared>, stop: &AtomicBool) {
    let mut next_beat = Instant::now();
    let mut buf = [0u8; 64];
    loop {
        if stop.load(Ordering::SeqCst) {
            for p in peers.iter().filter(|p| p.sending) {
                let _ = (&p.stream).write(&[BYE]);
            }
            return;
        }
        let Some(run) = shared.upgrade() else { return };
        if run.aborted() {
            return;
        }
        let now = Instant::now();
        if now >= next_beat {
            for p in peers.iter_mut().filter(|p| p.sending) {
                match (&p.stream).write(&[BEAT]) {
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                    // Gone: its data connection tells the run.
                    Err(_) => p.sending = false,
                }
            }
            next_beat = now + BEAT_EVERY;
        }
        for p in peers.iter_mut().filter(|p| p.watching) {
            loop {
                match (&p.stream).read(&mut buf) {
                    // Closed: the peer exited (its data connection tells
                    // whether that was the end of its run).
                    Ok(0) => p.watching = false,
                    Ok(n) => {
                        p.last_heard = now;
                        if buf[..n].contains(&BYE) {
                            p.watching = false;
                        } else {
                            continue;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => p.watching = false,
                }
                break;
            }
        }
        if !timeout.is_zero() {
            let silent = peers
                .iter()
                .find(|p| p.watching && now.saturating_duration_since(p.last_heard) > timeout);
            if let Some(p) = silent {
                run.fail(EddyError::Engine(format!(
                    "process {} ({}) stopped answering for {timeout:?} (stopped, hung or cut off)",
                    p.index, p.address
                )));
                return;
            }
        }
        drop(run);
        std::thread::sleep(BEAT_TICK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cluster::relay::loopback_pair;

    #[test]
    fn a_silent_peer_fails_the_run_and_a_goodbye_does_not() {
        let (a, b) = loopback_pair().unwrap();
        let shared = Arc::new(RunShared::default());
        // `b` never beats: the peer is frozen.
        let heartbeat = Heartbeat::start(
            vec![None, Some(a)],
            &["x".into(), "127.0.0.1:9".into()],
            Duration::from_millis(300),
            Arc::downgrade(&shared),
        )
        .unwrap();
        // Waits for the verdict (a hang guard, not a timing assertion).
        let started = Instant::now();
        while !shared.aborted() && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(heartbeat);
        let e = shared.take_error().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.contains("process 1 (127.0.0.1:9) stopped answering for 300ms"),
            "{e}"
        );
        drop(b);

        // A peer that says goodbye and goes quiet is no failure.
        let (a, mut b) = loopback_pair().unwrap();
        let shared = Arc::new(RunShared::default());
        b.write_all(&[BEAT, BYE]).unwrap();
        let heartbeat = Heartbeat::start(
            vec![Some(a), None],
            &["127.0.0.1:9".into(), "x".into()],
            Duration::from_millis(100),
            Arc::downgrade(&shared),
        )
        .unwrap();
        // Its beats arrive meanwhile.
        let mut got = [0u8; 1];
        b.read_exact(&mut got).unwrap();
        assert_eq!(got[0], BEAT);
        std::thread::sleep(Duration::from_millis(400));
        assert!(!shared.aborted());
        drop(heartbeat);
        // Its own goodbye comes last.
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).unwrap();
        assert_eq!(rest.last(), Some(&BYE));
    }
}
