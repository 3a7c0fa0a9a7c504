//! Where a torrent's pieces live: ordinary files ([`Storage`]) or the plaintext files
//! of a private link ([`PrivateStore`], which encrypts and decrypts on the way). The
//! rest of the engine only sees [`Store`].

use std::fs::File;
use std::ops::Range;
use std::sync::Arc;

use shoal_metainfo::Metainfo;
use shoal_private::PrivateStore;
use shoal_storage::{FilePool, FileSpec, Layout, Storage, StorageOptions};
use shoal_wire::Bitfield;

use crate::config::{AddTorrentOptions, Content};
use crate::error::{AddTorrentError, StoreError};

/// A torrent's piece storage.
pub(crate) enum Store {
    Files(Storage),
    Private(PrivateStore),
}

impl Store {
    /// The store `opts.content` asks for over `meta`'s pieces, below
    /// `opts.download_dir`, sharing the session's file handle `pool`.
    pub(crate) fn open(
        meta: &Metainfo,
        opts: &AddTorrentOptions,
        pool: &Arc<FilePool>,
    ) -> Result<Store, AddTorrentError> {
        let info = &meta.info;
        let single_file = !info.multi_file && info.files.len() == 1;
        match &opts.content {
            Content::Files => {
                let layout = Layout {
                    piece_length: info.piece_length,
                    total_length: info.total_length,
                    files: info
                        .files
                        .iter()
                        .map(|f| FileSpec {
                            path: f.path.clone(),
                            length: f.length,
                            pad: f.pad,
                        })
                        .collect(),
                };
                let mut options = StorageOptions::default();
                options.pool = Some(pool.clone());
                let storage = Storage::with_options(
                    &opts.download_dir,
                    layout,
                    info.pieces.clone(),
                    options,
                )?;
                Ok(Store::Files(storage))
            }
            Content::PrivateSend(source) => {
                if !single_file {
                    return Err(AddTorrentError::PrivateNeedsSingleFile);
                }
                if source.layout().stream_len() != info.total_length {
                    return Err(AddTorrentError::PrivateLengthMismatch);
                }
                let store =
                    PrivateStore::sender(source.clone(), info.piece_length, info.pieces.clone())?;
                Ok(Store::Private(store))
            }
            Content::PrivateReceive(key) => {
                if !single_file {
                    return Err(AddTorrentError::PrivateNeedsSingleFile);
                }
                let store = PrivateStore::receiver(
                    &opts.download_dir,
                    info.total_length,
                    info.piece_length,
                    info.pieces.clone(),
                    key.clone(),
                )?;
                Ok(Store::Private(store))
            }
        }
    }

    pub(crate) fn write_run(
        &self,
        piece: u32,
        begin: u32,
        bufs: &[&[u8]],
    ) -> Result<(), StoreError> {
        match self {
            Store::Files(s) => Ok(s.write_run(piece, begin, bufs)?),
            Store::Private(s) => Ok(s.write_run(piece, begin, bufs)?),
        }
    }

    pub(crate) fn read_block(
        &self,
        piece: u32,
        begin: u32,
        buf: &mut [u8],
    ) -> Result<(), StoreError> {
        match self {
            Store::Files(s) => Ok(s.read_block(piece, begin, buf)?),
            Store::Private(s) => Ok(s.read_block(piece, begin, buf)?),
        }
    }

    /// See [`Storage::block_slices`]. A private store's bytes are computed, never on
    /// disk as sent: always `Ok(false)`, so blocks are read with [`Self::read_block`].
    pub(crate) fn block_slices(
        &self,
        piece: u32,
        begin: u32,
        len: usize,
        each: impl FnMut(Arc<File>, u64, usize),
    ) -> Result<bool, StoreError> {
        match self {
            Store::Files(s) => Ok(s.block_slices(piece, begin, len, each)?),
            Store::Private(_) => Ok(false),
        }
    }

    pub(crate) fn hash_piece(&self, piece: u32) -> Result<[u8; 20], StoreError> {
        match self {
            Store::Files(s) => Ok(s.hash_piece(piece)?),
            Store::Private(s) => Ok(s.hash_piece(piece)?),
        }
    }

    pub(crate) fn check_existing(
        &self,
        threads: usize,
        progress: &(dyn Fn(u32) + Sync),
    ) -> Result<Bitfield, StoreError> {
        match self {
            Store::Files(s) => Ok(s.check_existing(threads, progress)?),
            Store::Private(s) => Ok(s.check_existing(threads, progress)?),
        }
    }

    /// Like [`Self::check_existing`] but trusting the pieces in `known` (resume data).
    /// A private store has no resume: it checks as [`Self::check_existing`] does.
    pub(crate) fn check_missing(
        &self,
        threads: usize,
        known: &Bitfield,
        progress: &(dyn Fn(u32) + Sync),
    ) -> Result<Bitfield, StoreError> {
        match self {
            Store::Files(s) => Ok(s.check_missing(threads, known, progress)?),
            Store::Private(s) => Ok(s.check_existing(threads, progress)?),
        }
    }

    /// Closes open file handles (a paused torrent holds none); they reopen on demand.
    pub(crate) fn release_files(&self) {
        if let Store::Files(s) = self {
            s.close_files();
        }
    }

    /// Whether files were deleted while we held them open (their handles are closed).
    pub(crate) fn lost_open_files(&self) -> bool {
        match self {
            Store::Files(s) => s.close_deleted_files(),
            Store::Private(_) => false,
        }
    }

    pub(crate) fn as_files(&self) -> Option<&Storage> {
        match self {
            Store::Files(s) => Some(s),
            Store::Private(_) => None,
        }
    }

    pub(crate) fn sync_all(&self) -> Result<(), StoreError> {
        match self {
            Store::Files(s) => Ok(s.sync_all()?),
            Store::Private(s) => Ok(s.sync_all()?),
        }
    }

    /// Once every piece is verified: empty files created and everything synced (a
    /// private receiver also gets its directories and file modes).
    pub(crate) fn complete(&self) -> Result<(), StoreError> {
        match self {
            Store::Files(s) => {
                s.create_empty_files()?;
                Ok(s.sync_all()?)
            }
            Store::Private(s) => Ok(s.finish()?),
        }
    }

    /// Pieces to fetch before all others (a private receiver's header).
    pub(crate) fn priority_pieces(&self) -> Range<u32> {
        match self {
            Store::Files(_) => 0..0,
            Store::Private(s) => s.priority_pieces(),
        }
    }

    /// The torrent stopped: a private receiver that never opened its header drops its
    /// spool (there is no resume of an unopened stream).
    pub(crate) fn close(&self) {
        if let Store::Private(s) = self {
            s.close();
        }
    }

    pub(crate) fn as_private(&self) -> Option<&PrivateStore> {
        match self {
            Store::Files(_) => None,
            Store::Private(s) => Some(s),
        }
    }
}
