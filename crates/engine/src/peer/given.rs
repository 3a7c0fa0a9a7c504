//! What we uploaded to one peer, piece by piece: some clients (libtorrent among them)
//! send no HAVE to a peer that is a seed, so a receiver that got everything from us may
//! never tell us it is complete. Counting the pieces it got from us fills that gap.

use shoal_wire::Bitfield;
use std::collections::{HashMap, HashSet};

/// Pieces uploaded in full to one peer.
#[derive(Debug)]
pub(crate) struct Given {
    /// Pieces not yet sent in full: the block offsets sent and their total bytes (a
    /// block the peer asks for twice counts once).
    partial: HashMap<u32, (HashSet<u32>, u32)>,
    full: Bitfield,
}

impl Given {
    pub(super) fn new(num_pieces: usize) -> Self {
        Given {
            partial: HashMap::new(),
            full: Bitfield::new(num_pieces),
        }
    }

    /// Records the block of `len` bytes at `begin` in `piece` (of `piece_size` bytes) as
    /// sent; true when that completed the piece.
    pub(super) fn record(&mut self, piece: u32, begin: u32, len: u32, piece_size: u32) -> bool {
        if self.full.get(piece as usize) {
            return false;
        }
        let (offsets, sent) = self.partial.entry(piece).or_default();
        if !offsets.insert(begin) {
            return false;
        }
        *sent = sent.saturating_add(len);
        if *sent < piece_size {
            return false;
        }
        self.partial.remove(&piece);
        self.full.set(piece as usize)
    }

    /// Whether the peer's own pieces plus those it got from us make the whole torrent.
    pub(super) fn completes(&self, peer_has: &Bitfield) -> bool {
        let ours = self.full.as_bytes();
        let theirs = peer_has.as_bytes();
        if ours.len() != theirs.len() {
            return false;
        }
        let ones: usize = ours
            .iter()
            .zip(theirs)
            .map(|(a, b)| (a | b).count_ones() as usize)
            .sum();
        ones == self.full.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_sent_in_full_complete_the_peer() {
        let mut g = Given::new(3);
        let mut has = Bitfield::new(3);
        has.set(0);
        assert!(!g.record(1, 0, 16384, 32768));
        assert!(!g.record(1, 0, 16384, 32768), "the same block again");
        assert!(g.record(1, 16384, 16384, 32768));
        assert!(!g.record(1, 16384, 16384, 32768), "already counted");
        assert!(!g.completes(&has));
        assert!(g.record(2, 0, 100, 100));
        assert!(g.completes(&has));
    }
}
