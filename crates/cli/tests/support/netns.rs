//! Throwaway network namespaces for tests that need a LAN (multicast for local service
//! discovery): two namespaces joined by a veth pair, each with one address of a private
//! /24 that exists only between them. Nothing reaches the machine's real interfaces.
//! Needs root and iproute2; [`NetnsPair::create`] returns `None` (after printing why)
//! when they are missing, unless `SHOAL_REQUIRE_INTEROP` is set.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use super::say;

/// Two namespaces `a` and `b` on one link; dropped → deleted (with the link).
pub struct NetnsPair {
    pub a: String,
    pub b: String,
    pub ip_a: String,
    pub ip_b: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl NetnsPair {
    pub fn create(test: &str) -> Option<NetnsPair> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let tag = format!(
            "{}{}",
            std::process::id() % 100_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let pair = NetnsPair {
            a: format!("shoal{tag}a"),
            b: format!("shoal{tag}b"),
            ip_a: "10.201.0.1".to_string(),
            ip_b: "10.201.0.2".to_string(),
        };
        match pair.setup(&tag) {
            Ok(()) => Some(pair),
            Err(e) => {
                let msg = format!("{test}: cannot create network namespaces: {e}");
                if std::env::var_os("SHOAL_REQUIRE_INTEROP").is_some_and(|v| !v.is_empty()) {
                    panic!("SHOAL_REQUIRE_INTEROP is set but {msg}");
                }
                say(&format!("SKIP: {msg}"));
                None
            }
        }
    }

    fn setup(&self, tag: &str) -> Result<(), String> {
        let (va, vb) = (format!("sv{tag}a"), format!("sv{tag}b"));
        ip(&["netns", "add", &self.a])?;
        ip(&["netns", "add", &self.b])?;
        ip(&["link", "add", &va, "type", "veth", "peer", "name", &vb])?;
        ip(&["link", "set", &va, "netns", &self.a])?;
        ip(&["link", "set", &vb, "netns", &self.b])?;
        for (ns, dev, addr) in [(&self.a, &va, &self.ip_a), (&self.b, &vb, &self.ip_b)] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            // Multicast leaves through the link (there is no default route).
            ip(&["-n", ns, "route", "add", "224.0.0.0/4", "dev", dev])?;
        }
        Ok(())
    }

    /// `ip netns exec NS PROGRAM`: a command that runs `program` inside namespace `ns`.
    pub fn exec(ns: &str, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, program]);
        cmd
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}
