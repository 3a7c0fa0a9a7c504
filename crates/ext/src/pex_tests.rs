//! Unit and property tests for the `ut_pex` codec and [`PexState`](super::PexState).

use super::*;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn v4(a: u8, port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, a], port))
}

fn v6(a: u16, port: u16) -> SocketAddr {
    SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, a], port))
}

fn peer(addr: SocketAddr, flags: u8) -> PexPeer {
    PexPeer {
        addr,
        flags: PexFlags(flags),
    }
}

#[test]
fn encodes_compact_lists() {
    let msg = PexMessage {
        added: vec![peer(v4(1, 6881), 0x12), peer(v6(1, 80), 0x01)],
        dropped: vec![v4(2, 0x1a1b)],
    };
    let bytes = msg.encode();
    let expected: &[u8] = b"d5:added6:\x0a\x00\x00\x01\x1a\xe17:added.f1:\x12\
        6:added618:\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x50\
        8:added6.f1:\x017:dropped6:\x0a\x00\x00\x02\x1a\x1b8:dropped60:e";
    assert_eq!(bytes, expected);
    assert_eq!(PexMessage::decode(&bytes), Ok(msg));
}

#[test]
fn decode_is_tolerant() {
    // Unsorted keys, missing flags, a partial trailing entry, a wrong-typed field and
    // unusable addresses (port 0, unspecified IP) are all tolerated.
    let raw: &[u8] = b"d7:dropped3:abc5:added20:\x0a\x00\x00\x01\x1a\xe1\
        \x00\x00\x00\x00\x1a\xe1\x0a\x00\x00\x03\x00\x00\x01\x026:added6i5e1:xle7:added.f0:e";
    let msg = PexMessage::decode(raw).unwrap();
    assert_eq!(msg.added, vec![peer(v4(1, 6881), 0)]);
    assert!(msg.dropped.is_empty());
}

#[test]
fn decode_caps_entries_and_size() {
    let many = PexMessage {
        added: (1..=80).map(|i| peer(v4(i, 1000), 0)).collect(),
        dropped: (1..=40)
            .map(|i| v4(i, 2000))
            .chain((1..=40).map(|i| v6(i, 2000)))
            .collect(),
    };
    let msg = PexMessage::decode(&many.encode()).unwrap();
    assert_eq!(msg.added, many.added[..MAX_PEX_ENTRIES].to_vec());
    assert_eq!(msg.dropped, many.dropped[..MAX_PEX_ENTRIES].to_vec());

    let mut huge = b"d5:added70000:".to_vec();
    huge.resize(huge.len() + 70_000, 1);
    huge.push(b'e');
    assert!(matches!(
        PexMessage::decode(&huge),
        Err(PexError::TooLarge { .. })
    ));
    assert_eq!(PexMessage::decode(b"le"), Err(PexError::NotADict));
    assert!(matches!(
        PexMessage::decode(b"d5:added"),
        Err(PexError::Bencode(_))
    ));
}

#[test]
fn flags() {
    let f = PexFlags::SEED | PexFlags::SUPPORTS_UTP;
    assert_eq!(f, PexFlags(0x06));
    assert!(f.contains(PexFlags::SEED));
    assert!(!f.contains(PexFlags::REACHABLE));
    assert_eq!(PexFlags::PREFERS_ENCRYPTION.0, 0x01);
    assert_eq!(PexFlags::SUPPORTS_HOLEPUNCH.0, 0x08);
    assert_eq!(PexFlags::REACHABLE.0, 0x10);
}

#[test]
fn state_sends_diffs_at_most_once_a_minute() {
    let t0 = Instant::now();
    let me = v4(99, 6881);
    let mut st = PexState::new(false).excluding(me);
    assert_eq!(st.next_due(t0), Some(t0));
    assert_eq!(st.poll_message(t0, []), None);
    let first = st
        .poll_message(
            t0,
            [
                peer(v4(1, 1), 2),
                peer(v4(2, 2), 0),
                peer(me, 0),
                peer(v4(3, 0), 0),
            ],
        )
        .unwrap();
    assert_eq!(first.added, vec![peer(v4(1, 1), 2), peer(v4(2, 2), 0)]);
    assert!(first.dropped.is_empty());
    assert_eq!(st.next_due(t0), Some(t0 + PEX_INTERVAL));
    // Too soon.
    let later = t0 + Duration::from_secs(59);
    assert_eq!(st.poll_message(later, [peer(v6(1, 1), 0)]), None);
    // A minute later: the diff.
    let t1 = t0 + PEX_INTERVAL;
    let second = st
        .poll_message(t1, [peer(v4(2, 2), 0), peer(v6(1, 1), 4)])
        .unwrap();
    assert_eq!(second.added, vec![peer(v6(1, 1), 4)]);
    assert_eq!(second.dropped, vec![v4(1, 1)]);
    // Nothing changed: no message, and the timer is not reset.
    let t2 = t1 + PEX_INTERVAL;
    assert_eq!(
        st.poll_message(t2, [peer(v4(2, 2), 0), peer(v6(1, 1), 4)]),
        None
    );
    assert!(st.poll_message(t2, [peer(v4(2, 2), 0)]).is_some());
}

