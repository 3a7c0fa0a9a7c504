//! Torrent layout: files laid end to end over one logical byte stream cut into pieces,
//! its validation, and the mapping of a byte range onto per-file segments.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{LayoutError, StorageError};
use crate::paths;

/// One file of the torrent, in metainfo order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Path relative to the storage root; only `Normal` components are accepted.
    pub path: PathBuf,
    /// Length in bytes.
    pub length: u64,
    /// BEP 47 pad file: never created on disk, reads as zeros, writes are discarded.
    pub pad: bool,
}

/// The shape of a torrent's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Bytes per piece (the last piece may be shorter).
    pub piece_length: u32,
    /// Sum of all file lengths, pad files included.
    pub total_length: u64,
    /// Files in metainfo order.
    pub files: Vec<FileSpec>,
}

impl Layout {
    /// Number of pieces (the last one may be short); saturates at `u32::MAX` for an
    /// invalid layout, which [`Storage::new`](crate::Storage::new) refuses anyway.
    pub fn num_pieces(&self) -> u32 {
        if self.piece_length == 0 {
            return 0;
        }
        let n = self.total_length.div_ceil(u64::from(self.piece_length));
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Size of `piece` in bytes; 0 for a piece past the end.
    pub fn piece_size(&self, piece: u32) -> u32 {
        let start = self.piece_offset(piece);
        if start >= self.total_length {
            return 0;
        }
        let left = self.total_length - start;
        u32::try_from(left).map_or(self.piece_length, |l| l.min(self.piece_length))
    }

    /// Offset of `piece` in the logical byte stream.
    pub fn piece_offset(&self, piece: u32) -> u64 {
        u64::from(piece) * u64::from(self.piece_length)
    }

    /// Checks lengths, piece count and paths; returns each file's normalised relative path.
    pub(crate) fn validate(&self) -> Result<Vec<PathBuf>, StorageError> {
        if self.piece_length == 0 {
            return Err(LayoutError::ZeroPieceLength.into());
        }
        let sum = self
            .files
            .iter()
            .try_fold(0u64, |acc, f| acc.checked_add(f.length));
        if sum != Some(self.total_length) {
            return Err(LayoutError::LengthMismatch {
                sum,
                total: self.total_length,
            }
            .into());
        }
        if self.total_length.div_ceil(u64::from(self.piece_length)) > u64::from(u32::MAX) {
            return Err(LayoutError::TooManyPieces {
                total: self.total_length,
                piece_length: self.piece_length,
            }
            .into());
        }
        let mut rel = Vec::with_capacity(self.files.len());
        for f in &self.files {
            rel.push(paths::normalise(&f.path)?);
        }
        check_collisions(&self.files, &rel)?;
        Ok(rel)
    }
}

/// Refuses two real files at one path, and a file whose path is another's directory.
/// Pad files are exempt: they never touch the disk and commonly share names.
fn check_collisions(files: &[FileSpec], rel: &[PathBuf]) -> Result<(), StorageError> {
    let real = || {
        files
            .iter()
            .zip(rel)
            .filter(|(f, _)| !f.pad)
            .map(|(_, p)| p.as_path())
    };
    let mut seen: HashSet<&Path> = HashSet::new();
    for p in real() {
        if !seen.insert(p) {
            return Err(LayoutError::DuplicatePath(p.to_path_buf()).into());
        }
    }
    for p in real() {
        for dir in p.ancestors().skip(1) {
            if !dir.as_os_str().is_empty() && seen.contains(dir) {
                return Err(LayoutError::PathConflict(dir.to_path_buf()).into());
            }
        }
    }
    Ok(())
}

/// A contiguous part of a logical range that lies in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    pub file: usize,
    pub file_offset: u64,
    /// Position of this segment within the caller's buffer.
    pub buf_start: usize,
    pub len: usize,
}

impl Segment {
    pub(crate) fn buf_range(&self) -> std::ops::Range<usize> {
        self.buf_start..self.buf_start + self.len
    }
}

/// Iterates the non-empty file segments covering `len` bytes from `offset`, given each
/// file's cumulative end offset. Allocation-free.
pub(crate) struct Segments<'a> {
    ends: &'a [u64],
    file: usize,
    offset: u64,
    buf_pos: usize,
    remaining: usize,
}

impl<'a> Segments<'a> {
    pub(crate) fn new(ends: &'a [u64], offset: u64, len: usize) -> Self {
        let file = ends.partition_point(|&e| e <= offset);
        Segments {
            ends,
            file,
            offset,
            buf_pos: 0,
            remaining: len,
        }
    }
}

