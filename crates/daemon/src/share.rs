//! Building a private share of a local file or directory (as `shoal send` does): scan
//! the path, seal its manifest under a content key with the header filling whole
//! pieces, and hash the ciphertext stream into a single-file torrent whose name reveals
//! nothing. Sealing is deterministic, so a share is rebuilt after a restart from its
//! key and path alone ([`reopen_share`]).

use shoal_metainfo::{
    auto_piece_length, create_torrent_from_stream, CreateError, CreateOptions, Metainfo,
};
use shoal_private::{
    scan_path, ContentKey, ManifestError, PrivateLayout, PrivateSource, ScanError, Skipped,
};
use std::path::Path;

/// Room for the sealed manifest when choosing the piece length.
const HEADER_ALLOWANCE: u64 = 64 * 1024;

/// A private share ready to seed.
pub struct PrivateShare {
    /// The content key (part of the link).
    pub key: ContentKey,
    /// The torrent of the ciphertext stream.
    pub meta: Metainfo,
    /// Reads the stream, encrypting the files as it goes.
    pub source: PrivateSource,
    /// How the stream maps to the files.
    pub layout: PrivateLayout,
    /// Entries of the path that are not part of the share (symlinks, devices, …).
    pub skipped: Vec<Skipped>,
}

/// Why a path could not be shared, or a share reopened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    /// The path cannot be scanned (missing, unreadable, too many files, …).
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// The list of files breaks the manifest's rules.
    #[error("cannot seal the list of files: {0}")]
    Seal(#[from] ManifestError),
    /// The torrent of the stream cannot be created.
    #[error(transparent)]
    Create(#[from] CreateError),
    /// The files no longer give the stream the torrent describes.
    #[error("the shared files changed since they were shared (the content no longer matches its torrent)")]
    Changed,
}

/// Scans `path`, seals its manifest under a fresh key and hashes the ciphertext into a
/// torrent. Blocking: call from a blocking thread.
pub fn build_share(path: &Path, piece_size: Option<u32>) -> Result<PrivateShare, ShareError> {
    let report = scan_path(path)?;
    let key = ContentKey::generate();
    let total = report.manifest.total_len();
    let piece_length =
        piece_size.unwrap_or_else(|| auto_piece_length(total.saturating_add(HEADER_ALLOWANCE)));
    let layout = PrivateLayout::seal_aligned(report.manifest, &key, piece_length as usize)?;
    let source = PrivateSource::from_layout(path, layout.clone(), &key);
    let opts = CreateOptions {
        piece_length: Some(piece_length),
        ..CreateOptions::default()
    };
    let meta = create_torrent_from_stream(
        &layout.stream_name(),
        layout.stream_len(),
        &opts,
        &|at, buf| source.read_stream(at, buf),
    )?;
    Ok(PrivateShare {
        key,
        meta,
        source,
        layout,
        skipped: report.skipped,
    })
}

/// Rebuilds the source of an existing share from its key and path, without hashing:
/// the sealed region is deterministic, so the same files give the same stream. A
/// stream of a different length or name than `meta` describes is [`ShareError::Changed`].
pub fn reopen_share(
    path: &Path,
    key: &ContentKey,
    meta: &Metainfo,
) -> Result<PrivateSource, ShareError> {
    let report = scan_path(path)?;
    let layout =
        PrivateLayout::seal_aligned(report.manifest, key, meta.info.piece_length as usize)?;
    if layout.stream_len() != meta.info.total_length || layout.stream_name() != meta.info.name {
        return Err(ShareError::Changed);
    }
    Ok(PrivateSource::from_layout(path, layout, key))
}
