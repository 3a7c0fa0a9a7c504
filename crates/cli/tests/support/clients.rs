//! Launchers for shoal and the real clients, each confined to 127.0.0.1 with DHT, LSD,
//! PEX, UPnP/NAT-PMP and uTP off. Each returns a [`Proc`] guard (plus the peer port).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use shoal_testkit::{free_port, Poll};

use super::{Proc, Scratch, Torrent, PYTHON, TIMEOUT};

/// Self-destruct timeout handed to helpers that support one (beyond any test wait).
const HELPER_TIMEOUT_SECS: &str = "180";

/// Keeps a shoal process off the public DHT routers and the LAN's multicast group.
pub const NO_PUBLIC_DISCOVERY: [&str; 2] = ["--no-dht", "--no-lsd"];

/// shoal flags: MSE/PE with RC4 on every connection, plaintext peers refused.
pub const SHOAL_REQUIRE_ENCRYPTION: [&str; 2] = ["--encryption", "require"];

/// lt_seed.py / lt_get.py flags: `out_enc_policy` = `in_enc_policy` = forced and
/// `allowed_enc_level` = RC4.
pub const LT_FORCE_ENCRYPTION: [&str; 2] = ["--encryption", "forced"];

/// aria2c flags: encrypted (MSE) connections only, with RC4 for the payload.
pub const ARIA2_REQUIRE_CRYPTO: [&str; 2] =
    ["--bt-require-crypto=true", "--bt-min-crypto-level=arc4"];

pub fn shoal_bin() -> &'static str {
    env!("CARGO_BIN_EXE_shoal")
}

fn peer_args(cmd: &mut Command, peers: &[String]) {
    for p in peers {
        cmd.args(["--peer", p]);
    }
}

