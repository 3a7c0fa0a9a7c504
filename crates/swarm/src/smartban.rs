//! Smart ban: find out which peer sent the bad block of a piece that failed its hash.
//!
//! When a piece fails, the hash of every block as received is remembered together with
//! its sender. When the same piece later passes, each remembered block is compared with
//! the good one at the same offset: whoever sent different data lied and is banned, while
//! peers whose blocks matched are cleared. A simpler strike counter covers the case where
//! a failed piece came from a single peer. Memory is bounded: at most [`MAX_PIECES`]
//! failed pieces are remembered (oldest forgotten first).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

/// Most failed pieces remembered at once.
pub(crate) const MAX_PIECES: usize = 1024;
/// Most remembered blocks per piece (across repeated failures).
const MAX_BLOCKS_PER_PIECE: usize = 4096;
/// Strikes that get an IP banned.
const STRIKE_LIMIT: u32 = 3;
/// Most IPs with strikes tracked; beyond that the counts start over.
const MAX_STRIKE_ENTRIES: usize = 65_536;

/// The blocks of a failed piece, as received.
struct FailedPiece {
    /// Insertion order, to evict the oldest piece.
    seq: u64,
    blocks: Vec<(u32, IpAddr, [u8; 20])>,
}

/// Tracks bad data per IP address and the resulting bans.
#[derive(Default)]
pub struct SmartBan {
    failed: HashMap<u32, FailedPiece>,
    seq: u64,
    strikes: HashMap<IpAddr, u32>,
    banned: HashSet<IpAddr>,
}

impl SmartBan {
    /// Nothing remembered, nobody banned.
    pub fn new() -> Self {
        Self::default()
    }

    /// `piece` failed its hash check: remembers `(begin, sender, sha1 of block as
    /// received)` for each block.
    pub fn on_piece_failed(&mut self, piece: u32, blocks: &[(u32, IpAddr, [u8; 20])]) {
        if !self.failed.contains_key(&piece) && self.failed.len() >= MAX_PIECES {
            // Rare (only on failures) and at most MAX_PIECES entries: a scan is fine.
            if let Some(oldest) = self
                .failed
                .iter()
                .min_by_key(|(_, f)| f.seq)
                .map(|(&p, _)| p)
            {
                self.failed.remove(&oldest);
            }
        }
        self.seq += 1;
        let seq = self.seq;
        let entry = self.failed.entry(piece).or_insert_with(|| FailedPiece {
            seq,
            blocks: Vec::new(),
        });
        for &(begin, ip, hash) in blocks {
            let item = (begin, ip.to_canonical(), hash);
            if entry.blocks.len() >= MAX_BLOCKS_PER_PIECE {
                break;
            }
            if !entry.blocks.contains(&item) {
                entry.blocks.push(item);
            }
        }
    }

    /// `piece` passed its hash check with these good blocks `(begin, sha1)`. Returns the
    /// IPs (sorted, deduplicated) that earlier sent a different block at the same offset;
    /// they are banned here too.
    pub fn on_piece_passed(&mut self, piece: u32, blocks: &[(u32, [u8; 20])]) -> Vec<IpAddr> {
        let Some(failed) = self.failed.remove(&piece) else {
            return Vec::new();
        };
        let good: HashMap<u32, [u8; 20]> = blocks.iter().copied().collect();
        let mut liars: Vec<IpAddr> = failed
            .blocks
            .iter()
            .filter(|(begin, _, hash)| good.get(begin).is_some_and(|g| g != hash))
            .map(|&(_, ip, _)| ip)
            .collect();
        liars.sort();
        liars.dedup();
        for &ip in &liars {
            self.ban(ip);
        }
        liars
    }

    /// Counts one failure against `ip` (e.g. it alone sent a piece that failed); returns
    /// true once it is banned (the limit is 3 strikes).
    pub fn strike(&mut self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        if self.banned.contains(&ip) {
            return true;
        }
        if !self.strikes.contains_key(&ip) && self.strikes.len() >= MAX_STRIKE_ENTRIES {
            self.strikes.clear();
        }
        let n = self.strikes.entry(ip).or_insert(0);
        *n += 1;
        if *n >= STRIKE_LIMIT {
            self.ban(ip);
            return true;
        }
        false
    }

