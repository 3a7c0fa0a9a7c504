//! [`PrivateStore`]: piece-level storage of a private torrent (a single-file torrent
//! whose one file is the ciphertext stream), for an engine to use in place of its file
//! storage. Its methods mirror what the engine calls on ordinary storage: block writes
//! and reads, piece hashes (SHA-1 of the ciphertext), a re-check, sync and completion.
//!
//! A sender serves the stream from a [`PrivateSource`] (read-only). A receiver keeps the
//! region in memory and early data in a hidden spool until the header opens from
//! verified pieces, then decrypts into a [`crate::PrivateSink`]; see the `receiver`
//! module. Only plaintext files ever stay on disk.

mod error;
mod geometry;
mod header_cache;
mod ranges;
mod receiver;
mod spool;

#[cfg(test)]
mod tests;

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use shoal_wire::Bitfield;

use crate::key::ContentKey;
use crate::layout::PrivateLayout;
use crate::source::PrivateSource;
pub use error::PrivateStoreError;
use geometry::Geometry;
pub use header_cache::HEADER_CACHE_PREFIX;
use receiver::Receiver;
pub use spool::SPOOL_PREFIX;

/// Storage of one private torrent. `Send + Sync`; every method takes `&self` and may
/// block on file I/O, so call it from blocking threads.
pub struct PrivateStore {
    geo: Geometry,
    role: Role,
}

enum Role {
    Sender(PrivateSource),
    Receiver(Box<Receiver>),
}

impl PrivateStore {
    /// A store serving `source`'s ciphertext stream, described by a torrent with
    /// `piece_length` and `piece_hashes` (e.g. from `create_torrent_from_stream`).
    pub fn sender(
        source: PrivateSource,
        piece_length: u32,
        piece_hashes: Vec<[u8; 20]>,
    ) -> Result<Self, PrivateStoreError> {
        let geo = Geometry::new(source.layout().stream_len(), piece_length, piece_hashes)?;
        Ok(PrivateStore {
            geo,
            role: Role::Sender(source),
        })
    }

    /// A store receiving a `stream_len`-byte stream into plaintext files below
    /// `out_dir`, opened with `key` once the region's pieces are verified. Does no I/O.
    /// Fails if the torrent cannot hold private content (e.g. too short).
    pub fn receiver(
        out_dir: &Path,
        stream_len: u64,
        piece_length: u32,
        piece_hashes: Vec<[u8; 20]>,
        key: ContentKey,
    ) -> Result<Self, PrivateStoreError> {
        let geo = Geometry::new(stream_len, piece_length, piece_hashes)?;
        let receiver = Receiver::new(out_dir, &geo, key)?;
        Ok(PrivateStore {
            geo,
            role: Role::Receiver(Box::new(receiver)),
        })
    }

    /// Whether this store serves a share (rather than receiving one).
    pub fn is_sender(&self) -> bool {
        matches!(self.role, Role::Sender(_))
    }

    /// Length of the whole stream (the torrent's length), header included.
    pub fn stream_len(&self) -> u64 {
        self.geo.stream_len
    }

    /// The torrent's piece length.
    pub fn piece_length(&self) -> u32 {
        self.geo.piece_length
    }

    /// Number of pieces of the torrent.
    pub fn num_pieces(&self) -> u32 {
        self.geo.num_pieces()
    }

    /// The expected SHA-1 of `piece`.
    pub fn piece_hash(&self, piece: u32) -> Option<[u8; 20]> {
        self.geo.hashes.get(piece as usize).copied()
    }

    /// The opened layout (manifest, region): always for a sender, for a receiver once
    /// the header has been opened.
    pub fn layout(&self) -> Option<PrivateLayout> {
        match &self.role {
            Role::Sender(source) => Some(source.layout().clone()),
            Role::Receiver(rx) => rx.layout(),
        }
    }

    /// Where a receiver's share is written (`<out_dir>/<root_name>`), once known.
    pub fn target_path(&self) -> Option<PathBuf> {
        match &self.role {
            Role::Sender(_) => None,
            Role::Receiver(rx) => rx
                .layout()
                .map(|l| rx.out_dir().join(&l.manifest().root_name)),
        }
    }

    /// A receiver's header cache (see `Receiver::resume`): one of its own files to
    /// delete with the data.
    pub fn header_cache_path(&self) -> Option<PathBuf> {
        match &self.role {
            Role::Sender(_) => None,
            Role::Receiver(rx) => Some(rx.header_cache_path().to_path_buf()),
        }
    }

