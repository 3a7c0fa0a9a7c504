//! Private links in the CLI: building the encrypted torrent of a file or directory for
//! `shoal send`, and splitting a link into its public magnet and its key for
//! `shoal get`. The key and the full link are never logged.

use anyhow::Context;
pub use shoal_daemon::share::PrivateShare;
use shoal_private::{parse_link, split_link, ContentKey, SkipReason};
use std::path::Path;

/// Scans `path` (skipped entries are printed as warnings unless `quiet`), seals its
/// manifest under a fresh key with the region filling whole pieces, and hashes the
/// ciphertext stream into a single-file torrent with a name that reveals nothing
/// (`shoal_daemon::share`, shared with the daemon). Blocking: call from a blocking
/// thread.
pub fn build_share(
    path: &Path,
    piece_size: Option<u32>,
    quiet: bool,
) -> anyhow::Result<PrivateShare> {
    let share = shoal_daemon::share::build_share(path, piece_size)?;
    if !quiet {
        for skipped in &share.skipped {
            eprintln!(
                "warning: not shared: {} ({})",
                skipped.path.display(),
                skip_reason(skipped.reason)
            );
        }
    }
    Ok(share)
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
