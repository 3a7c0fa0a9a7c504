//! Test payloads: random bytes, fresh per test. (Comparing a download with its source
//! goes by the torrent's file list: `Torrent::diff`.)

use std::path::{Path, PathBuf};

use rand::RngCore as _;
use sha1::{Digest as _, Sha1};

/// Single-file payload size: 5 MiB.
pub const SINGLE_LEN: usize = 5 * 1024 * 1024;

/// Files of the multi-file payload, relative to its top directory: odd sizes so that
/// pieces straddle file boundaries, one file smaller than a piece and one empty file.
pub const MULTI_FILES: &[(&str, usize)] = &[
    ("alpha.bin", 1_234_567),
    ("empty.txt", 0),
    ("sub/beta.bin", 2_000_003),
    ("sub/deeper/gamma.dat", 777),
    ("zeta.bin", 917_513),
];

/// Writes `len` random bytes to `path` (parents created).
pub fn write_random(path: &Path, len: usize) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    let mut buf = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut buf);
    std::fs::write(path, buf).unwrap();
}

/// Creates `dir/name` as a single random file of [`SINGLE_LEN`] bytes.
pub fn make_single(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    write_random(&p, SINGLE_LEN);
    p
}

/// Creates `dir/name/` holding [`MULTI_FILES`].
pub fn make_multi(dir: &Path, name: &str) -> PathBuf {
    let top = dir.join(name);
    for (rel, len) in MULTI_FILES {
        write_random(&top.join(rel), *len);
    }
    top
}

pub fn sha1_file(path: &Path) -> Option<[u8; 20]> {
    let bytes = std::fs::read(path).ok()?;
    Some(Sha1::digest(&bytes).into())
}

/// Every regular file under `dir`, as (path relative to `dir`, contents), sorted.
pub fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Panics unless `a` and `b` hold the same files with the same bytes.
pub fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    let names = |t: &[(PathBuf, Vec<u8>)]| t.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ta), names(&tb), "file lists differ");
    for ((p, x), (_, y)) in ta.iter().zip(&tb) {
        assert!(x == y, "{} differs", p.display());
    }
}