impl Iterator for Segments<'_> {
    type Item = Segment;

    fn next(&mut self) -> Option<Segment> {
        while self.remaining > 0 {
            let end = *self.ends.get(self.file)?;
            if end <= self.offset {
                self.file += 1; // zero-length file
                continue;
            }
            let start = if self.file == 0 {
                0
            } else {
                self.ends[self.file - 1]
            };
            let in_file = end - self.offset;
            let len = usize::try_from(in_file).map_or(self.remaining, |n| n.min(self.remaining));
            let seg = Segment {
                file: self.file,
                file_offset: self.offset - start,
                buf_start: self.buf_pos,
                len,
            };
            self.offset += len as u64;
            self.buf_pos += len;
            self.remaining -= len;
            self.file += 1;
            return Some(seg);
        }
        None
    }
}

/// Cumulative end offset of each file.
pub(crate) fn file_ends(files: &[FileSpec]) -> Vec<u64> {
    let mut acc = 0u64;
    files
        .iter()
        .map(|f| {
            acc = acc.saturating_add(f.length);
            acc
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(p: &str, length: u64) -> FileSpec {
        FileSpec {
            path: p.into(),
            length,
            pad: false,
        }
    }

    fn layout(pl: u32, lens: &[u64]) -> Layout {
        let files = lens
            .iter()
            .enumerate()
            .map(|(i, &l)| file(&format!("f{i}"), l))
            .collect();
        let total = lens.iter().fold(0u64, |a, &l| a.wrapping_add(l));
        Layout {
            piece_length: pl,
            total_length: total,
            files,
        }
    }

    #[test]
    fn piece_math() {
        let l = layout(16, &[40]);
        assert_eq!(l.num_pieces(), 3);
        assert_eq!(l.piece_size(0), 16);
        assert_eq!(l.piece_size(2), 8);
        assert_eq!(l.piece_size(3), 0);
        assert_eq!(l.piece_size(u32::MAX), 0);
        assert_eq!(layout(16, &[32]).num_pieces(), 2);
        assert_eq!(layout(16, &[32]).piece_size(1), 16);
        assert_eq!(layout(0, &[32]).num_pieces(), 0);
    }

    #[test]
    fn validation() {
        assert!(layout(16, &[1, 2]).validate().is_ok());
        let bad = |l: Layout| match l.validate() {
            Err(StorageError::InvalidLayout(e)) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(bad(layout(0, &[1])), LayoutError::ZeroPieceLength);
        let mut l = layout(16, &[1, 2]);
        l.total_length = 4;
        assert!(matches!(
            bad(l),
            LayoutError::LengthMismatch {
                sum: Some(3),
                total: 4
            }
        ));
        let l = layout(16, &[u64::MAX, 2]);
        assert!(matches!(
            bad(l),
            LayoutError::LengthMismatch { sum: None, .. }
        ));
        assert!(matches!(
            bad(layout(1, &[1 << 33])),
            LayoutError::TooManyPieces { .. }
        ));

        let two = |a: &str, b: &str| Layout {
            piece_length: 4,
            total_length: 2,
            files: vec![file(a, 1), file(b, 1)],
        };
        assert_eq!(
            bad(two("a/b", "a/./b")),
            LayoutError::DuplicatePath("a/b".into())
        );
        assert_eq!(bad(two("a", "a/b")), LayoutError::PathConflict("a".into()));
        assert_eq!(
            bad(two("x/y/z", "x/y")),
            LayoutError::PathConflict("x/y".into())
        );
        assert!(two("a/b", "a/c").validate().is_ok());
        // Pad files may repeat names.
        let mut l = two(".pad/1", ".pad/1");
        l.files.iter_mut().for_each(|f| f.pad = true);
        assert!(l.validate().is_ok());
    }

    #[test]
    fn unsafe_paths_refused() {
        for p in ["", "/abs", "../up", "a/../b", "a/..", "."] {
            let l = Layout {
                piece_length: 4,
                total_length: 1,
                files: vec![file(p, 1)],
            };
            assert!(
                matches!(l.validate(), Err(StorageError::UnsafePath(_))),
                "{p:?}"
            );
        }
    }

    fn segs(lens: &[u64], off: u64, len: usize) -> Vec<(usize, u64, usize, usize)> {
        let files: Vec<_> = lens.iter().map(|&l| file("x", l)).collect();
        let ends = file_ends(&files);
        Segments::new(&ends, off, len)
            .map(|s| (s.file, s.file_offset, s.buf_start, s.len))
            .collect()
    }

    #[test]
    fn segments_span_files() {
        assert_eq!(segs(&[10], 3, 4), vec![(0, 3, 0, 4)]);
        assert_eq!(
            segs(&[4, 0, 1, 0, 5], 2, 6),
            vec![(0, 2, 0, 2), (2, 0, 2, 1), (4, 0, 3, 3)]
        );
        assert_eq!(segs(&[4, 4], 4, 4), vec![(1, 0, 0, 4)]);
        assert_eq!(segs(&[4, 4], 0, 0), vec![]);
        // Past the end: stops without panicking.
        assert_eq!(segs(&[4], 2, 10), vec![(0, 2, 0, 2)]);
        assert_eq!(segs(&[4], 9, 1), vec![]);
    }
}
