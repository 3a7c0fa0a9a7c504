//! Deterministic pseudo-random payloads: the same `seed` gives the same bytes on every
//! run, so a failing test can be rerun on identical data.

use std::path::Path;

use rand::{RngCore, SeedableRng};

/// `len` pseudo-random bytes from `seed` (a `StdRng` seeded with it).
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

/// Writes [`random_bytes`]`(len, seed)` to `path`, creating its parent directories,
/// and returns the bytes written.
pub fn random_file(path: &Path, len: usize, seed: u64) -> Vec<u8> {
    let data = random_bytes(len, seed);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, &data).unwrap();
    data
}
