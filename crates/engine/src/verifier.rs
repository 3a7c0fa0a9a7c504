//! How a piece is verified: today BitTorrent v1, one SHA-1 per piece from the
//! metainfo. The disk workers only ask this type, so BitTorrent v2's per-block Merkle
//! verification replaces it here without touching the pool or the piece owner.

use crate::error::StoreError;
use crate::hasher::PieceHasher;
use crate::store::Store;
use shoal_metainfo::Metainfo;

/// The expected digests of a torrent's pieces and their sizes.
pub(crate) struct PieceVerifier {
    hashes: Vec<[u8; 20]>,
    piece_length: u32,
    total_length: u64,
}

impl PieceVerifier {
    pub(crate) fn new(meta: &Metainfo) -> Self {
        PieceVerifier {
            hashes: meta.info.pieces.clone(),
            piece_length: meta.info.piece_length,
            total_length: meta.info.total_length,
        }
    }

    /// A running hash for a piece whose blocks arrive in order from its start.
    pub(crate) fn start(&self) -> PieceHasher {
        PieceHasher::new()
    }

    /// Whether `piece` is intact: from its running hash when that covered the whole
    /// piece, else by reading it back from `store`.
    pub(crate) fn check(
        &self,
        piece: u32,
        running: Option<PieceHasher>,
        store: &Store,
    ) -> Result<bool, StoreError> {
        let digest = match running.and_then(|h| h.finish(self.piece_size(piece))) {
            Some(d) => d,
            None => store.hash_piece(piece)?,
        };
        Ok(self.hashes.get(piece as usize) == Some(&digest))
    }

    /// Bytes in `piece` (the last one may be short; 0 past the end).
    fn piece_size(&self, piece: u32) -> u32 {
        let start = u64::from(piece) * u64::from(self.piece_length);
        let left = self.total_length.saturating_sub(start);
        u32::try_from(left.min(u64::from(self.piece_length))).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_sizes_follow_the_layout() {
        let v = PieceVerifier {
            hashes: vec![[0; 20]; 3],
            piece_length: 100,
            total_length: 250,
        };
        assert_eq!(v.piece_size(0), 100);
        assert_eq!(v.piece_size(2), 50);
        assert_eq!(v.piece_size(3), 0);
    }
}
