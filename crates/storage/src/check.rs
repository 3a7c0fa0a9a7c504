//! Parallel re-check of data already on disk (resume / `--recheck`).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use parking_lot::Mutex;
use shoal_wire::Bitfield;

use crate::error::StorageError;
use crate::paths;
use crate::storage::Storage;

impl Storage {
    /// Hashes every piece on `threads` worker threads and returns the set that matches.
    ///
    /// Pieces touching a missing file, or the missing tail of a short file, count as
    /// missing without reading anything. `progress` receives the number of
    /// pieces checked so far after each piece; calls come from several threads, so a
    /// caller wanting a monotonic display should keep the maximum. The first I/O error
    /// other than missing data stops the check and is returned; symlinks or non-files
    /// in place of torrent files are errors too.
    pub fn check_existing(
        &self,
        threads: usize,
        progress: &(dyn Fn(u32) + Sync),
    ) -> Result<Bitfield, StorageError> {
        self.check_except(threads, None, progress)
    }

    /// Like [`Storage::check_existing`], but pieces set in `known` (verified earlier,
    /// e.g. resume data saved before a crash) are trusted without reading them; the
    /// result holds them plus every other piece found intact. `known` must have one bit
    /// per piece (a wrong length is ignored: everything is checked).
    pub fn check_missing(
        &self,
        threads: usize,
        known: &Bitfield,
        progress: &(dyn Fn(u32) + Sync),
    ) -> Result<Bitfield, StorageError> {
        self.check_except(threads, Some(known), progress)
    }

    fn check_except(
        &self,
        threads: usize,
        known: Option<&Bitfield>,
        progress: &(dyn Fn(u32) + Sync),
    ) -> Result<Bitfield, StorageError> {
        let n = self.layout.num_pieces();
        let known = known.filter(|k| k.len() == n as usize);
        let mut skip = self.unavailable_pieces()?;
        if let Some(known) = known {
            for piece in known.iter_ones() {
                skip.set(piece);
            }
        }
        let next = AtomicUsize::new(0);
        let checked = AtomicU32::new(0);
        let stop = AtomicBool::new(false);
        let first_err: Mutex<Option<StorageError>> = Mutex::new(None);

        let worker = || {
            let mut good = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Ok(piece) = u32::try_from(i) else { break };
                if piece >= n {
                    break;
                }
                if !skip.get(i) {
                    match self.verify_piece(piece) {
                        Ok(true) => good.push(piece),
                        Ok(false) => {}
                        Err(e) => {
                            first_err.lock().get_or_insert(e);
                            stop.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                }
                progress(checked.fetch_add(1, Ordering::Relaxed) + 1);
            }
            good
        };

        let threads = threads.clamp(1, (n as usize).max(1));
        let mut have = Bitfield::new(n as usize);
        let results: Vec<Vec<u32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(worker)).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        if let Some(e) = first_err.into_inner() {
            return Err(e);
        }
        for piece in results.into_iter().flatten() {
            have.set(piece as usize);
        }
        if let Some(known) = known {
            for piece in known.iter_ones() {
                have.set(piece);
            }
        }
        Ok(have)
    }

    /// Pieces touching the missing part of a non-pad file: all of its pieces when the
    /// file is absent, those past its end when it is short (a truncated download keeps
    /// the pieces it still holds).
    fn unavailable_pieces(&self) -> Result<Bitfield, StorageError> {
        let mut skip = Bitfield::new(self.layout.num_pieces() as usize);
        let mut file_start = 0u64;
        for (i, (spec, rel)) in self.layout.files.iter().zip(&self.rel).enumerate() {
            let start = file_start;
            file_start += spec.length;
            if spec.pad || spec.length == 0 {
                continue;
            }
            let on_disk = paths::probe(&self.root, rel)?.unwrap_or(0);
            if on_disk >= spec.length {
                continue;
            }
            let missing_from = start + on_disk;
            for p in self.file_pieces(i).into_iter().flatten() {
                let end = self.layout.piece_offset(p) + u64::from(self.layout.piece_size(p));
                if end > missing_from {
                    skip.set(p as usize);
                }
            }
        }
        Ok(skip)
    }
}
