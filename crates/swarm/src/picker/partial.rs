//! Per-block state of one piece being downloaded: which blocks are free, requested (and
//! from whom), or received (and from whom, for smart banning).

use crate::PeerKey;

/// Most peers a single block may be requested from at once (only in endgame).
pub const ENDGAME_MAX_REQUESTERS: usize = 3;

/// The peers a block is currently requested from: a tiny inline set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Requesters {
    ids: [PeerKey; ENDGAME_MAX_REQUESTERS],
    len: u8,
}

impl Requesters {
    fn one(peer: PeerKey) -> Self {
        let mut ids = [0; ENDGAME_MAX_REQUESTERS];
        ids[0] = peer;
        Requesters { ids, len: 1 }
    }

    pub(crate) fn empty() -> Self {
        Requesters {
            ids: [0; ENDGAME_MAX_REQUESTERS],
            len: 0,
        }
    }

    pub(crate) fn as_slice(&self) -> &[PeerKey] {
        &self.ids[..usize::from(self.len)]
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub(crate) fn contains(&self, peer: PeerKey) -> bool {
        self.as_slice().contains(&peer)
    }

    /// Adds `peer` unless present or full; returns whether it was added.
    fn push(&mut self, peer: PeerKey) -> bool {
        if self.contains(peer) || self.len() >= ENDGAME_MAX_REQUESTERS {
            return false;
        }
        self.ids[self.len()] = peer;
        self.len += 1;
        true
    }

    /// Removes `peer`; returns whether it was present.
    fn remove(&mut self, peer: PeerKey) -> bool {
        let Some(i) = self.as_slice().iter().position(|&p| p == peer) else {
            return false;
        };
        let last = self.len() - 1;
        self.ids[i] = self.ids[last];
        self.len -= 1;
        true
    }
}

/// State of one block of a piece in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockSlot {
    Free,
    Requested(Requesters),
    Received(PeerKey),
}

/// What happened to an arriving block.
pub(crate) enum Arrival {
    /// Stored; the other peers that had it requested.
    Accepted(Requesters),
    Duplicate,
    NotRequested,
}

/// A piece with at least one block requested or received and not yet verified.
#[derive(Debug, Clone)]
pub(crate) struct PartialPiece {
    pub(crate) piece: u32,
    blocks: Vec<BlockSlot>,
    free: u32,
    received: u32,
    /// Blocks with at least one requester.
    requested: u32,
    /// No block before this index is free.
    first_free: u32,
    /// Peers that have been asked for blocks of this piece (a short list).
    contributors: Vec<PeerKey>,
}

impl PartialPiece {
    pub(crate) fn new(piece: u32, num_blocks: u32) -> Self {
        PartialPiece {
            piece,
            blocks: vec![BlockSlot::Free; num_blocks as usize],
            free: num_blocks,
            received: 0,
            requested: 0,
            first_free: 0,
            contributors: Vec::new(),
        }
    }

    pub(crate) fn free(&self) -> u32 {
        self.free
    }

    pub(crate) fn slots(&self) -> &[BlockSlot] {
        &self.blocks
    }

    /// All blocks received: the piece awaits hash verification.
    pub(crate) fn is_complete(&self) -> bool {
        self.received as usize == self.blocks.len()
    }

    /// Nothing requested and nothing received: as good as not started.
    pub(crate) fn is_idle(&self) -> bool {
        self.requested == 0 && self.received == 0
    }

    pub(crate) fn has_contributor(&self, peer: PeerKey) -> bool {
        self.contributors.contains(&peer)
    }

    fn note_contributor(&mut self, peer: PeerKey) {
        // Bounded: a piece rarely has more than a handful of peers on it.
        if self.contributors.len() < 64 && !self.contributors.contains(&peer) {
            self.contributors.push(peer);
        }
    }

    /// Marks up to `max` free blocks as requested by `peer`, passing each one's index to
    /// `emit`; returns how many were taken.
    pub(crate) fn take_free(
        &mut self,
        peer: PeerKey,
        max: usize,
        mut emit: impl FnMut(u32),
    ) -> usize {
        let mut taken = 0;
        let mut i = self.first_free as usize;
        while taken < max && self.free > 0 && i < self.blocks.len() {
            if self.blocks[i] == BlockSlot::Free {
                self.blocks[i] = BlockSlot::Requested(Requesters::one(peer));
                self.free -= 1;
                self.requested += 1;
                emit(i as u32);
                taken += 1;
            }
            i += 1;
        }
        self.first_free = i as u32;
        if taken > 0 {
            self.note_contributor(peer);
        }
        taken
    }

    /// Endgame: also requests block `index` (already requested by someone else) from
    /// `peer`, if it has room; returns whether it did.
    pub(crate) fn add_requester(&mut self, index: u32, peer: PeerKey) -> bool {
        match self.blocks.get_mut(index as usize) {
            Some(BlockSlot::Requested(r)) => {
                let added = r.push(peer);
                if added {
                    self.note_contributor(peer);
                }
                added
            }
            _ => false,
        }
    }

