//! Runs `shoal-bench smoke`: B1 and B3 on a 16 MiB payload (plus lt -> lt and lt -> shoal
//! when python3-libtorrent is installed) and a 3-leecher B5 swarm on 4 MiB, checking only
//! that every transfer completes with the right bytes and that the report comes out.
//!
//! The `shoal` binary under test is `$SHOAL_BIN` if set, else the `shoal` next to the
//! `shoal-bench` binary (`target/<profile>/shoal`): `cargo nextest run --workspace` and
//! `cargo test --workspace` build it there. If it is missing (e.g. `cargo test -p
//! shoal-bench` on a fresh target dir), the test builds it with `cargo build -p shoal-cli`
//! into the same target dir and profile first.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn shoal_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("SHOAL_BIN") {
        return PathBuf::from(p);
    }
    let bench = Path::new(env!("CARGO_BIN_EXE_shoal-bench"));
    let profile_dir = bench.parent().unwrap();
    let shoal = profile_dir.join("shoal");
    if shoal.is_file() {
        return shoal;
    }
    let target_dir = profile_dir.parent().unwrap();
    let profile = profile_dir.file_name().unwrap().to_str().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "shoal-cli"])
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    match profile {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let status = cmd.status().unwrap();
    assert!(status.success(), "building shoal-cli failed");
    assert!(shoal.is_file(), "no shoal binary at {}", shoal.display());
    shoal
}

#[test]
fn smoke_benchmark_transfers_correct_bytes() {
    let shoal = shoal_binary();
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_shoal-bench"))
        .args(["smoke", "--timeout", "60", "--shoal"])
        .arg(&shoal)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "smoke failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("B1 shoal->shoal 16.0 MiB"), "{stdout}");
    assert!(stdout.contains("cpu: "), "{stdout}");
    assert!(!stdout.contains("ERROR"), "{stdout}");
    // Each row that ran reports `ok`.
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("B")).collect();
    assert!(rows.len() >= 4, "{stdout}");
    assert!(rows.iter().all(|r| r.ends_with("| ok")), "{stdout}");
    // The work directory (data, torrents, downloads) is gone.
    let work = stdout
        .lines()
        .find_map(|l| l.strip_prefix("work dir: "))
        .unwrap();
    assert!(!Path::new(work).exists(), "{work} was not removed");
    // Not a timing assertion, only a bound to catch hangs.
    assert!(t0.elapsed() < Duration::from_secs(60), "{stdout}");
}
