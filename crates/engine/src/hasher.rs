//! Hashing a piece as its blocks arrive, so a piece received in order is verified from
//! memory instead of being read back from disk (used by the disk workers).

use sha1::{Digest, Sha1};

/// The running hash of a piece whose first `next` bytes have been fed in order.
#[derive(Clone)]
pub(crate) struct PieceHasher {
    sha: Sha1,
    next: u32,
}

impl PieceHasher {
    pub(crate) fn new() -> Self {
        PieceHasher {
            sha: Sha1::new(),
            next: 0,
        }
    }

    /// Feeds the block at `begin`; returns false (and the state must be dropped) when
    /// it is not the next block in order.
    pub(crate) fn feed(&mut self, begin: u32, data: &[u8]) -> bool {
        if begin != self.next {
            return false;
        }
        self.sha.update(data);
        self.next += data.len() as u32;
        true
    }

    /// The digest, if exactly `piece_size` bytes were fed.
    pub(crate) fn finish(self, piece_size: u32) -> Option<[u8; 20]> {
        (self.next == piece_size).then(|| self.sha.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_blocks_give_the_piece_digest() {
        let data: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
        let mut h = PieceHasher::new();
        assert!(h.feed(0, &data[..16_384]));
        assert!(!h.clone().feed(32_768, &data[32_768..]));
        assert!(h.feed(16_384, &data[16_384..32_768]));
        assert!(h.clone().finish(40_000).is_none());
        assert!(h.feed(32_768, &data[32_768..]));
        assert_eq!(h.finish(40_000), Some(Sha1::digest(&data).into()));
    }
}
