//! Error types for storage operations, and the mapping from OS errors to them.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Which file-system operation failed, carried in I/O errors for context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IoOp {
    /// Opening a file to read it.
    OpenRead,
    /// Opening (or creating) a file to write it.
    OpenWrite,
    /// Creating a directory.
    CreateDir,
    /// Reading file data.
    Read,
    /// Writing file data.
    Write,
    /// Growing a file to its final length.
    SetLen,
    /// Flushing a file to stable storage.
    Sync,
    /// Querying metadata.
    Stat,
}

impl fmt::Display for IoOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IoOp::OpenRead => "open for reading",
            IoOp::OpenWrite => "open for writing",
            IoOp::CreateDir => "create directory",
            IoOp::Read => "read",
            IoOp::Write => "write",
            IoOp::SetLen => "set length",
            IoOp::Sync => "sync",
            IoOp::Stat => "stat",
        })
    }
}

/// Why a [`Layout`](crate::Layout) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// The piece length is zero.
    #[error("piece length is zero")]
    ZeroPieceLength,
    /// The file lengths do not add up to the total length.
    #[error("file lengths add up to {sum:?} but the total length is {total}")]
    LengthMismatch {
        /// Sum of the file lengths; `None` when it overflows a `u64`.
        sum: Option<u64>,
        /// The total length given.
        total: u64,
    },
    /// A piece index would not fit a `u32`.
    #[error("{total} bytes in pieces of {piece_length} is more than 2^32 pieces")]
    TooManyPieces {
        /// The total length.
        total: u64,
        /// The piece length.
        piece_length: u32,
    },
    /// Not one SHA-1 per piece.
    #[error("expected {expected} piece hashes, got {actual}")]
    HashCount {
        /// Pieces of the layout.
        expected: u32,
        /// Hashes given.
        actual: usize,
    },
    /// Two files with the same path.
    #[error("two files share the path {}", .0.display())]
    DuplicatePath(PathBuf),
    /// A file's path is also a directory of another file's path.
    #[error("{} is both a file and a directory", .0.display())]
    PathConflict(PathBuf),
}

/// A storage failure. Caller mistakes (`OutOfRange`), missing data, and the distinct
/// local causes the engine may want to report differently are kept apart.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The block lies outside the torrent (a caller bug or a bad peer request).
    #[error("block out of range: piece {piece}, begin {begin}, length {length}")]
    OutOfRange {
        /// Piece index of the block.
        piece: u32,
        /// Offset of the block within the piece.
        begin: u32,
        /// Length of the block.
        length: u64,
    },
    /// The file holding the data does not exist or is shorter than needed.
    #[error("data not on disk: {} is missing or too short", path.display())]
    Missing {
        /// The file (its full path).
        path: PathBuf,
    },
    /// No space left on the device, or the disk quota is exhausted.
    #[error("disk full while writing {}", path.display())]
    DiskFull {
        /// The file being written.
        path: PathBuf,
    },
    /// The file system is mounted read-only.
    #[error("read-only file system at {}", path.display())]
    ReadOnly {
        /// The file being opened or written.
        path: PathBuf,
    },
    /// The OS refused access (EACCES / EPERM).
    #[error("permission denied ({op}) on {}", path.display())]
    PermissionDenied {
        /// The file refused.
        path: PathBuf,
        /// What was being done.
        op: IoOp,
    },
    /// The path is not a plain relative path, or resolving it would follow a symlink.
    #[error("unsafe path refused: {}", .0.display())]
    UnsafePath(PathBuf),
    /// Something other than a regular file sits where a torrent file belongs.
    #[error("not a regular file: {}", path.display())]
    NotAFile {
        /// What sits there.
        path: PathBuf,
    },
    /// The layout or the piece-hash list is inconsistent.
    #[error("invalid layout: {0}")]
    InvalidLayout(#[from] LayoutError),
    /// Any other I/O failure.
    #[error("I/O error ({op}) on {}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being done.
        op: IoOp,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// Maps an OS error from `op` on `path` to the most specific [`StorageError`].
pub(crate) fn classify(op: IoOp, path: &Path, err: io::Error) -> StorageError {
    let path = path.to_path_buf();
    match err.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => return StorageError::DiskFull { path },
        Some(libc::EROFS) => return StorageError::ReadOnly { path },
        Some(libc::EACCES) | Some(libc::EPERM) => {
            return StorageError::PermissionDenied { path, op }
        }
        // O_NOFOLLOW on a symlink.
        Some(libc::ELOOP) => return StorageError::UnsafePath(path),
        Some(libc::ENOENT) if matches!(op, IoOp::OpenRead | IoOp::Read | IoOp::Stat) => {
            return StorageError::Missing { path }
        }
        _ => {}
    }
    if err.kind() == io::ErrorKind::UnexpectedEof && op == IoOp::Read {
        return StorageError::Missing { path };
    }
    StorageError::Io {
        path,
        op,
        source: err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(code: i32, op: IoOp) -> StorageError {
        classify(op, Path::new("/x"), io::Error::from_raw_os_error(code))
    }

    #[test]
    fn maps_errno() {
        assert!(matches!(
            os(libc::ENOSPC, IoOp::Write),
            StorageError::DiskFull { .. }
        ));
        assert!(matches!(
            os(libc::EDQUOT, IoOp::SetLen),
            StorageError::DiskFull { .. }
        ));
        assert!(matches!(
            os(libc::EROFS, IoOp::OpenWrite),
            StorageError::ReadOnly { .. }
        ));
        assert!(matches!(
            os(libc::EACCES, IoOp::OpenWrite),
            StorageError::PermissionDenied {
                op: IoOp::OpenWrite,
                ..
            }
        ));
        assert!(matches!(
            os(libc::EPERM, IoOp::CreateDir),
            StorageError::PermissionDenied { .. }
        ));
        assert!(matches!(
            os(libc::ELOOP, IoOp::OpenRead),
            StorageError::UnsafePath(_)
        ));
        assert!(matches!(
            os(libc::ENOENT, IoOp::OpenRead),
            StorageError::Missing { .. }
        ));
        // A vanished file while writing is not "missing data", it is a real failure.
        assert!(matches!(
            os(libc::ENOENT, IoOp::OpenWrite),
            StorageError::Io {
                op: IoOp::OpenWrite,
                ..
            }
        ));
        assert!(matches!(os(libc::EIO, IoOp::Read), StorageError::Io { .. }));
    }

    #[test]
    fn short_read_is_missing() {
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert!(matches!(
            classify(IoOp::Read, Path::new("a"), eof),
            StorageError::Missing { .. }
        ));
    }

    #[test]
    fn messages_render() {
        let e = os(libc::ENOSPC, IoOp::Write);
        assert_eq!(e.to_string(), "disk full while writing /x");
    }
}
