//! Unit and property tests for the KRPC codec.

use super::*;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

fn msg(body: Body) -> Message {
    Message {
        transaction_id: b"aa".to_vec(),
        version: None,
        read_only: false,
        ip: None,
        body,
    }
}

#[test]
fn bep5_ping_example() {
    let q = msg(Body::Query(Query {
        id: NodeId(*b"abcdefghij0123456789"),
        kind: QueryKind::Ping,
        want: None,
    }));
    let wire = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    assert_eq!(q.encode(), wire);
    assert_eq!(Message::decode(wire).unwrap(), q);
}

#[test]
fn bep5_announce_and_error_examples() {
    let wire = b"d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe";
    let m = Message::decode(wire).unwrap();
    match m.body {
        Body::Query(Query {
            kind:
                QueryKind::AnnouncePeer {
                    port,
                    implied_port,
                    token,
                    ..
                },
            ..
        }) => {
            assert_eq!(port, 6881);
            assert!(implied_port);
            assert_eq!(token, b"aoeusnth");
        }
        other => panic!("{other:?}"),
    }
    let e = Message::decode(b"d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee").unwrap();
    assert_eq!(
        e.body,
        Body::Error(ErrorBody {
            code: error_code::GENERIC,
            message: "A Generic Error Ocurred".into()
        })
    );
}

#[test]
fn tolerant_of_unknown_keys_and_order_and_flags() {
    // Unsorted keys, an unknown key, `ro` and `v` present.
    let wire =
        b"d1:y1:q1:q4:ping1:t1:x2:zzi5e2:roi1e1:v4:SH011:ad2:id20:abcdefghij01234567893:fooi1eee";
    let m = Message::decode(wire).unwrap();
    assert!(m.read_only);
    assert_eq!(m.version.as_deref(), Some(&b"SH01"[..]));
}

#[test]
fn strict_lengths() {
    let short_id = b"d1:ad2:id19:abcdefghij012345678e1:q4:ping1:t2:aa1:y1:qe";
    assert!(matches!(
        Message::decode(short_id),
        Err(DecodeError::BadLength { field: "id", .. })
    ));
    let bad_nodes = b"d1:rd2:id20:abcdefghij01234567895:nodes3:abce1:t2:aa1:y1:re";
    assert!(matches!(
        Message::decode(bad_nodes),
        Err(DecodeError::BadLength { field: "nodes", .. })
    ));
    let bad_value = b"d1:rd2:id20:abcdefghij01234567896:valuesl5:abcdeee1:t2:aa1:y1:re";
    assert!(Message::decode(bad_value).is_err());
    let big_port = b"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti70000e5:token1:xe1:q13:announce_peer1:t2:aa1:y1:qe";
    assert_eq!(
        Message::decode(big_port),
        Err(DecodeError::OutOfRange("port"))
    );
    assert!(matches!(
        Message::decode(&vec![b'x'; MAX_DATAGRAM_LEN + 1]),
        Err(DecodeError::TooLarge(_))
    ));
    assert_eq!(Message::decode(b"i1e"), Err(DecodeError::NotADict));
    assert_eq!(
        Message::decode(b"d1:t2:aa1:y1:ze"),
        Err(DecodeError::UnknownType)
    );
}

#[test]
fn node_lists_are_capped() {
    let mut nodes = Vec::new();
    for i in 0..(MAX_NODES + 10) {
        nodes.push(NodeInfo {
            id: NodeId([i as u8; 20]),
            addr: SocketAddr::from(([1, 2, 3, i as u8], 1000)),
        });
    }
    let mut r = Response::bare(NodeId([9; 20]));
    r.nodes = nodes;
    let decoded = Message::decode(&msg(Body::Response(r)).encode()).unwrap();
    match decoded.body {
        Body::Response(r) => assert_eq!(r.nodes.len(), MAX_NODES),
        other => panic!("{other:?}"),
    }
}

fn node_id() -> impl Strategy<Value = NodeId> {
    any::<[u8; 20]>().prop_map(NodeId)
}

fn v4_addr() -> impl Strategy<Value = SocketAddr> {
    (any::<[u8; 4]>(), any::<u16>())
        .prop_map(|(ip, port)| SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
}

fn v6_addr() -> impl Strategy<Value = SocketAddr> {
    (any::<[u8; 16]>(), any::<u16>())
        .prop_map(|(ip, port)| SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(ip), port, 0, 0)))
}

fn any_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![v4_addr(), v6_addr()]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..=max)
}

fn query_kind() -> impl Strategy<Value = QueryKind> {
    prop_oneof![
        Just(QueryKind::Ping),
        node_id().prop_map(|target| QueryKind::FindNode { target }),
        node_id().prop_map(|info_hash| QueryKind::GetPeers { info_hash }),
        (node_id(), any::<u16>(), any::<bool>(), bytes(MAX_TOKEN_LEN)).prop_map(
            |(info_hash, port, implied_port, token)| QueryKind::AnnouncePeer {
                info_hash,
                port,
                implied_port,
                token
            }
        ),
        "[a-z_]{1,12}"
            .prop_filter("known method", |m| ![
                "ping",
                "find_node",
                "get_peers",
                "announce_peer"
            ]
            .contains(&m.as_str()))
            .prop_map(|m| QueryKind::Unknown {
                method: m.into_bytes()
            }),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    let want =
        proptest::option::of((any::<bool>(), any::<bool>()).prop_map(|(v4, v6)| Want { v4, v6 }));
    let nodes = |v6: bool| {
        let addr = if v6 {
            v6_addr().boxed()
        } else {
            v4_addr().boxed()
        };
        proptest::collection::vec(
            (node_id(), addr).prop_map(|(id, addr)| NodeInfo { id, addr }),
            0..10,
        )
    };
    prop_oneof![
        (node_id(), query_kind(), want).prop_map(|(id, kind, want)| Body::Query(Query {
            id,
            kind,
            want
        })),
        (
            node_id(),
            nodes(false),
            nodes(true),
            proptest::collection::vec(any_addr(), 0..20),
            proptest::option::of(bytes(MAX_TOKEN_LEN))
        )
            .prop_map(
                |(id, nodes, nodes6, values, token)| Body::Response(Response {
                    id,
                    nodes,
                    nodes6,
                    values,
                    token
                })
            ),
        (any::<i64>(), ".{0,40}")
            .prop_map(|(code, message)| Body::Error(ErrorBody { code, message })),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    (
        bytes(MAX_TRANSACTION_ID_LEN),
        proptest::option::of(bytes(MAX_VERSION_LEN)),
        any::<bool>(),
        proptest::option::of(any_addr()),
        body(),
    )
        .prop_map(|(transaction_id, version, read_only, ip, body)| Message {
            transaction_id,
            version,
            read_only,
            ip,
            body,
        })
}

proptest! {
    #[test]
    fn round_trip(m in message()) {
        let wire = m.encode();
        prop_assert_eq!(Message::decode(&wire).unwrap(), m);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in bytes(512)) {
        let _ = Message::decode(&data);
    }

    #[test]
    fn mutated_messages_never_panic(m in message(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut wire = m.encode();
        for (pos, byte) in flips {
            let len = wire.len();
            wire[pos % len] = byte;
        }
        let _ = Message::decode(&wire);
    }
}
