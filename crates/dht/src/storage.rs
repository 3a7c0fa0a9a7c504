//! The peers other nodes announced to us: per info-hash lists with a 30-minute expiry,
//! bounded both per info-hash and in the number of info-hashes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::Rng;

/// How long an announced peer is kept without a fresh announce.
pub const PEER_TTL: Duration = Duration::from_secs(30 * 60);

/// Peers announced to us, per info-hash, expiring after [`PEER_TTL`].
#[derive(Debug, Clone)]
pub struct PeerStore {
    by_hash: BTreeMap<[u8; 20], Vec<(SocketAddr, Instant)>>,
    max_peers_per_hash: usize,
    max_hashes: usize,
}

impl PeerStore {
    /// A store keeping at most `max_peers_per_hash` peers for each of at most `max_hashes`
    /// info-hashes (both at least 1).
    pub fn new(max_peers_per_hash: usize, max_hashes: usize) -> PeerStore {
        PeerStore {
            by_hash: BTreeMap::new(),
            max_peers_per_hash: max_peers_per_hash.max(1),
            max_hashes: max_hashes.max(1),
        }
    }

    /// Records `peer` for `info_hash` until `now + PEER_TTL`. A full list drops the peer
    /// closest to expiry; a new info-hash is refused when the store is full even after
    /// expiring old entries. Returns whether the peer is stored.
    pub fn insert(&mut self, info_hash: [u8; 20], peer: SocketAddr, now: Instant) -> bool {
        let expires = now + PEER_TTL;
        if !self.by_hash.contains_key(&info_hash) && self.by_hash.len() >= self.max_hashes {
            self.expire(now);
            if self.by_hash.len() >= self.max_hashes {
                return false;
            }
        }
        let list = self.by_hash.entry(info_hash).or_default();
        list.retain(|(_, exp)| *exp > now);
        if let Some(entry) = list.iter_mut().find(|(addr, _)| *addr == peer) {
            entry.1 = expires;
            return true;
        }
        if list.len() >= self.max_peers_per_hash {
            if let Some(oldest) = list
                .iter()
                .enumerate()
                .min_by_key(|(_, (_, exp))| *exp)
                .map(|(i, _)| i)
            {
                list.swap_remove(oldest);
            }
        }
        list.push((peer, expires));
        true
    }

    /// Up to `max` live peers for `info_hash`, a random sample when there are more.
    pub fn peers(
        &self,
        info_hash: &[u8; 20],
        now: Instant,
        max: usize,
        rng: &mut impl Rng,
    ) -> Vec<SocketAddr> {
        let Some(list) = self.by_hash.get(info_hash) else {
            return Vec::new();
        };
        let mut live: Vec<SocketAddr> = list
            .iter()
            .filter(|(_, exp)| *exp > now)
            .map(|(addr, _)| *addr)
            .collect();
        if live.len() > max {
            live.shuffle(rng);
            live.truncate(max);
        }
        live
    }

    /// Drops expired peers and empty info-hashes.
    pub fn expire(&mut self, now: Instant) {
        self.by_hash.retain(|_, list| {
            list.retain(|(_, exp)| *exp > now);
            !list.is_empty()
        });
    }

    /// Number of info-hashes with stored peers.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether no peers are stored.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn addr(i: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, i], 6881))
    }

    #[test]
    fn stores_expires_and_caps() {
        let mut rng = StdRng::seed_from_u64(0);
        let t0 = Instant::now();
        let mut s = PeerStore::new(3, 2);
        for i in 0..5 {
            assert!(s.insert([1; 20], addr(i), t0 + Duration::from_secs(u64::from(i))));
        }
        let peers = s.peers(&[1; 20], t0 + Duration::from_secs(10), 10, &mut rng);
        assert_eq!(peers.len(), 3);
        assert!(!peers.contains(&addr(0)) && peers.contains(&addr(4)));
        assert_eq!(s.peers(&[1; 20], t0, 2, &mut rng).len(), 2);

        assert!(s.insert([2; 20], addr(1), t0));
        assert!(!s.insert([3; 20], addr(1), t0), "hash cap");
        // After the TTL the store empties and new hashes fit again.
        let later = t0 + PEER_TTL + Duration::from_secs(10);
        assert!(s.peers(&[1; 20], later, 10, &mut rng).is_empty());
        assert!(s.insert([3; 20], addr(1), later));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn reannounce_refreshes_expiry() {
        let t0 = Instant::now();
        let mut s = PeerStore::new(3, 2);
        s.insert([1; 20], addr(1), t0);
        s.insert([1; 20], addr(1), t0 + Duration::from_secs(600));
        s.expire(t0 + PEER_TTL + Duration::from_secs(1));
        assert_eq!(s.len(), 1);
    }
}
