//! Seeds of the KRPC codec and DHT node targets.

use shoal_dht::compact::NodeInfo;
use shoal_dht::krpc::{Body, Message as Krpc, Query, QueryKind, Response, Want};
use shoal_dht::NodeId;

use super::*;
use crate::dht;

pub(super) fn krpc_msg(tid: &[u8], body: Body) -> Krpc {
    Krpc {
        transaction_id: tid.to_vec(),
        version: None,
        read_only: false,
        ip: None,
        body,
    }
}

pub(super) fn krpc(out: &mut Vec<Seed>) {
    let t = "krpc";
    // The examples of BEP 5.
    out.push((
        t,
        "ping",
        b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe".to_vec(),
    ));
    out.push((
        t,
        "pong",
        b"d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re".to_vec(),
    ));
    out.push((
        t,
        "find_node",
        b"d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe"
            .to_vec(),
    ));
    out.push((
        t,
        "get_peers_values",
        b"d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re"
            .to_vec(),
    ));
    out.push((
        t,
        "announce_peer",
        b"d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe"
            .to_vec(),
    ));
    out.push((
        t,
        "error",
        b"d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee".to_vec(),
    ));
    let mut r = Response::bare(NodeId([3; 20]));
    r.nodes = vec![NodeInfo {
        id: NodeId([4; 20]),
        addr: sa("10.0.0.4:6881"),
    }];
    r.nodes6 = vec![NodeInfo {
        id: NodeId([6; 20]),
        addr: sa("[2001:db8::6]:6881"),
    }];
    let mut m = krpc_msg(b"\x01\x02", Body::Response(r));
    m.ip = Some(sa("10.9.9.9:6881"));
    m.version = Some(b"SH01".to_vec());
    out.push((t, "nodes_v4_v6", m.encode()));
    let mut q = krpc_msg(
        b"zz",
        Body::Query(Query {
            id: NodeId([5; 20]),
            kind: QueryKind::GetPeers {
                info_hash: NodeId([9; 20]),
            },
            want: Some(Want { v4: true, v6: true }),
        }),
    );
    q.read_only = true;
    out.push((t, "get_peers_want_ro", q.encode()));
    // A routing-table snapshot as the node saves it.
    let snap = dict(vec![
        ("id", bytes(&[7; 20])),
        (
            "nodes",
            bytes(&[[1u8; 20].as_slice(), &[10, 0, 0, 1, 0x1a, 0xe1]].concat()),
        ),
        ("nodes6", bytes(b"")),
    ]);
    out.push((t, "snapshot", snap.encode()));
}

pub(super) fn dht_node(out: &mut Vec<Seed>) {
    use dht::{Id, Input, Kind, Op, Token};
    let t = "dht_node";
    let ping_bep5 = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe".to_vec();
    let server = Input {
        snapshot: None,
        read_only: false,
        ops: vec![
            Op::Datagram {
                from: 1,
                bytes: ping_bep5,
            },
            Op::Query {
                from: 2,
                tid: b"t1".to_vec(),
                id: Id::Seed(0x80),
                kind: Kind::FindNode(Id::Seed(0x54)),
                want: Some((true, true)),
                read_only: false,
            },
            Op::Query {
                from: 3,
                tid: b"t2".to_vec(),
                id: Id::Seed(0x40),
                kind: Kind::GetPeers(Id::Seed(9)),
                want: None,
                read_only: false,
            },
            Op::Query {
                from: 3,
                tid: b"t3".to_vec(),
                id: Id::Seed(0x40),
                kind: Kind::Announce {
                    hash: Id::Seed(9),
                    port: 6881,
                    implied: false,
                    token: Token::Real,
                },
                want: None,
                read_only: false,
            },
            Op::Query {
                from: 9,
                tid: b"t4".to_vec(),
                id: Id::Seed(0x41),
                kind: Kind::GetPeers(Id::Seed(9)),
                want: None,
                read_only: true,
            },
            Op::Query {
                from: 4,
                tid: b"t5".to_vec(),
                id: Id::Seed(0x42),
                kind: Kind::Unknown(b"vote".to_vec()),
                want: None,
                read_only: false,
            },
            Op::AdvanceSecs(1),
        ],
    };
    out.push((t, "server", server.write()));
    let reply = |which, id, nodes: Vec<(Id, u8)>, values: Vec<u8>| Op::Reply {
        which,
        id,
        nodes,
        values,
        token: Some(b"tok".to_vec()),
        error: false,
    };
    let client = Input {
        snapshot: None,
        read_only: false,
        ops: vec![
            reply(
                0,
                Id::Seed(0x10),
                vec![
                    (Id::Seed(0x50), 2),
                    (Id::Seed(0x56), 3),
                    (Id::Seed(0x57), 9),
                ],
                vec![],
            ),
            reply(0, Id::Seed(0x20), vec![(Id::Seed(0x54), 4)], vec![]),
            reply(0, Id::Seed(0x50), vec![], vec![]),
            reply(0, Id::Seed(0x56), vec![], vec![]),
            Op::ToTimeout,
            Op::Announce(Id::Seed(9), Some(6881)),
            reply(0, Id::Seed(0x50), vec![(Id::Seed(0x08), 5)], vec![6, 7]),
            reply(0, Id::Seed(0x56), vec![], vec![6]),
            reply(0, Id::Seed(0x08), vec![], vec![]),
            Op::ToTimeout,
            Op::ToTimeout,
            Op::GetPeers(Id::Seed(1)),
            Op::Reply {
                which: 0,
                id: Id::Seed(0x50),
                nodes: vec![],
                values: vec![],
                token: None,
                error: true,
            },
            Op::AddNode(11),
            Op::SnapshotRestore,
            Op::AdvanceSecs(200),
        ],
    };
    out.push((t, "bootstrap_and_lookups", client.write()));
    let snap = dict(vec![
        ("id", bytes(&[0x55; 20])),
        (
            "nodes",
            bytes(&[[0x50u8; 20].as_slice(), &[10, 0, 0, 3, 0x1a, 0xe3]].concat()),
        ),
    ]);
    let restored = Input {
        snapshot: Some(snap.encode()),
        read_only: true,
        ops: vec![
            reply(0, Id::Seed(0x50), vec![(Id::Seed(0x51), 1)], vec![]),
            Op::ToTimeout,
            Op::Datagram {
                from: 0,
                bytes: b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe".to_vec(),
            },
        ],
    };
    out.push((t, "restored_read_only", restored.write()));
}
