//! Compact peer lists in tracker replies (BEP 23 for IPv4, BEP 7 for IPv6), on top of
//! the shared codec in `shoal-compact`. Entries with port 0 are skipped: a tracker
//! listing them means nothing one could connect to.

use std::net::SocketAddr;

pub use shoal_compact::{encode_into, V4_LEN, V6_LEN};

/// Decodes compact IPv4 peers. A trailing partial entry is ignored; port-0 entries are skipped.
pub fn parse_v4(bytes: &[u8]) -> impl Iterator<Item = SocketAddr> + '_ {
    shoal_compact::decode_all_v4(bytes).filter(|a| a.port() != 0)
}

/// Decodes compact IPv6 peers. A trailing partial entry is ignored; port-0 entries are skipped.
pub fn parse_v6(bytes: &[u8]) -> impl Iterator<Item = SocketAddr> + '_ {
    shoal_compact::decode_all_v6(bytes).filter(|a| a.port() != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_entries_are_skipped() {
        let data = [10, 0, 0, 1, 0x1A, 0xE1, 1, 2, 3, 4, 0, 0, 9];
        let peers: Vec<_> = parse_v4(&data).collect();
        assert_eq!(peers, vec!["10.0.0.1:6881".parse().unwrap()]);
        let mut v6 = vec![0u8; 18];
        v6[15] = 1;
        assert_eq!(parse_v6(&v6).count(), 0);
        v6[17] = 80;
        assert_eq!(
            parse_v6(&v6).collect::<Vec<_>>(),
            vec!["[::1]:80".parse().unwrap()]
        );
    }
}
