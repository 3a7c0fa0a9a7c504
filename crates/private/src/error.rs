//! Errors of opening a received stream. All of them describe the data (or the key the
//! user supplied), never a local failure: opening does no I/O.

use crate::manifest::ManifestError;

/// Why [`crate::open_header`] refused a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The stream does not start with the private-content magic.
    #[error("not shoal private content")]
    NotPrivateContent,
    /// A format version this build does not know.
    #[error("unsupported private content version {0}")]
    UnsupportedVersion(u32),
    /// The header's length of the sealed manifest is too short or too long.
    #[error("sealed manifest length {0} is out of range")]
    BadSealedLength(u32),
    /// The key check in the header does not match the key from the link.
    #[error("wrong key for this content")]
    WrongKey,
    /// The key matched but the sealed manifest failed authentication.
    #[error("the sealed manifest is corrupt")]
    CorruptManifest,
    /// The manifest decrypted but breaks the format's rules.
    #[error("malformed manifest: {0}")]
    Manifest(#[from] ManifestError),
    /// The manifest describes a stream of another length than the torrent's.
    #[error("torrent is {stream} bytes but its manifest describes {manifest}")]
    LengthMismatch {
        /// The torrent's length.
        stream: u64,
        /// The stream length the header and manifest describe.
        manifest: u64,
    },
}
