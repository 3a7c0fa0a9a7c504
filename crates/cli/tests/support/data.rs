//! Test payloads: random bytes, fresh per test. (Comparing a download with its source
//! goes by the torrent's file list, `Torrent::diff`, or by the whole directory,
//! `shoal_testkit::fs::assert_same_tree`.)

use std::path::{Path, PathBuf};

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

/// Writes `len` random bytes, different on every run, to `path` (parents created).
pub fn write_random(path: &Path, len: usize) {
    shoal_testkit::random_file(path, len, rand::random());
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
