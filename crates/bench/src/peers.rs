//! The peers of a benchmark: shoal and libtorrent seeders and leechers, and `shoal create`.
//!
//! Every peer listens on 127.0.0.1 with port 0 and no trackers; leechers get the seeder's
//! address with `--peer`. Seeders run without `-q` so that shoal prints `seeding NAME`
//! once its data check has passed (the benchmark starts leechers only then) and
//! `stopping: uploaded N` on SIGTERM. The libtorrent peers are `scripts/lt_bench.py`.

use crate::data::parse_human;
use crate::procs::{require_success, Outcome, Proc, Spawner};
use anyhow::{bail, Context};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The libtorrent driver, compiled in and written to the work directory at start.
pub const LT_SCRIPT: &str = include_str!("../scripts/lt_bench.py");

/// A torrent made by `shoal create` and the single file it describes.
#[derive(Debug, Clone)]
pub struct Torrent {
    pub path: PathBuf,
    /// The directory holding the file (the seeders' data directory).
    pub data_dir: PathBuf,
    pub file_name: String,
    pub size: u64,
}

/// The libtorrent reference: a Python with the `libtorrent` module, and our script.
#[derive(Debug, Clone)]
pub struct Lt {
    pub python: PathBuf,
    pub script: PathBuf,
    pub version: String,
}

