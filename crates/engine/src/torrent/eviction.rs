//! Making room for a newcomer when a torrent is at its peer cap. A peer that has been
//! connected for at least the session's `peer_eviction_grace` while neither side is
//! interested in the other is worth less than an unknown newcomer: it is told to leave
//! and the newcomer takes its slot. Peers that trade (either side interested) are never
//! evicted, and each newcomer evicts at most one peer, so a flood of newcomers cannot
//! churn the swarm faster than one eviction per useless peer per grace period.

use super::state::{PeerCommand, SwarmState, Torrent};
use super::DisconnectReason;
use shoal_swarm::PeerKey;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl SwarmState {
    /// Peers that count against the cap: connections not being evicted, and dials.
    pub fn occupied_slots(&self) -> usize {
        let staying = self
            .peers
            .values()
            .filter(|p| !p.live.evicted.load(Ordering::Relaxed))
            .count();
        staying + self.connecting
    }

    /// The peer a newcomer would replace: past `grace`, interest on neither side, not
    /// already leaving; the one that moved the fewest bytes (then the oldest) first.
    fn eviction_candidate(&self, grace: Duration, now: Instant) -> Option<PeerKey> {
        self.peers
            .iter()
            .filter(|(_, p)| {
                let l = &p.live;
                !l.evicted.load(Ordering::Relaxed)
                    && now.saturating_duration_since(l.connected_at) >= grace
                    && !l.am_interested.load(Ordering::Relaxed)
                    && !l.peer_interested.load(Ordering::Relaxed)
            })
            .min_by_key(|(key, p)| {
                let l = &p.live;
                let moved = l
                    .downloaded
                    .load(Ordering::Relaxed)
                    .saturating_add(l.uploaded.load(Ordering::Relaxed));
                // Keys grow with registration: the tie-break among peers that
                // arrived at the same instant is still "oldest first".
                (moved, l.connected_at, **key)
            })
            .map(|(key, _)| *key)
    }

    /// Whether an incoming newcomer could get a slot now (without taking it).
    pub fn has_room_for_newcomer(&self, max: usize, grace: Duration, now: Instant) -> bool {
        self.occupied_slots() < max || self.eviction_candidate(grace, now).is_some()
    }

    /// Takes a slot for an incoming newcomer: true when one is free, or when a useless
    /// peer was told to leave to make one.
    pub fn make_room_for_newcomer(&mut self, max: usize, grace: Duration, now: Instant) -> bool {
        if self.occupied_slots() < max {
            return true;
        }
        let Some(key) = self.eviction_candidate(grace, now) else {
            return false;
        };
        if let Some(p) = self.peers.get(&key) {
            p.live.evicted.store(true, Ordering::Relaxed);
            tracing::debug!(addr = %p.addr, "peer limit reached: idle peer makes room for a newcomer");
            let _ =
                p.tx.send(PeerCommand::Disconnect(DisconnectReason::MakingRoom));
        }
        true
    }
}

impl Torrent {
    /// Whether an incoming peer from `addr` may be taken now: not banned, and a slot is
    /// free or can be made (the slot is taken when the peer registers).
    pub fn may_admit(&self, addr: std::net::SocketAddr) -> bool {
        let st = self.state.lock();
        let grace = self.ctx().config().peer_eviction_grace;
        !st.smartban.is_banned(addr.ip())
            && st.has_room_for_newcomer(self.max_peers(), grace, crate::clock::now())
    }
}
