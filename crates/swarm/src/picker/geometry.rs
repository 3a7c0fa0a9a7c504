//! Torrent geometry: piece lengths, block counts and block addresses.

use shoal_wire::{BlockRef, BLOCK_SIZE};

/// Why a torrent's piece layout is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GeometryError {
    /// The piece length is zero.
    #[error("piece length is zero")]
    ZeroPieceLength,
    #[error(
        "{num_pieces} pieces of {piece_length} bytes cannot hold {total_length} bytes exactly"
    )]
    /// The number of pieces does not fit the total length and piece length.
    PieceCountMismatch {
        /// Pieces the torrent lists.
        num_pieces: u32,
        /// Bytes per piece (the last may be shorter).
        piece_length: u32,
        /// Bytes of the whole torrent.
        total_length: u64,
    },
}

/// Piece and block sizes of one torrent. The last piece may be shorter, and so may the
/// last block of every piece whose length is not a multiple of [`BLOCK_SIZE`].
#[derive(Debug, Clone)]
pub(crate) struct Geometry {
    num_pieces: u32,
    piece_length: u32,
    last_piece_length: u32,
}

impl Geometry {
    /// Checks that `num_pieces` pieces of `piece_length` bytes hold exactly `total_length`
    /// bytes (every piece but the last full, the last one non-empty).
    pub(crate) fn new(
        num_pieces: u32,
        piece_length: u32,
        total_length: u64,
    ) -> Result<Self, GeometryError> {
        let mismatch = || GeometryError::PieceCountMismatch {
            num_pieces,
            piece_length,
            total_length,
        };
        if num_pieces == 0 {
            return if total_length == 0 {
                Ok(Geometry {
                    num_pieces,
                    piece_length,
                    last_piece_length: 0,
                })
            } else {
                Err(mismatch())
            };
        }
        if piece_length == 0 {
            return Err(GeometryError::ZeroPieceLength);
        }
        let before_last = u64::from(num_pieces - 1) * u64::from(piece_length);
        let last = total_length.checked_sub(before_last).ok_or_else(mismatch)?;
        if last == 0 || last > u64::from(piece_length) {
            return Err(mismatch());
        }
        // `last <= piece_length`, so it fits in a u32.
        let last_piece_length = u32::try_from(last).map_err(|_| mismatch())?;
        Ok(Geometry {
            num_pieces,
            piece_length,
            last_piece_length,
        })
    }

    /// A best-effort layout for inconsistent input: every piece `piece_length` bytes
    /// (at least one byte) except that the last one is clamped into `1..=piece_length`.
    pub(crate) fn lenient(num_pieces: u32, piece_length: u32, total_length: u64) -> Self {
        let piece_length = piece_length.max(1);
        let before_last = u64::from(num_pieces.saturating_sub(1)) * u64::from(piece_length);
        let last = total_length
            .saturating_sub(before_last)
            .clamp(1, u64::from(piece_length));
        let last_piece_length = u32::try_from(last).unwrap_or(piece_length);
        Geometry {
            num_pieces,
            piece_length,
            last_piece_length,
        }
    }

    pub(crate) fn num_pieces(&self) -> u32 {
        self.num_pieces
    }

    /// Length in bytes of `piece` (0 when out of range).
    pub(crate) fn piece_len(&self, piece: u32) -> u32 {
        if piece >= self.num_pieces {
            0
        } else if piece + 1 == self.num_pieces {
            self.last_piece_length
        } else {
            self.piece_length
        }
    }

    /// Number of blocks in `piece` (0 when out of range).
    pub(crate) fn blocks_in(&self, piece: u32) -> u32 {
        self.piece_len(piece).div_ceil(BLOCK_SIZE)
    }

    /// The address of block number `index` of `piece`; the caller keeps `index` in range.
    pub(crate) fn block(&self, piece: u32, index: u32) -> BlockRef {
        let begin = index * BLOCK_SIZE;
        let length = self.piece_len(piece).saturating_sub(begin).min(BLOCK_SIZE);
        BlockRef {
            piece,
            begin,
            length,
        }
    }

    /// The block index `block` names, if it is exactly one of this torrent's blocks.
    pub(crate) fn block_index(&self, block: BlockRef) -> Option<u32> {
        let index = block.begin / BLOCK_SIZE;
        (block.piece < self.num_pieces
            && index < self.blocks_in(block.piece)
            && self.block(block.piece, index) == block)
            .then_some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_piece_and_last_block_are_short() {
        // 3 pieces of 40000 bytes; the last one holds 20000.
        let g = Geometry::new(3, 40_000, 100_000).unwrap();
        assert_eq!(g.piece_len(0), 40_000);
        assert_eq!(g.piece_len(2), 20_000);
        assert_eq!(g.piece_len(3), 0);
        assert_eq!(g.blocks_in(0), 3);
        assert_eq!(g.blocks_in(2), 2);
        assert_eq!(
            g.block(0, 2),
            BlockRef {
                piece: 0,
                begin: 32768,
                length: 40_000 - 32768
            }
        );
        assert_eq!(
            g.block(2, 1),
            BlockRef {
                piece: 2,
                begin: 16384,
                length: 20_000 - 16384
            }
        );
        assert_eq!(g.block_index(g.block(2, 1)), Some(1));
        assert_eq!(
            g.block_index(BlockRef {
                piece: 2,
                begin: 16384,
                length: 16384
            }),
            None
        );
        assert_eq!(
            g.block_index(BlockRef {
                piece: 2,
                begin: 100,
                length: 16384
            }),
            None
        );
        assert_eq!(
            g.block_index(BlockRef {
                piece: 2,
                begin: 32768,
                length: 1
            }),
            None
        );
        assert_eq!(
            g.block_index(BlockRef {
                piece: 9,
                begin: 0,
                length: 16384
            }),
            None
        );
    }

    #[test]
    fn validation() {
        assert!(Geometry::new(0, 0, 0).is_ok());
        assert!(Geometry::new(0, 16, 1).is_err());
        assert_eq!(
            Geometry::new(1, 0, 1).unwrap_err(),
            GeometryError::ZeroPieceLength
        );
        assert!(Geometry::new(2, 10, 10).is_err()); // last piece would be empty
        assert!(Geometry::new(2, 10, 21).is_err()); // does not fit
        assert!(Geometry::new(2, 10, 5).is_err());
        assert!(Geometry::new(u32::MAX, u32::MAX, u64::MAX).is_err());
        let g = Geometry::new(2, 10, 20).unwrap();
        assert_eq!(g.piece_len(1), 10);
    }

    #[test]
    fn lenient_never_has_empty_pieces() {
        let g = Geometry::lenient(4, 0, 0);
        assert_eq!(g.piece_len(0), 1);
        assert_eq!(g.piece_len(3), 1);
        let g = Geometry::lenient(2, 100, 1000);
        assert_eq!(g.piece_len(1), 100);
    }
}
