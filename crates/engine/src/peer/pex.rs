//! Peer exchange (BEP 11, `ut_pex`) on one connection: tell the peer which peers we are
//! connected to, and hand the peers it tells us about to the torrent's address book.
//! Never used for private torrents.

use super::logic::{Exit, PeerLogic};
use crate::torrent::ControlEvent;
use shoal_ext::{PexFlags, PexPeer};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Our extension id for `ut_pex` (the id the peer must use when sending to us).
pub(crate) const UT_PEX_ID: u8 = 3;

/// How soon to look again when there was nothing new to tell the peer.
const RECHECK: Duration = Duration::from_secs(5);

impl PeerLogic {
    /// Whether this connection exchanges peers: both sides speak `ut_pex` and the torrent
    /// is not private.
    fn pex_active(&self) -> Option<u8> {
        if !self.pex_enabled {
            return None;
        }
        self.conn
            .peer_extensions()
            .and_then(|e| e.id_of(shoal_ext::UT_PEX))
    }

    /// When the next PEX message is due, if this connection exchanges peers.
    pub(super) fn pex_due(&self, now: Instant) -> Option<Instant> {
        self.pex_active()?;
        Some(self.pex.next_due(now)?.max(self.pex_recheck_at))
    }

    /// Sends a PEX message if one is due and something changed since the last one.
    pub(super) fn send_pex_if_due(&mut self, now: Instant) {
        let Some(their_id) = self.pex_active() else {
            return;
        };
        if self.pex_due(now).is_some_and(|due| due > now) {
            return;
        }
        let connected = self.connected_peers();
        match self.pex.poll_message(now, connected) {
            Some(msg) => self.conn.send_extended(their_id, &msg.encode()),
            None => self.pex_recheck_at = now + RECHECK,
        }
    }

    /// The other peers of the torrent that can be dialled: their listening address
    /// (known for outgoing connections, and for incoming ones that told us their port).
    fn connected_peers(&self) -> Vec<PexPeer> {
        let st = self.t.swarm();
        st.peers
            .iter()
            .filter(|(key, _)| **key != self.key)
            .filter_map(|(_, p)| {
                let addr = p.listen_addr?;
                let mut flags = 0;
                if p.live.is_seed.load(Ordering::Relaxed) {
                    flags |= PexFlags::SEED.0;
                }
                if p.outgoing {
                    flags |= PexFlags::REACHABLE.0;
                }
                Some(PexPeer {
                    addr,
                    flags: PexFlags(flags),
                })
            })
            .collect()
    }

    /// A `ut_pex` message from the peer: new addresses (at most 50 per message, see
    /// `shoal_ext::pex`) go to the address book; dropped ones are left to expire there
    /// on their own. Malformed messages and a few too early ones are ignored (BEP 11
    /// leaves the choice; a garbage PEX is no reason to lose a peer that sends data); a
    /// peer that keeps sending too often is flooding us and is disconnected, as
    /// libtorrent does.
    pub(super) fn on_pex_message(&mut self, payload: &[u8]) -> Result<(), Exit> {
        if !self.pex_enabled {
            return Ok(());
        }
        match self.pex.handle_message(payload, crate::clock::now()) {
            Ok(Some(msg)) => {
                let addrs: Vec<SocketAddr> = msg.added.iter().map(|p| p.addr).collect();
                if !addrs.is_empty() {
                    tracing::debug!(addr = %self.addr, count = addrs.len(), "peers from PEX");
                    self.t.send_control(ControlEvent::Discovered(addrs));
                }
            }
            Ok(None) => {}
            Err(e) if e.is_flood() => {
                tracing::info!(addr = %self.addr, error = %e, "disconnecting PEX flooder");
                return Err(Exit::PexFlood(e));
            }
            Err(e) => tracing::debug!(addr = %self.addr, error = %e, "ignoring bad ut_pex"),
        }
        Ok(())
    }

    /// The peer told us its listening port: from now on it can be passed on by PEX.
    pub(super) fn learn_listen_port(&self, port: u16) {
        if port == 0 {
            return;
        }
        let mut st = self.t.swarm();
        if let Some(p) = st.peers.get_mut(&self.key) {
            if p.listen_addr.is_none() {
                p.listen_addr = Some(SocketAddr::new(self.addr.ip(), port));
            }
        }
    }
}
