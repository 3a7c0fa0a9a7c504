//! Building a manifest from a local file or directory tree (the sender's side).
//!
//! Only regular files are shared. Symlinks below the root, special files and names that
//! the manifest rules refuse are skipped and reported so the caller can tell the user;
//! empty directories other than the root are not represented. Files are listed sorted
//! by their path components (byte order), so the same tree always gives the same
//! manifest. The root itself may be a symlink: the user named it explicitly.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use crate::manifest::{
    check_component, Manifest, ManifestEntry, MAX_ENTRIES, MAX_MODE, MAX_PATH_BYTES,
    MAX_PATH_DEPTH, MAX_TOTAL_LEN,
};

/// Result of [`scan_path`].
#[derive(Debug, Clone)]
pub struct ScanReport {
    /// The files shared, ready to be sealed.
    pub manifest: Manifest,
    /// Entries that were left out, with why.
    pub skipped: Vec<Skipped>,
}

/// One entry left out of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The entry, as found below the scanned path.
    pub path: PathBuf,
    /// Why it was left out.
    pub reason: SkipReason,
}

/// Why an entry was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// A symbolic link (never followed below the root).
    Symlink,
    /// A FIFO, socket or device.
    NotRegularFile,
    /// The name is not UTF-8 or breaks the manifest's path rules.
    UnsupportedName,
    /// Nested deeper, or with a longer path, than the manifest allows.
    PathTooLong,
}

/// Why a scan failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// Reading the tree failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory being read.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The path to share is neither a regular file nor a directory.
    #[error("{}: not a regular file or directory", .0.display())]
    UnsupportedRoot(PathBuf),
    /// The path to share has no name the manifest rules accept (e.g. `/`).
    #[error("{}: the name cannot be shared", .0.display())]
    BadRootName(PathBuf),
    /// More than [`MAX_ENTRIES`] files.
    #[error("more than {MAX_ENTRIES} files")]
    TooManyFiles,
    /// More than [`MAX_TOTAL_LEN`] bytes.
    #[error("more than {MAX_TOTAL_LEN} bytes in total")]
    TooLarge,
}

