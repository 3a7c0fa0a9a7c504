//! The `Storage` type: positional block reads and writes over the torrent's files,
//! piece hashing, syncing and materialising empty files.

use std::cell::RefCell;
use std::fs::File;
use std::io::IoSlice;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sha1::{Digest, Sha1};

use crate::error::{classify, IoOp, LayoutError, StorageError};
use crate::handles::FilePool;
use crate::layout::{file_ends, Layout, Segments};
use crate::paths;

/// Bytes read per call while hashing.
const HASH_CHUNK: usize = 1 << 20;

thread_local! {
    /// Per-thread hashing buffer, grown once to at most `HASH_CHUNK`.
    static HASH_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Tunables for [`Storage`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StorageOptions {
    /// Most file handles kept open at once (at least 1), when no shared pool is given.
    pub max_open_files: usize,
    /// Open handles shared with other storages under one cap (e.g. every torrent of a
    /// session); `None` gives this storage a pool of its own of `max_open_files`.
    pub pool: Option<Arc<FilePool>>,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            max_open_files: 128,
            pool: None,
        }
    }
}

/// Piece storage for one torrent. `Send + Sync`; every method takes `&self`, blocking
/// file I/O included, so call it from blocking threads.
pub struct Storage {
    pub(crate) root: PathBuf,
    pub(crate) layout: Layout,
    hashes: Vec<[u8; 20]>,
    /// Normalised relative path of each file.
    pub(crate) rel: Vec<PathBuf>,
    /// Cumulative end offset of each file in the logical stream.
    pub(crate) ends: Vec<u64>,
    handles: Arc<FilePool>,
    /// This storage's key in `handles`.
    owner: u64,
    /// Written since the last `sync_all`.
    dirty: Vec<AtomicBool>,
}

impl Storage {
    /// Validates the layout and hash list. Touches nothing on disk.
    pub fn new(
        root: &Path,
        layout: Layout,
        piece_hashes: Vec<[u8; 20]>,
    ) -> Result<Storage, StorageError> {
        Self::with_options(root, layout, piece_hashes, StorageOptions::default())
    }

    /// Like [`Storage::new`] with explicit options.
    pub fn with_options(
        root: &Path,
        layout: Layout,
        piece_hashes: Vec<[u8; 20]>,
        options: StorageOptions,
    ) -> Result<Storage, StorageError> {
        let rel = layout.validate()?;
        let expected = layout.num_pieces();
        if piece_hashes.len() != expected as usize {
            return Err(LayoutError::HashCount {
                expected,
                actual: piece_hashes.len(),
            }
            .into());
        }
        let ends = file_ends(&layout.files);
        let dirty = layout
            .files
            .iter()
            .map(|_| AtomicBool::new(false))
            .collect();
        let handles = options
            .pool
            .unwrap_or_else(|| FilePool::new(options.max_open_files));
        let owner = handles.new_owner();
        Ok(Storage {
            root: root.to_path_buf(),
            layout,
            hashes: piece_hashes,
            rel,
            ends,
            handles,
            owner,
            dirty,
        })
    }

    /// The layout the storage was opened with.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The directory every file of the torrent lives below.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The expected SHA-1 of `piece`.
    pub fn piece_hash(&self, piece: u32) -> Option<[u8; 20]> {
        self.hashes.get(piece as usize).copied()
    }

    /// Where file `index` lives on disk.
    pub fn file_path(&self, index: usize) -> Option<PathBuf> {
        self.rel.get(index).map(|r| self.root.join(r))
    }

    /// Pieces overlapping file `index` (empty for a zero-length file).
    pub fn file_pieces(&self, index: usize) -> Option<std::ops::Range<u32>> {
        let spec = self.layout.files.get(index)?;
        let end = *self.ends.get(index)?;
        if spec.length == 0 {
            return Some(0..0);
        }
        let pl = u64::from(self.layout.piece_length);
        let first = (end - spec.length) / pl;
        let last = (end - 1) / pl;
        // Both fit in u32: validated piece count.
        Some(u32::try_from(first).ok()?..u32::try_from(last + 1).ok()?)
    }

