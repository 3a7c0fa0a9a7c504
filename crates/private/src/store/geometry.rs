//! Piece geometry of the torrent over the stream: validation of the piece length and
//! hash count, bounds checks of blocks, and hashing a piece through a reader.

use std::ops::Range;

use sha1::{Digest, Sha1};

use super::error::PrivateStoreError;

/// Bytes read per call while hashing a piece.
const HASH_CHUNK: usize = 1 << 20;

/// The torrent's view of the stream: its length, piece length and piece hashes.
#[derive(Debug)]
pub(crate) struct Geometry {
    pub(crate) stream_len: u64,
    pub(crate) piece_length: u32,
    pub(crate) hashes: Vec<[u8; 20]>,
}

impl Geometry {
    pub(crate) fn new(
        stream_len: u64,
        piece_length: u32,
        hashes: Vec<[u8; 20]>,
    ) -> Result<Self, PrivateStoreError> {
        if piece_length == 0 {
            return Err(PrivateStoreError::BadTorrent("piece length is zero"));
        }
        if stream_len == 0 {
            return Err(PrivateStoreError::BadTorrent("the stream is empty"));
        }
        let pieces = stream_len.div_ceil(u64::from(piece_length));
        if pieces != hashes.len() as u64 || u32::try_from(pieces).is_err() {
            return Err(PrivateStoreError::BadTorrent(
                "piece hash count does not match the length",
            ));
        }
        Ok(Geometry {
            stream_len,
            piece_length,
            hashes,
        })
    }

    pub(crate) fn num_pieces(&self) -> u32 {
        // Checked in `new`.
        self.hashes.len() as u32
    }

    /// Stream offsets of `piece`.
    pub(crate) fn piece_range(&self, piece: u32) -> Option<Range<u64>> {
        if piece >= self.num_pieces() {
            return None;
        }
        let start = u64::from(piece) * u64::from(self.piece_length);
        let end = (start + u64::from(self.piece_length)).min(self.stream_len);
        Some(start..end)
    }

    /// Stream offset of `len` bytes at `begin` in `piece`, if they lie inside it.
    pub(crate) fn block_offset(
        &self,
        piece: u32,
        begin: u32,
        len: usize,
    ) -> Result<u64, PrivateStoreError> {
        let out = || PrivateStoreError::OutOfRange {
            piece,
            begin,
            length: len as u64,
        };
        let range = self.piece_range(piece).ok_or_else(out)?;
        let start = range.start + u64::from(begin);
        match start.checked_add(len as u64) {
            Some(end) if end <= range.end => Ok(start),
            _ => Err(out()),
        }
    }

    /// The pieces holding stream bytes `[0, bytes)`.
    pub(crate) fn pieces_covering(&self, bytes: u64) -> Range<u32> {
        let n = bytes
            .min(self.stream_len)
            .div_ceil(u64::from(self.piece_length));
        0..u32::try_from(n).unwrap_or(u32::MAX).min(self.num_pieces())
    }

    /// SHA-1 of `piece`, read in chunks through `read(offset, buf)`.
    pub(crate) fn hash_piece(
        &self,
        piece: u32,
        mut read: impl FnMut(u64, &mut [u8]) -> Result<(), PrivateStoreError>,
    ) -> Result<[u8; 20], PrivateStoreError> {
        let range = self
            .piece_range(piece)
            .ok_or(PrivateStoreError::OutOfRange {
                piece,
                begin: 0,
                length: 0,
            })?;
        let size = usize::try_from(range.end - range.start).unwrap_or(usize::MAX);
        let mut buf = vec![0u8; size.min(HASH_CHUNK)];
        let mut hasher = Sha1::new();
        let mut at = range.start;
        while at < range.end {
            let n = usize::try_from(range.end - at)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            read(at, &mut buf[..n])?;
            hasher.update(&buf[..n]);
            at += n as u64;
        }
        Ok(hasher.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_bounds_checks() {
        assert!(Geometry::new(100, 0, vec![[0; 20]]).is_err());
        assert!(Geometry::new(0, 16, vec![]).is_err());
        assert!(Geometry::new(100, 16, vec![[0; 20]; 6]).is_err());
        let g = Geometry::new(100, 16, vec![[0; 20]; 7]).unwrap();
        assert_eq!(g.piece_range(6), Some(96..100));
        assert_eq!(g.piece_range(7), None);
        assert_eq!(g.block_offset(6, 2, 2).unwrap(), 98);
        assert!(g.block_offset(6, 2, 3).is_err());
        assert!(g.block_offset(0, u32::MAX, usize::MAX).is_err());
        assert_eq!(g.pieces_covering(0), 0..0);
        assert_eq!(g.pieces_covering(17), 0..2);
        assert_eq!(g.pieces_covering(u64::MAX), 0..7);
    }

    #[test]
    fn hashes_through_the_reader() {
        let g = Geometry::new(100, 16, vec![[0; 20]; 7]).unwrap();
        let digest = g.hash_piece(6, |_, buf| {
            buf.fill(1);
            Ok(())
        });
        let expected: [u8; 20] = Sha1::digest([1u8; 4]).into();
        assert_eq!(digest.unwrap(), expected);
        assert!(g.hash_piece(7, |_, _| Ok(())).is_err());
    }
}
