//! Saving and restoring the routing table: a bencoded dictionary holding our id and the
//! table's non-bad nodes in compact form (`id`, `nodes`, `nodes6`), small enough for the
//! engine to write to its state directory.

use shoal_bencode::OwnedValue;

use crate::compact::{decode_nodes, encode_nodes, NodeInfo};
use crate::id::NodeId;
use crate::table::RoutingTable;

/// Most nodes read back from a snapshot (per address family).
pub const MAX_SNAPSHOT_NODES: usize = 2048;

/// A decoded snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Our node id.
    pub id: NodeId,
    /// The saved nodes, IPv4 and IPv6.
    pub nodes: Vec<NodeInfo>,
}

/// Why a snapshot could not be read (a corrupt or foreign file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Not valid bencode.
    #[error("invalid bencode: {0}")]
    Bencode(#[from] shoal_bencode::DecodeError),
    /// The bencode is not a dictionary.
    #[error("snapshot is not a dictionary")]
    NotADict,
    /// A key (named) is missing or malformed.
    #[error("missing or invalid {0:?}")]
    Invalid(&'static str),
}

/// Encodes our id and every non-bad node of `table`.
pub fn encode(table: &RoutingTable) -> Vec<u8> {
    let nodes: Vec<NodeInfo> = table
        .iter()
        .filter(|e| !e.is_bad())
        .map(|e| e.info)
        .collect();
    let mut d = OwnedValue::dict();
    d.insert("id", table.own_id().0.to_vec());
    d.insert("nodes", encode_nodes(&nodes, false));
    d.insert("nodes6", encode_nodes(&nodes, true));
    d.encode()
}

/// Reads a snapshot made by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
    let value = shoal_bencode::decode(bytes)?;
    let d = value.as_dict().ok_or(SnapshotError::NotADict)?;
    let id = d
        .get_bytes(b"id")
        .and_then(NodeId::from_slice)
        .ok_or(SnapshotError::Invalid("id"))?;
    let mut nodes = Vec::new();
    for (key, v6) in [(&b"nodes"[..], false), (&b"nodes6"[..], true)] {
        if let Some(raw) = d.get(key) {
            let bytes = raw.as_bytes().ok_or(SnapshotError::Invalid("nodes"))?;
            nodes.extend(
                decode_nodes(bytes, v6, MAX_SNAPSHOT_NODES)
                    .ok_or(SnapshotError::Invalid("nodes"))?,
            );
        }
    }
    Ok(Snapshot { id, nodes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::time::Instant;

    #[test]
    fn round_trip() {
        let t0 = Instant::now();
        let mut table = RoutingTable::new(NodeId([7; 20]));
        let a = NodeInfo {
            id: NodeId([1; 20]),
            addr: "1.2.3.4:5".parse().unwrap(),
        };
        let b = NodeInfo {
            id: NodeId([2; 20]),
            addr: "[2001:db8::1]:6".parse::<SocketAddr>().unwrap(),
        };
        table.heard_response(a, t0);
        table.heard_response(b, t0);
        let snap = decode(&encode(&table)).unwrap();
        assert_eq!(snap.id, NodeId([7; 20]));
        assert_eq!(snap.nodes, vec![a, b]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(decode(b"").is_err());
        assert_eq!(decode(b"le"), Err(SnapshotError::NotADict));
        assert_eq!(decode(b"d2:id3:abce"), Err(SnapshotError::Invalid("id")));
        assert_eq!(
            decode(b"d2:id20:aaaaaaaaaaaaaaaaaaaa5:nodes3:abce"),
            Err(SnapshotError::Invalid("nodes"))
        );
    }
}
