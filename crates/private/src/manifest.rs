//! The manifest: what a private share contains (root name, file paths, sizes, modes),
//! and the rules every manifest must satisfy before it is sealed or after it is opened.
//!
//! A manifest received from a peer comes from whoever made the link, so it is treated as
//! hostile: every path component is checked (no `..`, `.`, empty, `/`, `\`, NUL or
//! control characters, at most 255 bytes), paths are unique and no file is also used as
//! a directory, counts and lengths are capped and the total never overflows.

use std::collections::HashSet;

/// Most files one manifest may list.
pub const MAX_ENTRIES: usize = 1 << 20;
/// Most components in one file path.
pub const MAX_PATH_DEPTH: usize = 256;
/// Longest path component, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 255;
/// Longest path (root name and components joined with `/`), in bytes.
pub const MAX_PATH_BYTES: usize = 4095;
/// Largest total content size (1 EiB): keeps every stream offset far from overflow.
pub const MAX_TOTAL_LEN: u64 = 1 << 60;
/// Permission bits a manifest may carry (`0o7777`: rwx for all plus setuid, setgid,
/// sticky). Only `0o755` of them are ever applied, see [`crate::PrivateSink::finish`].
pub const MAX_MODE: u32 = 0o7777;

/// The table of contents of a private share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Name of the shared file or directory (one path component).
    pub root_name: String,
    /// Files in stream order. A single-file share has exactly one entry with an empty
    /// `path`; a directory share has entries whose paths are relative to the root.
    pub entries: Vec<ManifestEntry>,
}

/// One regular file of a share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// Path components below the root (empty for a single-file share).
    pub path: Vec<String>,
    /// Length in bytes.
    pub length: u64,
    /// Unix permission bits (`st_mode & 0o7777`).
    pub mode: u32,
}

