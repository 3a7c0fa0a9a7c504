//! Shared harness for the interop tests: runs `shoal` against real BitTorrent clients
//! (libtorrent, aria2, Transmission) and an opentracker, all on 127.0.0.1.
//!
//! Each test file does `mod support;` and uses what it needs, so items unused by one
//! file are expected (hence the allow below); generic helpers (ports, polling, hex,
//! file trees) come from `shoal-testkit`. Every process is owned by a [`Proc`] guard that kills it on drop,
//! every wait is bounded, and when a test panics the logs of all its processes are
//! printed (set `SHOAL_KEEP_TMP=1` to keep the scratch directory as well).
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

pub mod clients;
pub mod data;
pub mod dht;
pub mod netns;
pub mod proc;
pub mod torrent;
pub mod tracker;

pub use clients::*;
pub use data::*;
pub use proc::Proc;
pub use torrent::*;
pub use tracker::Tracker;

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Upper bound for any single wait (a download, a process exit, a log line).
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// An external program a test depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// python3-libtorrent, imported by Debian's /usr/bin/python3.
    Libtorrent,
    Aria2,
    /// transmission-cli (the client itself).
    Transmission,
    TransmissionCreate,
    Mktorrent,
    Opentracker,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Libtorrent => "python3-libtorrent (/usr/bin/python3 -c 'import libtorrent')",
            Tool::Aria2 => "aria2c",
            Tool::Transmission => "transmission-cli",
            Tool::TransmissionCreate => "transmission-create",
            Tool::Mktorrent => "mktorrent",
            Tool::Opentracker => "/usr/bin/opentracker",
        }
    }

    fn present(self) -> bool {
        match self {
            Tool::Libtorrent => {
                static LT: OnceLock<bool> = OnceLock::new();
                *LT.get_or_init(|| {
                    Command::new(PYTHON)
                        .args(["-c", "import libtorrent"])
                        .output()
                        .map(|o| o.status.success())
                        .unwrap_or(false)
                })
            }
            Tool::Aria2 => in_path("aria2c"),
            Tool::Transmission => in_path("transmission-cli"),
            Tool::TransmissionCreate => in_path("transmission-create"),
            Tool::Mktorrent => in_path("mktorrent"),
            Tool::Opentracker => Path::new(OPENTRACKER).is_file(),
        }
    }
}

/// Debian's interpreter, which has python3-libtorrent (a pyenv `python3` on PATH may not).
pub const PYTHON: &str = "/usr/bin/python3";
/// Debian's opentracker (whitelist build).
pub const OPENTRACKER: &str = "/usr/bin/opentracker";

fn in_path(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
        .unwrap_or(false)
}

/// Writes straight to the process's stderr, past the test harness's output capture,
/// so `SKIP:` lines show up in a normal `cargo test` run.
pub fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// True when every tool is installed. Otherwise prints `SKIP: ...` and returns false,
/// or panics if `SHOAL_REQUIRE_INTEROP` is set (CI), where a missing client is a failure.
pub fn require(test: &str, tools: &[Tool]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|t| !t.present())
        .map(|t| t.name())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "{test}: missing {} (install with scripts/install-test-deps)",
        missing.join(", ")
    );
    if std::env::var_os("SHOAL_REQUIRE_INTEROP").is_some_and(|v| !v.is_empty()) {
        panic!("SHOAL_REQUIRE_INTEROP is set but {msg}");
    }
    say(&format!("SKIP: {msg}"));
    false
}

/// Per-test scratch directory (mode 0755 so opentracker, which drops to `nobody`,
/// can read its whitelist inside). Logs go to `logs/`; they are printed if the test
/// panics. Declare it first in a test so it is dropped after the process guards.
pub struct Scratch {
    dir: Option<tempfile::TempDir>,
    test: String,
}

impl Scratch {
    pub fn new(test: &str) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix(&format!("shoal-interop-{test}-"))
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        Scratch {
            dir: Some(dir),
            test: test.to_string(),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }

    /// `root/rel`, with its parent directories created.
    pub fn path(&self, rel: &str) -> PathBuf {
        let p = self.root().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        p
    }

    /// A new empty directory `root/rel`.
    pub fn dir(&self, rel: &str) -> PathBuf {
        let p = self.root().join(rel);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    pub fn log_dir(&self) -> PathBuf {
        self.root().join("logs")
    }

    fn dump_logs(&self) {
        let Ok(entries) = std::fs::read_dir(self.log_dir()) else {
            return;
        };
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let text =
                String::from_utf8_lossy(&std::fs::read(&f).unwrap_or_default()).replace('\r', "\n");
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim().is_empty() && !NOISE.iter().any(|n| l.contains(n)))
                .collect();
            let skip = lines.len().saturating_sub(150);
            eprintln!(
                "----- {} ({} lines{}) -----",
                f.display(),
                lines.len(),
                if skip > 0 { ", last 150 shown" } else { "" }
            );
            for l in &lines[skip..] {
                eprintln!("{l}");
            }
        }
    }
}

/// Per-block chatter left out of dumped logs (aria2's info log).
const NOISE: &[&str] = &[
    "[BtPieceMessage.cc",
    "[BtRequestMessage.cc",
    "[BtHaveMessage.cc",
    "[DefaultBtInteractive.cc:",
];

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("===== logs of failed test {} =====", self.test);
            self.dump_logs();
        }
        if std::env::var_os("SHOAL_KEEP_TMP").is_some() {
            if let Some(d) = self.dir.take() {
                let kept = d.keep();
                say(&format!(
                    "{}: kept scratch dir {}",
                    self.test,
                    kept.display()
                ));
            }
        }
    }
}
