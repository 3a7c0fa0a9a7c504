//! UDP announces: one background task owns the UDP socket(s) — one IPv4 socket bound to
//! `0.0.0.0:0` and, if needed, one IPv6 socket bound to `[::]:0` — and drives one
//! [`UdpTracker`] state machine per tracker address.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use shoal_tracker::udp::{UdpConfig, UdpEvent, UdpTracker};
use shoal_tracker::{AnnounceRequest, AnnounceResponse, TrackerError};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::{AnnounceError, SourceBinding};

type Reply = oneshot::Sender<Result<AnnounceResponse, AnnounceError>>;

struct Job {
    addr: SocketAddr,
    req: AnnounceRequest,
    reply: Reply,
}

/// Handle to the UDP task; the task ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct UdpHandle {
    tx: mpsc::UnboundedSender<Job>,
}

impl UdpHandle {
    /// Spawns the UDP task on the current runtime. Sockets are bound on first use.
    pub(crate) fn spawn(
        retransmit_base: Duration,
        max_retries: u32,
        source: SourceBinding,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = UdpTask {
            rx,
            source,
            v4: None,
            v6: None,
            trackers: HashMap::new(),
            retransmit_base,
            max_retries,
        };
        tokio::spawn(task.run());
        UdpHandle { tx }
    }

    /// Announces to the tracker at `addr`; resolves when it answers, fails or times out.
    pub(crate) async fn announce(
        &self,
        addr: SocketAddr,
        req: AnnounceRequest,
    ) -> Result<AnnounceResponse, AnnounceError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { addr, req, reply })
            .map_err(|_| AnnounceError::Shutdown)?;
        rx.await.unwrap_or(Err(AnnounceError::Shutdown))
    }
}

/// One tracker's state machine and the callers waiting for its queued operations, in order.
struct Entry {
    machine: UdpTracker,
    waiters: VecDeque<Reply>,
}

struct UdpTask {
    rx: mpsc::UnboundedReceiver<Job>,
    /// Where the sockets are bound.
    source: SourceBinding,
    v4: Option<UdpSocket>,
    v6: Option<UdpSocket>,
    trackers: HashMap<SocketAddr, Entry>,
    retransmit_base: Duration,
    max_retries: u32,
}

/// Receives on `sock`, or waits forever when there is none.
async fn recv_opt(sock: &Option<UdpSocket>, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    match sock {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// The socket of one family, bound to the source address and device. With a bound
/// address of the other family there is none: such trackers are out of reach.
async fn bind(ipv6: bool, source: &SourceBinding) -> io::Result<UdpSocket> {
    let ip = match source.ip {
        Some(ip) if ip.is_ipv6() != ipv6 => {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                OtherFamily { bound: ip },
            ))
        }
        Some(ip) => ip,
        None if ipv6 => Ipv6Addr::UNSPECIFIED.into(),
        None => Ipv4Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind((ip, 0)).await?;
    if let Some(device) = &source.interface {
        socket.bind_device(Some(device.as_bytes()))?;
    }
    Ok(socket)
}

/// A tracker of the other address family than the bound address.
#[derive(Debug, thiserror::Error)]
#[error("bound to {bound}: cannot reach a tracker of the other address family")]
struct OtherFamily {
    bound: IpAddr,
}

impl UdpTask {
    async fn run(mut self) {
        // Large enough for any datagram.
        let mut buf4 = vec![0u8; 65536];
        let mut buf6 = vec![0u8; 65536];
        loop {
            let timeout = self
                .trackers
                .values()
                .filter_map(|e| e.machine.poll_timeout())
                .min();
            tokio::select! {
                job = self.rx.recv() => match job {
                    Some(job) => self.start(job).await,
                    None => return,
                },
                r = recv_opt(&self.v4, &mut buf4) => self.received(r, &buf4),
                r = recv_opt(&self.v6, &mut buf6) => self.received(r, &buf6),
                () = sleep_until_opt(timeout) => {
                    let now = Instant::now().into_std();
                    for e in self.trackers.values_mut() {
                        e.machine.handle_timeout(now);
                    }
                }
            }
            self.flush().await;
        }
    }

    async fn start(&mut self, job: Job) {
        let ipv6 = job.addr.is_ipv6();
        let slot = if ipv6 { &mut self.v6 } else { &mut self.v4 };
        if slot.is_none() {
            match bind(ipv6, &self.source).await {
                Ok(s) => *slot = Some(s),
                Err(e) => {
                    let _ = job.reply.send(Err(e.into()));
                    return;
                }
            }
        }
        let now = Instant::now().into_std();
        let cfg = UdpConfig {
            retransmit_base: self.retransmit_base,
            max_retries: self.max_retries,
            ipv6,
            ..UdpConfig::default()
        };
        let entry = self.trackers.entry(job.addr).or_insert_with(|| Entry {
            machine: UdpTracker::with_config(cfg, now),
            waiters: VecDeque::new(),
        });
        entry.machine.announce(job.req, now);
        entry.waiters.push_back(job.reply);
    }

    fn received(&mut self, r: io::Result<(usize, SocketAddr)>, buf: &[u8]) {
        match r {
            Ok((n, from)) => {
                if let (Some(e), Some(data)) = (self.trackers.get_mut(&from), buf.get(..n)) {
                    e.machine.handle_datagram(data, Instant::now().into_std());
                }
            }
            // E.g. ICMP port unreachable reported on the next receive; retransmission or
            // the timeout deals with it.
            Err(e) => tracing::debug!("UDP tracker socket receive error: {e}"),
        }
    }

    /// Sends pending datagrams, delivers finished operations, drops abandoned ones.
    async fn flush(&mut self) {
        let now = Instant::now().into_std();
        for (addr, e) in self.trackers.iter_mut() {
            // Callers that gave up (their future was dropped) no longer need their operation.
            while e.waiters.front().is_some_and(|w| w.is_closed()) {
                e.waiters.pop_front();
                e.machine.abort_current(now);
            }
            let sock = if addr.is_ipv6() { &self.v6 } else { &self.v4 };
            while let Some(pkt) = e.machine.poll_transmit() {
                let Some(sock) = sock else { break };
                if let Err(err) = sock.send_to(&pkt, addr).await {
                    tracing::debug!("UDP send to tracker {addr} failed: {err}");
                    e.machine.abort_current(now);
                    if let Some(w) = e.waiters.pop_front() {
                        let _ = w.send(Err(err.into()));
                    }
                }
            }
            while let Some(ev) = e.machine.poll_event() {
                let result = match ev {
                    UdpEvent::Announced(r) => Ok(r),
                    UdpEvent::Failed(err) => Err(err.into()),
                    UdpEvent::Scraped(_) => {
                        Err(TrackerError::Malformed("unexpected scrape".into()).into())
                    }
                };
                if let Some(w) = e.waiters.pop_front() {
                    let _ = w.send(result);
                }
            }
        }
    }
}

async fn sleep_until_opt(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}
