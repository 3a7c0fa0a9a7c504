//! Parallel SHA-1 piece hashing over the concatenated byte stream of a list of files.
//!
//! Work is handed out in chunks of whole pieces (about 8 MiB) from an atomic counter, so
//! threads stay busy even when the machine is shared. Each thread owns one small buffer,
//! reads with positional reads (no shared file cursor) and feeds the bytes to the piece
//! hasher while they are still in cache.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sha1::{Digest, Sha1};

use crate::create::CreateError;

/// Target bytes per work item handed to a thread.
const CHUNK_BYTES: u64 = 8 << 20;
/// Bytes per positional read: small enough to stay in cache until hashed.
const READ_BYTES: u64 = 256 << 10;

/// One open input file at its place in the stream.
pub(crate) struct StreamFile {
    pub file: File,
    pub path: PathBuf,
    pub length: u64,
    pub offset: u64,
}

/// Hashes every piece of the stream formed by `files` (total length `total` > 0).
/// `progress` receives the cumulative number of bytes hashed.
pub(crate) fn hash_pieces(
    files: &[StreamFile],
    total: u64,
    piece_length: u32,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<[u8; 20]>, CreateError> {
    let pl = u64::from(piece_length.max(1));
    let num_pieces = total.div_ceil(pl);
    let pieces_per_chunk = (CHUNK_BYTES / pl).max(1);
    let num_chunks = num_pieces.div_ceil(pieces_per_chunk);
    let threads = threads.clamp(1, usize::try_from(num_chunks).unwrap_or(usize::MAX).max(1));
    let job = Job {
        files,
        total,
        pl,
        pieces_per_chunk,
        num_chunks,
        next: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        done: AtomicU64::new(0),
        progress,
    };

    let per_thread: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(|| job.work())).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });

    let mut pieces = vec![[0u8; 20]; usize::try_from(num_pieces).unwrap_or(0)];
    for result in per_thread {
        for (chunk, hashes) in result? {
            let first = usize::try_from(chunk * pieces_per_chunk).unwrap_or(usize::MAX);
            if let Some(dst) = pieces.get_mut(first..first + hashes.len()) {
                dst.copy_from_slice(&hashes);
            }
        }
    }
    Ok(pieces)
}

struct Job<'a> {
    files: &'a [StreamFile],
    total: u64,
    pl: u64,
    pieces_per_chunk: u64,
    num_chunks: u64,
    next: AtomicU64,
    stop: AtomicBool,
    done: AtomicU64,
    progress: &'a (dyn Fn(u64) + Sync),
}

type ChunkHashes = Vec<(u64, Vec<[u8; 20]>)>;

impl Job<'_> {
    fn work(&self) -> Result<ChunkHashes, CreateError> {
        let mut buf = vec![0u8; usize::try_from(READ_BYTES.min(self.total)).unwrap_or(0)];
        let mut out = Vec::new();
        while !self.stop.load(Ordering::Relaxed) {
            let chunk = self.next.fetch_add(1, Ordering::Relaxed);
            if chunk >= self.num_chunks {
                break;
            }
            let start = chunk * self.pieces_per_chunk * self.pl;
            let end = (start + self.pieces_per_chunk * self.pl).min(self.total);
            match self.hash_range(start, end, &mut buf) {
                Ok(hashes) => out.push((chunk, hashes)),
                Err(e) => {
                    self.stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
            let len = end - start;
            (self.progress)(self.done.fetch_add(len, Ordering::Relaxed) + len);
        }
        Ok(out)
    }

    /// Hashes the pieces in `start..end` (piece-aligned; `end` may be the stream end),
    /// reading through `buf` so the data is still in cache when it is hashed.
    fn hash_range(
        &self,
        start: u64,
        end: u64,
        buf: &mut [u8],
    ) -> Result<Vec<[u8; 20]>, CreateError> {
        let mut hashes = Vec::new();
        let mut hasher = Sha1::new();
        let mut piece_left = self.pl.min(end - start);
        let mut pos = start;
        while pos < end {
            let n = usize::try_from((end - pos).min(buf.len() as u64)).unwrap_or(0);
            let Some(block) = buf.get_mut(..n) else {
                break;
            };
            read_stream(self.files, pos, block)?;
            pos += n as u64;
            let mut block: &[u8] = block;
            while !block.is_empty() {
                let take = usize::try_from(piece_left)
                    .unwrap_or(usize::MAX)
                    .min(block.len());
                let (head, rest) = block.split_at(take);
                hasher.update(head);
                block = rest;
                piece_left -= take as u64;
                if piece_left == 0 {
                    hashes.push(hasher.finalize_reset().into());
                    let piece_start = pos - block.len() as u64;
                    piece_left = self.pl.min(end - piece_start);
                }
            }
        }
        Ok(hashes)
    }
}

/// Fills `buf` with the stream bytes starting at `start`.
fn read_stream(files: &[StreamFile], start: u64, buf: &mut [u8]) -> Result<(), CreateError> {
    let mut pos = start;
    let mut filled = 0;
    let mut idx = files.partition_point(|f| f.offset + f.length <= pos);
    while filled < buf.len() {
        let Some(f) = files.get(idx) else {
            return Err(CreateError::FileChanged {
                path: files.last().map(|f| f.path.clone()).unwrap_or_default(),
            });
        };
        let in_file = pos - f.offset;
        let want = (f.length - in_file).min((buf.len() - filled) as u64) as usize;
        if let Some(dst) = buf.get_mut(filled..filled + want) {
            read_exact_at(&f.file, dst, in_file).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    CreateError::FileChanged {
                        path: f.path.clone(),
                    }
                } else {
                    CreateError::Io {
                        path: f.path.clone(),
                        source: e,
                    }
                }
            })?;
        }
        filled += want;
        pos += want as u64;
        idx += 1;
    }
    Ok(())
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
