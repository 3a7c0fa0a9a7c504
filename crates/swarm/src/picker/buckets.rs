//! Not-yet-started pieces grouped by availability, so the rarest ones are found without
//! scanning the whole torrent. Every change (insert, remove, availability +/-1) is O(1):
//! buckets are unordered vectors with a per-piece position index for swap-removal.

use shoal_wire::Bitfield;

const NONE: u32 = u32::MAX;

/// Pieces grouped by how many connected peers have them.
#[derive(Debug, Clone)]
pub(crate) struct Buckets {
    /// `buckets[a]` holds the member pieces whose availability is `a`, in no order.
    buckets: Vec<Vec<u32>>,
    /// Position of each piece inside its bucket, or `NONE` when it is not a member.
    pos: Vec<u32>,
    /// The member pieces as a bitfield, for byte-wise intersection with a peer's.
    members: Bitfield,
    len: usize,
}

impl Buckets {
    pub(crate) fn new(num_pieces: u32) -> Self {
        Buckets {
            buckets: Vec::new(),
            pos: vec![NONE; num_pieces as usize],
            members: Bitfield::new(num_pieces as usize),
            len: 0,
        }
    }

    /// Number of member pieces.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn contains(&self, piece: u32) -> bool {
        self.pos.get(piece as usize).is_some_and(|&p| p != NONE)
    }

    /// Adds `piece` (which must not be a member) with availability `avail`.
    pub(crate) fn insert(&mut self, piece: u32, avail: u32) {
        let Some(slot) = self.pos.get_mut(piece as usize) else {
            return;
        };
        if *slot != NONE {
            return;
        }
        let a = avail as usize;
        if self.buckets.len() <= a {
            self.buckets.resize_with(a + 1, Vec::new);
        }
        *slot = self.buckets[a].len() as u32;
        self.buckets[a].push(piece);
        self.members.set(piece as usize);
        self.len += 1;
    }

    /// Removes `piece` if it is a member with availability `avail`.
    pub(crate) fn remove(&mut self, piece: u32, avail: u32) {
        let Some(&p) = self.pos.get(piece as usize) else {
            return;
        };
        let Some(bucket) = self.buckets.get_mut(avail as usize) else {
            return;
        };
        if p == NONE || bucket.get(p as usize) != Some(&piece) {
            return;
        }
        bucket.swap_remove(p as usize);
        if let Some(&moved) = bucket.get(p as usize) {
            self.pos[moved as usize] = p;
        }
        self.pos[piece as usize] = NONE;
        self.members.clear(piece as usize);
        self.len -= 1;
    }

    /// Moves a member `piece` from availability `from` to `to`; no-op for non-members.
    pub(crate) fn change(&mut self, piece: u32, from: u32, to: u32) {
        if from != to && self.contains(piece) {
            self.remove(piece, from);
            self.insert(piece, to);
        }
    }

    /// The member pieces as a bitfield.
    pub(crate) fn members(&self) -> &Bitfield {
        &self.members
    }

    /// The buckets, rarest first (index = availability).
    pub(crate) fn buckets(&self) -> &[Vec<u32>] {
        &self.buckets
    }

    /// Checks internal consistency against the given availabilities (tests only).
    #[cfg(test)]
    pub(crate) fn check(&self, avail: &[u32]) {
        let mut n = 0;
        for (a, b) in self.buckets.iter().enumerate() {
            for (i, &piece) in b.iter().enumerate() {
                assert_eq!(self.pos[piece as usize], i as u32);
                assert_eq!(
                    avail[piece as usize], a as u32,
                    "piece {piece} in wrong bucket"
                );
                n += 1;
            }
        }
        assert_eq!(n, self.len);
        assert_eq!(self.members.count_ones(), n);
        assert!(self.members.iter_ones().all(|p| self.pos[p] != NONE));
        assert_eq!(self.pos.iter().filter(|&&p| p != NONE).count(), n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_move_remove() {
        let mut b = Buckets::new(5);
        let mut avail = vec![0u32; 5];
        for p in 0..5 {
            b.insert(p, 0);
        }
        b.check(&avail);
        b.change(1, 0, 2);
        avail[1] = 2;
        b.change(3, 0, 1);
        avail[3] = 1;
        b.check(&avail);
        b.remove(0, 0);
        b.remove(0, 0);
        b.remove(1, 0); // wrong availability: ignored
        assert!(b.contains(1));
        b.check(&avail);
        assert_eq!(b.len(), 4);
        assert_eq!(b.buckets()[2], vec![1]);
        b.insert(9, 0); // out of range: ignored
        assert_eq!(b.len(), 4);
    }
}
