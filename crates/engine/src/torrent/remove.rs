//! Deleting a removed torrent's data: its own files, then the directories it created
//! that are left empty. Nothing is followed through a symlink, and nothing outside the
//! torrent's own paths below the download directory is touched.

use crate::store::Store;
use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

/// Removes the files of `store` (below `root`) and their emptied parent directories up
/// to, not including, `root`. Missing files are fine; the first other error is returned
/// after trying every file.
pub(crate) fn delete_data(store: &Store, root: &Path) -> io::Result<()> {
    let files = own_files(store);
    let mut first_err = None;
    let mut dirs = BTreeSet::new();
    for path in &files {
        if !path.starts_with(root) {
            continue;
        }
        match std::fs::symlink_metadata(path) {
            // Only regular files we wrote; a symlink or directory in their place is not ours.
            Ok(meta) if meta.is_file() => {
                if let Err(e) = std::fs::remove_file(path) {
                    first_err.get_or_insert(e);
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == root || !d.starts_with(root) {
                break;
            }
            dirs.insert(d.to_path_buf());
            dir = d.parent();
        }
    }
    // Deepest first; a directory still holding something else stays.
    let mut dirs: Vec<PathBuf> = dirs.into_iter().collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in dirs {
        let _ = std::fs::remove_dir(&d);
    }
    store.close();
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Absolute paths of the files `store` writes.
fn own_files(store: &Store) -> Vec<PathBuf> {
    match store {
        Store::Files(s) => (0..s.layout().files.len())
            .filter(|i| !s.layout().files[*i].pad)
            .filter_map(|i| s.file_path(i))
            .collect(),
        Store::Private(p) => {
            let mut files: Vec<PathBuf> = p.header_cache_path().into_iter().collect();
            let (Some(target), Some(layout)) = (p.target_path(), p.layout()) else {
                return files;
            };
            let manifest = layout.manifest();
            if manifest.is_single_file() {
                files.push(target);
                return files;
            }
            files.extend(
                manifest
                    .entries
                    .iter()
                    .map(|e| e.path.iter().fold(target.clone(), |acc, c| acc.join(c))),
            );
            files
        }
    }
}