/// Scans a file or directory into a manifest.
pub fn scan_path(path: &Path) -> Result<ScanReport, ScanError> {
    let io_err = |source| ScanError::Io {
        path: path.to_path_buf(),
        source,
    };
    let root_name = root_name(path).ok_or_else(|| ScanError::BadRootName(path.into()))?;
    let meta = fs::metadata(path).map_err(io_err)?;
    let mut report = ScanReport {
        manifest: Manifest {
            root_name,
            entries: Vec::new(),
        },
        skipped: Vec::new(),
    };
    if meta.is_file() {
        report.manifest.entries.push(ManifestEntry {
            path: Vec::new(),
            length: meta.len(),
            mode: meta.permissions().mode() & MAX_MODE,
        });
        return Ok(report);
    }
    if !meta.is_dir() {
        return Err(ScanError::UnsupportedRoot(path.into()));
    }
    let mut total = 0u64;
    let mut pending: Vec<(PathBuf, Vec<String>)> = vec![(path.to_path_buf(), Vec::new())];
    while let Some((dir, components)) = pending.pop() {
        let read = fs::read_dir(&dir).map_err(|source| ScanError::Io {
            path: dir.clone(),
            source,
        })?;
        for item in read {
            let item = item.map_err(|source| ScanError::Io {
                path: dir.clone(),
                source,
            })?;
            let full = item.path();
            let skip = |reason| Skipped {
                path: full.clone(),
                reason,
            };
            let file_type = item.file_type().map_err(|source| ScanError::Io {
                path: full.clone(),
                source,
            })?;
            if file_type.is_symlink() {
                report.skipped.push(skip(SkipReason::Symlink));
                continue;
            }
            let name = item.file_name();
            let Some(name) = name.to_str().filter(|n| check_component(n).is_ok()) else {
                report.skipped.push(skip(SkipReason::UnsupportedName));
                continue;
            };
            let mut child = components.clone();
            child.push(name.to_owned());
            if child.len() > MAX_PATH_DEPTH
                || path_bytes(&report.manifest.root_name, &child) > MAX_PATH_BYTES
            {
                report.skipped.push(skip(SkipReason::PathTooLong));
            } else if file_type.is_dir() {
                pending.push((full, child));
            } else if file_type.is_file() {
                let meta = item.metadata().map_err(|source| ScanError::Io {
                    path: full.clone(),
                    source,
                })?;
                total = total
                    .checked_add(meta.len())
                    .filter(|t| *t <= MAX_TOTAL_LEN)
                    .ok_or(ScanError::TooLarge)?;
                if report.manifest.entries.len() == MAX_ENTRIES {
                    return Err(ScanError::TooManyFiles);
                }
                report.manifest.entries.push(ManifestEntry {
                    path: child,
                    length: meta.len(),
                    mode: meta.permissions().mode() & MAX_MODE,
                });
            } else {
                report.skipped.push(skip(SkipReason::NotRegularFile));
            }
        }
    }
    report.manifest.entries.sort_by(|a, b| a.path.cmp(&b.path));
    report.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

/// Length of the root name and components joined with `/`.
pub(crate) fn path_bytes(root_name: &str, components: &[String]) -> usize {
    components
        .iter()
        .fold(root_name.len(), |n, c| n + 1 + c.len())
}

/// The last normal component of `path` (resolving `.`/`..` through the file system).
fn root_name(path: &Path) -> Option<String> {
    let name = match path.components().next_back() {
        Some(Component::Normal(name)) => name.to_os_string(),
        _ => fs::canonicalize(path).ok()?.file_name()?.to_os_string(),
    };
    let name = name.into_string().ok()?;
    check_component(&name).ok()?;
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn write(path: &Path, data: &[u8], mode: u32) {
        fs::write(path, data).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn scans_a_tree_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("share");
        fs::create_dir_all(root.join("b/deeper")).unwrap();
        fs::create_dir_all(root.join("a")).unwrap();
        fs::create_dir_all(root.join("emptydir")).unwrap();
        write(&root.join("z.txt"), b"zz", 0o600);
        write(&root.join("b/deeper/x"), b"xxx", 0o755);
        write(&root.join("a/y"), b"", 0o644);
        symlink("/etc/passwd", root.join("a/link")).unwrap();
        // One level deeper than a manifest path may be (`share/d/d/…/f`).
        let deep: PathBuf = std::iter::repeat_n("d", MAX_PATH_DEPTH).collect();
        fs::create_dir_all(root.join(&deep)).unwrap();
        fs::write(root.join(&deep).join("f"), b"").unwrap();
        fs::write(root.join("bad\nname"), b"").unwrap();

        let report = scan_path(&root).unwrap();
        let m = &report.manifest;
        assert_eq!(m.root_name, "share");
        let paths: Vec<String> = m.entries.iter().map(|e| e.path.join("/")).collect();
        assert_eq!(paths, ["a/y", "b/deeper/x", "z.txt"]);
        assert_eq!(m.entries[1].length, 3);
        assert_eq!(m.entries[1].mode, 0o755);
        assert_eq!(m.entries[2].mode, 0o600);
        let reasons: Vec<SkipReason> = report.skipped.iter().map(|s| s.reason).collect();
        assert_eq!(
            reasons,
            [
                SkipReason::Symlink,
                SkipReason::UnsupportedName,
                SkipReason::PathTooLong
            ]
        );
        m.validate().unwrap();
    }

    #[test]
    fn scans_a_single_file_and_dot() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("movie.mkv");
        write(&file, b"hello", 0o640);
        let m = scan_path(&file).unwrap().manifest;
        assert!(m.is_single_file());
        assert_eq!(m.root_name, "movie.mkv");
        assert_eq!(m.entries[0].length, 5);
        assert_eq!(m.entries[0].mode, 0o640);

        let dot = scan_path(&tmp.path().join(".")).unwrap().manifest;
        let expected = fs::canonicalize(tmp.path()).unwrap();
        assert_eq!(
            dot.root_name,
            expected.file_name().unwrap().to_str().unwrap()
        );
        assert!(matches!(
            scan_path(Path::new("/")),
            Err(ScanError::BadRootName(_))
        ));
        assert!(matches!(
            scan_path(&tmp.path().join("missing")),
            Err(ScanError::Io { .. })
        ));
    }
}
