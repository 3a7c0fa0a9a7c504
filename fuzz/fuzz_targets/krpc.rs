//! DHT wire formats: KRPC `Message::decode` on arbitrary datagrams (caps, encode →
//! decode round trip), compact node lists, and the routing-table snapshot a node
//! restores from its state file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoal_dht::compact::{decode_nodes, encode_nodes};
use shoal_dht::krpc::{
    Body, Message, MAX_NODES, MAX_TOKEN_LEN, MAX_TRANSACTION_ID_LEN, MAX_VALUES, MAX_VERSION_LEN,
};
use shoal_dht::snapshot::{self, MAX_SNAPSHOT_NODES};

fn check_message(msg: &Message) {
    assert!(msg.transaction_id.len() <= MAX_TRANSACTION_ID_LEN);
    assert!(msg
        .version
        .as_ref()
        .is_none_or(|v| v.len() <= MAX_VERSION_LEN));
    if let Body::Response(r) = &msg.body {
        assert!(r.nodes.len() <= MAX_NODES && r.nodes6.len() <= MAX_NODES);
        assert!(r.values.len() <= MAX_VALUES);
        assert!(r.token.as_ref().is_none_or(|t| t.len() <= MAX_TOKEN_LEN));
        assert!(r.nodes.iter().all(|n| n.addr.is_ipv4()));
        assert!(r.nodes6.iter().all(|n| n.addr.is_ipv6()));
    }
    let encoded = msg.encode();
    let again = Message::decode(&encoded).expect("own encoding decodes");
    assert_eq!(&again, msg, "KRPC round trip");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Message::decode(data) {
        check_message(&msg);
    }
    for v6 in [false, true] {
        if let Some(nodes) = decode_nodes(data, v6, MAX_NODES) {
            assert!(nodes.len() <= MAX_NODES);
            let encoded = encode_nodes(&nodes, v6);
            assert_eq!(decode_nodes(&encoded, v6, MAX_NODES), Some(nodes));
        }
    }
    if let Ok(snap) = snapshot::decode(data) {
        assert!(snap.nodes.len() <= 2 * MAX_SNAPSHOT_NODES);
    }
});
