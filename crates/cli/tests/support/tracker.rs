//! [`Tracker`]: Debian's opentracker on 127.0.0.1, HTTP and UDP on one port.
//!
//! Debian builds it in whitelist mode: only info-hashes listed (hex, one per line) in
//! the `-w` file are served, so the torrents must exist before the tracker starts. It
//! switches to user `nobody`, hence the world-readable whitelist under the 0755
//! scratch dir. It does not fork (the pid we start keeps the port), but as a fallback
//! the guard also kills whatever process still holds the port when dropped.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;
use std::time::Duration;

use shoal_testkit::{hex, Poll};

use super::{Proc, Scratch, OPENTRACKER};

pub struct Tracker {
    pub port: u16,
    proc: Proc,
}

impl Tracker {
    /// Starts opentracker on `port` serving `info_hashes`; returns once it accepts TCP.
    pub fn start(s: &Scratch, port: u16, info_hashes: &[[u8; 20]]) -> Tracker {
        let dir = s.dir("tracker");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let wl = dir.join("whitelist");
        let list: String = info_hashes
            .iter()
            .map(|h| format!("{}\n", hex::encode(h)))
            .collect();
        std::fs::write(&wl, list).unwrap();
        std::fs::set_permissions(&wl, std::fs::Permissions::from_mode(0o644)).unwrap();
        let p = port.to_string();
        let mut cmd = Command::new(OPENTRACKER);
        cmd.args(["-i", "127.0.0.1", "-p", &p, "-P", &p, "-w"])
            .arg(&wl)
            .current_dir(&dir);
        let mut proc = Proc::spawn(s, "opentracker", cmd);
        Poll::up_to(Duration::from_secs(10)).until("opentracker to accept connections", || {
            assert!(
                proc.is_running(),
                "opentracker exited at start (port {port} taken?)"
            );
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Tracker { port, proc }
    }

    pub fn url(&self) -> String {
        http_url(self.port)
    }

    pub fn udp_url(&self) -> String {
        format!("udp://127.0.0.1:{}/announce", self.port)
    }

    /// (complete, incomplete) peer counts from an HTTP scrape.
    pub fn scrape(&self, info_hash: &[u8; 20]) -> Option<(i64, i64)> {
        let q: String = info_hash.iter().map(|b| format!("%{b:02X}")).collect();
        let body = http_get(self.port, &format!("/scrape?info_hash={q}"))?;
        Some((
            int_after(&body, b"8:complete")?,
            int_after(&body, b"10:incomplete")?,
        ))
    }

    /// Waits until the tracker lists at least `n` seeders (peers that announced `left=0`).
    pub fn wait_seeders(&self, info_hash: &[u8; 20], n: i64, timeout: Duration) {
        Poll::up_to(timeout).until(&format!("{n} seeder(s) announced to the tracker"), || {
            self.scrape(info_hash).is_some_and(|(c, _)| c >= n)
        });
    }
}

pub fn http_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/announce")
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.proc.stop();
        kill_port_holder(self.port);
    }
}

/// Minimal HTTP/1.0 GET to 127.0.0.1; returns the body.
fn http_get(port: u16, path: &str) -> Option<Vec<u8>> {
    let mut c = TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(c, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut resp = Vec::new();
    c.read_to_end(&mut resp).ok()?;
    let at = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some(resp[at + 4..].to_vec())
}

/// The bencoded integer right after `key` (`KEYi123e`).
fn int_after(body: &[u8], key: &[u8]) -> Option<i64> {
    let at = body.windows(key.len()).position(|w| w == key)? + key.len();
    let rest = body.get(at..)?.strip_prefix(b"i")?;
    let end = rest.iter().position(|&c| c == b'e')?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

/// Kills (SIGKILL) any process with a socket listening on 127.0.0.1:`port` (TCP), found
/// via /proc/net/tcp inode -> /proc/PID/fd links.
fn kill_port_holder(port: u16) {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return;
    };
    let local = format!("0100007F:{port:04X}");
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // fields: sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            (f.len() > 9 && f[1] == local && f[3] == "0A").then(|| f[9].to_string())
        })
        .collect();
    if inodes.is_empty() {
        return;
    }
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for p in procs.flatten() {
        let Ok(pid) = p.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|t| {
                let t = t.to_string_lossy();
                inodes.iter().any(|i| t == format!("socket:[{i}]"))
            })
        });
        if holds {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .status();
        }
    }
}
