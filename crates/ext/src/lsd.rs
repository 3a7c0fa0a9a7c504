//! BEP 14 Local Service Discovery: the `BT-SEARCH` announce datagram multicast to
//! 239.192.152.143:6771 or [ff15::efc0:988f]:6771, a tolerant parser for received ones,
//! and cookie generation. The send schedule lives in [`crate::lsd_schedule`].
//!
//! Parsing accepts CRLF or bare LF line ends, header names in any case, surrounding
//! whitespace and multiple `Infohash` headers; it refuses datagrams above
//! [`MAX_LSD_DATAGRAM`] and keeps at most [`MAX_LSD_INFOHASHES`] info-hashes. LSD must not
//! be used for private torrents (BEP 27).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use rand::Rng;

pub use crate::lsd_schedule::{LsdDatagram, LsdScheduler};

/// The LSD multicast port.
pub const LSD_PORT: u16 = 6771;
/// The IPv4 LSD multicast group.
pub const LSD_GROUP_V4: Ipv4Addr = Ipv4Addr::new(239, 192, 152, 143);
/// The IPv6 LSD multicast group.
pub const LSD_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff15, 0, 0, 0, 0, 0, 0xefc0, 0x988f);
/// Largest datagram we parse.
pub const MAX_LSD_DATAGRAM: usize = 2048;
/// Most info-hashes kept from one received datagram.
pub const MAX_LSD_INFOHASHES: usize = 32;
/// Most info-hashes we put in one datagram (keeps it well under 1400 bytes).
pub const MAX_INFOHASHES_PER_DATAGRAM: usize = 20;
/// Longest cookie we send or keep.
pub const MAX_COOKIE_LEN: usize = 64;
/// Most lines examined in a received datagram.
const MAX_LINES: usize = 64;

/// Which multicast group an announce is for (it decides the `Host` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LsdFamily {
    /// `239.192.152.143:6771`.
    V4,
    /// `[ff15::efc0:988f]:6771`.
    V6,
}

impl LsdFamily {
    /// Where to send announces for this family.
    pub fn group(self) -> SocketAddr {
        match self {
            LsdFamily::V4 => SocketAddr::from((LSD_GROUP_V4, LSD_PORT)),
            LsdFamily::V6 => SocketAddr::from((LSD_GROUP_V6, LSD_PORT)),
        }
    }

    /// Value of the `Host` header.
    pub fn host(self) -> &'static str {
        match self {
            LsdFamily::V4 => "239.192.152.143:6771",
            LsdFamily::V6 => "[ff15::efc0:988f]:6771",
        }
    }
}

/// Contents of an LSD announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LsdAnnounce {
    /// The announcer's BitTorrent listen port.
    pub port: u16,
    /// The torrents announced (`Infohash` headers).
    pub info_hashes: Vec<[u8; 20]>,
    /// Opaque token identifying the sender, to recognise our own announces.
    pub cookie: Option<String>,
}

/// Why a received datagram was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LsdError {
    /// Longer than any announce we accept.
    #[error("LSD datagram of {len} bytes exceeds {max}")]
    TooLarge {
        /// Length of the datagram.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The request method is not `BT-SEARCH`.
    #[error("not a BT-SEARCH datagram")]
    NotBtSearch,
    /// No `Port` header with a port other than 0.
    #[error("LSD announce without a valid Port header")]
    MissingPort,
    /// No `Infohash` header with 40 hex digits.
    #[error("LSD announce without a valid Infohash header")]
    NoInfohash,
}

/// A fresh random cookie (16 hex digits).
pub fn random_cookie() -> String {
    random_cookie_with(&mut rand::thread_rng())
}

/// A random cookie drawn from `rng` (16 hex digits).
pub fn random_cookie_with<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!("{:016x}", rng.gen::<u64>())
}

/// Whether `cookie` can go into a header: 1..=64 visible ASCII characters.
fn valid_cookie(cookie: &str) -> bool {
    (1..=MAX_COOKIE_LEN).contains(&cookie.len()) && cookie.bytes().all(|b| b.is_ascii_graphic())
}

