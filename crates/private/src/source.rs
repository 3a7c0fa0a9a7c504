//! The sender's view of a share: serves any range of the ciphertext stream from the
//! plaintext files, encrypting on read. Nothing is ever written.

use std::io;
use std::path::{Path, PathBuf};

use crate::cipher::DataCipher;
use crate::files::{open_read, read_exact_at, with_path, Handles};
use crate::key::ContentKey;
use crate::layout::{PrivateLayout, Segment};
use crate::manifest::{Manifest, ManifestError};

/// Ciphertext of a share whose plaintext lives under `root` (the scanned file itself for
/// a single-file share, else the scanned directory). `Send + Sync`: disk threads may
/// share one source.
pub struct PrivateSource {
    root: PathBuf,
    layout: PrivateLayout,
    cipher: DataCipher,
    handles: Handles,
}

impl Clone for PrivateSource {
    /// Another source over the same files, with its own (initially empty) handle cache.
    fn clone(&self) -> Self {
        PrivateSource {
            root: self.root.clone(),
            layout: self.layout.clone(),
            cipher: self.cipher.clone(),
            handles: Handles::default(),
        }
    }
}

impl std::fmt::Debug for PrivateSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateSource")
            .field("root", &self.root)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

impl PrivateSource {
    /// Seals `manifest` (usually from [`crate::scan_path`] on `root`) with `key`.
    pub fn new(root: &Path, manifest: Manifest, key: &ContentKey) -> Result<Self, ManifestError> {
        let layout = PrivateLayout::seal(manifest, key)?;
        Ok(Self::from_layout(root, layout, key))
    }

    /// A source for an already sealed layout.
    pub fn from_layout(root: &Path, layout: PrivateLayout, key: &ContentKey) -> Self {
        PrivateSource {
            root: root.to_path_buf(),
            cipher: DataCipher::new(key, &layout),
            layout,
            handles: Handles::default(),
        }
    }

    /// How the stream maps to the shared files.
    pub fn layout(&self) -> &PrivateLayout {
        &self.layout
    }

    /// Local path of file `index`.
    pub fn file_path(&self, index: usize) -> Option<PathBuf> {
        let entry = self.layout.manifest().entries.get(index)?;
        Some(entry.path.iter().fold(self.root.clone(), |p, c| p.join(c)))
    }

    /// Fills `buf` with the ciphertext stream starting at `stream_offset`. The range must
    /// lie inside the stream (`InvalidInput` otherwise); a file that shrank since the
    /// scan gives `UnexpectedEof`.
    pub fn read_stream(&self, stream_offset: u64, buf: &mut [u8]) -> io::Result<()> {
        fill_stream(
            &self.layout,
            &self.cipher,
            stream_offset,
            buf,
            |index, at, out| {
                let path = self.file_path(index).unwrap_or_default();
                let file = self
                    .handles
                    .get(index, || open_read(&path))
                    .map_err(|e| with_path(&path, e))?;
                read_exact_at(&file, at, out).map_err(|e| with_path(&path, e))
            },
        )
    }
}

/// Checks that `[offset, offset + len)` lies inside the stream.
pub(crate) fn check_range(layout: &PrivateLayout, offset: u64, len: usize) -> io::Result<()> {
    let inside = offset
        .checked_add(len as u64)
        .is_some_and(|end| end <= layout.stream_len());
    if inside {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "range {offset}+{len} is outside the {}-byte stream",
                layout.stream_len()
            ),
        ))
    }
}

/// Builds ciphertext for `buf`: region bytes copied, file bytes read with `read_file`
/// (index, file offset, destination) and then encrypted.
pub(crate) fn fill_stream(
    layout: &PrivateLayout,
    cipher: &DataCipher,
    stream_offset: u64,
    buf: &mut [u8],
    mut read_file: impl FnMut(usize, u64, &mut [u8]) -> io::Result<()>,
) -> io::Result<()> {
    check_range(layout, stream_offset, buf.len())?;
    let mut at = 0usize;
    for segment in layout.map(stream_offset, buf.len()) {
        let len = segment.len();
        let out = &mut buf[at..at + len];
        match segment {
            Segment::Header { range } => out.copy_from_slice(&layout.region()[range]),
            Segment::File {
                index, file_offset, ..
            } => read_file(index, file_offset, out)?,
        }
        at += len;
    }
    cipher.apply(stream_offset, buf);
    Ok(())
}
