//! The parsed `info` dictionary: piece layout and the (sanitised) file list.

use std::path::PathBuf;

use crate::error::MetainfoError;
use crate::{info_hash_of, parse};

/// Largest `piece length` we accept, in bytes.
pub const MAX_PIECE_LENGTH: u32 = 256 * 1024 * 1024;
/// Most entries we accept in `info.files` (libtorrent's default decode limits stop near
/// the same number).
pub const MAX_FILES: usize = 500_000;
/// Most elements we accept in one file's `path`.
pub const MAX_PATH_DEPTH: usize = 256;

/// The content description of a torrent (its `info` dictionary), validated and with every
/// path made safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Torrent name, sanitised; the info-hash hex if the original was unusable.
    pub name: String,
    /// Bytes per piece (only the last piece may be shorter).
    pub piece_length: u32,
    /// SHA-1 of every piece.
    pub pieces: Vec<[u8; 20]>,
    /// Files in stream order. A single-file torrent has one entry whose path is `name`;
    /// in a multi-file torrent every path starts with `name`.
    pub files: Vec<FileEntry>,
    /// Sum of all file lengths (pad files included); always > 0.
    pub total_length: u64,
    /// `private` = 1 (BEP 27): no DHT/PEX/LSD.
    pub private: bool,
    /// Whether `info` had a `files` list (even of one file).
    pub multi_file: bool,
}

/// One file of a torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Relative path with only `Component::Normal` parts, unique within the torrent.
    pub path: PathBuf,
    /// Length in bytes (may be 0).
    pub length: u64,
    /// Where the file starts in the torrent's concatenated byte stream.
    pub offset: u64,
    /// BEP 47 padding file (attr `p`, or a path starting with `.pad/`): contents are
    /// zeros and need not be written to disk.
    pub pad: bool,
    /// BEP 47 attr `x`.
    pub executable: bool,
    /// BEP 47 attr `h`.
    pub hidden: bool,
}

/// A run of bytes of one piece that lies in one file (see [`Info::piece_file_slices`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSlice {
    /// Index into [`Info::files`].
    pub file_index: usize,
    /// Offset inside that file.
    pub file_offset: u64,
    /// Offset inside the piece.
    pub piece_offset: u32,
    /// Number of bytes.
    pub length: u32,
}

impl Info {
    /// Parses a raw `info` dictionary, e.g. metadata fetched from peers for a magnet link.
    /// Dictionary keys may be unsorted; the bytes are what the info-hash covers.
    pub fn from_bytes(info_bytes: &[u8]) -> Result<Info, MetainfoError> {
        crate::limits::check(info_bytes)?;
        let value = shoal_bencode::decode_lenient(info_bytes)?;
        let dict = value.as_dict().ok_or(MetainfoError::Invalid {
            field: "info",
            reason: "not a dictionary",
        })?;
        parse::parse_info(dict, info_hash_of(info_bytes))
    }

    /// Number of pieces.
    pub fn num_pieces(&self) -> u32 {
        u32::try_from(self.pieces.len()).unwrap_or(u32::MAX)
    }

    /// Length of `piece`: `piece_length`, except the last piece which may be shorter.
    /// Returns 0 for an index out of range.
    pub fn piece_size(&self, piece: u32) -> u32 {
        let start = self.piece_offset(piece);
        if piece >= self.num_pieces() || start >= self.total_length {
            return 0;
        }
        let left = self.total_length - start;
        u32::try_from(left.min(u64::from(self.piece_length))).unwrap_or(self.piece_length)
    }

    /// Byte offset of `piece` in the torrent's stream.
    pub fn piece_offset(&self, piece: u32) -> u64 {
        u64::from(piece) * u64::from(self.piece_length)
    }

    /// Expected SHA-1 of `piece`.
    pub fn piece_hash(&self, piece: u32) -> Option<&[u8; 20]> {
        self.pieces.get(usize::try_from(piece).ok()?)
    }

    /// The file parts that make up `piece`, in order (zero-length files are skipped).
    /// Empty for an index out of range.
    pub fn piece_file_slices(&self, piece: u32) -> Vec<FileSlice> {
        let mut out = Vec::new();
        let size = self.piece_size(piece);
        if size == 0 {
            return out;
        }
        let start = self.piece_offset(piece);
        let end = start + u64::from(size);
        let first = self.files.partition_point(|f| f.offset + f.length <= start);
        for (file_index, f) in self.files.iter().enumerate().skip(first) {
            if f.offset >= end {
                break;
            }
            if f.length == 0 {
                continue;
            }
            let from = start.max(f.offset);
            let to = end.min(f.offset + f.length);
            // Both values are bounded by the piece size, which is a u32.
            let (Ok(piece_offset), Ok(length)) =
                (u32::try_from(from - start), u32::try_from(to - from))
            else {
                break;
            };
            out.push(FileSlice {
                file_index,
                file_offset: from - f.offset,
                piece_offset,
                length,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(lengths: &[u64], piece_length: u32) -> Info {
        let mut offset = 0;
        let files = lengths
            .iter()
            .enumerate()
            .map(|(i, &length)| {
                let f = FileEntry {
                    path: PathBuf::from(format!("t/{i}")),
                    length,
                    offset,
                    pad: false,
                    executable: false,
                    hidden: false,
                };
                offset += length;
                f
            })
            .collect();
        let total: u64 = lengths.iter().sum();
        let n = total.div_ceil(u64::from(piece_length));
        Info {
            name: "t".into(),
            piece_length,
            pieces: vec![[0; 20]; n as usize],
            files,
            total_length: total,
            private: false,
            multi_file: true,
        }
    }

    #[test]
    fn piece_sizes() {
        let i = info(&[10, 0, 15], 8);
        assert_eq!(i.num_pieces(), 4);
        assert_eq!(i.piece_size(0), 8);
        assert_eq!(i.piece_size(3), 1);
        assert_eq!(i.piece_size(4), 0);
        assert_eq!(i.piece_size(u32::MAX), 0);
        assert_eq!(i.piece_hash(4), None);
    }

    #[test]
    fn slices_span_files() {
        let i = info(&[10, 0, 15], 8);
        let s = i.piece_file_slices(1);
        assert_eq!(
            s,
            vec![
                FileSlice {
                    file_index: 0,
                    file_offset: 8,
                    piece_offset: 0,
                    length: 2
                },
                FileSlice {
                    file_index: 2,
                    file_offset: 0,
                    piece_offset: 2,
                    length: 6
                },
            ]
        );
        let total: u32 = (0..i.num_pieces())
            .flat_map(|p| i.piece_file_slices(p))
            .map(|s| s.length)
            .sum();
        assert_eq!(u64::from(total), i.total_length);
        assert!(i.piece_file_slices(9).is_empty());
    }
}
