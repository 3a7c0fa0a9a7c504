//! The receiver's view of a share: decrypts verified ciphertext into plaintext files
//! under the output directory, and re-encrypts them on read for re-seeding.
//!
//! Files are created lazily at their first write (mode 0600, sized to their manifest
//! length, sparse), only below `<out_dir>/<root_name>`: directories on the way are
//! created one component at a time and an existing symlink or non-directory there is an
//! error; files are opened with `O_NOFOLLOW`. An existing file at a manifest path is
//! reused (resume) and resized to its manifest length. After [`PrivateSink::finish`]
//! files are only opened for reading (their final modes may forbid writing).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{self, File, Permissions};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::cipher::DataCipher;
use crate::files::{
    create_confined_dirs, open_read, open_write, read_exact_at, with_path, write_all_at, Handles,
};
use crate::key::ContentKey;
use crate::layout::{PrivateLayout, Segment};
use crate::source::{check_range, fill_stream};

/// Permission bits [`PrivateSink::finish`] may apply: never setuid, setgid, sticky, or
/// group/other write (as a copy under umask 022 would get).
pub const APPLIED_MODE_MASK: u32 = 0o755;

/// Writes a share's plaintext below an output directory. `Send + Sync`.
pub struct PrivateSink {
    out_dir: PathBuf,
    layout: PrivateLayout,
    cipher: DataCipher,
    handles: Handles,
    dirs: Mutex<HashSet<PathBuf>>,
    /// Files written since the last [`PrivateSink::sync`].
    dirty: Mutex<BTreeSet<usize>>,
    /// [`PrivateSink::finish`] ran: files are complete and have their final modes.
    finished: AtomicBool,
}

impl PrivateSink {
    /// A sink for an opened layout (see [`crate::open_header`]). Does no I/O.
    pub fn new(out_dir: &Path, layout: PrivateLayout, key: &ContentKey) -> Self {
        PrivateSink {
            out_dir: out_dir.to_path_buf(),
            cipher: DataCipher::new(key, &layout),
            layout,
            handles: Handles::default(),
            dirs: Mutex::new(HashSet::new()),
            dirty: Mutex::new(BTreeSet::new()),
            finished: AtomicBool::new(false),
        }
    }

    /// How the stream maps to the received files.
    pub fn layout(&self) -> &PrivateLayout {
        &self.layout
    }

    /// `<out_dir>/<root_name>`: the file or directory this share becomes. Check that it
    /// does not exist before starting a fresh download if overwriting matters.
    pub fn target_path(&self) -> PathBuf {
        self.out_dir.join(&self.layout.manifest().root_name)
    }

    /// Path of file `index`.
    pub fn file_path(&self, index: usize) -> Option<PathBuf> {
        let entry = self.layout.manifest().entries.get(index)?;
        Some(entry.path.iter().fold(self.target_path(), |p, c| p.join(c)))
    }

    /// Decrypts `ciphertext` (stream bytes at `stream_offset`, already verified against
    /// the torrent's piece hashes) and writes the plaintext into the files. Bytes of the
    /// region are skipped: the layout already holds them.
    pub fn write_stream(&self, stream_offset: u64, ciphertext: &[u8]) -> io::Result<()> {
        self.write_stream_in_place(stream_offset, &mut ciphertext.to_vec())
    }

    /// Like [`write_stream`](Self::write_stream) without a copy: decrypts `buf` in place
    /// (it holds plaintext afterwards, even on error) and writes it.
    pub fn write_stream_in_place(&self, stream_offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(&self.layout, stream_offset, buf.len())?;
        self.cipher.apply(stream_offset, buf);
        let mut at = 0usize;
        for segment in self.layout.map(stream_offset, buf.len()) {
            let len = segment.len();
            if let Segment::File {
                index, file_offset, ..
            } = segment
            {
                let (file, path) = self.open(index)?;
                self.dirty_set().insert(index);
                write_all_at(&file, &buf[at..at + len], file_offset)
                    .map_err(|e| with_path(&path, e))?;
            }
            at += len;
        }
        Ok(())
    }

