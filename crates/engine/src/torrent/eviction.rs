//! Making room for a newcomer when a torrent is at its peer cap. A peer that has been
//! connected for at least the session's `peer_eviction_grace` while neither side is
//! interested in the other is worth less than an unknown newcomer: it is told to leave
//! and the newcomer takes its slot. Peers that trade (either side interested) are never
//! evicted, and each newcomer evicts at most one peer, so a flood of newcomers cannot
//! churn the swarm faster than one eviction per useless peer per grace period.
//!
//! The decision is pure ([`SlotPolicy::admit`] over plain [`Occupant`] snapshots and an
//! explicit `now`); [`SwarmState`] takes the snapshots from its live peers and carries
//! the decision out (marks the peer, tells it to leave).

use super::state::{PeerCommand, PeerLive, SwarmState, Torrent};
use super::DisconnectReason;
use shoal_swarm::PeerKey;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What the eviction decision needs to know of one connected peer.
/// Fields are public: a plain snapshot the decision reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Occupant {
    pub key: PeerKey,
    pub connected_at: Instant,
    /// We want data from the peer.
    pub am_interested: bool,
    /// The peer wants data from us.
    pub peer_interested: bool,
    /// Payload bytes moved either way.
    pub moved: u64,
    /// Already told to leave for an earlier newcomer: no longer holds a slot.
    pub evicted: bool,
}

impl Occupant {
    /// A snapshot of the live counters of the peer registered under `key`.
    pub(super) fn of(key: PeerKey, live: &PeerLive) -> Self {
        Occupant {
            key,
            connected_at: live.connected_at,
            am_interested: live.am_interested.load(Ordering::Relaxed),
            peer_interested: live.peer_interested.load(Ordering::Relaxed),
            moved: live
                .downloaded
                .load(Ordering::Relaxed)
                .saturating_add(live.uploaded.load(Ordering::Relaxed)),
            evicted: live.evicted.load(Ordering::Relaxed),
        }
    }

    /// Whether this peer may be told to leave for a newcomer at `now`.
    fn evictable(&self, grace: Duration, now: Instant) -> bool {
        !self.evicted
            && now.saturating_duration_since(self.connected_at) >= grace
            && !self.am_interested
            && !self.peer_interested
    }

    /// Eviction order: fewest bytes moved, then the oldest. Keys grow with
    /// registration, so the tie-break among peers that arrived at the same instant is
    /// still "oldest first".
    fn order(&self) -> (u64, Instant, PeerKey) {
        (self.moved, self.connected_at, self.key)
    }
}

/// How a newcomer gets a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// A slot is free.
    Free,
    /// Every slot is held, but this peer may be told to leave to make one.
    Evict(PeerKey),
    /// Every slot is held by a peer that stays.
    Full,
}

/// A torrent's peer cap and the grace before an idle peer may give way.
/// Fields are public: two plain settings with no invariant between them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotPolicy {
    pub max: usize,
    pub grace: Duration,
}

impl SlotPolicy {
    /// Whether a newcomer arriving at `now` gets a slot, given the connected peers and
    /// the `connecting` dials under way. Dials hold slots; evicted peers do not (their
    /// slots went to earlier newcomers), nor may they be chosen again.
    pub(super) fn admit(
        &self,
        occupants: impl IntoIterator<Item = Occupant>,
        connecting: usize,
        now: Instant,
    ) -> Admission {
        let mut staying = 0usize;
        let mut candidate: Option<Occupant> = None;
        for o in occupants {
            if !o.evicted {
                staying += 1;
            }
            if o.evictable(self.grace, now) && candidate.is_none_or(|c| o.order() < c.order()) {
                candidate = Some(o);
            }
        }
        if staying.saturating_add(connecting) < self.max {
            Admission::Free
        } else if let Some(c) = candidate {
            Admission::Evict(c.key)
        } else {
            Admission::Full
        }
    }
}

impl SwarmState {
    /// Snapshots of the connected peers for [`SlotPolicy::admit`].
    fn occupants(&self) -> impl Iterator<Item = Occupant> + '_ {
        self.peers
            .iter()
            .map(|(key, p)| Occupant::of(*key, &p.live))
    }

    /// Whether an incoming newcomer could get a slot now (without taking it).
    pub(crate) fn has_room_for_newcomer(&self, max: usize, grace: Duration, now: Instant) -> bool {
        let policy = SlotPolicy { max, grace };
        policy.admit(self.occupants(), self.connecting, now) != Admission::Full
    }

    /// Takes a slot for an incoming newcomer: true when one is free, or when a useless
    /// peer was told to leave to make one.
    pub(crate) fn make_room_for_newcomer(
        &mut self,
        max: usize,
        grace: Duration,
        now: Instant,
    ) -> bool {
        let policy = SlotPolicy { max, grace };
        match policy.admit(self.occupants(), self.connecting, now) {
            Admission::Free => true,
            Admission::Full => false,
            Admission::Evict(key) => {
                if let Some(p) = self.peers.get(&key) {
                    p.live.evicted.store(true, Ordering::Relaxed);
                    tracing::debug!(addr = %p.addr, "peer limit reached: idle peer makes room for a newcomer");
                    let _ =
                        p.tx.send(PeerCommand::Disconnect(DisconnectReason::MakingRoom));
                }
                true
            }
        }
    }
}

