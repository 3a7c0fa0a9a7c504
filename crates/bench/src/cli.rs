//! Command-line arguments of `shoal-bench` (clap derive) and the byte-size parser.

use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "shoal-bench",
    about = "Performance benchmark of shoal against libtorrent (issue 3)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every benchmark, B1 to B6.
    All(Opts),
    /// B1: shoal seeder -> shoal leecher and libtorrent -> libtorrent, 1 GiB.
    B1(Opts),
    /// B2: libtorrent seeder -> shoal leecher (with the lt -> lt reference).
    B2(Opts),
    /// B3: `shoal create` on the 1 GiB file.
    B3(Opts),
    /// B4: peak RSS of the shoal leecher and seeder during B1.
    B4(Opts),
    /// B5: one seeder and 16 leechers, 256 MiB, all shoal.
    B5(Opts),
    /// B6: 16 KiB pieces, shoal -> shoal (with B1 as the reference).
    B6(Opts),
    /// B1 on a small file, checking correctness only (used by the test suite).
    Smoke(Opts),
    /// Internal: run a command, then write its wall time and peak RSS to a file.
    #[command(hide = true)]
    Exec(ExecArgs),
}

#[derive(Debug, Clone, Args)]
pub struct Opts {
    /// Payload size of B1-B4 and B6 (bytes; suffixes K, M, G; default 1G, smoke 16M).
    #[arg(long, value_parser = parse_size)]
    pub size: Option<u64>,
    /// Payload size of the B5 swarm (default 256M, smoke 4M).
    #[arg(long, value_parser = parse_size)]
    pub swarm_size: Option<u64>,
    /// Leechers in the B5 swarm (default 16, smoke 3).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub leechers: Option<u32>,
    /// Repeat each measurement N times; the table shows the median and the best.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub runs: u32,
    /// Keep the work directory (data, torrents, downloads) instead of deleting it.
    #[arg(long)]
    pub keep: bool,
    /// Hard timeout of each transfer, in seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// The shoal binary (default: `shoal` next to this program).
    #[arg(long)]
    pub shoal: Option<PathBuf>,
    /// Python with libtorrent for the reference peers.
    #[arg(long, default_value = "/usr/bin/python3")]
    pub python: PathBuf,
    /// Skip the libtorrent reference (B1's lt -> lt and B2) instead of failing without it.
    #[arg(long)]
    pub no_lt: bool,
    /// Where to create the work directory (default: /dev/shm, else the temp dir).
    #[arg(long)]
    pub workdir: Option<PathBuf>,
    /// `--encryption` of every shoal peer. `disable` (the default here) measures the
    /// engine itself, as libtorrent's default (plaintext payload) does for the
    /// reference; `prefer` or `require` measure the RC4 cost.
    #[arg(long, default_value = "disable", value_parser = ["prefer", "require", "disable"])]
    pub encryption: String,
}

impl Opts {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// File that receives `wall_ns`, `maxrss_kib`, `code` and `signal` lines at the end.
    #[arg(long)]
    pub report: PathBuf,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, required = true, allow_hyphen_values = true)]
    pub command: Vec<OsString>,
}

/// Parses `1073741824`, `1G`, `256M`, `16MiB`, `64k` (binary units).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num.parse().map_err(|_| format!("bad size {s:?}"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(format!("bad size unit in {s:?}")),
    };
    let v = n
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("size {s:?} too large"))?;
    if v == 0 {
        return Err("size must be positive".into());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0").is_err());
        assert!(parse_size("1X").is_err());
        assert!(parse_size("G").is_err());
    }
}
