//! Magnet links (BEP 9): parsing and formatting `magnet:?xt=urn:btih:…` URIs.

use std::collections::HashSet;
use std::fmt;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::InfoHash;

/// A parsed v1 magnet link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Magnet {
    /// From `xt=urn:btih:` (40 hex or 32 base32 characters).
    pub info_hash: InfoHash,
    /// `dn`: suggested display name (`+` decodes to a space).
    pub display_name: Option<String>,
    /// `tr` and `tr.N`, in order of appearance, duplicates removed.
    pub trackers: Vec<String>,
    /// `x.pe`: peer addresses as `host:port` (unvalidated).
    pub peers: Vec<String>,
    /// `so` (BEP 53 select-only), kept raw, e.g. `0,2,4-6`.
    pub select_only: Option<String>,
    /// Every other parameter (percent-decoded), in original order.
    pub extra: Vec<(String, String)>,
}

/// Why a string is not a usable magnet link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MagnetError {
    /// Does not start with `magnet:`.
    #[error("not a magnet link (must start with `magnet:`)")]
    NotMagnet,
    /// No `xt=urn:btih:` parameter.
    #[error("magnet link has no `xt=urn:btih:` info-hash")]
    MissingInfoHash,
    /// Only a v2 (`urn:btmh:`) hash, which is not supported.
    #[error("magnet link has only a BitTorrent v2 hash (urn:btmh), which is unsupported")]
    V2Only,
    /// The `btih` value is neither 40 hex nor 32 base32 characters.
    #[error("invalid info-hash in magnet link: {0:?}")]
    InvalidInfoHash(String),
}

/// Everything except RFC 3986 unreserved characters gets escaped.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// For `so`, which is a list of ranges: keep `,` readable.
const SELECT_ONLY: &AsciiSet = &COMPONENT.remove(b',');

/// Most trackers (`tr`) kept from one link; the rest are ignored (a link can come from
/// anyone, and each tracker or peer costs work later).
pub const MAX_MAGNET_TRACKERS: usize = 256;
/// Most peer addresses (`x.pe`) kept from one link; see [`MAX_MAGNET_TRACKERS`].
pub const MAX_MAGNET_PEERS: usize = 1024;
/// Most other parameters kept from one link; see [`MAX_MAGNET_TRACKERS`].
pub const MAX_MAGNET_EXTRA: usize = 256;

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn decode_plus(s: &str) -> String {
    decode(&s.replace('+', " "))
}

fn is_tracker_key(key: &str) -> bool {
    key == "tr"
        || key
            .strip_prefix("tr.")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl Magnet {
    /// A magnet link with just an info-hash.
    pub fn new(info_hash: InfoHash) -> Magnet {
        Magnet {
            info_hash,
            display_name: None,
            trackers: Vec::new(),
            peers: Vec::new(),
            select_only: None,
            extra: Vec::new(),
        }
    }

    /// Parses a magnet URI. Keys are matched case-insensitively; the first `btih` wins
    /// (later differing ones, `btmh` hashes and unknown keys are kept in `extra`).
    /// Trackers, peers and other parameters past their `MAX_MAGNET_*` cap are dropped.
    pub fn parse(s: &str) -> Result<Magnet, MagnetError> {
        let rest = strip_prefix_ci(s.trim(), "magnet:").ok_or(MagnetError::NotMagnet)?;
        let query = rest.strip_prefix('?').unwrap_or(rest);
        let mut info_hash = None;
        let mut saw_v2 = false;
        let mut m = Magnet::new(InfoHash::default());
        let mut seen_trackers = HashSet::new();
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (raw_key, raw_val) = part.split_once('=').unwrap_or((part, ""));
            let key = decode(raw_key);
            let lower = key.to_ascii_lowercase();
            match lower.as_str() {
                "xt" => {
                    let val = decode(raw_val);
                    match (strip_prefix_ci(&val, "urn:btih:"), info_hash) {
                        (Some(h), None) => {
                            let parsed = h
                                .parse::<InfoHash>()
                                .map_err(|_| MagnetError::InvalidInfoHash(h.to_owned()))?;
                            info_hash = Some(parsed);
                        }
                        (Some(h), Some(first)) if h.parse::<InfoHash>() == Ok(first) => {}
                        _ => {
                            saw_v2 |= strip_prefix_ci(&val, "urn:btmh:").is_some();
                            if m.extra.len() < MAX_MAGNET_EXTRA {
                                m.extra.push((key, val));
                            }
                        }
                    }
                }
                "dn" if m.display_name.is_none() => m.display_name = Some(decode_plus(raw_val)),
                k if is_tracker_key(k) => {
                    let t = decode(raw_val);
                    if !t.is_empty()
                        && m.trackers.len() < MAX_MAGNET_TRACKERS
                        && seen_trackers.insert(t.clone())
                    {
                        m.trackers.push(t);
                    }
                }
                "x.pe" => {
                    let p = decode(raw_val);
                    if !p.is_empty() && m.peers.len() < MAX_MAGNET_PEERS {
                        m.peers.push(p);
                    }
                }
                "so" if m.select_only.is_none() => m.select_only = Some(decode(raw_val)),
                _ if m.extra.len() < MAX_MAGNET_EXTRA => m.extra.push((key, decode(raw_val))),
                _ => {}
            }
        }
        m.info_hash = match info_hash {
            Some(h) => h,
            None if saw_v2 => return Err(MagnetError::V2Only),
            None => return Err(MagnetError::MissingInfoHash),
        };
        Ok(m)
    }
}