impl Torrent {
    /// Whether an incoming peer from `addr` may be taken now: not banned, and a slot is
    /// free or can be made (the slot is taken when the peer registers).
    pub(crate) fn may_admit(&self, addr: std::net::SocketAddr) -> bool {
        let st = self.swarm();
        let grace = self.ctx().config().peer_eviction_grace;
        !st.smartban.is_banned(addr.ip())
            && st.has_room_for_newcomer(self.max_peers(), grace, crate::clock::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(60);
    const POLICY: SlotPolicy = SlotPolicy {
        max: 2,
        grace: GRACE,
    };

    /// An idle peer (no interest, nothing moved) connected at `at`.
    fn idle(key: PeerKey, at: Instant) -> Occupant {
        Occupant {
            key,
            connected_at: at,
            am_interested: false,
            peer_interested: false,
            moved: 0,
            evicted: false,
        }
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_free_slot_evicts_nobody() {
        let t0 = crate::clock::now();
        let now = t0 + GRACE;
        assert_eq!(POLICY.admit([idle(1, t0)], 0, now), Admission::Free);
        assert_eq!(POLICY.admit([], 1, now), Admission::Free);
    }

    #[test]
    fn dials_under_way_hold_slots() {
        let t0 = crate::clock::now();
        let now = t0 + GRACE;
        assert_eq!(POLICY.admit([], 2, now), Admission::Full);
        assert_eq!(POLICY.admit([idle(1, t0)], 1, now), Admission::Evict(1));
    }

    #[test]
    fn the_grace_ends_exactly_at_its_length() {
        let t0 = crate::clock::now();
        let peers = [idle(1, t0), idle(2, t0 + secs(1))];
        let just_before = t0 + GRACE - Duration::from_nanos(1);
        assert_eq!(POLICY.admit(peers, 0, just_before), Admission::Full);
        assert_eq!(POLICY.admit(peers, 0, t0 + GRACE), Admission::Evict(1));
        // A clock before the connection (no grace served) protects too.
        assert_eq!(POLICY.admit(peers, 0, t0 - secs(1)), Admission::Full);
    }

    #[test]
    fn interest_on_either_side_protects() {
        let t0 = crate::clock::now();
        let now = t0 + 10 * GRACE;
        let wanted = Occupant {
            am_interested: true,
            ..idle(1, t0)
        };
        let wanting = Occupant {
            peer_interested: true,
            ..idle(2, t0)
        };
        assert_eq!(POLICY.admit([wanted, wanting], 0, now), Admission::Full);
        let idle3 = idle(3, t0 + secs(5));
        assert_eq!(POLICY.admit([wanted, idle3], 0, now), Admission::Evict(3));
    }

    #[test]
    fn fewest_bytes_go_first() {
        let t0 = crate::clock::now();
        let now = t0 + 10 * GRACE;
        let old_busy = Occupant {
            moved: 1000,
            ..idle(1, t0)
        };
        let young_quiet = Occupant {
            moved: 10,
            ..idle(2, t0 + secs(30))
        };
        assert_eq!(
            POLICY.admit([old_busy, young_quiet], 0, now),
            Admission::Evict(2)
        );
    }

    #[test]
    fn equal_bytes_the_oldest_goes_first() {
        let t0 = crate::clock::now();
        let now = t0 + 10 * GRACE;
        // The older peer has the larger key: age decides, not the key.
        let peers = [idle(1, t0 + secs(2)), idle(2, t0 + secs(1))];
        assert_eq!(POLICY.admit(peers, 0, now), Admission::Evict(2));
    }

    #[test]
    fn same_bytes_and_instant_the_smaller_key_goes_first() {
        let t0 = crate::clock::now();
        let now = t0 + GRACE;
        for peers in [[idle(7, t0), idle(4, t0)], [idle(4, t0), idle(7, t0)]] {
            assert_eq!(POLICY.admit(peers, 0, now), Admission::Evict(4));
        }
    }

    #[test]
    fn evicted_peers_hold_no_slot_and_are_not_chosen_again() {
        let t0 = crate::clock::now();
        let now = t0 + GRACE;
        let leaving = Occupant {
            evicted: true,
            ..idle(1, t0)
        };
        // Two connections, one leaving: a slot is free.
        assert_eq!(
            POLICY.admit([leaving, idle(2, now)], 0, now),
            Admission::Free
        );
        // At the cap without it, the leaving peer is not named a second time.
        let young = [leaving, idle(2, now), idle(3, now)];
        assert_eq!(POLICY.admit(young, 0, now), Admission::Full);
    }

    /// Carries out an admission the way `make_room_for_newcomer` and registration do.
    fn arrive(peers: &mut Vec<Occupant>, key: PeerKey, now: Instant) -> Admission {
        let admission = POLICY.admit(peers.iter().copied(), 0, now);
        if let Admission::Evict(victim) = admission {
            peers
                .iter_mut()
                .filter(|p| p.key == victim)
                .for_each(|p| p.evicted = true);
        }
        if admission != Admission::Full {
            peers.push(idle(key, now));
        }
        admission
    }

    #[test]
    fn each_newcomer_evicts_at_most_one_peer() {
        let t0 = crate::clock::now();
        let now = t0 + GRACE;
        let mut peers = vec![idle(1, t0), idle(2, t0)];
        assert_eq!(arrive(&mut peers, 10, now), Admission::Evict(1));
        assert_eq!(arrive(&mut peers, 11, now), Admission::Evict(2));
        // Only newcomers within their grace are left: the flood stops here.
        assert_eq!(arrive(&mut peers, 12, now), Admission::Full);
        assert_eq!(arrive(&mut peers, 13, now + secs(1)), Admission::Full);
        let staying: Vec<PeerKey> = peers.iter().filter(|p| !p.evicted).map(|p| p.key).collect();
        assert_eq!(staying, [10, 11]);
        // A grace later the newcomers are idle peers in turn, one per arrival.
        assert_eq!(arrive(&mut peers, 14, now + GRACE), Admission::Evict(10));
    }
}
