//! Throwaway network namespaces for tests that need a LAN (multicast for local service
//! discovery): two namespaces joined by a veth pair, each with one address of a private
//! /24 that exists only between them ([`NetnsPair`]); and a host with two links
//! ([`MultiHomed`]). Nothing reaches the machine's real interfaces: only 198.18.0.0/15
//! is used, and no namespace has a route out.
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

/// Creating namespaces failed: skip the test (or fail under `SHOAL_REQUIRE_INTEROP`).
fn unavailable(test: &str, e: String) {
    let msg = format!("{test}: cannot create network namespaces: {e}");
    if std::env::var_os("SHOAL_REQUIRE_INTEROP").is_some_and(|v| !v.is_empty()) {
        panic!("SHOAL_REQUIRE_INTEROP is set but {msg}");
    }
    say(&format!("SKIP: {msg}"));
}

fn unique_tag() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}{}",
        std::process::id() % 100_000,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
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
        let tag = unique_tag();
        let pair = NetnsPair {
            a: format!("shoal{tag}a"),
            b: format!("shoal{tag}b"),
            ip_a: "198.18.201.1".to_string(),
            ip_b: "198.18.201.2".to_string(),
        };
        match pair.setup(&tag) {
            Ok(()) => Some(pair),
            Err(e) => {
                unavailable(test, e);
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

/// A host namespace `host` with two links: `via_a` to namespace `a`, `via_b` to
/// namespace `b`. Namespace `a` also holds [`MultiHomed::REMOTE`] on its loopback,
/// and the host reaches that address both ways, preferring `via_b` (lower metric):
/// only a socket bound to `via_a` uses the other link. IPv6 is off in the host, so
/// the kernel sends nothing of its own on either link.
pub struct MultiHomed {
    pub host: String,
    pub a: String,
    pub b: String,
    pub via_a: String,
    pub via_b: String,
}

impl MultiHomed {
    /// The address behind both links.
    pub const REMOTE: &'static str = "198.18.212.1";

    pub fn create(test: &str) -> Option<MultiHomed> {
        let tag = unique_tag();
        let net = MultiHomed {
            host: format!("shoal{tag}h"),
            a: format!("shoal{tag}a"),
            b: format!("shoal{tag}b"),
            via_a: format!("sh{tag}a"),
            via_b: format!("sh{tag}b"),
        };
        match net.setup(&tag) {
            Ok(()) => Some(net),
            Err(e) => {
                unavailable(test, e);
                None
            }
        }
    }

    fn setup(&self, tag: &str) -> Result<(), String> {
        for ns in [&self.host, &self.a, &self.b] {
            ip(&["netns", "add", ns])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        for key in ["all", "default"] {
            let path = format!("/proc/sys/net/ipv6/conf/{key}/disable_ipv6");
            let out = Self::exec(&self.host, "sh")
                .args(["-c", &format!("echo 1 > {path}")])
                .output()
                .map_err(|e| format!("cannot run sh: {e}"))?;
            if !out.status.success() {
                return Err(format!("cannot turn IPv6 off: {out:?}"));
            }
        }
        let (far_a, far_b) = (format!("sp{tag}a"), format!("sp{tag}b"));
        for (near, far, ns, near_ip, far_ip) in [
            (
                &self.via_a,
                &far_a,
                &self.a,
                "198.18.210.2/24",
                "198.18.210.1/24",
            ),
            (
                &self.via_b,
                &far_b,
                &self.b,
                "198.18.211.2/24",
                "198.18.211.1/24",
            ),
        ] {
            ip(&[
                "link", "add", near, "netns", &self.host, "type", "veth", "peer", "name", far,
                "netns", ns,
            ])?;
            ip(&["-n", &self.host, "addr", "add", near_ip, "dev", near])?;
            ip(&["-n", ns, "addr", "add", far_ip, "dev", far])?;
            ip(&["-n", &self.host, "link", "set", near, "up"])?;
            ip(&["-n", ns, "link", "set", far, "up"])?;
        }
        ip(&[
            "-n",
            &self.a,
            "addr",
            "add",
            &format!("{}/32", Self::REMOTE),
            "dev",
            "lo",
        ])?;
        let routes = [
            ("198.18.211.1", &self.via_b, "10"),
            ("198.18.210.1", &self.via_a, "100"),
        ];
        for (gateway, dev, metric) in routes {
            ip(&[
                "-n",
                &self.host,
                "route",
                "add",
                "198.18.212.0/24",
                "via",
                gateway,
                "dev",
                dev,
                "metric",
                metric,
            ])?;
        }
        Ok(())
    }

    /// `ip netns exec NS PROGRAM`.
    pub fn exec(ns: &str, program: &str) -> Command {
        NetnsPair::exec(ns, program)
    }

    /// Packets the host has sent through `dev` (one of its two links).
    pub fn sent_through(&self, dev: &str) -> u64 {
        let out = Command::new("ip")
            .args(["-n", &self.host, "-s", "-j", "link", "show", dev])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["stats64"]["tx"]["packets"].as_u64().unwrap()
    }
}

impl Drop for MultiHomed {
    fn drop(&mut self) {
        for ns in [&self.host, &self.a, &self.b] {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}
