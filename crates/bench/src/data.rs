//! Benchmark data: the work directory (tmpfs, removed at the end), the random payload
//! files, byte-for-byte verification of downloads, and byte-count formatting/parsing.

use anyhow::{bail, Context};
use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const CHUNK: usize = 1 << 20;

/// `shoal-bench-<pid>` under /dev/shm (else the temp dir); removed on drop unless kept.
pub struct WorkDir {
    pub path: PathBuf,
    keep: bool,
}

impl WorkDir {
    pub fn create(base: Option<&Path>, keep: bool) -> anyhow::Result<WorkDir> {
        let base = match base {
            Some(b) => b.to_path_buf(),
            None => {
                let shm = Path::new("/dev/shm");
                if shm.is_dir() && probe_writable(shm) {
                    shm.to_path_buf()
                } else {
                    std::env::temp_dir()
                }
            }
        };
        remove_stale(&base);
        let path = base.join(format!("shoal-bench-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing a stale {}", path.display()))?;
        }
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(WorkDir { path, keep })
    }
}

/// Removes `shoal-bench-<pid>` directories whose process is gone (a killed earlier run).
fn remove_stale(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("shoal-bench-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!("removing {} left by an earlier run", e.path().display());
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn probe_writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".shoal-bench-probe-{}", std::process::id()));
    let ok = std::fs::write(&probe, b"x").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("kept the work directory {}", self.path.display());
        } else if let Err(e) = std::fs::remove_dir_all(&self.path) {
            eprintln!("warning: cannot remove {}: {e}", self.path.display());
        }
    }
}

/// Writes `size` pseudo-random bytes (xoshiro256++ seeded with `seed`) to `path`.
pub fn write_random(path: &Path, size: u64, seed: u64) -> anyhow::Result<()> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut buf = vec![0u8; CHUNK];
    let mut left = size;
    while left > 0 {
        let n = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
        rng.fill_bytes(&mut buf[..n]);
        f.write_all(&buf[..n])
            .with_context(|| format!("writing {}", path.display()))?;
        left -= n as u64;
    }
    Ok(())
}

/// Reads until `buf` is full or the file ends; returns the count.
fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Fails loudly unless `copy` holds exactly the bytes of `source`.
pub fn verify_same(source: &Path, copy: &Path) -> anyhow::Result<()> {
    let mut a = File::open(source).with_context(|| format!("opening {}", source.display()))?;
    let mut b =
        File::open(copy).with_context(|| format!("the download {} is missing", copy.display()))?;
    let (la, lb) = (a.metadata()?.len(), b.metadata()?.len());
    if la != lb {
        bail!(
            "BYTES DIFFER: {} is {lb} bytes, the source {la}",
            copy.display()
        );
    }
    let mut ba = vec![0u8; CHUNK];
    let mut bb = vec![0u8; CHUNK];
    let mut offset = 0u64;
    loop {
        let na = read_full(&mut a, &mut ba)?;
        let nb = read_full(&mut b, &mut bb)?;
        if na != nb || ba[..na] != bb[..nb] {
            let at = ba[..na.min(nb)]
                .iter()
                .zip(&bb[..na.min(nb)])
                .position(|(x, y)| x != y)
                .unwrap_or(na.min(nb));
            bail!(
                "BYTES DIFFER: {} differs from the source at byte {}",
                copy.display(),
                offset + at as u64
            );
        }
        if na == 0 {
            return Ok(());
        }
        offset += na as u64;
    }
}

/// `1.5 GiB`-style formatting (binary units, one decimal).
pub fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Parses shoal's human byte counts (`512 B`, `1.5 KiB`, `768.0 MiB`, `3.0 GiB`).
pub fn parse_human(s: &str) -> Option<u64> {
    let (num, unit) = s.trim().split_once(' ')?;
    let v: f64 = num.parse().ok()?;
    let scale = match unit.trim() {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    (v.is_finite() && v >= 0.0).then(|| (v * scale).round() as u64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn human_round_trip() {
        assert_eq!(parse_human("512 B"), Some(512));
        assert_eq!(parse_human("1.5 KiB"), Some(1536));
        assert_eq!(parse_human("768.0 MiB"), Some(768 << 20));
        assert_eq!(parse_human("3.0 GiB"), Some(3 << 30));
        assert_eq!(parse_human("3.0 XB"), None);
        assert_eq!(parse_human("nope"), None);
        assert_eq!(human(3 << 30), "3.0 GiB");
    }

    #[test]
    fn verify_detects_differences() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        write_random(&a, 3 * CHUNK as u64 + 5, 7).unwrap();
        std::fs::copy(&a, &b).unwrap();
        verify_same(&a, &b).unwrap();
        let mut bytes = std::fs::read(&b).unwrap();
        bytes[CHUNK + 3] ^= 1;
        std::fs::write(&b, &bytes).unwrap();
        let err = verify_same(&a, &b).unwrap_err().to_string();
        assert!(err.contains(&format!("at byte {}", CHUNK + 3)), "{err}");
        bytes.pop();
        std::fs::write(&b, &bytes).unwrap();
        assert!(verify_same(&a, &b).is_err());
    }
}