    /// Writes a block, spanning file boundaries as needed. Files (and their parent
    /// directories) are created sparse at full length on first write; pad bytes are
    /// discarded.
    pub fn write_block(&self, piece: u32, begin: u32, data: &[u8]) -> Result<(), StorageError> {
        let offset = self.check_range(piece, begin, data.len())?;
        for seg in Segments::new(&self.ends, offset, data.len()) {
            if self.layout.files[seg.file].pad {
                continue;
            }
            let file = self.handle(seg.file, true)?;
            file.write_all_at(&data[seg.buf_range()], seg.file_offset)
                .map_err(|e| self.io_err(IoOp::Write, seg.file, e))?;
            self.dirty[seg.file].store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Writes consecutive blocks (`bufs`, in order and contiguous in the torrent)
    /// starting at byte `begin` of `piece`, with one vectored positional write per file
    /// they touch instead of one write per block. Same rules as [`Self::write_block`].
    pub fn write_run(&self, piece: u32, begin: u32, bufs: &[&[u8]]) -> Result<(), StorageError> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let offset = self.check_range(piece, begin, total)?;
        let mut slices = Vec::with_capacity(bufs.len());
        for seg in Segments::new(&self.ends, offset, total) {
            if self.layout.files[seg.file].pad {
                continue;
            }
            let file = self.handle(seg.file, true)?;
            slices.clear();
            slices_of(bufs, seg.buf_range(), &mut slices);
            write_all_vectored_at(&file, &mut slices, seg.file_offset)
                .map_err(|e| self.io_err(IoOp::Write, seg.file, e))?;
            self.dirty[seg.file].store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Reads a block into `buf` (its length is the block length). A missing or short
    /// file is an error (`Missing`), never silently zeros; pad bytes read as zeros.
    pub fn read_block(&self, piece: u32, begin: u32, buf: &mut [u8]) -> Result<(), StorageError> {
        let offset = self.check_range(piece, begin, buf.len())?;
        self.read_range(offset, buf)
    }

    /// Calls `each(file, offset, len)` for every part of a block in order, so the block
    /// can be sent without copying it (e.g. with `sendfile`). Returns `Ok(false)` and
    /// calls nothing when the block touches a pad file, whose bytes are not on disk.
    pub fn block_slices(
        &self,
        piece: u32,
        begin: u32,
        len: usize,
        mut each: impl FnMut(Arc<File>, u64, usize),
    ) -> Result<bool, StorageError> {
        let offset = self.check_range(piece, begin, len)?;
        if Segments::new(&self.ends, offset, len).any(|seg| self.layout.files[seg.file].pad) {
            return Ok(false);
        }
        for seg in Segments::new(&self.ends, offset, len) {
            let file = self.handle(seg.file, false)?;
            each(file, seg.file_offset, seg.buf_range().len());
        }
        Ok(true)
    }

    /// SHA-1 of `piece` as it is on disk, read in chunks of up to 1 MiB through a
    /// reused per-thread buffer.
    pub fn hash_piece(&self, piece: u32) -> Result<[u8; 20], StorageError> {
        if piece >= self.layout.num_pieces() {
            return Err(StorageError::OutOfRange {
                piece,
                begin: 0,
                length: 0,
            });
        }
        let size = self.layout.piece_size(piece) as usize;
        let offset = self.layout.piece_offset(piece);
        HASH_BUF.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => self.hash_range(offset, size, &mut buf),
            // Only reachable through re-entrancy; stay correct rather than panic.
            Err(_) => self.hash_range(offset, size, &mut Vec::new()),
        })
    }

    fn hash_range(
        &self,
        mut offset: u64,
        size: usize,
        buf: &mut Vec<u8>,
    ) -> Result<[u8; 20], StorageError> {
        let chunk = size.min(HASH_CHUNK);
        if buf.len() < chunk {
            buf.resize(chunk, 0);
        }
        let mut hasher = Sha1::new();
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk);
            self.read_range(offset, &mut buf[..n])?;
            hasher.update(&buf[..n]);
            offset += n as u64;
            left -= n;
        }
        Ok(hasher.finalize().into())
    }

    /// Whether `piece` on disk matches its expected hash. Missing data is `Ok(false)`;
    /// other failures are errors.
    pub fn verify_piece(&self, piece: u32) -> Result<bool, StorageError> {
        let expected = self.piece_hash(piece);
        match self.hash_piece(piece) {
            Ok(h) => Ok(Some(h) == expected),
            Err(StorageError::Missing { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// fsyncs every file written since the last call (reopening it if its handle was
    /// evicted). On failure the failed file stays marked for the next call.
    pub fn sync_all(&self) -> Result<(), StorageError> {
        for (i, dirty) in self.dirty.iter().enumerate() {
            if !dirty.swap(false, Ordering::AcqRel) {
                continue;
            }
            let res = self
                .handle(i, false)
                .and_then(|f| f.sync_all().map_err(|e| self.io_err(IoOp::Sync, i, e)));
            if let Err(e) = res {
                dirty.store(true, Ordering::Release);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Creates every zero-length (non-pad) file that does not exist yet. Call once the
    /// download completes so empty files materialise.
    pub fn create_empty_files(&self) -> Result<(), StorageError> {
        for (spec, rel) in self.layout.files.iter().zip(&self.rel) {
            if spec.length == 0 && !spec.pad {
                paths::create_empty(&self.root, rel)?;
            }
        }
        Ok(())
    }

    /// Closes the cached handles of files deleted while open and says whether there
    /// were any (the data they held is gone once the handle closes).
    pub fn close_deleted_files(&self) -> bool {
        self.handles.drop_unlinked(self.owner)
    }

    /// Closes all cached file handles (e.g. before the files are moved or deleted).
    pub fn close_files(&self) {
        self.handles.clear(self.owner);
    }

    /// Bounds-checks a block and returns its offset in the logical stream.
    fn check_range(&self, piece: u32, begin: u32, len: usize) -> Result<u64, StorageError> {
        let out = || StorageError::OutOfRange {
            piece,
            begin,
            length: len as u64,
        };
        if piece >= self.layout.num_pieces() {
            return Err(out());
        }
        let size = u64::from(self.layout.piece_size(piece));
        match u64::from(begin).checked_add(len as u64) {
            Some(end) if end <= size => Ok(self.layout.piece_offset(piece) + u64::from(begin)),
            _ => Err(out()),
        }
    }

    /// Reads the logical range `[offset, offset + buf.len())`, assumed in bounds.
    pub(crate) fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        for seg in Segments::new(&self.ends, offset, buf.len()) {
            let dst = &mut buf[seg.buf_range()];
            if self.layout.files[seg.file].pad {
                dst.fill(0);
                continue;
            }
            let file = self.handle(seg.file, false)?;
            file.read_exact_at(dst, seg.file_offset)
                .map_err(|e| self.io_err(IoOp::Read, seg.file, e))?;
        }
        Ok(())
    }

    /// A handle to file `index`, from the cache or freshly opened.
    fn handle(&self, index: usize, write: bool) -> Result<Arc<File>, StorageError> {
        if let Some(f) = self.handles.get(self.owner, index, write) {
            return Ok(f);
        }
        let rel = &self.rel[index];
        let file = if write {
            paths::open_write(&self.root, rel, self.layout.files[index].length)?
        } else {
            paths::open_read(&self.root, rel)?
        };
        Ok(self
            .handles
            .insert(self.owner, index, Arc::new(file), write))
    }

    #[cfg(test)]
    pub(crate) fn open_handles(&self) -> usize {
        self.handles.len_of(self.owner)
    }

    fn io_err(&self, op: IoOp, index: usize, e: std::io::Error) -> StorageError {
        classify(op, &self.root.join(&self.rel[index]), e)
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        // A shared pool outlives us: our handles must not linger in it.
        self.handles.clear(self.owner);
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("root", &self.root)
            .field("files", &self.layout.files.len())
            .field("pieces", &self.layout.num_pieces())
            .finish_non_exhaustive()
    }
}

/// The parts of `bufs` (seen as one concatenated buffer) that fall in `range`.
fn slices_of<'a>(bufs: &[&'a [u8]], range: std::ops::Range<usize>, out: &mut Vec<IoSlice<'a>>) {
    let mut start = 0;
    for buf in bufs {
        let end = start + buf.len();
        let lo = range.start.max(start);
        let hi = range.end.min(end);
        if lo < hi {
            out.push(IoSlice::new(&buf[lo - start..hi - start]));
        }
        start = end;
    }
}

/// `pwritev` until everything is written.
fn write_all_vectored_at(
    file: &File,
    mut slices: &mut [IoSlice<'_>],
    mut offset: u64,
) -> std::io::Result<()> {
    while !slices.is_empty() {
        let n = rustix::io::pwritev(file, slices, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        offset += n as u64;
        IoSlice::advance_slices(&mut slices, n);
    }
    Ok(())
}

#[cfg(test)]
mod assert_traits {
    fn send_sync<T: Send + Sync>() {}
    #[test]
    fn storage_is_send_sync() {
        send_sync::<super::Storage>();
    }
}