    /// Block `index` arrived from `peer`.
    pub(crate) fn receive(&mut self, index: u32, peer: PeerKey) -> Arrival {
        let Some(slot) = self.blocks.get_mut(index as usize) else {
            return Arrival::NotRequested;
        };
        match *slot {
            BlockSlot::Received(_) => Arrival::Duplicate,
            BlockSlot::Free => Arrival::NotRequested,
            BlockSlot::Requested(mut r) => {
                if !r.remove(peer) {
                    return Arrival::NotRequested;
                }
                *slot = BlockSlot::Received(peer);
                self.requested -= 1;
                self.received += 1;
                Arrival::Accepted(r)
            }
        }
    }

    /// `peer` no longer has block `index` requested; returns whether the block became free.
    pub(crate) fn drop_request(&mut self, index: u32, peer: PeerKey) -> bool {
        let Some(BlockSlot::Requested(r)) = self.blocks.get_mut(index as usize) else {
            return false;
        };
        if !r.remove(peer) || r.len() > 0 {
            return false;
        }
        self.set_free(index);
        true
    }

    /// Drops every request `peer` has here; returns how many blocks became free.
    pub(crate) fn drop_peer(&mut self, peer: PeerKey) -> u32 {
        self.contributors.retain(|&p| p != peer);
        let mut freed = 0;
        for i in 0..self.blocks.len() {
            if let BlockSlot::Requested(r) = &mut self.blocks[i] {
                if r.remove(peer) && r.len() == 0 {
                    self.set_free(i as u32);
                    freed += 1;
                }
            }
        }
        freed
    }

    fn set_free(&mut self, index: u32) {
        self.blocks[index as usize] = BlockSlot::Free;
        self.requested -= 1;
        self.free += 1;
        self.first_free = self.first_free.min(index);
    }

    /// Forgets every received block (the piece failed its hash check), returning
    /// `(block index, sender)` for each. Requested blocks stay requested.
    pub(crate) fn reset_received(&mut self) -> Vec<(u32, PeerKey)> {
        let mut senders = Vec::with_capacity(self.received as usize);
        for (i, slot) in self.blocks.iter_mut().enumerate() {
            if let BlockSlot::Received(p) = *slot {
                senders.push((i as u32, p));
                *slot = BlockSlot::Free;
                self.free += 1;
                self.first_free = self.first_free.min(i as u32);
            }
        }
        self.received = 0;
        self.contributors.clear();
        senders
    }

    /// Checks the counters against the blocks (tests only).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        let count = |f: fn(&BlockSlot) -> bool| self.blocks.iter().filter(|s| f(s)).count();
        assert_eq!(count(|s| *s == BlockSlot::Free), self.free as usize);
        assert_eq!(
            count(|s| matches!(s, BlockSlot::Received(_))),
            self.received as usize
        );
        assert_eq!(
            count(|s| matches!(s, BlockSlot::Requested(_))),
            self.requested as usize
        );
        assert!(self.blocks[..self.first_free as usize]
            .iter()
            .all(|s| *s != BlockSlot::Free));
        for s in &self.blocks {
            if let BlockSlot::Requested(r) = s {
                assert!(r.len() > 0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requesters_set() {
        let mut r = Requesters::one(1);
        assert!(!r.push(1));
        assert!(r.push(2));
        assert!(r.push(3));
        assert!(!r.push(4));
        assert!(r.remove(1));
        assert!(!r.remove(1));
        let mut s = r.as_slice().to_vec();
        s.sort();
        assert_eq!(s, vec![2, 3]);
    }

    #[test]
    fn lifecycle() {
        let mut p = PartialPiece::new(7, 4);
        let mut idx = Vec::new();
        assert_eq!(p.take_free(1, 3, |i| idx.push(i)), 3);
        assert_eq!(idx, vec![0, 1, 2]);
        assert!(p.drop_request(1, 1));
        assert!(!p.drop_request(1, 1));
        p.check();
        idx.clear();
        assert_eq!(p.take_free(2, 9, |i| idx.push(i)), 2);
        assert_eq!(idx, vec![1, 3]);
        assert!(p.add_requester(3, 1));
        assert!(matches!(p.receive(3, 2), Arrival::Accepted(r) if r.as_slice() == [1]));
        assert!(matches!(p.receive(3, 1), Arrival::Duplicate));
        assert!(matches!(p.receive(9, 1), Arrival::NotRequested));
        assert!(matches!(p.receive(0, 2), Arrival::NotRequested));
        assert_eq!(p.drop_peer(1), 2);
        assert_eq!(p.free(), 2);
        p.check();
        assert_eq!(p.reset_received(), vec![(3, 2)]);
        assert_eq!(p.free(), 3);
        p.check();
        assert!(!p.is_idle()); // block 1 still requested by peer 2
        assert_eq!(p.drop_peer(2), 1);
        assert!(p.is_idle());
    }
}