/// `127.0.0.1:PORT`
pub fn local(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// `shoal seed TORRENT -d DATA_DIR --port 0 --bind 127.0.0.1 -vv [--peer P]...`; returns
/// once it printed `listening on`, with the port.
pub fn shoal_seed(
    s: &Scratch,
    name: &str,
    torrent: &Path,
    data_dir: &Path,
    peers: &[String],
) -> (Proc, u16) {
    shoal_seed_with(s, name, torrent, data_dir, peers, &[])
}

/// [`shoal_seed`] with `extra` flags (e.g. [`SHOAL_REQUIRE_ENCRYPTION`]).
pub fn shoal_seed_with(
    s: &Scratch,
    name: &str,
    torrent: &Path,
    data_dir: &Path,
    peers: &[String],
    extra: &[&str],
) -> (Proc, u16) {
    let mut cmd = Command::new(shoal_bin());
    cmd.args(["-vv", "seed"])
        .arg(torrent)
        .arg("-d")
        .arg(data_dir)
        .args(["--port", "0", "--bind", "127.0.0.1"])
        .args(NO_PUBLIC_DISCOVERY)
        .args(extra);
    peer_args(&mut cmd, peers);
    let mut p = Proc::spawn(s, name, cmd);
    let port = p.listen_port();
    (p, port)
}

/// `shoal get TORRENT -o OUT_DIR --port 0 --bind 127.0.0.1 -vv [--seed] [--peer P]...`;
/// returns once it printed `listening on`, with the port.
pub fn shoal_get(
    s: &Scratch,
    name: &str,
    torrent: &Path,
    out_dir: &Path,
    peers: &[String],
    seed: bool,
) -> (Proc, u16) {
    shoal_get_with(s, name, torrent, out_dir, peers, seed, &[])
}

/// [`shoal_get`] with `extra` flags (e.g. [`SHOAL_REQUIRE_ENCRYPTION`]).
pub fn shoal_get_with(
    s: &Scratch,
    name: &str,
    torrent: &Path,
    out_dir: &Path,
    peers: &[String],
    seed: bool,
    extra: &[&str],
) -> (Proc, u16) {
    let mut cmd = Command::new(shoal_bin());
    cmd.args(["-vv", "get"])
        .arg(torrent)
        .arg("-o")
        .arg(out_dir)
        .args(["--port", "0", "--bind", "127.0.0.1"])
        .args(NO_PUBLIC_DISCOVERY)
        .args(extra);
    if seed {
        cmd.arg("--seed");
    }
    peer_args(&mut cmd, peers);
    let mut p = Proc::spawn(s, name, cmd);
    let port = p.listen_port();
    (p, port)
}

fn lt_script(script: &str, torrent: &Path, save: &Path, peers: &[String]) -> Command {
    let mut cmd = Command::new(PYTHON);
    // -B: no __pycache__ in the source tree (lt_common is imported).
    cmd.args(["-u", "-B"])
        .arg(format!(
            "{}/tests/support/{script}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg("--torrent")
        .arg(torrent)
        .arg("--save")
        .arg(save)
        .args(["--timeout", HELPER_TIMEOUT_SECS]);
    peer_args(&mut cmd, peers);
    cmd
}

/// libtorrent seeder (lt_seed.py) over the data in `save`; returns once the data
/// checked out and it is seeding, with its port.
pub fn lt_seed(
    s: &Scratch,
    name: &str,
    torrent: &Path,
    save: &Path,
    peers: &[String],
) -> (Proc, u16) {
    lt_seed_with(s, name, torrent, save, peers, &[])
}

/// [`lt_seed`] with `extra` script flags (e.g. [`LT_FORCE_ENCRYPTION`]).
pub fn lt_seed_with(
    s: &Scratch,
    name: &str,
    torrent: &Path,
    save: &Path,
    peers: &[String],
    extra: &[&str],
) -> (Proc, u16) {
    let mut cmd = lt_script("lt_seed.py", torrent, save, peers);
    cmd.args(extra);
    let mut p = Proc::spawn(s, name, cmd);
    let port = p.listen_port();
    p.wait_line("seeding", Duration::from_secs(60));
    (p, port)
}

/// libtorrent leecher (lt_get.py) into `save`; exits 0 once complete and rechecked.
/// Returns once listening, with its port.
pub fn lt_get(
    s: &Scratch,
    name: &str,
    torrent: &Path,
    save: &Path,
    peers: &[String],
) -> (Proc, u16) {
    lt_get_with(s, name, torrent, save, peers, &[])
}

/// [`lt_get`] with `extra` script flags (e.g. [`LT_FORCE_ENCRYPTION`]).
pub fn lt_get_with(
    s: &Scratch,
    name: &str,
    torrent: &Path,
    save: &Path,
    peers: &[String],
    extra: &[&str],
) -> (Proc, u16) {
    let mut cmd = lt_script("lt_get.py", torrent, save, peers);
    cmd.args(extra);
    let mut p = Proc::spawn(s, name, cmd);
    let port = p.listen_port();
    (p, port)
}

fn aria2_cmd(s: &Scratch, name: &str, port: u16, dir: &Path) -> Command {
    let mut cmd = Command::new("aria2c");
    cmd.args([
        "--no-conf=true",
        "--enable-dht=false",
        "--enable-dht6=false",
        "--bt-enable-lpd=false",
        "--enable-peer-exchange=false",
        "--disable-ipv6=true",
        "--bt-external-ip=127.0.0.1",
        "--file-allocation=none",
        "--summary-interval=1",
        "--console-log-level=notice",
        "--bt-tracker-connect-timeout=5",
        "--bt-tracker-timeout=10",
        "--log-level=info",
    ])
    .arg(format!("--listen-port={port}"))
    .arg(format!("--stop-with-process={}", std::process::id()))
    .arg(format!(
        "--log={}",
        s.log_dir().join(format!("{name}.log")).display()
    ))
    .arg(format!("--dir={}", dir.display()));
    cmd
}

/// aria2c leecher into `dir`; it learns peers only from trackers (the torrent's, plus
/// `extra_tracker`) and exits 0 when the download is complete (`--seed-time=0`).
pub fn aria2_get(
    s: &Scratch,
    name: &str,
    torrent: &Path,
    dir: &Path,
    extra_tracker: Option<&str>,
) -> Proc {
    aria2_get_with(s, name, torrent, dir, extra_tracker, &[])
}

/// [`aria2_get`] with `extra` aria2c options (e.g. [`ARIA2_REQUIRE_CRYPTO`]).
pub fn aria2_get_with(
    s: &Scratch,
    name: &str,
    torrent: &Path,
    dir: &Path,
    extra_tracker: Option<&str>,
    extra: &[&str],
) -> Proc {
    let mut cmd = aria2_cmd(s, name, free_port(), dir);
    cmd.arg("--seed-time=0").args(extra);
    if let Some(t) = extra_tracker {
        cmd.arg(format!("--bt-tracker={t}"));
    }
    cmd.arg(torrent);
    Proc::spawn(s, name, cmd)
}

/// aria2c seeder of the data in `dir` (checked with `--check-integrity`, then seeded
/// forever with `--seed-ratio=0.0`); returns once it listens, with its port.
pub fn aria2_seed(s: &Scratch, name: &str, torrent: &Path, dir: &Path) -> (Proc, u16) {
    aria2_seed_with(s, name, torrent, dir, &[])
}

/// [`aria2_seed`] with `extra` aria2c options (e.g. [`ARIA2_REQUIRE_CRYPTO`]).
pub fn aria2_seed_with(
    s: &Scratch,
    name: &str,
    torrent: &Path,
    dir: &Path,
    extra: &[&str],
) -> (Proc, u16) {
    let port = free_port();
    let mut cmd = aria2_cmd(s, name, port, dir);
    cmd.args(["--check-integrity=true", "--seed-ratio=0.0"])
        .args(extra)
        .arg(torrent);
    let mut p = Proc::spawn(s, name, cmd);
    p.wait_text("listening on TCP port", Duration::from_secs(60));
    (p, port)
}

/// transmission-cli on `torrent` with data dir `dir` and a private config dir holding
/// a settings.json: loopback only, no DHT/LPD/PEX/uTP/port mapping/RPC, plaintext
/// preferred (`-et`; [`transmission_with`] sets another mode), no incomplete dir, no
/// `.part` renaming. Returns at once with its port; it verifies what is in `dir` and
/// seeds or downloads (it never exits by itself).
///
/// Transmission keys peers by IP only, and ignores 127.x addresses learned from
/// trackers/PEX, so loopback peers must connect to it (incoming works).
pub fn transmission(s: &Scratch, name: &str, torrent: &Path, dir: &Path) -> (Proc, u16) {
    transmission_with(s, name, torrent, dir, TrEncryption::Tolerated)
}

/// Transmission's encryption mode (settings.json `encryption` and the matching flag).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrEncryption {
    /// Prefer plaintext, accept encrypted (`-et`, 0).
    Tolerated,
    /// Prefer encrypted, accept plaintext (`-ep`, 1).
    Preferred,
    /// Encrypted connections only (`-er`, 2).
    Required,
}

impl TrEncryption {
    fn setting(self) -> (u8, &'static str) {
        match self {
            TrEncryption::Tolerated => (0, "-et"),
            TrEncryption::Preferred => (1, "-ep"),
            TrEncryption::Required => (2, "-er"),
        }
    }
}

/// [`transmission`] with the given encryption mode.
pub fn transmission_with(
    s: &Scratch,
    name: &str,
    torrent: &Path,
    dir: &Path,
    encryption: TrEncryption,
) -> (Proc, u16) {
    let (enc_setting, enc_flag) = encryption.setting();
    let port = free_port();
    let cfg = s.dir(&format!("{name}-config"));
    let settings = format!(
        r#"{{
  "bind-address-ipv4": "127.0.0.1",
  "bind-address-ipv6": "::1",
  "blocklist-enabled": false,
  "dht-enabled": false,
  "download-queue-enabled": false,
  "encryption": {enc_setting},
  "idle-seeding-limit-enabled": false,
  "incomplete-dir-enabled": false,
  "lpd-enabled": false,
  "message-level": 3,
  "peer-port": {port},
  "peer-port-random-on-start": false,
  "pex-enabled": false,
  "port-forwarding-enabled": false,
  "ratio-limit-enabled": false,
  "rename-partial-files": false,
  "rpc-enabled": false,
  "seed-queue-enabled": false,
  "speed-limit-down-enabled": false,
  "speed-limit-up-enabled": false,
  "start-added-torrents": true,
  "utp-enabled": false,
  "watch-dir-enabled": false
}}
"#
    );
    std::fs::write(cfg.join("settings.json"), settings).unwrap();
    let mut cmd = Command::new("transmission-cli");
    cmd.arg("-g")
        .arg(&cfg)
        .args(["-p", &port.to_string(), enc_flag, "-w"])
        .arg(dir)
        .arg(torrent);
    let mut p = Proc::spawn(s, name, cmd);
    p.wait_text("Bound socket", Duration::from_secs(30));
    (p, port)
}

/// Waits until the torrent's files in save dir `dst` equal those in `src` while
/// `downloader` keeps running (for clients that do not exit when done, e.g.
/// transmission-cli). `missing_empty_ok` accepts absent zero-length files (Transmission
/// never creates them). Panics on timeout or if the downloader dies.
pub fn wait_download(
    downloader: &mut Proc,
    t: &Torrent,
    src: &Path,
    dst: &Path,
    missing_empty_ok: bool,
) {
    let mut last_check = std::time::Instant::now() - Duration::from_secs(1);
    Poll::up_to(TIMEOUT).until(
        &format!("{} to download {}", downloader.name, dst.display()),
        || {
            if let Some(st) = downloader.try_status() {
                panic!(
                    "{} exited before the download completed: {st}",
                    downloader.name
                );
            }
            if last_check.elapsed() < Duration::from_millis(500) {
                return false;
            }
            last_check = std::time::Instant::now();
            t.diff_with(src, dst, missing_empty_ok).is_none()
        },
    );
}
