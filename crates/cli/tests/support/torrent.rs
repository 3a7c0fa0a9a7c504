//! Making .torrent files with `shoal create`, mktorrent and transmission-create, and an
//! independent info-hash computation (a tiny bencode walker, deliberately not shoal's
//! own parser) used to check magnets and to fill the tracker whitelist.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha1::{Digest as _, Sha1};

use super::{sha1_file, shoal_bin, Scratch};

/// Tracker URL for torrents that need one but must not reach a tracker (mktorrent
/// insists on `-a`): port 1 on loopback refuses at once.
pub const DEAD_TRACKER: &str = "http://127.0.0.1:1/announce";

pub struct Torrent {
    pub path: PathBuf,
    pub info_hash: [u8; 20],
    /// Files relative to the save directory (first component: the torrent's name).
    pub files: Vec<(PathBuf, u64)>,
    /// The `magnet:` line printed by `shoal create`, if it made the torrent.
    pub magnet: Option<String>,
}

impl Torrent {
    pub fn load(path: PathBuf) -> Torrent {
        let bytes = std::fs::read(&path).unwrap();
        let info_hash = info_hash(&bytes)
            .unwrap_or_else(|| panic!("{}: no bencoded info dict", path.display()));
        let files =
            torrent_files(&bytes).unwrap_or_else(|| panic!("{}: bad file list", path.display()));
        Torrent {
            path,
            info_hash,
            files,
            magnet: None,
        }
    }

    pub fn hex(&self) -> String {
        shoal_testkit::hex::encode(&self.info_hash)
    }

    /// How the torrent's files under `dst` differ from those under `src` (both save
    /// directories), or None when all match by size and SHA-1.
    pub fn diff(&self, src: &Path, dst: &Path) -> Option<String> {
        self.diff_with(src, dst, false)
    }

    /// [`Torrent::diff`], optionally accepting that zero-length files were not created
    /// (Transmission 3 never creates them).
    pub fn diff_with(&self, src: &Path, dst: &Path, missing_empty_ok: bool) -> Option<String> {
        for (rel, len) in &self.files {
            let (a, b) = (src.join(rel), dst.join(rel));
            let want = std::fs::metadata(&a).unwrap().len();
            assert_eq!(want, *len, "{} is not the torrent's source", a.display());
            match std::fs::metadata(&b) {
                Err(_) if want == 0 && missing_empty_ok => continue,
                Err(_) => return Some(format!("{} is missing", b.display())),
                Ok(m) if m.len() != want => {
                    return Some(format!(
                        "{} has {} bytes, want {want}",
                        b.display(),
                        m.len()
                    ))
                }
                Ok(_) => {}
            }
            if sha1_file(&a) != sha1_file(&b) {
                return Some(format!(
                    "{} differs from {} (SHA-1)",
                    b.display(),
                    a.display()
                ));
            }
        }
        None
    }

    /// Asserts that the download in save directory `dst` equals the source in `src`.
    pub fn assert_downloaded(&self, src: &Path, dst: &Path) {
        if let Some(d) = self.diff(src, dst) {
            panic!("download does not match source: {d}");
        }
    }

    /// Whether the torrent lists a file of `len` bytes whose path ends with `suffix`.
    pub fn has_file(&self, suffix: &str, len: u64) -> bool {
        self.files
            .iter()
            .any(|(p, l)| p.ends_with(suffix) && *l == len)
    }
}

/// A decoded bencode value (just enough for reading .torrent files in tests).
#[derive(Debug)]
pub enum Bval<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    List(Vec<Bval<'a>>),
    /// Entries in file order, with the raw bytes of the whole dict.
    Dict(Vec<(&'a [u8], Bval<'a>)>, &'a [u8]),
}

impl<'a> Bval<'a> {
    pub fn get(&self, key: &str) -> Option<&Bval<'a>> {
        match self {
            Bval::Dict(d, _) => d.iter().find(|(k, _)| *k == key.as_bytes()).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn int(&self) -> Option<i64> {
        match self {
            Bval::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn str(&self) -> Option<&'a str> {
        match self {
            Bval::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }
    pub fn list(&self) -> Option<&[Bval<'a>]> {
        match self {
            Bval::List(l) => Some(l),
            _ => None,
        }
    }
}

/// Decodes the value at `i`; returns it and its end offset.
pub fn bdecode(b: &[u8], i: usize) -> Option<(Bval<'_>, usize)> {
    match *b.get(i)? {
        b'i' => {
            let end = i + b[i..].iter().position(|&c| c == b'e')?;
            let n = std::str::from_utf8(&b[i + 1..end]).ok()?.parse().ok()?;
            Some((Bval::Int(n), end + 1))
        }
        b'l' => {
            let (mut items, mut j) = (Vec::new(), i + 1);
            while *b.get(j)? != b'e' {
                let (v, next) = bdecode(b, j)?;
                items.push(v);
                j = next;
            }
            Some((Bval::List(items), j + 1))
        }
        b'd' => {
            let (mut items, mut j) = (Vec::new(), i + 1);
            while *b.get(j)? != b'e' {
                let (Bval::Bytes(k), after_key) = bdecode(b, j)? else {
                    return None;
                };
                let (v, next) = bdecode(b, after_key)?;
                items.push((k, v));
                j = next;
            }
            Some((Bval::Dict(items, &b[i..=j]), j + 1))
        }
        b'0'..=b'9' => {
            let colon = i + b[i..].iter().position(|&c| c == b':')?;
            let len: usize = std::str::from_utf8(&b[i..colon]).ok()?.parse().ok()?;
            let end = colon.checked_add(1)?.checked_add(len)?;
            (end <= b.len()).then(|| (Bval::Bytes(&b[colon + 1..end]), end))
        }
        _ => None,
    }
}

/// SHA-1 of the exact bytes of the top-level `info` value.
pub fn info_hash(b: &[u8]) -> Option<[u8; 20]> {
    let (top, _) = bdecode(b, 0)?;
    match top.get("info")? {
        Bval::Dict(_, raw) => Some(Sha1::digest(raw).into()),
        _ => None,
    }
}

/// The files a torrent describes, as paths relative to the save directory (starting
/// with the torrent's name) and lengths. Padding files (BEP 47) are left out.
pub fn torrent_files(b: &[u8]) -> Option<Vec<(PathBuf, u64)>> {
    let (top, _) = bdecode(b, 0)?;
    let info = top.get("info")?;
    let name = PathBuf::from(info.get("name")?.str()?);
    let Some(files) = info.get("files") else {
        let len = u64::try_from(info.get("length")?.int()?).ok()?;
        return Some(vec![(name, len)]);
    };
    let mut out = Vec::new();
    for f in files.list()? {
        let attr = f.get("attr").and_then(Bval::str).unwrap_or("");
        if attr.contains('p') {
            continue;
        }
        let mut p = name.clone();
        for part in f.get("path")?.list()? {
            p.push(part.str()?);
        }
        out.push((p, u64::try_from(f.get("length")?.int()?).ok()?));
    }
    Some(out)
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
