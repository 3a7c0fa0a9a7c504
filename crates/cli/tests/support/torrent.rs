//! Making .torrent files with `shoal create`, mktorrent and transmission-create, and an
//! independent info-hash computation (a tiny bencode walker, deliberately not shoal's
//! own parser) used to check magnets and to fill the tracker whitelist.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha1::{Digest as _, Sha1};

use super::{shoal_bin, Scratch};

/// Tracker URL for torrents that need one but must not reach a tracker (mktorrent
/// insists on `-a`): port 1 on loopback refuses at once.
pub const DEAD_TRACKER: &str = "http://127.0.0.1:1/announce";

pub struct Torrent {
    pub path: PathBuf,
    pub info_hash: [u8; 20],
    /// The `magnet:` line printed by `shoal create`, if it made the torrent.
    pub magnet: Option<String>,
}

impl Torrent {
    pub fn load(path: PathBuf) -> Torrent {
        let bytes = std::fs::read(&path).unwrap();
        let info_hash = info_hash(&bytes)
            .unwrap_or_else(|| panic!("{}: no bencoded info dict", path.display()));
        Torrent {
            path,
            info_hash,
            magnet: None,
        }
    }

    pub fn hex(&self) -> String {
        hex(&self.info_hash)
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// End offset of the bencoded value starting at `i`.
fn skip(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'i' => Some(i + b[i..].iter().position(|&c| c == b'e')? + 1),
        b'l' | b'd' => {
            let mut j = i + 1;
            while *b.get(j)? != b'e' {
                j = skip(b, j)?;
            }
            Some(j + 1)
        }
        b'0'..=b'9' => {
            let colon = i + b[i..].iter().position(|&c| c == b':')?;
            let len: usize = std::str::from_utf8(&b[i..colon]).ok()?.parse().ok()?;
            let end = colon.checked_add(1)?.checked_add(len)?;
            (end <= b.len()).then_some(end)
        }
        _ => None,
    }
}

/// SHA-1 of the exact bytes of the top-level `info` value.
pub fn info_hash(b: &[u8]) -> Option<[u8; 20]> {
    if b.first() != Some(&b'd') {
        return None;
    }
    let mut i = 1;
    while *b.get(i)? != b'e' {
        let key_end = skip(b, i)?;
        let val_end = skip(b, key_end)?;
        if &b[i..key_end] == b"4:info" {
            return Some(Sha1::digest(&b[key_end..val_end]).into());
        }
        i = val_end;
    }
    None
}

fn run(what: &str, cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}): {cmd:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Options for `shoal create`.
#[derive(Default)]
pub struct CreateOpts<'a> {
    pub trackers: Vec<String>,
    pub piece_size: Option<u32>,
    pub private: bool,
    pub comment: Option<&'a str>,
}

/// `shoal create SRC -o OUT ...`; checks the printed magnet names the same info-hash.
pub fn shoal_create(s: &Scratch, src: &Path, opts: &CreateOpts<'_>) -> Torrent {
    let out = s.path("shoal.torrent");
    let mut cmd = Command::new(shoal_bin());
    cmd.arg("create").arg(src).arg("-o").arg(&out);
    for t in &opts.trackers {
        cmd.args(["-t", t]);
    }
    if let Some(n) = opts.piece_size {
        cmd.args(["--piece-size", &n.to_string()]);
    }
    if opts.private {
        cmd.arg("--private");
    }
    if let Some(c) = opts.comment {
        cmd.args(["--comment", c]);
    }
    let stdout = run("shoal create", &mut cmd);
    let mut t = Torrent::load(out);
    let magnet = stdout
        .lines()
        .find(|l| l.starts_with("magnet:"))
        .unwrap_or_else(|| panic!("shoal create printed no magnet: line:\n{stdout}"))
        .trim()
        .to_string();
    let want = format!("xt=urn:btih:{}", t.hex());
    assert!(
        magnet.to_ascii_lowercase().contains(&want),
        "magnet {magnet:?} lacks {want}"
    );
    t.magnet = Some(magnet);
    t
}

/// mktorrent with 2^`log2_piece` byte pieces; `tracker` None uses [`DEAD_TRACKER`].
pub fn mktorrent(s: &Scratch, src: &Path, tracker: Option<&str>, log2_piece: u32) -> Torrent {
    let out = s.path("mktorrent.torrent");
    run(
        "mktorrent",
        Command::new("mktorrent")
            .args(["-a", tracker.unwrap_or(DEAD_TRACKER)])
            .args(["-l", &log2_piece.to_string(), "-o"])
            .arg(&out)
            .arg(src),
    );
    Torrent::load(out)
}

/// transmission-create with `piece_kib` KiB pieces.
pub fn transmission_create(
    s: &Scratch,
    src: &Path,
    tracker: Option<&str>,
    piece_kib: u32,
) -> Torrent {
    let out = s.path("transmission.torrent");
    let mut cmd = Command::new("transmission-create");
    cmd.arg("-o").arg(&out).args(["-s", &piece_kib.to_string()]);
    if let Some(t) = tracker {
        cmd.args(["-t", t]);
    }
    run("transmission-create", cmd.arg(src));
    Torrent::load(out)
}
