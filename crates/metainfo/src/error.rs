//! The error returned when a `.torrent` file or an `info` dictionary is refused.

use shoal_bencode::DecodeError;

use crate::InfoHash;

/// Why torrent metadata was refused. All variants describe bad input (the file or the
/// peer that sent the metadata), never a local failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetainfoError {
    /// Not valid bencode.
    #[error("not valid bencode: {0}")]
    Bencode(#[from] DecodeError),
    /// A required key is absent.
    #[error("missing `{field}`")]
    Missing {
        /// The key, as a dotted path (`info.name`).
        field: &'static str,
    },
    /// A key has the wrong type or an unacceptable value.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The key, as a dotted path (`info.name`).
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key inside entry `index` of `info.files` is wrong.
    #[error("invalid `info.files[{index}].{field}`: {reason}")]
    InvalidFile {
        /// Index of the entry in `info.files`.
        index: usize,
        /// The key within the entry.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `info` has both `length` (single-file) and `files` (multi-file).
    #[error("`info` has both `length` and `files`")]
    BothLengthAndFiles,
    /// `info` has neither `length` nor `files`.
    #[error("`info` has neither `length` nor `files`")]
    NoLengthOrFiles,
    /// The files add up to zero bytes.
    #[error("torrent has a total length of zero")]
    EmptyTorrent,
    /// The file lengths add up to more than `u64::MAX`.
    #[error("total length of `info.files` overflows")]
    LengthOverflow,
    /// The raw metainfo exceeds a limit of [`crate::limits`] (checked before decoding).
    #[error("metainfo has more {what} than the limit of {max}")]
    TooLarge {
        /// What was counted (bytes, bencode values).
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// More hashes in `info.pieces` than we accept.
    #[error("`info.pieces` has {count} hashes (limit {max})")]
    TooManyPieces {
        /// Hashes given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// More entries in `info.files` than we accept.
    #[error("`info.files` has {count} entries (limit {max})")]
    TooManyFiles {
        /// Entries given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A file path has more elements than we accept.
    #[error("`info.files[{index}].path` has {depth} elements (limit {max})")]
    PathTooDeep {
        /// Index of the entry in `info.files`.
        index: usize,
        /// Elements of its path.
        depth: usize,
        /// The limit.
        max: usize,
    },
    /// `pieces` does not hold one hash per `piece length` bytes of content.
    #[error("`info.pieces` has {actual} hashes but the total length needs {expected}")]
    PieceCountMismatch {
        /// Hashes the total length and piece length call for.
        expected: u64,
        /// Hashes given.
        actual: u64,
    },
    /// A BitTorrent v2-only torrent (no v1 `pieces`).
    #[error("BitTorrent v2-only torrents are not supported")]
    V2Only,
    /// Metadata whose SHA-1 is not the expected info-hash.
    #[error("metadata hashes to {actual}, expected {expected}")]
    InfoHashMismatch {
        /// The info-hash asked for.
        expected: InfoHash,
        /// The SHA-1 of the metadata received.
        actual: InfoHash,
    },
}
