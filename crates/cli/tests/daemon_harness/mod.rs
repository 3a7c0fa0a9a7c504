//! Helpers for the tests that run `shoal daemon` as a process: start it on loopback
//! with its own state directory (DHT, LSD and trackers off), find its API through
//! `api.json`, call the API, run the `shoal` client commands, start `shoal seed`.
//! Every child is killed when its guard drops.
// Two test binaries include this module and each uses only part of it.
#![allow(dead_code, clippy::unwrap_used)]

use serde_json::Value;
use shoal_testkit::units::parse_human_bytes;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SHOAL: &str = env!("CARGO_BIN_EXE_shoal");

/// A child process killed on drop.
pub struct Child2 {
    pub child: Child,
    pub name: String,
}

impl Child2 {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends a signal by number and waits (bounded) for the exit.
    pub fn signal_and_wait(&mut self, sig: i32, secs: u64) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "{} did not exit", self.name);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Child2 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `shoal daemon`.
pub struct DaemonProc {
    pub proc: Child2,
    pub state: PathBuf,
    pub api: SocketAddr,
    pub token: String,
    pub log: PathBuf,
}

/// Starts `shoal daemon` with test flags plus `extra`; waits for its api.json.
pub fn start_daemon(state: &Path, port: u16, extra: &[&str]) -> DaemonProc {
    std::fs::create_dir_all(state).unwrap();
    let api_json = state.join("daemon/api.json");
    let log = state.join(format!(
        "daemon-{}.log",
        Instant::now().elapsed().as_nanos()
    ));
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(state.join("daemon.log"))
        .unwrap();
    let child = Command::new(SHOAL)
        .args(["daemon", "--state-dir"])
        .arg(state)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args([
            "--api",
            "127.0.0.1:0",
            "--no-dht",
            "--no-lsd",
            "--no-trackers",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let mut proc = Child2 {
        child,
        name: "shoal daemon".into(),
    };
    // The first stdout line is `api http://ADDR`.
    let stdout = proc.child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let api: SocketAddr = line
        .trim()
        .strip_prefix("api http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    // Keep draining stdout so the daemon never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(&api_json) {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                if v["pid"] == proc.pid() {
                    assert_eq!(v["address"], api.to_string());
                    break;
                }
            }
        }
        assert!(Instant::now() < deadline, "no api.json");
        std::thread::sleep(Duration::from_millis(20));
    }
    let token = std::fs::read_to_string(state.join("daemon/token"))
        .unwrap()
        .trim()
        .to_string();
    DaemonProc {
        proc,
        state: state.to_path_buf(),
        api,
        token,
        log,
    }
}

impl DaemonProc {
    /// A blocking API call; returns status and JSON.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        http(self.api, &self.token, method, path, body)
    }

    pub fn get(&self, path: &str) -> Value {
        let (status, v) = self.call("GET", path, None);
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }

    /// Runs a `shoal` client command against this daemon (through its state dir).
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(SHOAL)
            .args(args)
            .arg("--state-dir")
            .arg(&self.state)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    /// Like [`Self::cli`] with `--json`, parsed; panics when the command fails.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let (ok, out, err) = self.cli(&all);
        assert!(ok, "shoal {args:?} failed: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

/// A minimal blocking HTTP/1.1 client over loopback (one request per connection).
pub fn http(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    use std::io::{Read, Write};
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (
        status,
        serde_json::from_str(&payload).unwrap_or(Value::Null),
    )
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// `shoal seed` of `torrent` from `data_dir` on loopback; returns it and its address.
pub fn start_seeder(torrent: &Path, data_dir: &Path, extra: &[&str]) -> (Child2, SocketAddr) {
    start_seeder_with(torrent, data_dir, extra, Stdio::null())
}

/// Like [`start_seeder`], with the seeder's stderr written to `log`; after SIGTERM
/// [`seeder_uploaded`] reads from it how much the seeder sent.
pub fn start_seeder_logged(
    torrent: &Path,
    data_dir: &Path,
    extra: &[&str],
    log: &Path,
) -> (Child2, SocketAddr) {
    let file = std::fs::File::create(log).unwrap();
    start_seeder_with(torrent, data_dir, extra, Stdio::from(file))
}

/// The bytes a seeder started by [`start_seeder_logged`] reports having uploaded in
/// its `stopping: uploaded N UNIT` line (to the 0.1 unit it prints).
pub fn seeder_uploaded(log: &Path) -> u64 {
    let text = std::fs::read_to_string(log).unwrap();
    let rest = text
        .lines()
        .find_map(|l| l.strip_prefix("stopping: uploaded "))
        .unwrap_or_else(|| panic!("no upload total in the seeder's log: {text:?}"));
    parse_human_bytes(rest)
}

fn start_seeder_with(
    torrent: &Path,
    data_dir: &Path,
    extra: &[&str],
    stderr: Stdio,
) -> (Child2, SocketAddr) {
    let child = Command::new(SHOAL)
        .arg("seed")
        .arg(torrent)
        .arg("-d")
        .arg(data_dir)
        .args([
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--no-dht",
            "--no-lsd",
            "--no-trackers",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut proc = Child2 {
        child,
        name: "shoal seed".into(),
    };
    let mut reader = BufReader::new(proc.child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected seeder line {line:?}"))
        .parse()
        .unwrap();
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    (proc, addr)
}

/// Writes a .torrent of `src` to `out` with the given piece length; returns its
/// info-hash in hex.
pub fn write_torrent(src: &Path, out: &Path, piece_length: u32) -> String {
    let meta = shoal_testkit::make_torrent(src, piece_length);
    std::fs::write(out, meta.to_bytes()).unwrap();
    meta.info_hash.to_hex()
}
