//! Compact binary encodings used by the DHT: peers (6-byte IPv4 / 18-byte IPv6
//! `ip|port`, the shared codec of `shoal-compact`, re-exported under the DHT's names)
//! and node infos (26-byte IPv4 / 38-byte IPv6 `id|ip|port`, BEP 5 and 32).

use std::net::SocketAddr;

use crate::id::{NodeId, ID_LEN};

pub use shoal_compact::{
    decode as decode_peer, encode_into as encode_peer, is_dialable as is_usable,
    to_bytes as peer_bytes, V4_LEN as PEER_V4_LEN, V6_LEN as PEER_V6_LEN,
};
/// Length of one compact IPv4 node info (id, address, port).
pub const NODE_V4_LEN: usize = ID_LEN + PEER_V4_LEN;
/// Length of one compact IPv6 node info (id, address, port).
pub const NODE_V6_LEN: usize = ID_LEN + PEER_V6_LEN;

/// A node's id and UDP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeInfo {
    /// The node's id.
    pub id: NodeId,
    /// Where it listens (UDP).
    pub addr: SocketAddr,
}

/// Concatenated compact node infos of one address family: IPv4 nodes when `v6` is
/// false, IPv6 nodes otherwise; nodes of the other family are skipped.
pub fn encode_nodes(nodes: &[NodeInfo], v6: bool) -> Vec<u8> {
    let entry = if v6 { NODE_V6_LEN } else { NODE_V4_LEN };
    let mut out = Vec::with_capacity(nodes.len() * entry);
    for node in nodes.iter().filter(|n| n.addr.is_ipv6() == v6) {
        out.extend_from_slice(&node.id.0);
        encode_peer(&node.addr, &mut out);
    }
    out
}

/// Parses concatenated compact node infos (`v6` selects 38- or 26-byte entries). Returns
/// `None` if the length is not a multiple of the entry size; reads at most `max` entries.
pub fn decode_nodes(bytes: &[u8], v6: bool, max: usize) -> Option<Vec<NodeInfo>> {
    let entry = if v6 { NODE_V6_LEN } else { NODE_V4_LEN };
    if !bytes.len().is_multiple_of(entry) {
        return None;
    }
    let mut out = Vec::with_capacity((bytes.len() / entry).min(max));
    for chunk in bytes.chunks_exact(entry).take(max) {
        let id = NodeId::from_slice(&chunk[..ID_LEN])?;
        let addr = decode_peer(&chunk[ID_LEN..])?;
        out.push(NodeInfo { id, addr });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_round_trip() {
        for addr in ["1.2.3.4:6881", "[2001:db8::7]:65535"] {
            let addr: SocketAddr = addr.parse().unwrap();
            assert_eq!(decode_peer(&peer_bytes(&addr)), Some(addr));
        }
        assert_eq!(decode_peer(&[0; 7]), None);
    }

    #[test]
    fn nodes_round_trip_and_lengths() {
        let a = NodeInfo {
            id: NodeId([1; 20]),
            addr: "10.0.0.1:1".parse().unwrap(),
        };
        let b = NodeInfo {
            id: NodeId([2; 20]),
            addr: "[::1]:2".parse().unwrap(),
        };
        let v4 = encode_nodes(&[a, b], false);
        assert_eq!(v4.len(), 26);
        assert_eq!(decode_nodes(&v4, false, 8), Some(vec![a]));
        let v6 = encode_nodes(&[a, b], true);
        assert_eq!(decode_nodes(&v6, true, 8), Some(vec![b]));
        assert_eq!(decode_nodes(&v4[..25], false, 8), None);
        let many = encode_nodes(&[a; 10], false);
        assert_eq!(decode_nodes(&many, false, 3).unwrap().len(), 3);
    }
}