#[test]
fn state_caps_and_carries_over() {
    let t0 = Instant::now();
    let mut st = PexState::new(false);
    let connected: Vec<PexPeer> = (1..=70).map(|i| peer(v4(i, 1), 0)).collect();
    let first = st.poll_message(t0, connected.clone()).unwrap();
    assert_eq!(first.added.len(), MAX_PEX_ENTRIES);
    let second = st.poll_message(t0 + PEX_INTERVAL, connected).unwrap();
    assert_eq!(second.added.len(), 20);
    let third = st.poll_message(t0 + PEX_INTERVAL * 2, []).unwrap();
    assert_eq!(third.dropped.len(), MAX_PEX_ENTRIES);
    assert!(third.added.is_empty());
}

#[test]
fn private_torrents_never_exchange() {
    let t0 = Instant::now();
    let mut st = PexState::new(true);
    assert_eq!(st.next_due(t0), None);
    assert_eq!(st.poll_message(t0, [peer(v4(1, 1), 0)]), None);
    let payload = PexMessage {
        added: vec![peer(v4(1, 1), 0)],
        dropped: vec![],
    }
    .encode();
    assert_eq!(st.handle_message(&payload, t0), Ok(None));
}

#[test]
fn incoming_messages_are_rate_limited() {
    let t0 = Instant::now();
    let mut st = PexState::new(false);
    let payload = PexMessage {
        added: vec![peer(v4(1, 1), 0)],
        dropped: vec![],
    }
    .encode();
    assert!(st.handle_message(&payload, t0).unwrap().is_some());
    assert_eq!(
        st.handle_message(&payload, t0 + Duration::from_secs(5)),
        Ok(None)
    );
    assert!(st
        .handle_message(&payload, t0 + MIN_RECEIVE_INTERVAL)
        .unwrap()
        .is_some());
    assert!(st.handle_message(b"x", t0 + PEX_INTERVAL * 2).is_err());
}

fn arb_addr(v6: bool) -> impl Strategy<Value = SocketAddr> {
    let ip = if v6 {
        any::<[u8; 16]>()
            .prop_map(|b| IpAddr::from(Ipv6Addr::from(b)))
            .boxed()
    } else {
        any::<[u8; 4]>()
            .prop_map(|b| IpAddr::from(Ipv4Addr::from(b)))
            .boxed()
    };
    (ip, 1u16..)
        .prop_map(|(ip, port)| SocketAddr::new(ip, port))
        .prop_filter("usable", is_dialable)
}

fn arb_message() -> impl Strategy<Value = PexMessage> {
    let peers = |v6| proptest::collection::vec((arb_addr(v6), any::<u8>()), 0..25);
    let addrs = |v6| proptest::collection::vec(arb_addr(v6), 0..25);
    (peers(false), peers(true), addrs(false), addrs(true)).prop_map(|(a4, a6, d4, d6)| PexMessage {
        added: a4
            .into_iter()
            .chain(a6)
            .map(|(addr, f)| peer(addr, f))
            .collect(),
        dropped: d4.into_iter().chain(d6).collect(),
    })
}

proptest! {
    #[test]
    fn round_trip(msg in arb_message()) {
        prop_assert_eq!(PexMessage::decode(&msg.encode()), Ok(msg));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = PexMessage::decode(&bytes);
    }

    #[test]
    fn bencode_like_bytes_never_panic(s in "(d|e|i|l|[0-9]|:|added|added6|\\.f|dropped|\\x00|\\x01){0,60}") {
        let _ = PexMessage::decode(s.as_bytes());
    }
}

#[test]
fn a_flood_of_messages_is_an_error_after_a_few() {
    let t0 = Instant::now();
    let mut st = PexState::new(false);
    let payload = PexMessage {
        added: vec![peer(v4(1, 1), 0)],
        dropped: vec![],
    }
    .encode();
    assert!(st.handle_message(&payload, t0).unwrap().is_some());
    for i in 1..=MAX_EARLY_MESSAGES {
        let at = t0 + Duration::from_millis(10 * u64::from(i));
        assert_eq!(st.handle_message(&payload, at), Ok(None));
    }
    let err = st
        .handle_message(&payload, t0 + Duration::from_secs(1))
        .unwrap_err();
    assert_eq!(err, PexError::TooFrequent(MAX_EARLY_MESSAGES));
    assert!(err.is_flood());
    assert!(!PexError::NotADict.is_flood());

    // A message taken in between forgives the early ones: a sender slightly faster
    // than the interval is never disconnected.
    let mut st = PexState::new(false);
    let mut t = t0;
    for _ in 0..20 {
        assert!(st.handle_message(&payload, t).unwrap().is_some());
        t += MIN_RECEIVE_INTERVAL / 2;
        assert_eq!(st.handle_message(&payload, t), Ok(None));
        t += MIN_RECEIVE_INTERVAL / 2;
    }
}
