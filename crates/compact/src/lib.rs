//! Compact peer addresses: the binary form that trackers (BEP 23, BEP 7), the DHT
//! (BEP 5, BEP 32) and peer exchange (BEP 11) share — the IP's octets, then the port,
//! big-endian: 6 bytes for IPv4, 18 for IPv6. Plus the one rule for which addresses
//! learned from the network are worth sending anything to.
#![warn(missing_docs, unreachable_pub)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Length of one compact IPv4 address.
pub const V4_LEN: usize = 6;
/// Length of one compact IPv6 address.
pub const V6_LEN: usize = 18;

/// Appends the compact form of `addr` (6 or 18 bytes depending on its family).
pub fn encode_into(addr: &SocketAddr, out: &mut Vec<u8>) {
    match addr.ip() {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
    out.extend_from_slice(&addr.port().to_be_bytes());
}

/// The compact form of `addr` as a fresh buffer.
pub fn to_bytes(addr: &SocketAddr) -> Vec<u8> {
    let mut out = Vec::with_capacity(V6_LEN);
    encode_into(addr, &mut out);
    out
}

/// Decodes one address of exactly 6 or 18 bytes; any other length is refused.
pub fn decode(bytes: &[u8]) -> Option<SocketAddr> {
    let (ip, port) = bytes.split_at_checked(bytes.len().checked_sub(2)?)?;
    let port = u16::from_be_bytes(<[u8; 2]>::try_from(port).ok()?);
    let ip = match bytes.len() {
        V4_LEN => IpAddr::from(Ipv4Addr::from(<[u8; 4]>::try_from(ip).ok()?)),
        V6_LEN => IpAddr::from(Ipv6Addr::from(<[u8; 16]>::try_from(ip).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Decodes concatenated IPv4 addresses; a trailing partial entry is ignored.
pub fn decode_all_v4(bytes: &[u8]) -> impl Iterator<Item = SocketAddr> + '_ {
    bytes.chunks_exact(V4_LEN).filter_map(decode)
}

/// Decodes concatenated IPv6 addresses; a trailing partial entry is ignored.
pub fn decode_all_v6(bytes: &[u8]) -> impl Iterator<Item = SocketAddr> + '_ {
    bytes.chunks_exact(V6_LEN).filter_map(decode)
}

/// Whether anything may be sent to `addr`: a non-zero port and an IP that is not
/// unspecified, multicast or the IPv4 broadcast address. Addresses learned from peers,
/// trackers or DHT nodes are checked with it, so nobody can point us at such targets.
pub fn is_dialable(addr: &SocketAddr) -> bool {
    let ip = addr.ip();
    addr.port() != 0
        && !ip.is_unspecified()
        && !ip.is_multicast()
        && !matches!(ip, IpAddr::V4(v4) if v4.is_broadcast())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_answers() {
        let v4: SocketAddr = "10.0.0.1:6881".parse().unwrap();
        assert_eq!(to_bytes(&v4), [10, 0, 0, 1, 0x1A, 0xE1]);
        let v6: SocketAddr = "[2001:db8::7]:65535".parse().unwrap();
        let b = to_bytes(&v6);
        assert_eq!(b.len(), V6_LEN);
        assert_eq!(&b[..2], [0x20, 0x01]);
        assert_eq!(&b[16..], [0xff, 0xff]);
        assert_eq!(decode(&b), Some(v6));
        let data = [10, 0, 0, 1, 0x1A, 0xE1, 1, 2, 3, 4, 0, 0, 9];
        assert_eq!(
            decode_all_v4(&data).collect::<Vec<_>>(),
            vec![v4, "1.2.3.4:0".parse().unwrap()]
        );
    }

    #[test]
    fn other_lengths_are_refused() {
        for n in [0, 1, 2, 5, 7, 17, 19, 38] {
            assert_eq!(decode(&vec![1; n]), None, "{n} bytes");
        }
    }

    #[test]
    fn dialable() {
        for ok in ["1.2.3.4:1", "[2001:db8::1]:80", "127.0.0.1:6881"] {
            assert!(is_dialable(&ok.parse().unwrap()), "{ok}");
        }
        for bad in [
            "1.2.3.4:0",
            "0.0.0.0:80",
            "[::]:80",
            "224.0.0.1:80",
            "[ff02::1]:80",
            "255.255.255.255:80",
        ] {
            assert!(!is_dialable(&bad.parse().unwrap()), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn round_trip(ips in proptest::collection::vec((any::<[u8; 16]>(), any::<u16>(), any::<bool>()), 0..20)) {
            let addrs: Vec<SocketAddr> = ips.iter().map(|(ip, port, v6)| {
                let ip = if *v6 { IpAddr::from(Ipv6Addr::from(*ip)) } else {
                    IpAddr::from(Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]))
                };
                SocketAddr::new(ip, *port)
            }).collect();
            for a in &addrs {
                prop_assert_eq!(decode(&to_bytes(a)), Some(*a));
            }
            let (v4, v6): (Vec<SocketAddr>, Vec<SocketAddr>) = addrs.iter().partition(|a| a.is_ipv4());
            let mut b4 = Vec::new();
            v4.iter().for_each(|a| encode_into(a, &mut b4));
            let mut b6 = Vec::new();
            v6.iter().for_each(|a| encode_into(a, &mut b6));
            prop_assert_eq!(decode_all_v4(&b4).collect::<Vec<_>>(), v4);
            prop_assert_eq!(decode_all_v6(&b6).collect::<Vec<_>>(), v6);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = decode(&data);
            let _ = decode_all_v4(&data).count();
            let _ = decode_all_v6(&data).count();
        }
    }
}