impl std::str::FromStr for Magnet {
    type Err = MagnetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Magnet::parse(s)
    }
}

impl fmt::Display for Magnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "magnet:?xt=urn:btih:{}", self.info_hash.to_hex())?;
        let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
        if let Some(dn) = &self.display_name {
            write!(f, "&dn={}", enc(dn))?;
        }
        for t in &self.trackers {
            write!(f, "&tr={}", enc(t))?;
        }
        for p in &self.peers {
            write!(f, "&x.pe={}", enc(p))?;
        }
        if let Some(so) = &self.select_only {
            write!(f, "&so={}", utf8_percent_encode(so, SELECT_ONLY))?;
        }
        for (k, v) in &self.extra {
            write!(f, "&{}={}", enc(k), enc(v))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEX: &str = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";

    /// A 4 MiB link of distinct trackers, peers and unknown keys parses quickly (the
    /// tracker de-duplication was quadratic) and keeps only the capped numbers.
    #[test]
    fn huge_links_are_capped_and_linear() {
        let mut s = format!("magnet:?xt=urn:btih:{HEX}");
        let mut n = 0u32;
        while s.len() < 4 << 20 {
            s.push_str(&format!("&tr=udp://t{n}:1&x.pe=127.0.0.1:{n}&k{n}=v"));
            n += 1;
        }
        let started = std::time::Instant::now();
        let m = Magnet::parse(&s).unwrap();
        assert_eq!(m.trackers.len(), MAX_MAGNET_TRACKERS);
        assert_eq!(m.peers.len(), MAX_MAGNET_PEERS);
        assert_eq!(m.extra.len(), MAX_MAGNET_EXTRA);
        assert_eq!(m.trackers[1], "udp://t1:1");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn parse_hex_full() {
        let s = format!(
            "magnet:?xt=urn:btih:{HEX}&dn=Some+File%20Name&tr=udp%3A%2F%2Ft.example%3A80&tr.1=http://x/a?b\
             &x.pe=127.0.0.1:6881&so=0,2,4-6&ws=http%3A%2F%2Fw&foo=bar"
        );
        let m = Magnet::parse(&s).unwrap();
        assert_eq!(m.info_hash.to_hex(), HEX);
        assert_eq!(m.display_name.as_deref(), Some("Some File Name"));
        assert_eq!(m.trackers, vec!["udp://t.example:80", "http://x/a?b"]);
        assert_eq!(m.peers, vec!["127.0.0.1:6881"]);
        assert_eq!(m.select_only.as_deref(), Some("0,2,4-6"));
        assert_eq!(
            m.extra,
            vec![
                ("ws".to_string(), "http://w".to_string()),
                ("foo".to_string(), "bar".to_string())
            ]
        );
        let again = Magnet::parse(&m.to_string()).unwrap();
        assert_eq!(again, m);
        assert!(m
            .to_string()
            .starts_with(&format!("magnet:?xt=urn:btih:{HEX}&dn=Some%20File%20Name")));
        assert!(m.to_string().contains("&so=0,2,4-6"));
    }

    #[test]
    fn parse_base32_case_insensitive() {
        let h = InfoHash::from_hex(HEX).unwrap();
        let b32 = h.to_base32().to_lowercase();
        let m = Magnet::parse(&format!("MAGNET:?XT=URN:BTIH:{b32}")).unwrap();
        assert_eq!(m.info_hash, h);
        assert_eq!(m.to_string(), format!("magnet:?xt=urn:btih:{HEX}"));
    }

    #[test]
    fn errors() {
        assert_eq!(Magnet::parse("http://x"), Err(MagnetError::NotMagnet));
        assert_eq!(
            Magnet::parse("magnet:?dn=x"),
            Err(MagnetError::MissingInfoHash)
        );
        assert_eq!(
            Magnet::parse("magnet:?xt=urn:btih:abc"),
            Err(MagnetError::InvalidInfoHash("abc".into()))
        );
        assert_eq!(
            Magnet::parse("magnet:?xt=urn:btmh:1220aaaa"),
            Err(MagnetError::V2Only)
        );
        assert_eq!(Magnet::parse("magnet"), Err(MagnetError::NotMagnet));
        assert_eq!(Magnet::parse("magnét"), Err(MagnetError::NotMagnet));
    }

    #[test]
    fn hybrid_and_duplicates() {
        let other = "ff".repeat(20);
        let s = format!(
            "magnet:?xt=urn:btmh:1220ab&xt=urn:btih:{HEX}&xt=urn:btih:{}&xt=urn:btih:{other}&tr=a&tr=a&dn=one&dn=two",
            HEX.to_uppercase()
        );
        let m = Magnet::parse(&s).unwrap();
        assert_eq!(m.info_hash.to_hex(), HEX);
        assert_eq!(m.trackers, vec!["a"]);
        assert_eq!(m.display_name.as_deref(), Some("one"));
        assert_eq!(m.extra.len(), 3);
        assert_eq!(Magnet::parse(&m.to_string()).unwrap(), m);
    }

    #[test]
    fn escapes_special_characters() {
        let mut m = Magnet::new(InfoHash([1; 20]));
        m.display_name = Some("a&b=c+d é%".into());
        m.trackers.push("http://t/ann?x=1&y=2".into());
        m.peers.push("[::1]:6881".into());
        m.extra.push(("k&=".into(), "v&=".into()));
        let s = m.to_string();
        assert_eq!(s.matches('&').count(), 4);
        assert_eq!(Magnet::parse(&s).unwrap(), m);
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,300}") {
            let _ = Magnet::parse(&s);
            let _ = Magnet::parse(&format!("magnet:?{s}"));
            let _ = Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&{s}"));
        }

        #[test]
        fn parse_format_round_trip(s in "[a-zA-Z0-9=&%+.:/ é,_-]{0,200}") {
            if let Ok(m) = Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&{s}")) {
                let again = Magnet::parse(&m.to_string()).unwrap();
                prop_assert_eq!(again, m);
            }
        }

        #[test]
        fn built_round_trip(
            hash in proptest::array::uniform20(any::<u8>()),
            dn in proptest::option::of(".{0,40}"),
            trackers in proptest::collection::vec(".{1,40}", 0..4),
            peers in proptest::collection::vec(".{1,20}", 0..3),
            so in proptest::option::of(".{0,20}"),
        ) {
            let mut m = Magnet::new(InfoHash(hash));
            m.display_name = dn;
            for t in trackers {
                if !m.trackers.contains(&t) {
                    m.trackers.push(t);
                }
            }
            m.peers = peers;
            m.select_only = so;
            prop_assert_eq!(Magnet::parse(&m.to_string()).unwrap(), m);
        }
    }
}