    /// Whether `ip` is banned.
    pub fn is_banned(&self, ip: IpAddr) -> bool {
        self.banned.contains(&ip.to_canonical())
    }

    /// Bans `ip` at once.
    pub fn ban(&mut self, ip: IpAddr) {
        let ip = ip.to_canonical();
        self.strikes.remove(&ip);
        self.banned.insert(ip);
    }

    /// Lifts the ban of `ip`; it starts again with no strikes.
    pub fn unban(&mut self, ip: IpAddr) {
        self.banned.remove(&ip.to_canonical());
    }

    /// Number of banned addresses.
    pub fn banned_count(&self) -> usize {
        self.banned.len()
    }

    /// Number of failed pieces remembered.
    pub fn remembered_pieces(&self) -> usize {
        self.failed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ip(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
    }

    fn h(n: u8) -> [u8; 20] {
        [n; 20]
    }

    #[test]
    fn blames_only_the_sender_of_the_differing_block() {
        let mut sb = SmartBan::new();
        // Blocks 0 and 2 from honest peers 1 and 3; peer 2 sent garbage at 16384.
        sb.on_piece_failed(
            5,
            &[
                (0, ip(1), h(10)),
                (16384, ip(2), h(66)),
                (32768, ip(3), h(30)),
            ],
        );
        assert_eq!(sb.remembered_pieces(), 1);
        // Redownloaded from peer 4 at the bad offset; now it passes.
        let liars = sb.on_piece_passed(5, &[(0, h(10)), (16384, h(20)), (32768, h(30))]);
        assert_eq!(liars, vec![ip(2)]);
        assert!(sb.is_banned(ip(2)));
        assert!(!sb.is_banned(ip(1)) && !sb.is_banned(ip(3)));
        assert_eq!(sb.remembered_pieces(), 0);
        assert!(sb.on_piece_passed(5, &[(0, h(1))]).is_empty());
    }

    #[test]
    fn repeated_failures_accumulate() {
        let mut sb = SmartBan::new();
        sb.on_piece_failed(1, &[(0, ip(1), h(1)), (16384, ip(2), h(2))]);
        sb.on_piece_failed(1, &[(0, ip(3), h(9)), (16384, ip(2), h(2))]);
        let liars = sb.on_piece_passed(1, &[(0, h(1)), (16384, h(2))]);
        assert_eq!(liars, vec![ip(3)]);
        assert!(sb.on_piece_passed(7, &[]).is_empty());
    }

    #[test]
    fn mapped_ipv6_is_the_same_address() {
        let mut sb = SmartBan::new();
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 9).to_ipv6_mapped());
        sb.on_piece_failed(0, &[(0, mapped, h(1))]);
        assert_eq!(sb.on_piece_passed(0, &[(0, h(2))]), vec![ip(9)]);
        assert!(sb.is_banned(mapped));
        sb.unban(ip(9));
        assert!(!sb.is_banned(mapped));
        assert!(!sb.is_banned(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    }

    #[test]
    fn strikes_ban_at_the_limit() {
        let mut sb = SmartBan::new();
        assert!(!sb.strike(ip(1)));
        assert!(!sb.strike(ip(1)));
        assert!(!sb.strike(ip(2)));
        assert!(sb.strike(ip(1)));
        assert!(sb.is_banned(ip(1)));
        assert!(!sb.is_banned(ip(2)));
        assert!(sb.strike(ip(1)));
        sb.ban(ip(7));
        assert_eq!(sb.banned_count(), 2);
    }

    #[test]
    fn memory_is_bounded() {
        let mut sb = SmartBan::new();
        let many: Vec<_> = (0..10_000u32).map(|i| (i * 16384, ip(1), h(1))).collect();
        for piece in 0..(MAX_PIECES as u32 + 10) {
            sb.on_piece_failed(piece, &many[..2]);
        }
        assert_eq!(sb.remembered_pieces(), MAX_PIECES);
        // The oldest were evicted.
        assert!(sb.on_piece_passed(0, &[(0, h(2))]).is_empty());
        assert_eq!(
            sb.on_piece_passed(MAX_PIECES as u32 + 9, &[(0, h(2))]),
            vec![ip(1)]
        );
        sb.on_piece_failed(1 << 30, &many);
        assert!(sb.failed[&(1 << 30)].blocks.len() <= MAX_BLOCKS_PER_PIECE);
    }
}