/// Why a manifest was refused (malformed data from the link's creator, or a local
/// manifest that cannot be shared).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The plaintext does not start with valid bencode.
    #[error("manifest is not valid bencode: {0}")]
    Bencode(#[from] shoal_bencode::DecodeError),
    /// A field (named) is missing or has the wrong type.
    #[error("manifest field `{0}` is missing or has the wrong type")]
    BadField(&'static str),
    /// The padding after the bencode is not all zeros.
    #[error("manifest padding contains non-zero bytes")]
    BadPadding,
    /// A name or path component the rules refuse (see the module docs).
    #[error("unsafe path component {0:?}")]
    UnsafeComponent(String),
    /// A path over [`MAX_PATH_BYTES`] or [`MAX_PATH_DEPTH`].
    #[error("path is too long or too deep")]
    PathTooLong,
    /// An entry with an empty path in a share of several files.
    #[error("a file with an empty path is only allowed as the sole entry")]
    EmptyPath,
    /// Two entries with the same path.
    #[error("duplicate path {0:?}")]
    DuplicatePath(String),
    /// An entry's path is also a directory of another entry's path.
    #[error("path {0:?} is both a file and a directory")]
    FileIsDirectory(String),
    /// More than [`MAX_ENTRIES`] entries (the count given).
    #[error("manifest lists {0} files, more than {MAX_ENTRIES}")]
    TooManyEntries(usize),
    /// A negative file length.
    #[error("file length {0} is invalid")]
    BadLength(i64),
    /// The file lengths add up to more than [`MAX_TOTAL_LEN`].
    #[error("total length exceeds {MAX_TOTAL_LEN} bytes")]
    TotalTooLarge,
    /// Permission bits outside [`MAX_MODE`].
    #[error("file mode {0:#o} is invalid")]
    BadMode(i64),
    /// The encoded manifest (its length given) does not fit the sealed region.
    #[error("encoded manifest is {0} bytes, more than the limit")]
    TooLarge(usize),
}

impl Manifest {
    /// True if the share is one file (written as `<out>/<root_name>`).
    pub fn is_single_file(&self) -> bool {
        matches!(self.entries.as_slice(), [only] if only.path.is_empty())
    }

    /// Sum of all file lengths (valid manifests never overflow).
    pub fn total_len(&self) -> u64 {
        self.entries
            .iter()
            .fold(0u64, |acc, e| acc.saturating_add(e.length))
    }

    /// Checks every rule listed in the module docs.
    pub fn validate(&self) -> Result<(), ManifestError> {
        check_component(&self.root_name)?;
        if self.entries.len() > MAX_ENTRIES {
            return Err(ManifestError::TooManyEntries(self.entries.len()));
        }
        let mut total = 0u64;
        for entry in &self.entries {
            total = total
                .checked_add(entry.length)
                .filter(|t| *t <= MAX_TOTAL_LEN)
                .ok_or(ManifestError::TotalTooLarge)?;
            if entry.mode > MAX_MODE {
                return Err(ManifestError::BadMode(i64::from(entry.mode)));
            }
            if entry.path.len() > MAX_PATH_DEPTH {
                return Err(ManifestError::PathTooLong);
            }
            for component in &entry.path {
                check_component(component)?;
            }
            if crate::scan::path_bytes(&self.root_name, &entry.path) > MAX_PATH_BYTES {
                return Err(ManifestError::PathTooLong);
            }
        }
        if !self.is_single_file() && self.entries.iter().any(|e| e.path.is_empty()) {
            return Err(ManifestError::EmptyPath);
        }
        check_unique(&self.entries)
    }
}

/// A path component that is safe to create on any Unix file system below a directory we
/// control. Valid UTF-8 is guaranteed by the `String` type.
pub(crate) fn check_component(c: &str) -> Result<(), ManifestError> {
    let bad = c.is_empty()
        || c == "."
        || c == ".."
        || c.len() > MAX_COMPONENT_BYTES
        || c.chars()
            .any(|ch| ch == '/' || ch == '\\' || ch.is_control());
    if bad {
        Err(ManifestError::UnsafeComponent(c.to_owned()))
    } else {
        Ok(())
    }
}

/// No two entries share a path, and no entry's path is a directory of another entry.
fn check_unique(entries: &[ManifestEntry]) -> Result<(), ManifestError> {
    let mut files: HashSet<&[String]> = HashSet::with_capacity(entries.len());
    for entry in entries {
        if !files.insert(&entry.path) {
            return Err(ManifestError::DuplicatePath(entry.path.join("/")));
        }
    }
    for entry in entries {
        for depth in 1..entry.path.len() {
            let dir = &entry.path[..depth];
            if files.contains(dir) {
                return Err(ManifestError::FileIsDirectory(dir.join("/")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn entry(path: &[&str], length: u64) -> ManifestEntry {
        ManifestEntry {
            path: path.iter().map(|s| s.to_string()).collect(),
            length,
            mode: 0o644,
        }
    }

    fn manifest(entries: Vec<ManifestEntry>) -> Manifest {
        Manifest {
            root_name: "root".into(),
            entries,
        }
    }

    #[test]
    fn valid_shapes() {
        manifest(vec![entry(&[], 5)]).validate().unwrap();
        assert!(manifest(vec![entry(&[], 5)]).is_single_file());
        manifest(vec![]).validate().unwrap();
        let tree = manifest(vec![entry(&["a", "b"], 1), entry(&["a", "c"], 0)]);
        tree.validate().unwrap();
        assert!(!tree.is_single_file());
        assert_eq!(tree.total_len(), 1);
    }

    #[test]
    fn unsafe_components_refused() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a\\b",
            "nul\0",
            "new\nline",
            &"x".repeat(256),
        ] {
            let m = manifest(vec![entry(&["ok", bad], 1)]);
            assert!(
                matches!(m.validate(), Err(ManifestError::UnsafeComponent(_))),
                "{bad:?}"
            );
            let mut m = manifest(vec![entry(&[], 1)]);
            m.root_name = bad.to_string();
            assert!(m.validate().is_err(), "root {bad:?}");
        }
    }

    #[test]
    fn duplicates_and_conflicts_refused() {
        let dup = manifest(vec![entry(&["a"], 1), entry(&["a"], 2)]);
        assert!(matches!(
            dup.validate(),
            Err(ManifestError::DuplicatePath(_))
        ));
        let conflict = manifest(vec![entry(&["a", "b"], 1), entry(&["a"], 2)]);
        assert!(matches!(
            conflict.validate(),
            Err(ManifestError::FileIsDirectory(_))
        ));
        let empty_in_tree = manifest(vec![entry(&[], 1), entry(&["a"], 2)]);
        assert_eq!(empty_in_tree.validate(), Err(ManifestError::EmptyPath));
    }

    #[test]
    fn limits_enforced() {
        let big = manifest(vec![entry(&["a"], u64::MAX), entry(&["b"], 2)]);
        assert_eq!(big.validate(), Err(ManifestError::TotalTooLarge));
        let mut m = manifest(vec![entry(&["a"], 1)]);
        m.entries[0].mode = 0o10000;
        assert!(matches!(m.validate(), Err(ManifestError::BadMode(_))));
        let deep = manifest(vec![entry(&vec!["d"; MAX_PATH_DEPTH + 1], 1)]);
        assert_eq!(deep.validate(), Err(ManifestError::PathTooLong));
        let long_name = "n".repeat(200);
        let long = manifest(vec![entry(&vec![long_name.as_str(); 25], 1)]);
        assert_eq!(long.validate(), Err(ManifestError::PathTooLong));
    }
}