    /// fsyncs every file written since the last call (reopening it if its handle was
    /// closed). On failure the files not yet synced stay marked for the next call.
    pub fn sync(&self) -> io::Result<()> {
        let dirty = std::mem::take(&mut *self.dirty_set());
        let mut pending = dirty.iter();
        for &index in pending.by_ref() {
            let res = self
                .open(index)
                .and_then(|(file, path)| file.sync_all().map_err(|e| with_path(&path, e)));
            if let Err(e) = res {
                let mut set = self.dirty_set();
                set.insert(index);
                set.extend(pending);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Fills `buf` with the ciphertext stream at `stream_offset`, read back from the
    /// plaintext files (for piece verification and re-seeding).
    pub fn read_stream(&self, stream_offset: u64, buf: &mut [u8]) -> io::Result<()> {
        fill_stream(
            &self.layout,
            &self.cipher,
            stream_offset,
            buf,
            |index, at, out| {
                let (file, path) = if self.finished.load(Ordering::Acquire) {
                    // The modes are applied (maybe read-only): open for reading only.
                    let path = self.file_path(index).unwrap_or_default();
                    let file = self
                        .handles
                        .get(index, || open_read(&path))
                        .map_err(|e| with_path(&path, e))?;
                    (file, path)
                } else {
                    self.open(index)?
                };
                read_exact_at(&file, at, out).map_err(|e| with_path(&path, e))
            },
        )
    }

    /// Like [`read_stream`](Self::read_stream), but only from files already on disk,
    /// opened for reading into `opened` rather than the sink's own handles (a re-check
    /// before anything is written). A missing or non-regular file is an error.
    pub fn read_existing(
        &self,
        stream_offset: u64,
        buf: &mut [u8],
        opened: &mut HashMap<usize, File>,
    ) -> io::Result<()> {
        fill_stream(
            &self.layout,
            &self.cipher,
            stream_offset,
            buf,
            |index, at, out| {
                let path = self.file_path(index).unwrap_or_default();
                let file = match opened.entry(index) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        let meta = fs::symlink_metadata(&path).map_err(|e| with_path(&path, e))?;
                        if !meta.is_file() {
                            let err =
                                io::Error::new(io::ErrorKind::InvalidData, "not a regular file");
                            return Err(with_path(&path, err));
                        }
                        v.insert(open_read(&path).map_err(|e| with_path(&path, e))?)
                    }
                };
                read_exact_at(file, at, out).map_err(|e| with_path(&path, e))
            },
        )
    }

    /// Completes the share once every piece is written: creates the root directory and
    /// the empty files, sets every file to its manifest length, syncs it and applies
    /// `(mode & APPLIED_MODE_MASK) | 0o400` (the owner can always read back to seed).
    pub fn finish(&self) -> io::Result<()> {
        if !self.layout.manifest().is_single_file() {
            let root = self.layout.manifest().root_name.as_str();
            create_confined_dirs(&self.out_dir_created()?, &[root], &mut self.dirs())?;
        }
        for (index, entry) in self.layout.manifest().entries.iter().enumerate() {
            let (file, path) = self.open(index)?;
            let mode = (entry.mode & APPLIED_MODE_MASK) | 0o400;
            file.sync_all()
                .and_then(|()| file.set_permissions(Permissions::from_mode(mode)))
                .map_err(|e| with_path(&path, e))?;
        }
        self.handles.clear();
        self.dirty_set().clear();
        self.finished.store(true, Ordering::Release);
        Ok(())
    }

    fn dirty_set(&self) -> std::sync::MutexGuard<'_, BTreeSet<usize>> {
        self.dirty.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn dirs(&self) -> std::sync::MutexGuard<'_, HashSet<PathBuf>> {
        self.dirs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The output directory, created if missing (it is the user's choice, so it may be
    /// or contain a symlink).
    fn out_dir_created(&self) -> io::Result<PathBuf> {
        fs::create_dir_all(&self.out_dir).map_err(|e| with_path(&self.out_dir, e))?;
        Ok(self.out_dir.clone())
    }

    /// The handle of file `index`, creating it and its directories on first use.
    fn open(&self, index: usize) -> io::Result<(Arc<File>, PathBuf)> {
        let entry = self
            .layout
            .manifest()
            .entries
            .get(index)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no such file"))?;
        let path = self.file_path(index).unwrap_or_default();
        let file = self.handles.get(index, || {
            let out_dir = self.out_dir_created()?;
            let manifest = self.layout.manifest();
            let mut dirs: Vec<&str> = Vec::with_capacity(entry.path.len());
            if !manifest.is_single_file() {
                dirs.push(&manifest.root_name);
                dirs.extend(
                    entry
                        .path
                        .iter()
                        .take(entry.path.len().saturating_sub(1))
                        .map(String::as_str),
                );
            }
            create_confined_dirs(&out_dir, &dirs, &mut self.dirs())?;
            let file = open_write(&path).map_err(|e| with_path(&path, e))?;
            let meta = file.metadata().map_err(|e| with_path(&path, e))?;
            if !meta.file_type().is_file() {
                let err = io::Error::new(io::ErrorKind::AlreadyExists, "not a regular file");
                return Err(with_path(&path, err));
            }
            if meta.len() != entry.length {
                file.set_len(entry.length)
                    .map_err(|e| with_path(&path, e))?;
            }
            Ok(file)
        })?;
        Ok((file, path))
    }
}
