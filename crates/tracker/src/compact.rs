//! Compact peer formats: 6 bytes per IPv4 peer (BEP 23) and 18 bytes per IPv6 peer (BEP 7),
//! address then port, both big-endian.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Length of one compact IPv4 peer entry.
pub const V4_LEN: usize = 6;
/// Length of one compact IPv6 peer entry.
pub const V6_LEN: usize = 18;

/// Decodes compact IPv4 peers. A trailing partial entry is ignored; port-0 entries are skipped.
pub fn parse_v4(bytes: &[u8]) -> impl Iterator<Item = SocketAddr> + '_ {
    bytes.chunks_exact(V4_LEN).filter_map(|c| {
        let ip = Ipv4Addr::new(c[0], c[1], c[2], c[3]);
        let port = u16::from_be_bytes([c[4], c[5]]);
        (port != 0).then(|| SocketAddr::V4(SocketAddrV4::new(ip, port)))
    })
}

/// Decodes compact IPv6 peers. A trailing partial entry is ignored; port-0 entries are skipped.
pub fn parse_v6(bytes: &[u8]) -> impl Iterator<Item = SocketAddr> + '_ {
    bytes.chunks_exact(V6_LEN).filter_map(|c| {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&c[..16]);
        let port = u16::from_be_bytes([c[16], c[17]]);
        (port != 0).then(|| SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(octets), port, 0, 0)))
    })
}

/// Appends the compact form of `addr` (6 or 18 bytes depending on its family).
pub fn encode_into(addr: &SocketAddr, out: &mut Vec<u8>) {
    match addr {
        SocketAddr::V4(a) => out.extend_from_slice(&a.ip().octets()),
        SocketAddr::V6(a) => out.extend_from_slice(&a.ip().octets()),
    }
    out.extend_from_slice(&addr.port().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_v4() {
        let data = [10, 0, 0, 1, 0x1A, 0xE1, 1, 2, 3, 4, 0, 0, 9];
        let peers: Vec<_> = parse_v4(&data).collect();
        assert_eq!(peers, vec!["10.0.0.1:6881".parse().unwrap()]);
    }

    proptest! {
        #[test]
        fn v4_round_trip(peers in proptest::collection::vec((any::<[u8; 4]>(), 1u16..), 0..20)) {
            let addrs: Vec<SocketAddr> = peers.iter()
                .map(|(ip, port)| SocketAddr::from((Ipv4Addr::from(*ip), *port))).collect();
            let mut buf = Vec::new();
            for a in &addrs { encode_into(a, &mut buf); }
            prop_assert_eq!(parse_v4(&buf).collect::<Vec<_>>(), addrs);
        }

        #[test]
        fn v6_round_trip(peers in proptest::collection::vec((any::<[u8; 16]>(), 1u16..), 0..20)) {
            let addrs: Vec<SocketAddr> = peers.iter()
                .map(|(ip, port)| SocketAddr::from((Ipv6Addr::from(*ip), *port))).collect();
            let mut buf = Vec::new();
            for a in &addrs { encode_into(a, &mut buf); }
            prop_assert_eq!(parse_v6(&buf).collect::<Vec<_>>(), addrs);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = parse_v4(&data).count();
            let _ = parse_v6(&data).count();
        }
    }
}
