//! Where every byte of the stream lives: the in-memory region (header and sealed
//! manifest) or a range of one file. [`PrivateLayout::map`] splits any stream range into
//! [`Segment`]s; the files follow the region back to back in manifest order.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::header::{region_nonce, seal_region, DATA_ALIGN};

/// Largest region alignment [`PrivateLayout::seal_aligned`] honours.
pub const MAX_ALIGN: usize = 16 << 20;
use crate::kdf::NONCE_LEN;
use crate::key::ContentKey;
use crate::manifest::{Manifest, ManifestError};

/// The map from stream offsets to the region and to files, for one sealed manifest.
#[derive(Clone)]
pub struct PrivateLayout {
    manifest: Arc<Manifest>,
    region: Arc<[u8]>,
    /// Stream offset one past the end of each file, in manifest order.
    ends: Vec<u64>,
}

/// One piece of a mapped stream range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Bytes of [`PrivateLayout::region`]; `range` is also their stream offsets.
    Header {
        /// Offsets into the region, which are also stream offsets.
        range: Range<usize>,
    },
    /// `len` bytes of file `index` (manifest order) starting at `file_offset`.
    File {
        /// The file's index in the manifest.
        index: usize,
        /// Where in the file the bytes start.
        file_offset: u64,
        /// Number of bytes.
        len: usize,
    },
}

impl Segment {
    /// Number of stream bytes this segment covers.
    pub fn len(&self) -> usize {
        match self {
            Segment::Header { range } => range.len(),
            Segment::File { len, .. } => *len,
        }
    }

    /// Segments produced by [`PrivateLayout::map`] are never empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PrivateLayout {
    /// Seals `manifest` with `key` (the sender's side). Deterministic: the same key and
    /// manifest always give the same region, hence the same torrent.
    pub fn seal(manifest: Manifest, key: &ContentKey) -> Result<Self, ManifestError> {
        Self::seal_aligned(manifest, key, DATA_ALIGN)
    }

    /// Like [`seal`](Self::seal), with the region padded to a multiple of `align`
    /// (rounded up to a multiple of [`DATA_ALIGN`]; at most 16 MiB). With the torrent's
    /// piece length as `align`, the region fills whole pieces, so a receiver can fetch
    /// and open it before any file data arrives.
    pub fn seal_aligned(
        manifest: Manifest,
        key: &ContentKey,
        align: usize,
    ) -> Result<Self, ManifestError> {
        let region = seal_region(&manifest, key, align.min(MAX_ALIGN))?;
        Ok(Self::from_parts(manifest, region))
    }

    /// A layout for a validated manifest and the region it was sealed in.
    pub(crate) fn from_parts(manifest: Manifest, region: Vec<u8>) -> Self {
        let mut end = region.len() as u64;
        let ends = manifest
            .entries
            .iter()
            .map(|e| {
                // Validated manifests total at most 2^60 bytes: no overflow.
                end = end.saturating_add(e.length);
                end
            })
            .collect();
        PrivateLayout {
            manifest: Arc::new(manifest),
            region: region.into(),
            ends,
        }
    }

    /// The files the stream carries after its header.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The stream's first [`Self::data_offset`] bytes: header, nonce, sealed manifest.
    /// Already opaque; a receiver that stores only plaintext files must keep these
    /// (e.g. in its resume data) to serve or re-open the stream later.
    pub fn region(&self) -> &[u8] {
        &self.region
    }

    /// Stream offset where file data starts.
    pub fn data_offset(&self) -> u64 {
        self.region.len() as u64
    }

    /// Total length of the stream: the torrent's single file.
    pub fn stream_len(&self) -> u64 {
        self.ends.last().copied().unwrap_or(self.data_offset())
    }

    /// Stream offsets of file `index`.
    pub fn file_range(&self, index: usize) -> Option<Range<u64>> {
        let end = *self.ends.get(index)?;
        let len = self.manifest.entries.get(index)?.length;
        Some(end - len..end)
    }

    /// A name for the torrent's single file that reveals nothing about the content:
    /// 32 hex digits of the manifest nonce (which is in the stream in the clear anyway).
    pub fn stream_name(&self) -> String {
        region_nonce(&self.region)[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub(crate) fn manifest_nonce(&self) -> [u8; NONCE_LEN] {
        region_nonce(&self.region)
    }

    /// Splits stream bytes `[stream_offset, stream_offset + len)`, clipped to the
    /// stream, into segments in stream order. Empty files yield nothing.
    pub fn map(&self, stream_offset: u64, len: usize) -> Segments<'_> {
        let end = stream_offset
            .saturating_add(len as u64)
            .min(self.stream_len());
        let file = self.ends.partition_point(|e| *e <= stream_offset);
        Segments {
            layout: self,
            pos: stream_offset,
            end,
            file,
        }
    }
}

impl fmt::Debug for PrivateLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateLayout")
            .field("files", &self.manifest.entries.len())
            .field("data_offset", &self.data_offset())
            .field("stream_len", &self.stream_len())
            .finish()
    }
}