impl Lt {
    /// Checks that `python` can import libtorrent; writes the script into `dir`.
    pub fn detect(python: &Path, dir: &Path) -> anyhow::Result<Lt> {
        let out = std::process::Command::new(python)
            .args(["-c", "import libtorrent; print(libtorrent.__version__)"])
            .output()
            .with_context(|| format!("cannot run {}", python.display()))?;
        if !out.status.success() {
            bail!(
                "{} cannot import libtorrent (install python3-libtorrent): {}",
                python.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let script = dir.join("lt_bench.py");
        std::fs::write(&script, LT_SCRIPT).context("writing lt_bench.py")?;
        Ok(Lt {
            python: python.to_path_buf(),
            script,
            version: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        })
    }
}

/// Which client a peer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Shoal,
    Lt,
}

/// A seeder that has checked its data and is accepting peers.
pub struct Seeder {
    pub proc: Proc,
    pub addr: SocketAddr,
    client: Client,
}

impl Seeder {
    /// SIGTERM; returns the outcome (peak RSS over the whole run) and the upload count.
    pub fn stop(mut self, timeout: Duration) -> anyhow::Result<(Outcome, u64)> {
        let o = self.proc.stop(timeout)?;
        require_success(&self.proc, &o)?;
        let uploaded = match self.client {
            Client::Shoal => {
                self.proc
                    .wait_for("`stopping: uploaded`", Duration::from_secs(2), |l| {
                        l.text
                            .strip_prefix("stopping: uploaded ")
                            .and_then(parse_human)
                    })?
            }
            Client::Lt => self
                .proc
                .wait_for("`uploaded`", Duration::from_secs(2), |l| {
                    l.text.strip_prefix("uploaded ")?.trim().parse().ok()
                })?,
        };
        Ok((o, uploaded))
    }
}

/// Parses a `listening on IP:PORT` line.
pub fn listening_addr(text: &str) -> Option<SocketAddr> {
    text.strip_prefix("listening on ")?.trim().parse().ok()
}

/// The `--encryption` value given to every shoal peer (set once from the options).
pub static ENCRYPTION: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn encryption_args() -> Vec<OsString> {
    let mode = ENCRYPTION.get().map_or("disable", String::as_str);
    os(&["--encryption", mode])
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Runs `shoal create FILE -o TORRENT [--piece-size N]`; returns the wall time.
pub fn shoal_create(
    sp: &mut Spawner,
    shoal: &Path,
    file: &Path,
    torrent: &Path,
    piece_size: Option<u32>,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let mut args = vec![
        OsString::from("create"),
        file.into(),
        "-o".into(),
        torrent.into(),
    ];
    if let Some(p) = piece_size {
        args.extend(os(&["--piece-size", &p.to_string()]));
    }
    let mut p = sp.spawn("shoal-create", shoal, &args)?;
    let o = p.wait_exit(timeout)?;
    require_success(&p, &o)?;
    p.wait_for("a magnet link", Duration::from_secs(2), |l| {
        l.text.starts_with("magnet:").then_some(())
    })?;
    Ok(o.wall)
}

pub fn wait_listening(p: &mut Proc, timeout: Duration) -> anyhow::Result<SocketAddr> {
    p.wait_for("`listening on`", timeout, |l| {
        if l.stderr {
            None
        } else {
            listening_addr(&l.text)
        }
    })
}

/// Starts `shoal seed` and waits until it has checked its data.
pub fn shoal_seed(
    sp: &mut Spawner,
    shoal: &Path,
    t: &Torrent,
    timeout: Duration,
) -> anyhow::Result<Seeder> {
    let mut args = vec![OsString::from("seed"), t.path.clone().into()];
    args.push("-d".into());
    args.push(t.data_dir.clone().into());
    args.extend(os(&[
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--no-trackers",
        "--no-dht",
        "--no-lsd",
    ]));
    args.extend(encryption_args());
    let mut proc = sp.spawn("shoal-seed", shoal, &args)?;
    let addr = wait_listening(&mut proc, timeout)?;
    let ready = proc.wait_for("`seeding`", timeout, |l| {
        (l.stderr && (l.text.starts_with("seeding ") || l.text.starts_with("warning:")))
            .then(|| l.text.clone())
    })?;
    if !ready.starts_with("seeding ") {
        bail!("the shoal seeder does not have the whole payload: {ready}");
    }
    Ok(Seeder {
        proc,
        addr,
        client: Client::Shoal,
    })
}

/// Arguments of `shoal get` from `peers` into `out`.
pub fn shoal_get_args(
    t: &Torrent,
    out: &Path,
    peers: &[SocketAddr],
    quiet: bool,
    seed: bool,
) -> Vec<OsString> {
    let mut args = vec![OsString::from("get"), t.path.clone().into()];
    args.push("-o".into());
    args.push(out.into());
    args.extend(os(&[
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--no-trackers",
        "--no-dht",
        "--no-lsd",
    ]));
    args.extend(encryption_args());
    if quiet {
        args.push("-q".into());
    }
    if seed {
        args.push("--seed".into());
    }
    for p in peers {
        args.push("--peer".into());
        args.push(p.to_string().into());
    }
    args
}

/// Runs a quiet `shoal get` from `peer` to completion (exit 0 = complete and verified).
pub fn shoal_get(
    sp: &mut Spawner,
    shoal: &Path,
    t: &Torrent,
    out: &Path,
    peer: SocketAddr,
    timeout: Duration,
) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(out)?;
    let args = shoal_get_args(t, out, &[peer], true, false);
    let mut p = sp.spawn("shoal-get", shoal, &args)?;
    let o = p.wait_exit(timeout)?;
    require_success(&p, &o)?;
    Ok(o)
}

fn lt_args(lt: &Lt, mode: &str, t: &Torrent, save: &Path, timeout: Duration) -> Vec<OsString> {
    vec![
        lt.script.clone().into(),
        mode.into(),
        t.path.clone().into(),
        save.into(),
        "--timeout".into(),
        timeout.as_secs().to_string().into(),
    ]
}

/// Starts the libtorrent seeder and waits until it has checked its data.
/// `lifetime` bounds how long it may live (it exits by itself after that).
pub fn lt_seed(
    sp: &mut Spawner,
    lt: &Lt,
    t: &Torrent,
    timeout: Duration,
    lifetime: Duration,
) -> anyhow::Result<Seeder> {
    let args = lt_args(lt, "seed", t, &t.data_dir, lifetime);
    let mut proc = sp.spawn("lt-seed", &lt.python, &args)?;
    let addr = wait_listening(&mut proc, timeout)?;
    proc.wait_for("`seeding`", timeout, |l| {
        (l.text == "seeding").then_some(())
    })?;
    Ok(Seeder {
        proc,
        addr,
        client: Client::Lt,
    })
}

/// Runs the libtorrent leecher from `peer` until libtorrent reports it finished.
pub fn lt_get(
    sp: &mut Spawner,
    lt: &Lt,
    t: &Torrent,
    out: &Path,
    peer: SocketAddr,
    timeout: Duration,
) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(out)?;
    let mut args = lt_args(lt, "get", t, out, timeout);
    args.push("--peer".into());
    args.push(peer.to_string().into());
    let mut p = sp.spawn("lt-get", &lt.python, &args)?;
    let o = p.wait_exit(timeout + Duration::from_secs(5))?;
    require_success(&p, &o)?;
    p.wait_for("`finished`", Duration::from_secs(2), |l| {
        (l.text == "finished").then_some(())
    })?;
    Ok(o)
}
