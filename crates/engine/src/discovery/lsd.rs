//! Local service discovery (BEP 14): announce our torrents to the LAN's multicast group
//! and learn peers from others' announces. One UDP socket on port 6771 shared with other
//! clients on the host (`SO_REUSEADDR`/`SO_REUSEPORT`); multicast TTL 1 keeps the
//! datagrams on the local link.
//!
//! When someone announces a torrent we also have, we announce it again soon (at most
//! every [`REPLY_COOLDOWN`]), so a newcomer learns of us at once instead of at our next
//! periodic announce minutes later.

use super::Sinks;
use parking_lot::Mutex;
use shoal_ext::lsd::{LSD_GROUP_V4, LSD_PORT, MAX_LSD_DATAGRAM};
use shoal_ext::{LsdFamily, LsdScheduler};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

/// Least time between two announces of one torrent made in reply to others.
const REPLY_COOLDOWN: Duration = Duration::from_secs(10);

/// Most addresses remembered for reply cooldowns before the table is cleared.
const MAX_REPLIES: usize = 1024;

enum Command {
    Add([u8; 20]),
    Remove([u8; 20]),
    /// The session is ending: the task stops (subscriptions may still hold handles).
    Stop,
}

/// The running LSD task.
pub(super) struct LsdService {
    handle: LsdHandle,
}

/// Registers and unregisters torrents with the LSD task.
#[derive(Clone)]
pub(super) struct LsdHandle {
    tx: mpsc::UnboundedSender<Command>,
}

impl LsdHandle {
    pub(super) fn remove(&self, info_hash: [u8; 20]) {
        let _ = self.tx.send(Command::Remove(info_hash));
    }
}

impl LsdService {
    /// Opens the multicast socket and starts the task. LSD is best effort: if the socket
    /// cannot be set up (no multicast route, port in use without reuse) it logs why and
    /// the session runs without it.
    pub(super) fn start(
        listen: SocketAddr,
        source: &crate::net::SourceBinding,
        sinks: Arc<Mutex<Sinks>>,
        tasks: &TaskTracker,
    ) -> Option<LsdService> {
        if !listen.is_ipv4() {
            tracing::info!("local service discovery is IPv4 only here; off");
            return None;
        }
        let socket = match open_socket(source) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "local service discovery off");
                return None;
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let cookie = shoal_ext::lsd::random_cookie();
        let scheduler = LsdScheduler::new(listen.port(), cookie, &[LsdFamily::V4]);
        tasks.spawn(run(socket, scheduler, rx, sinks));
        Some(LsdService {
            handle: LsdHandle { tx },
        })
    }

    pub(super) fn add(&self, info_hash: [u8; 20]) {
        let _ = self.handle.tx.send(Command::Add(info_hash));
    }

    pub(super) fn handle(&self) -> LsdHandle {
        self.handle.clone()
    }

    /// Ends the LSD task.
    pub(super) fn stop(&self) {
        let _ = self.handle.tx.send(Command::Stop);
    }
}

/// The multicast socket: it receives the group's datagrams on every interface (or on
/// the bound device only), and sends from the bound address when there is one.
fn open_socket(source: &crate::net::SourceBinding) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    source.bind_device(&socket)?;
    socket.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, LSD_PORT).into())?;
    let interface = match source.ip() {
        Some(std::net::IpAddr::V4(ip)) => ip,
        _ => Ipv4Addr::UNSPECIFIED,
    };
    match source.device_index()? {
        // Joined on the device itself: with no multicast route the kernel could not
        // pick an interface for the unspecified one.
        Some(index) => socket.join_multicast_v4_n(
            &LSD_GROUP_V4,
            &socket2::InterfaceIndexOrAddress::Index(index),
        )?,
        None => socket.join_multicast_v4(&LSD_GROUP_V4, &interface)?,
    }
    if !interface.is_unspecified() {
        // Announces leave from the bound address's interface, with it as source.
        socket.set_multicast_if_v4(&interface)?;
    }
    socket.set_multicast_loop_v4(true)?;
    socket.set_multicast_ttl_v4(1)?;
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket.into())
}

async fn run(
    socket: UdpSocket,
    mut scheduler: LsdScheduler,
    mut commands: mpsc::UnboundedReceiver<Command>,
    sinks: Arc<Mutex<Sinks>>,
) {
    let mut buf = vec![0u8; MAX_LSD_DATAGRAM + 1];
    let mut replied: HashMap<[u8; 20], Instant> = HashMap::new();
    loop {
        let now = crate::clock::now();
        while let Some(datagram) = scheduler.poll_datagram(now) {
            if let Err(e) = socket.send_to(&datagram.payload, datagram.dest).await {
                tracing::debug!(error = %e, "LSD announce not sent");
            }
        }
        let wake = scheduler
            .poll_timeout()
            .unwrap_or(now + Duration::from_secs(3600));
        tokio::select! {
            _ = tokio::time::sleep_until(wake.into()) => {}
            cmd = commands.recv() => match cmd {
                Some(Command::Add(hash)) => scheduler.add_torrent(hash, crate::clock::now()),
                Some(Command::Remove(hash)) => scheduler.remove_torrent(&hash),
                Some(Command::Stop) | None => return,
            },
            received = socket.recv_from(&mut buf) => match received {
                Ok((len, from)) => {
                    let Some(datagram) = buf.get(..len) else { continue };
                    on_datagram(datagram, from, &mut scheduler, &sinks, &mut replied);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "LSD receive failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

/// A foreign announce: its torrents that we follow get the sender's address, and we
/// answer with our own announce of them (rate-limited).
fn on_datagram(
    datagram: &[u8],
    from: SocketAddr,
    scheduler: &mut LsdScheduler,
    sinks: &Mutex<Sinks>,
    replied: &mut HashMap<[u8; 20], Instant>,
) {
    let announce = match scheduler.parse(datagram) {
        Ok(Some(a)) => a,
        Ok(None) => return, // our own
        Err(e) => {
            tracing::debug!(%from, error = %e, "ignoring bad LSD datagram");
            return;
        }
    };
    let peer = SocketAddr::new(from.ip(), announce.port);
    let now = crate::clock::now();
    if replied.len() > MAX_REPLIES {
        replied.clear();
    }
    let mut sinks = sinks.lock();
    for hash in &announce.info_hashes {
        if !sinks.is_subscribed(hash) {
            continue;
        }
        tracing::debug!(%peer, "peer from local service discovery");
        sinks.deliver(hash, vec![peer]);
        let due = replied
            .get(hash)
            .is_none_or(|last| *last + REPLY_COOLDOWN <= now);
        if due {
            replied.insert(*hash, now);
            // Re-adding makes the torrent due at once.
            scheduler.remove_torrent(hash);
            scheduler.add_torrent(*hash, now);
        }
    }
}
