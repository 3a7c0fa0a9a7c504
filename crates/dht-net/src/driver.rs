//! The driver task: sole owner of the UDP socket and the sans-IO [`Dht`]. It waits on
//! the socket, the command channel, the DHT's next timer and the save timer; after
//! every input it sends what the DHT queued and routes its events.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shoal_dht::{Dht, DhtEvent, DhtStats};
use tokio::net::UdpSocket;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::{oneshot, watch};
use tokio::time::MissedTickBehavior;
use tracing::{debug, info, trace, warn};

use crate::config::MIN_SAVE_INTERVAL;
use crate::search::{SearchEvent, Searches};
use crate::state::StateFile;

/// Receive buffer: any UDP datagram fits.
const RECV_BUFFER: usize = 64 * 1024;
/// Datagrams read without waiting after a wake-up, before sending the replies.
const RECV_BATCH: usize = 64;
/// Wake-up used if the DHT ever reports no timer (it always has its maintenance one).
const IDLE_WAKE: Duration = Duration::from_secs(60);

/// Requests from [`DhtNode`](crate::DhtNode) handles.
#[derive(Debug)]
pub(crate) enum Command {
    /// `announce`: `None` for a plain `get_peers`, else the port (`None`: implied).
    Search {
        info_hash: [u8; 20],
        announce: Option<Option<u16>>,
        events: UnboundedSender<SearchEvent>,
    },
    AddNode(SocketAddr),
    Stats(oneshot::Sender<DhtStats>),
    /// A numbered snapshot of the routing table.
    Snapshot(oneshot::Sender<(u64, Vec<u8>)>),
    /// Save (if there is a state file), stop, then acknowledge.
    Shutdown(oneshot::Sender<()>),
}

pub(crate) struct Driver {
    pub(crate) socket: UdpSocket,
    pub(crate) dht: Dht,
    pub(crate) commands: UnboundedReceiver<Command>,
    pub(crate) bootstrapped: watch::Sender<bool>,
    pub(crate) state: Option<Arc<StateFile>>,
    pub(crate) save_interval: Duration,
    pub(crate) searches: Searches,
    /// Number of the last snapshot taken.
    pub(crate) snapshot_seq: u64,
}

impl Driver {
    pub(crate) async fn run(mut self) {
        let local_v6 = self.socket.local_addr().is_ok_and(|a| a.is_ipv6());
        let mut buf = vec![0u8; RECV_BUFFER];
        let period = self.save_interval.max(MIN_SAVE_INTERVAL);
        let mut save_timer = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        save_timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let saving = self.state.is_some();

        let ack = loop {
            // Whatever the last input (or the DHT's construction) produced.
            self.flush().await;
            let wake = self.dht.poll_timeout().map_or_else(
                || tokio::time::Instant::now() + IDLE_WAKE,
                tokio::time::Instant::from_std,
            );
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => {
                    self.on_datagram(received, &buf, local_v6);
                    // Take what else is already queued before answering, up to a batch.
                    for _ in 1..RECV_BATCH {
                        match self.socket.try_recv_from(&mut buf) {
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            received => self.on_datagram(received, &buf, local_v6),
                        }
                    }
                }
                command = self.commands.recv() => match command {
                    // Every handle is gone.
                    None => break None,
                    Some(Command::Shutdown(ack)) => break Some(ack),
                    Some(command) => self.on_command(command, local_v6),
                },
                () = tokio::time::sleep_until(wake) => self.dht.handle_timeout(Instant::now()),
                _ = save_timer.tick(), if saving => self.save_in_background(),
            }
        };
        // Answers and announces already queued still go out.
        self.flush().await;
        if let Some(state) = self.state.clone() {
            let (seq, bytes) = self.snapshot();
            if let Err(e) = state.write(seq, bytes).await {
                warn!(error = %e, "final DHT state save failed");
            }
        }
        debug!("DHT driver stopped");
        if let Some(ack) = ack {
            let _ = ack.send(());
        }
    }

    fn on_datagram(
        &mut self,
        received: io::Result<(usize, SocketAddr)>,
        buf: &[u8],
        local_v6: bool,
    ) {
        match received {
            Ok((len, from)) => {
                // A dual-stack IPv6 socket also sees IPv4 traffic as mapped addresses;
                // this node is IPv6 only (BEP 32 runs one node per family).
                if let std::net::IpAddr::V6(ip) = from.ip() {
                    if local_v6 && ip.to_ipv4_mapped().is_some() {
                        trace!(%from, "ignoring IPv4-mapped sender");
                        return;
                    }
                }
                let Some(bytes) = buf.get(..len) else {
                    return;
                };
                self.dht.handle_datagram(bytes, from, Instant::now());
            }
            // E.g. ICMP errors surfacing on some platforms: never fatal.
            Err(e) => debug!(error = %e, "DHT socket receive error"),
        }
    }

    fn on_command(&mut self, command: Command, local_v6: bool) {
        let now = Instant::now();
        match command {
            Command::Search {
                info_hash,
                announce,
                events,
            } => {
                // Subscribe first: the lookup may end at once (e.g. empty table).
                self.searches.subscribe(info_hash, events);
                match announce {
                    None => self.dht.get_peers(info_hash, now),
                    Some(port) => self.dht.announce(info_hash, port, now),
                }
            }
            Command::AddNode(addr) => {
                if addr.is_ipv6() == local_v6 {
                    self.dht.add_node(addr, now);
                } else {
                    trace!(%addr, "ignoring node of the other address family");
                }
            }
            Command::Stats(reply) => {
                let _ = reply.send(self.dht.stats());
            }
            Command::Snapshot(reply) => {
                let _ = reply.send(self.snapshot());
            }
            // Handled by the loop.
            Command::Shutdown(ack) => {
                let _ = ack.send(());
            }
        }
    }

    fn snapshot(&mut self) -> (u64, Vec<u8>) {
        self.snapshot_seq += 1;
        (self.snapshot_seq, self.dht.routing_table_snapshot())
    }

    /// Periodic save: written by another task so that the socket keeps being served.
    fn save_in_background(&mut self) {
        let Some(state) = self.state.clone() else {
            return;
        };
        let (seq, bytes) = self.snapshot();
        tokio::spawn(async move {
            if let Err(e) = state.write(seq, bytes).await {
                warn!(error = %e, "periodic DHT state save failed");
            }
        });
    }

    /// Sends the queued datagrams and routes the queued events.
    async fn flush(&mut self) {
        while let Some((to, bytes)) = self.dht.poll_transmit() {
            if let Err(e) = self.socket.send_to(&bytes, to).await {
                debug!(%to, error = %e, "DHT send failed");
            }
        }
        while let Some(event) = self.dht.poll_event() {
            match event {
                DhtEvent::Bootstrapped { nodes } => info!(nodes, "DHT bootstrapped"),
                DhtEvent::PeersFound { info_hash, peers } => {
                    self.searches.peers_found(&info_hash, peers);
                }
                DhtEvent::LookupDone { info_hash, summary } => {
                    self.searches.done(&info_hash, summary);
                }
                other => trace!(?other, "unhandled DHT event"),
            }
        }
        let bootstrapped = self.dht.is_bootstrapped();
        self.bootstrapped.send_if_modified(|b| {
            let changed = *b != bootstrapped;
            *b = bootstrapped;
            changed
        });
    }
}