fn hex_lower(bytes: &[u8; 20]) -> String {
    bytes.iter().fold(String::with_capacity(40), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn parse_hex_hash(text: &str) -> Option<[u8; 20]> {
    let bytes = text.as_bytes();
    if bytes.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let digit = |c: u8| char::from(c).to_digit(16);
        *o = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(out)
}

impl LsdAnnounce {
    /// Builds the datagram for `family`. A cookie that is not 1..=64 visible ASCII
    /// characters is left out rather than allowed to corrupt the headers.
    pub fn encode(&self, family: LsdFamily) -> Vec<u8> {
        let mut s = String::with_capacity(100 + 52 * self.info_hashes.len());
        s.push_str("BT-SEARCH * HTTP/1.1\r\n");
        let _ = write!(s, "Host: {}\r\nPort: {}\r\n", family.host(), self.port);
        for hash in &self.info_hashes {
            let _ = write!(s, "Infohash: {}\r\n", hex_lower(hash));
        }
        if let Some(cookie) = self.cookie.as_deref().filter(|c| valid_cookie(c)) {
            let _ = write!(s, "cookie: {cookie}\r\n");
        }
        s.push_str("\r\n\r\n");
        s.into_bytes()
    }

    /// Parses a received datagram.
    pub fn parse(datagram: &[u8]) -> Result<Self, LsdError> {
        if datagram.len() > MAX_LSD_DATAGRAM {
            return Err(LsdError::TooLarge {
                len: datagram.len(),
                max: MAX_LSD_DATAGRAM,
            });
        }
        let mut lines = datagram
            .split(|&b| b == b'\n')
            .take(MAX_LINES)
            .map(|line| std::str::from_utf8(line).map(str::trim));
        let request_line = lines.next().and_then(Result::ok).unwrap_or_default();
        let mut words = request_line.split_ascii_whitespace();
        let method_ok = words
            .next()
            .is_some_and(|m| m.eq_ignore_ascii_case("BT-SEARCH"));
        if !method_ok {
            return Err(LsdError::NotBtSearch);
        }
        let mut port = None;
        let mut info_hashes: Vec<[u8; 20]> = Vec::new();
        let mut cookie = None;
        for line in lines.filter_map(Result::ok) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("port") {
                port = port.or(value.parse::<u16>().ok().filter(|&p| p != 0));
            } else if name.eq_ignore_ascii_case("infohash") {
                let hash = parse_hex_hash(value);
                if let Some(hash) = hash.filter(|h| !info_hashes.contains(h)) {
                    if info_hashes.len() < MAX_LSD_INFOHASHES {
                        info_hashes.push(hash);
                    }
                }
            } else if name.eq_ignore_ascii_case("cookie") && valid_cookie(value) {
                cookie = cookie.or(Some(value.to_owned()));
            }
        }
        let port = port.ok_or(LsdError::MissingPort)?;
        if info_hashes.is_empty() {
            return Err(LsdError::NoInfohash);
        }
        Ok(LsdAnnounce {
            port,
            info_hashes,
            cookie,
        })
    }

    /// Parses a received datagram, returning `Ok(None)` for our own announce (its
    /// cookie equals `own_cookie`).
    pub fn parse_foreign(datagram: &[u8], own_cookie: &str) -> Result<Option<Self>, LsdError> {
        let announce = Self::parse(datagram)?;
        if announce.cookie.as_deref() == Some(own_cookie) {
            return Ok(None);
        }
        Ok(Some(announce))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    const H1: [u8; 20] = [0xab; 20];
    const H2: [u8; 20] = [0x01; 20];

    #[test]
    fn encodes_bep14_datagram() {
        let a = LsdAnnounce {
            port: 6881,
            info_hashes: vec![H1],
            cookie: Some("c00kie".into()),
        };
        let expected = format!(
            "BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\n\
             Infohash: {}\r\ncookie: c00kie\r\n\r\n\r\n",
            "ab".repeat(20)
        );
        assert_eq!(a.encode(LsdFamily::V4), expected.as_bytes());
        let v6 = String::from_utf8(a.encode(LsdFamily::V6)).unwrap();
        assert!(v6.contains("Host: [ff15::efc0:988f]:6771\r\n"));
        assert_eq!(LsdFamily::V6.group().to_string(), "[ff15::efc0:988f]:6771");
        assert_eq!(LsdFamily::V4.group().to_string(), "239.192.152.143:6771");
        // A cookie that could break the headers is dropped.
        let bad = LsdAnnounce {
            cookie: Some("a\r\nPort: 1".into()),
            ..a
        };
        assert!(!String::from_utf8(bad.encode(LsdFamily::V4))
            .unwrap()
            .contains("cookie"));
    }

    #[test]
    fn parses_tolerantly() {
        let datagram = format!(
            "bt-search * HTTP/1.1\nHOST: whatever\n  port :  51413  \ninfohash: {}\r\n\
             InfoHash:{}\nInfohash: nothex\nInfohash: {}\ngarbage line\nCookie: xyz\n\n",
            "AB".repeat(20),
            "01".repeat(20),
            "ab".repeat(20)
        );
        let a = LsdAnnounce::parse(datagram.as_bytes()).unwrap();
        assert_eq!(a.port, 51413);
        assert_eq!(a.info_hashes, vec![H1, H2]);
        assert_eq!(a.cookie.as_deref(), Some("xyz"));
        assert_eq!(
            LsdAnnounce::parse_foreign(datagram.as_bytes(), "xyz"),
            Ok(None)
        );
        assert!(LsdAnnounce::parse_foreign(datagram.as_bytes(), "other")
            .unwrap()
            .is_some());
    }

    #[test]
    fn refuses_bad_datagrams() {
        let hash_line = format!("Infohash: {}\r\n", "ab".repeat(20));
        assert_eq!(
            LsdAnnounce::parse(b"M-SEARCH * HTTP/1.1\r\n"),
            Err(LsdError::NotBtSearch)
        );
        assert_eq!(LsdAnnounce::parse(b""), Err(LsdError::NotBtSearch));
        let no_port = format!("BT-SEARCH * HTTP/1.1\r\nPort: 0\r\n{hash_line}");
        assert_eq!(
            LsdAnnounce::parse(no_port.as_bytes()),
            Err(LsdError::MissingPort)
        );
        assert_eq!(
            LsdAnnounce::parse(b"BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n"),
            Err(LsdError::NoInfohash)
        );
        let big = vec![b'a'; MAX_LSD_DATAGRAM + 1];
        assert!(matches!(
            LsdAnnounce::parse(&big),
            Err(LsdError::TooLarge { .. })
        ));
    }

    #[test]
    fn caps_infohashes() {
        let mut s = String::from("BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n");
        for i in 0..35u8 {
            s.push_str(&format!("Infohash: {}\r\n", hex_lower(&[i; 20])));
        }
        let a = LsdAnnounce::parse(s.as_bytes()).unwrap();
        assert_eq!(a.info_hashes.len(), MAX_LSD_INFOHASHES);
    }

    #[test]
    fn cookies_are_random_tokens() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let a = random_cookie_with(&mut rng);
        let b = random_cookie_with(&mut rng);
        assert_ne!(a, b);
        assert!(valid_cookie(&a) && a.len() == 16);
        assert!(valid_cookie(&random_cookie()));
    }

    fn arb_announce() -> impl Strategy<Value = LsdAnnounce> {
        (
            1u16..,
            proptest::collection::btree_set(any::<[u8; 20]>(), 1..=MAX_INFOHASHES_PER_DATAGRAM),
            proptest::option::of("[!-~]{1,64}"),
        )
            .prop_map(|(port, hashes, cookie)| LsdAnnounce {
                port,
                info_hashes: hashes.into_iter().collect(),
                cookie,
            })
    }

    proptest! {
        #[test]
        fn round_trip(a in arb_announce(), v6 in any::<bool>()) {
            let family = if v6 { LsdFamily::V6 } else { LsdFamily::V4 };
            let bytes = a.encode(family);
            prop_assert!(bytes.len() <= 1400);
            prop_assert_eq!(LsdAnnounce::parse(&bytes), Ok(a));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = LsdAnnounce::parse(&bytes);
        }

        #[test]
        fn header_like_text_never_panics(s in "(BT-SEARCH|Port|Infohash|cookie|:| |\r|\n|[0-9a-f]{1,40}){0,40}") {
            let _ = LsdAnnounce::parse(s.as_bytes());
        }
    }
}
