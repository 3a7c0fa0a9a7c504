//! Test payloads (random bytes, fresh per test) and comparison of a download with its
//! source by size and SHA-1.

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

/// Every regular file under `root` (or `root` itself if it is a file), relative paths, sorted.
pub fn list_files(root: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    if root.is_file() {
        out.push(PathBuf::new());
    } else {
        walk(root, root, &mut out);
    }
    out.sort();
    out
}

/// Describes how `dst` differs from `src` (file or directory tree), or None if every
/// source file exists in `dst` with the same size and SHA-1.
pub fn diff(src: &Path, dst: &Path) -> Option<String> {
    for rel in list_files(src) {
        let (a, b) = if rel.as_os_str().is_empty() {
            (src.to_path_buf(), dst.to_path_buf())
        } else {
            (src.join(&rel), dst.join(&rel))
        };
        let want = std::fs::metadata(&a).unwrap().len();
        match std::fs::metadata(&b) {
            Err(_) => return Some(format!("{} is missing", b.display())),
            Ok(m) if m.len() != want => {
                return Some(format!("{} has {} bytes, want {want}", b.display(), m.len()))
            }
            Ok(_) => {}
        }
        if sha1_file(&a) != sha1_file(&b) {
            return Some(format!("{} differs from {} (SHA-1)", b.display(), a.display()));
        }
    }
    None
}

/// Asserts that `dst` holds exactly the data of `src`.
pub fn assert_same(src: &Path, dst: &Path) {
    if let Some(d) = diff(src, dst) {
        panic!("download does not match source: {d}");
    }
}
