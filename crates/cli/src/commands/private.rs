//! Private links in the CLI: building the encrypted torrent of a file or directory for
//! `shoal send`, and splitting a link into its public magnet and its key for
//! `shoal get`. The key and the full link are never logged.

use anyhow::Context;
use shoal_metainfo::{auto_piece_length, create_torrent_from_stream, CreateOptions, Metainfo};
use shoal_private::{
    parse_link, scan_path, split_link, ContentKey, PrivateLayout, PrivateSource, SkipReason,
};
use std::path::Path;

/// Room for the sealed manifest when choosing the piece length.
const HEADER_ALLOWANCE: u64 = 64 * 1024;

/// What `shoal send` needs to seed a private share.
pub struct PrivateShare {
    pub key: ContentKey,
    pub meta: Metainfo,
    pub source: PrivateSource,
    pub layout: PrivateLayout,
}

/// Scans `path` (skipped entries are printed as warnings unless `quiet`), seals its
/// manifest under a fresh key with the region filling whole pieces, and hashes the
/// ciphertext stream into a single-file torrent with a name that reveals nothing.
/// Blocking: call from a blocking thread.
pub fn build_share(
    path: &Path,
    piece_size: Option<u32>,
    quiet: bool,
) -> anyhow::Result<PrivateShare> {
    let report = scan_path(path)?;
    if !quiet {
        for skipped in &report.skipped {
            eprintln!(
                "warning: not shared: {} ({})",
                skipped.path.display(),
                skip_reason(skipped.reason)
            );
        }
    }
    let key = ContentKey::generate();
    let total = report.manifest.total_len();
    let piece_length =
        piece_size.unwrap_or_else(|| auto_piece_length(total.saturating_add(HEADER_ALLOWANCE)));
    let layout = PrivateLayout::seal_aligned(report.manifest, &key, piece_length as usize)
        .context("cannot seal the list of files")?;
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
    })
}

fn skip_reason(reason: SkipReason) -> &'static str {
    match reason {
        SkipReason::Symlink => "symbolic link",
        SkipReason::NotRegularFile => "not a regular file",
        SkipReason::UnsupportedName => "name cannot be shared",
        SkipReason::PathTooLong => "path too long or too deep",
        _ => "unsupported",
    }
}

/// Splits what the user gave `shoal get`: the public part (a magnet link or a path) and
/// the key if a magnet link carries a `#…` fragment. A fragment without a valid key is an
/// error (never echoed: it may hold most of a key).
pub fn split_source(source: &str) -> anyhow::Result<(&str, Option<ContentKey>)> {
    if !source.starts_with("magnet:") {
        // A path: `#` is part of the file name.
        return Ok((source, None));
    }
    match split_link(source) {
        (public, None) => Ok((public, None)),
        (_, Some(_)) => {
            let (public, key) = parse_link(source).context("invalid private link")?;
            Ok((public, Some(key)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGNET: &str = "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn split_sources() {
        assert!(split_source(MAGNET).unwrap().1.is_none());
        assert_eq!(split_source("a#b.torrent").unwrap().0, "a#b.torrent");
        let key = ContentKey::generate();
        let link = shoal_private::private_link(MAGNET, &key);
        let (public, got) = split_source(&link).unwrap();
        assert_eq!(public, MAGNET);
        assert_eq!(got, Some(key));
        let bad = format!("{MAGNET}#k=tooshort");
        let err = format!("{:#}", split_source(&bad).unwrap_err());
        assert!(!err.contains("tooshort"), "{err}");
    }
}