    /// A receiver's permanent failure (wrong key, bad content, failed opening), if any.
    pub fn failure(&self) -> Option<PrivateStoreError> {
        match &self.role {
            Role::Sender(_) => None,
            Role::Receiver(rx) => rx.failure(),
        }
    }

    /// Writes consecutive blocks (`bufs`, contiguous) starting at byte `begin` of
    /// `piece`. A sender refuses ([`PrivateStoreError::ReadOnly`]).
    pub fn write_run(
        &self,
        piece: u32,
        begin: u32,
        bufs: &[&[u8]],
    ) -> Result<(), PrivateStoreError> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let offset = self.geo.block_offset(piece, begin, total)?;
        match &self.role {
            Role::Sender(_) => Err(PrivateStoreError::ReadOnly),
            Role::Receiver(rx) => rx.write(&self.geo, piece, offset, bufs),
        }
    }

    /// Writes one block (see [`write_run`](Self::write_run)).
    pub fn write_block(
        &self,
        piece: u32,
        begin: u32,
        data: &[u8],
    ) -> Result<(), PrivateStoreError> {
        self.write_run(piece, begin, &[data])
    }

    /// Reads a block of ciphertext into `buf` (its length is the block length).
    pub fn read_block(
        &self,
        piece: u32,
        begin: u32,
        buf: &mut [u8],
    ) -> Result<(), PrivateStoreError> {
        let offset = self.geo.block_offset(piece, begin, buf.len())?;
        self.read_stream(offset, buf)
    }

    /// SHA-1 of `piece`'s ciphertext as stored.
    pub fn hash_piece(&self, piece: u32) -> Result<[u8; 20], PrivateStoreError> {
        self.geo
            .hash_piece(piece, |offset, buf| self.read_stream(offset, buf))
    }

    /// Whether `piece` as stored matches its expected hash.
    pub fn verify_piece(&self, piece: u32) -> Result<bool, PrivateStoreError> {
        match self.hash_piece(piece) {
            Ok(digest) => Ok(Some(digest) == self.piece_hash(piece)),
            Err(PrivateStoreError::Missing { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The pieces already held: all of them for a sender (its files are the content);
    /// for a receiver, those its files hold when an earlier run left a header cache
    /// (see `Receiver::resume`), else none. `progress` gets the piece count once.
    pub fn check_existing(
        &self,
        _threads: usize,
        progress: &(dyn Fn(u32) + Sync),
    ) -> Result<Bitfield, PrivateStoreError> {
        let n = self.num_pieces();
        progress(n);
        Ok(match &self.role {
            Role::Sender(_) => Bitfield::full(n as usize),
            Role::Receiver(rx) => rx.resume(&self.geo),
        })
    }

    /// fsyncs the output files written since the last call (receiver once open).
    pub fn sync_all(&self) -> Result<(), PrivateStoreError> {
        match &self.role {
            Role::Sender(_) => Ok(()),
            Role::Receiver(rx) => rx.sync(),
        }
    }

    /// Completes a receiver once every piece is verified: creates empty files and
    /// directories, syncs and applies the manifest's modes. No-op for a sender.
    pub fn finish(&self) -> Result<(), PrivateStoreError> {
        match &self.role {
            Role::Sender(_) => Ok(()),
            Role::Receiver(rx) => rx.finish(),
        }
    }

    /// Stops a receiver whose header has not been opened: its spool is removed and
    /// later operations fail. No effect once open (its header cache lets a later run
    /// resume), nor on a sender. Call when the torrent stops.
    pub fn close(&self) {
        if let Role::Receiver(rx) = &self.role {
            rx.close();
        }
    }

    /// The pieces to fetch first: those holding the region, as far as known (piece 0
    /// until the fixed header is verified, then every region piece). Empty once the
    /// header is open, after a failure, and for a sender.
    pub fn priority_pieces(&self) -> Range<u32> {
        match &self.role {
            Role::Sender(_) => 0..0,
            Role::Receiver(rx) => rx.priority_pieces(&self.geo),
        }
    }

    fn read_stream(&self, offset: u64, buf: &mut [u8]) -> Result<(), PrivateStoreError> {
        match &self.role {
            Role::Sender(source) => Ok(source.read_stream(offset, buf)?),
            Role::Receiver(rx) => rx.read(offset, buf),
        }
    }
}

impl fmt::Debug for PrivateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateStore")
            .field("sender", &self.is_sender())
            .field("stream_len", &self.geo.stream_len)
            .field("pieces", &self.geo.num_pieces())
            .finish_non_exhaustive()
    }
}