/// Iterator returned by [`PrivateLayout::map`].
#[derive(Debug)]
pub struct Segments<'a> {
    layout: &'a PrivateLayout,
    pos: u64,
    end: u64,
    /// First file whose end is past `pos`.
    file: usize,
}

impl Iterator for Segments<'_> {
    type Item = Segment;

    fn next(&mut self) -> Option<Segment> {
        if self.pos >= self.end {
            return None;
        }
        let data_offset = self.layout.data_offset();
        if self.pos < data_offset {
            let stop = self.end.min(data_offset);
            let range = self.pos as usize..stop as usize;
            self.pos = stop;
            return Some(Segment::Header { range });
        }
        while self
            .layout
            .ends
            .get(self.file)
            .is_some_and(|e| *e <= self.pos)
        {
            self.file += 1;
        }
        let index = self.file;
        let range = self.layout.file_range(index)?;
        let stop = self.end.min(range.end);
        let segment = Segment::File {
            index,
            file_offset: self.pos - range.start,
            len: (stop - self.pos) as usize,
        };
        self.pos = stop;
        Some(segment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ManifestEntry;

    fn layout(lengths: &[u64]) -> PrivateLayout {
        let entries = lengths
            .iter()
            .enumerate()
            .map(|(i, &length)| ManifestEntry {
                path: vec![format!("f{i}")],
                length,
                mode: 0o644,
            })
            .collect();
        let manifest = Manifest {
            root_name: "r".into(),
            entries,
        };
        PrivateLayout::seal(manifest, &ContentKey::from_bytes([3; 32])).unwrap()
    }

    #[test]
    fn region_is_aligned_and_lengths_add_up() {
        let l = layout(&[10, 0, 5]);
        assert_eq!(l.data_offset(), 4096);
        assert_eq!(l.stream_len(), 4096 + 15);
        assert_eq!(l.file_range(1), Some(4106..4106));
        assert_eq!(l.file_range(3), None);
        assert_eq!(l.stream_name().len(), 32);
    }

    #[test]
    fn map_splits_at_boundaries() {
        let l = layout(&[10, 0, 5]);
        let segs: Vec<_> = l.map(4090, 100).collect();
        assert_eq!(
            segs,
            vec![
                Segment::Header { range: 4090..4096 },
                Segment::File {
                    index: 0,
                    file_offset: 0,
                    len: 10
                },
                Segment::File {
                    index: 2,
                    file_offset: 0,
                    len: 5
                },
            ]
        );
        let segs: Vec<_> = l.map(4100, 7).collect();
        assert_eq!(
            segs,
            vec![
                Segment::File {
                    index: 0,
                    file_offset: 4,
                    len: 6
                },
                Segment::File {
                    index: 2,
                    file_offset: 0,
                    len: 1
                },
            ]
        );
        assert_eq!(l.map(l.stream_len(), 10).count(), 0);
        assert_eq!(l.map(u64::MAX, usize::MAX).count(), 0);
        assert_eq!(l.map(0, 0).count(), 0);
    }

    #[test]
    fn empty_share_is_only_the_region() {
        let l = layout(&[]);
        assert_eq!(l.stream_len(), l.data_offset());
        let segs: Vec<_> = l.map(0, usize::MAX).collect();
        assert_eq!(segs, vec![Segment::Header { range: 0..4096 }]);
    }
}

#[cfg(test)]
mod aligned_tests {
    use super::*;
    use crate::manifest::ManifestEntry;

    #[test]
    fn region_fills_whole_pieces() {
        let key = ContentKey::generate();
        let manifest = Manifest {
            root_name: "f.bin".into(),
            entries: vec![ManifestEntry {
                path: vec![],
                length: 1000,
                mode: 0o644,
            }],
        };
        let l = PrivateLayout::seal_aligned(manifest.clone(), &key, 256 * 1024).unwrap();
        assert_eq!(l.data_offset(), 256 * 1024);
        assert_eq!(l.stream_len(), 256 * 1024 + 1000);
        let opened = crate::open_header(l.region(), l.stream_len(), &key).unwrap();
        assert!(matches!(opened, crate::Opened::Ready(o) if o.data_offset() == 256 * 1024));
        let odd = PrivateLayout::seal_aligned(manifest, &key, 5000).unwrap();
        assert_eq!(odd.data_offset(), 8192);
    }
}
