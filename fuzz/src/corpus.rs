//! The committed seed corpus: a handful of small, valid inputs per fuzz target, built
//! with shoal's own encoders (and the input models for the stateful targets).
//! `cargo run --example gen_corpus` writes them to `corpus/<target>/<name>`.

use std::net::SocketAddr;

use shoal_bencode::OwnedValue;
use shoal_dht::compact::NodeInfo;
use shoal_dht::krpc::{Body, Message as Krpc, Query, QueryKind, Response, Want};
use shoal_dht::NodeId;
use shoal_ext::{LsdAnnounce, LsdFamily, MetadataMessage, PexFlags, PexMessage, PexPeer};
use shoal_private::{ContentKey, Manifest, ManifestEntry, PrivateLayout};
use shoal_tracker::udp::Response as UdpResponse;
use shoal_tracker::ScrapeStats;
use shoal_wire::{BlockRef, ExtensionHandshake, Handshake, Message};

use crate::{dht, metadata, mse, peer, pex, private, udp};

/// One seed: target name, file name, bytes.
pub type Seed = (&'static str, &'static str, Vec<u8>);

/// Every seed of every target.
pub fn seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    bencode(&mut out);
    metainfo(&mut out);
    magnet(&mut out);
    wire_message(&mut out);
    peer_connection(&mut out);
    extension_handshake(&mut out);
    ut_metadata(&mut out);
    ut_pex(&mut out);
    lsd(&mut out);
    krpc(&mut out);
    dht_node(&mut out);
    tracker_http(&mut out);
    tracker_udp(&mut out);
    mse_seeds(&mut out);
    private_header(&mut out);
    out
}

fn dict(entries: Vec<(&str, OwnedValue)>) -> OwnedValue {
    let mut d = OwnedValue::dict();
    for (k, v) in entries {
        d.insert(k, v);
    }
    d
}

fn list(items: Vec<OwnedValue>) -> OwnedValue {
    OwnedValue::List(items)
}

fn bytes(b: &[u8]) -> OwnedValue {
    OwnedValue::Bytes(b.to_vec())
}

fn int(n: i64) -> OwnedValue {
    OwnedValue::Int(n)
}

fn single_file_torrent() -> Vec<u8> {
    let info = dict(vec![
        ("length", int(40_000)),
        ("name", bytes(b"hello.txt")),
        ("piece length", int(16_384)),
        ("pieces", bytes(&[0xab; 60])),
    ]);
    dict(vec![
        ("announce", bytes(b"http://127.0.0.1:6969/announce")),
        ("comment", bytes(b"a test torrent")),
        ("created by", bytes(b"shoal")),
        ("creation date", int(1_700_000_000)),
        ("info", info),
    ])
    .encode()
}

fn file(path: &[&[u8]], length: i64, attr: Option<&[u8]>) -> OwnedValue {
    let mut entries = vec![
        ("length", int(length)),
        ("path", list(path.iter().map(|p| bytes(p)).collect())),
    ];
    if let Some(a) = attr {
        entries.push(("attr", bytes(a)));
    }
    dict(entries)
}

fn multi_file_torrent() -> Vec<u8> {
    let files = list(vec![
        file(&[b"a", b"one.bin"], 20_000, None),
        file(&[b".pad", b"12768"], 12_768, Some(b"p")),
        file(&[b"b.bin"], 0, None),
        file(&[b"run.sh"], 100, Some(b"x")),
    ]);
    let info = dict(vec![
        ("files", files),
        ("name", bytes(b"folder")),
        ("piece length", int(32_768)),
        ("pieces", bytes(&[1; 40])),
        ("private", int(1)),
    ]);
    dict(vec![
        ("announce", bytes(b"udp://127.0.0.1:6969")),
        (
            "announce-list",
            list(vec![
                list(vec![bytes(b"udp://127.0.0.1:6969")]),
                list(vec![
                    bytes(b"http://127.0.0.1/announce"),
                    bytes(b"http://[::1]/announce"),
                ]),
            ]),
        ),
        ("info", info),
        ("url-list", list(vec![bytes(b"http://127.0.0.1/seed/")])),
    ])
    .encode()
}

/// Paths a hostile torrent might use; all must be confined.
fn hostile_torrent() -> Vec<u8> {
    let files = list(vec![
        file(&[b"..", b"..", b"etc", b"passwd"], 10, None),
        file(&[b"/abs", b"x"], 10, None),
        file(&[b"CON"], 10, None),
        file(&[b"a\x00b", b"c/d"], 10, None),
        file(&[b"dup"], 10, None),
        file(&[b"dup"], 10, None),
        file(&[b"dup", b"inner"], 10, None),
        file(&[b".", b""], 10, None),
    ]);
    let info = dict(vec![
        ("files", files),
        ("name", bytes(b"..")),
        ("piece length", int(64)),
        ("pieces", bytes(&[2; 40])),
    ]);
    dict(vec![("info", info)]).encode()
}

fn bencode(out: &mut Vec<Seed>) {
    let t = "bencode";
    out.push((t, "int", b"i42e".to_vec()));
    out.push((t, "negative", b"i-9223372036854775808e".to_vec()));
    out.push((t, "string", b"4:spam".to_vec()));
    out.push((t, "list", b"l4:spami42eli-1e0:ee".to_vec()));
    out.push((t, "dict", b"d3:cow3:moo4:spam4:eggse".to_vec()));
    out.push((t, "unsorted", b"d1:bi1e1:ad1:xle1:ci0eee".to_vec()));
    out.push((t, "torrent", single_file_torrent()));
}

fn metainfo(out: &mut Vec<Seed>) {
    let t = "metainfo";
    out.push((t, "single", single_file_torrent()));
    out.push((t, "multi", multi_file_torrent()));
    out.push((t, "hostile_paths", hostile_torrent()));
    let info = dict(vec![
        ("length", int(5)),
        ("name", bytes(b"five")),
        ("piece length", int(16_384)),
        ("pieces", bytes(&[3; 20])),
    ]);
    out.push((t, "bare_info", info.encode()));
}

fn magnet(out: &mut Vec<Seed>) {
    let t = "magnet";
    let hex = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";
    out.push((
        t,
        "full",
        format!(
            "magnet:?xt=urn:btih:{hex}&dn=Some+File%20Name&tr=udp%3A%2F%2F127.0.0.1%3A6969\
             &tr.1=http://127.0.0.1/a?b&x.pe=127.0.0.1:6881&so=0,2,4-6&ws=http%3A%2F%2Fw"
        )
        .into_bytes(),
    ));
    out.push((
        t,
        "base32",
        b"MAGNET:?XT=URN:BTIH:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK".to_vec(),
    ));
    out.push((
        t,
        "hybrid",
        format!(
            "magnet:?xt=urn:btmh:1220{}&xt=urn:btih:{hex}&dn=%E2%9C%93",
            "ab".repeat(32)
        )
        .into_bytes(),
    ));
    out.push((
        t,
        "v2_only",
        format!("magnet:?xt=urn:btmh:1220{}", "cd".repeat(32)).into_bytes(),
    ));
}

fn frames(msgs: &[Message]) -> Vec<u8> {
    let mut buf = bytes::BytesMut::new();
    for m in msgs {
        m.encode(&mut buf);
    }
    buf.to_vec()
}

fn block(piece: u32, begin: u32) -> BlockRef {
    BlockRef {
        piece,
        begin,
        length: 16_384,
    }
}

fn wire_message(out: &mut Vec<Seed>) {
    let t = "wire_message";
    let hs = ExtensionHandshake {
        m: [("ut_metadata".to_owned(), 3)].into_iter().collect(),
        metadata_size: Some(31_235),
        ..Default::default()
    };
    out.push((
        t,
        "session",
        frames(&[
            Message::Extended {
                id: 0,
                payload: hs.encode().into(),
            },
            Message::Bitfield(vec![0xff, 0xc0].into()),
            Message::Interested,
            Message::Unchoke,
            Message::Request(block(1, 16_384)),
            Message::Piece {
                piece: 1,
                begin: 0,
                data: vec![9u8; 32].into(),
            },
            Message::Have(7),
            Message::Cancel(block(2, 0)),
            Message::KeepAlive,
            Message::Port(6881),
        ]),
    ));
    out.push((
        t,
        "fast",
        frames(&[
            Message::HaveAll,
            Message::HaveNone,
            Message::Suggest(3),
            Message::AllowedFast(4),
            Message::Reject(block(4, 0)),
            Message::Choke,
            Message::NotInterested,
        ]),
    ));
    out.push((
        t,
        "handshake",
        Handshake::new([0x11; 20], *b"-SH0100-abcdefghijkl")
            .encode()
            .to_vec(),
    ));
    out.push((t, "oversized_prefix", vec![0xff, 0xff, 0xff, 0xff, 7]));
}

fn layout(pieces: u16, pl: peer::PieceLength, extra: u32) -> peer::Layout {
    peer::Layout {
        pieces,
        piece_length: pl,
        last_piece_extra: extra,
    }
}

fn peer_connection(out: &mut Vec<Seed>) {
    use peer::{Begin, Blk, Input, Length, Op, PeerMsg, PieceLength};
    let t = "peer_connection";
    let leech = Input {
        layout: layout(8, PieceLength::TwoBlocks, 1000),
        fast: true,
        extensions: true,
        short_timers: false,
        ops: vec![
            Op::Interested(true),
            Op::Messages(vec![
                PeerMsg::Extended {
                    id: 0,
                    payload: b"d1:md6:ut_pexi1ee4:reqqi250ee".to_vec(),
                },
                PeerMsg::Bitfield(vec![0xff]),
                PeerMsg::Unchoke,
                PeerMsg::AllowedFast(2),
            ]),
            Op::RequestValid { piece: 0, block: 0 },
            Op::RequestValid { piece: 0, block: 1 },
            Op::RequestValid { piece: 7, block: 0 },
            Op::Serve(0),
            Op::Advance(500),
            Op::Serve(0),
            Op::Cancel(0),
            Op::Messages(vec![PeerMsg::Piece {
                piece: 7,
                begin: Begin::Block(0),
                len: 1000,
            }]),
            Op::Messages(vec![PeerMsg::Reject(Blk {
                piece: 3,
                begin: Begin::Block(0),
                length: Length::Block,
            })]),
            Op::Messages(vec![PeerMsg::Choke, PeerMsg::Have(5)]),
            Op::AdvanceSecs(10),
        ],
    };
    out.push((t, "leecher", leech.write()));
    let seed = Input {
        layout: layout(4, PieceLength::Block, 5),
        fast: false,
        extensions: false,
        short_timers: false,
        ops: vec![
            Op::SendBitfield {
                all: true,
                bits: Vec::new(),
            },
            Op::Messages(vec![PeerMsg::HaveNone, PeerMsg::Interested]),
            Op::Unchoke,
            Op::Messages(vec![
                PeerMsg::Request(Blk {
                    piece: 1,
                    begin: Begin::Block(0),
                    length: Length::Block,
                }),
                PeerMsg::Request(Blk {
                    piece: 3,
                    begin: Begin::Block(0),
                    length: Length::Small(6),
                }),
                PeerMsg::Cancel(Blk {
                    piece: 1,
                    begin: Begin::Block(0),
                    length: Length::Block,
                }),
            ]),
            Op::ServePeerRequest(0),
            Op::SendHave(2),
            Op::Choke,
            Op::AdvanceSecs(20),
        ],
    };
    out.push((t, "seeder", seed.write()));
    let magnet = Input {
        layout: layout(0, PieceLength::Block, 0),
        fast: true,
        extensions: true,
        short_timers: false,
        ops: vec![
            Op::Extended {
                id: 0,
                payload: b"d1:md11:ut_metadatai1eee".to_vec(),
            },
            Op::Messages(vec![
                PeerMsg::Extended {
                    id: 0,
                    payload: b"d1:md11:ut_metadatai3ee13:metadata_sizei100ee".to_vec(),
                },
                PeerMsg::Have(1),
                PeerMsg::Bitfield(vec![0b1010_0000]),
                PeerMsg::Extended {
                    id: 1,
                    payload: b"d8:msg_typei0e5:piecei0ee".to_vec(),
                },
            ]),
            Op::SetLayout(layout(3, PieceLength::Block, 77)),
            Op::RequestValid { piece: 0, block: 0 },
        ],
    };
    out.push((t, "magnet", magnet.write()));
    let raw = Input {
        layout: layout(16, PieceLength::Odd(1000), 10),
        fast: false,
        extensions: false,
        short_timers: true,
        ops: vec![
            Op::Bytes(frames(&[
                Message::Bitfield(vec![0xff, 0xfe].into()),
                Message::Unchoke,
            ])),
            Op::Request(Blk {
                piece: 2,
                begin: Begin::Raw(0),
                length: Length::Small(1000),
            }),
            Op::Bytes(frames(&[Message::Piece {
                piece: 2,
                begin: 0,
                data: vec![1u8; 1000].into(),
            }])),
            Op::Advance(2000),
            Op::Advance(2000),
            Op::Bytes(vec![0, 0, 0, 5, 4]),
            Op::Bytes(vec![0, 0, 0, 9]),
            Op::AdvanceSecs(2),
        ],
    };
    out.push((t, "raw_and_timeouts", raw.write()));
}

fn extension_handshake(out: &mut Vec<Seed>) {
    let t = "extension_handshake";
    let full = ExtensionHandshake {
        m: [("ut_metadata".to_owned(), 3), ("ut_pex".to_owned(), 1)]
            .into_iter()
            .collect(),
        v: Some("shoal 0.1".into()),
        p: Some(6881),
        reqq: Some(250),
        yourip: Some([127, 0, 0, 1].into()),
        metadata_size: Some(31_235),
        ipv4: Some([10, 0, 0, 1].into()),
        ipv6: Some(std::net::Ipv6Addr::LOCALHOST),
        upload_only: true,
    };
    out.push((t, "full", full.encode()));
    let mut update = full.encode();
    update.extend_from_slice(b"d1:md6:ut_pexi0e6:lt_donti7eee");
    out.push((t, "with_update", update));
    out.push((
        t,
        "long_client_name",
        [&b"d1:v300:"[..], &[b'a'; 254], &[0xff; 46], b"e"].concat(),
    ));
    out.push((
        t,
        "unsorted_absurd",
        b"d4:reqqi99999999999e1:md11:ut_metadatai300ee13:metadata_sizei-5e1:pi0ee".to_vec(),
    ));
}

fn ut_metadata(out: &mut Vec<Seed>) {
    use metadata::{Input, Op, Size};
    let t = "ut_metadata";
    let request = MetadataMessage::Request { piece: 1 }.encode();
    let data = MetadataMessage::Data {
        piece: 2,
        total_size: 2 * 16_384 + 777,
        data: &[5u8; 777],
    }
    .encode();
    let fetch = Input {
        message: data.clone(),
        max_in_flight: 4,
        ops: vec![
            Op::AddPeer {
                peer: 0,
                size: Size::Right,
            },
            Op::AddPeer {
                peer: 1,
                size: Size::Right,
            },
            Op::AddPeer {
                peer: 2,
                size: Size::Raw(99),
            },
            Op::NextRequest { peer: 0 },
            Op::NextRequest { peer: 1 },
            Op::NextRequest { peer: 0 },
            Op::Deliver { peer: 0, piece: 0 },
            Op::Deliver { peer: 1, piece: 1 },
            Op::Deliver { peer: 0, piece: 2 },
        ],
    };
    out.push((t, "complete", fetch.write()));
    let corrupt = Input {
        message: request.clone(),
        max_in_flight: 8,
        ops: vec![
            Op::AddPeer {
                peer: 3,
                size: Size::Right,
            },
            Op::NextRequest { peer: 3 },
            Op::NextRequest { peer: 3 },
            Op::NextRequest { peer: 3 },
            Op::Deliver { peer: 3, piece: 0 },
            Op::Corrupt {
                peer: 3,
                piece: 1,
                at: 9,
            },
            Op::Payload {
                peer: 3,
                payload: data,
            },
            Op::AddPeer {
                peer: 4,
                size: Size::Right,
            },
            Op::Advance { secs: 40 },
            Op::NextRequest { peer: 4 },
            Op::Reject { peer: 4, piece: 0 },
            Op::Gone { peer: 4 },
        ],
    };
    out.push((t, "corrupt_and_reject", corrupt.write()));
    let serve = Input {
        message: MetadataMessage::Reject { piece: 0 }.encode(),
        max_in_flight: 1,
        ops: vec![
            Op::Payload {
                peer: 0,
                payload: request,
            },
            Op::Payload {
                peer: 0,
                payload: b"d8:msg_typei2e5:piecei0ee".to_vec(),
            },
        ],
    };
    out.push((t, "serve", serve.write()));
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("literal address")
}

fn ut_pex(out: &mut Vec<Seed>) {
    let t = "ut_pex";
    let first = PexMessage {
        added: vec![
            PexPeer {
                addr: sa("10.0.0.2:6881"),
                flags: PexFlags(0x12),
            },
            PexPeer {
                addr: sa("10.0.0.3:51413"),
                flags: PexFlags(0x01),
            },
            PexPeer {
                addr: sa("[2001:db8::2]:6881"),
                flags: PexFlags(0x10),
            },
        ],
        dropped: vec![sa("10.0.0.9:6881")],
    };
    let second = PexMessage {
        added: vec![PexPeer {
            addr: sa("10.0.0.4:6881"),
            flags: PexFlags(0),
        }],
        dropped: vec![sa("10.0.0.2:6881"), sa("[2001:db8::2]:6881")],
    };
    let input = pex::Input {
        private: false,
        steps: vec![
            pex::Step {
                advance_secs: 0,
                payload: first.encode(),
                poll: true,
                drop: 0,
            },
            pex::Step {
                advance_secs: 30,
                payload: second.encode(),
                poll: true,
                drop: 1,
            },
            pex::Step {
                advance_secs: 70,
                payload: second.encode(),
                poll: true,
                drop: 0,
            },
        ],
    };
    out.push((t, "exchange", input.write()));
    let private = pex::Input {
        private: true,
        steps: vec![pex::Step {
            advance_secs: 1,
            payload: first.encode(),
            poll: true,
            drop: 0,
        }],
    };
    out.push((t, "private", private.write()));
}

fn lsd(out: &mut Vec<Seed>) {
    let t = "lsd";
    let a = LsdAnnounce {
        port: 6881,
        info_hashes: vec![[0xab; 20], [0x01; 20]],
        cookie: Some("c0ffee".into()),
    };
    out.push((t, "v4", a.encode(LsdFamily::V4)));
    out.push((t, "v6", a.encode(LsdFamily::V6)));
    out.push((
        t,
        "sloppy",
        format!(
            "bt-search * HTTP/1.1\nHOST: whatever\n  port :  51413  \ninfohash: {}\n\
             Cookie: c00kie\n\n",
            "AB".repeat(20)
        )
        .into_bytes(),
    ));
}

fn krpc_msg(tid: &[u8], body: Body) -> Krpc {
    Krpc {
        transaction_id: tid.to_vec(),
        version: None,
        read_only: false,
        ip: None,
        body,
    }
}

fn krpc(out: &mut Vec<Seed>) {
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

fn dht_node(out: &mut Vec<Seed>) {
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

fn tracker_http(out: &mut Vec<Seed>) {
    let t = "tracker_http";
    let compact = dict(vec![
        ("complete", int(3)),
        ("incomplete", int(1)),
        ("interval", int(1800)),
        ("min interval", int(60)),
        (
            "peers",
            bytes(&[127, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0, 0]),
        ),
        (
            "peers6",
            bytes(&[[0u8; 15].as_slice(), &[1, 0x1a, 0xe1]].concat()),
        ),
        ("tracker id", bytes(b"xyz")),
        ("warning message", bytes(b"slow down")),
    ]);
    out.push((t, "announce_compact", compact.encode()));
    let dict_peers = dict(vec![
        ("interval", int(900)),
        (
            "peers",
            list(vec![
                dict(vec![
                    ("ip", bytes(b"127.0.0.1")),
                    ("peer id", bytes(&[1; 20])),
                    ("port", int(6881)),
                ]),
                dict(vec![("ip", bytes(b"[::1]")), ("port", int(51413))]),
                dict(vec![("ip", bytes(b"tracker.invalid")), ("port", int(1))]),
            ]),
        ),
    ]);
    out.push((t, "announce_dict_peers", dict_peers.encode()));
    out.push((
        t,
        "failure",
        b"d14:failure reason17:torrent not founde".to_vec(),
    ));
    let mut files = OwnedValue::dict();
    if let OwnedValue::Dict(map) = &mut files {
        map.insert(
            vec![0xab; 20],
            dict(vec![
                ("complete", int(5)),
                ("downloaded", int(50)),
                ("incomplete", int(10)),
            ]),
        );
    }
    out.push((t, "scrape", dict(vec![("files", files)]).encode()));
    out.push((
        t,
        "url",
        b"http://127.0.0.1:6969/x/announce.php?passkey=abc#frag".to_vec(),
    ));
}

fn tracker_udp(out: &mut Vec<Seed>) {
    use udp::{Action, Input, Op};
    let t = "tracker_udp";
    let connect = UdpResponse::Connect {
        transaction_id: 1,
        connection_id: 0x1122_3344_5566_7788,
    }
    .encode();
    let mut announce_body = Vec::new();
    for v in [1800u32, 2, 3] {
        announce_body.extend_from_slice(&v.to_be_bytes());
    }
    announce_body.extend_from_slice(&[127, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0x1a, 0xe2]);
    let mut scrape_body = Vec::new();
    for v in [5u32, 50, 10, 1, 2, 3] {
        scrape_body.extend_from_slice(&v.to_be_bytes());
    }
    let happy = Input {
        packet: connect.clone(),
        ipv6: false,
        ops: vec![
            Op::Announce,
            Op::Reply {
                action: Action::Connect,
                wrong_tid: false,
                body: 0x1122_3344_5566_7788u64.to_be_bytes().to_vec(),
            },
            Op::Reply {
                action: Action::Announce,
                wrong_tid: true,
                body: announce_body.clone(),
            },
            Op::Reply {
                action: Action::Announce,
                wrong_tid: false,
                body: announce_body,
            },
            Op::Scrape(2),
            Op::Reply {
                action: Action::Scrape,
                wrong_tid: false,
                body: scrape_body,
            },
            Op::Scrape(0),
            Op::Scrape(75),
        ],
    };
    out.push((t, "announce_scrape", happy.write()));
    let troubled = Input {
        packet: UdpResponse::Error {
            transaction_id: 9,
            message: "go away".into(),
        }
        .encode(),
        ipv6: true,
        ops: vec![
            Op::Announce,
            Op::Announce,
            Op::ToTimeout,
            Op::ToTimeout,
            Op::Reply {
                action: Action::Connect,
                wrong_tid: false,
                body: 7u64.to_be_bytes().to_vec(),
            },
            Op::AdvanceSecs(61),
            Op::ToTimeout,
            Op::Reply {
                action: Action::Error,
                wrong_tid: false,
                body: b"connection id expired".to_vec(),
            },
            Op::Abort,
            Op::Raw(vec![0, 0, 0, 1, 0, 0, 0, 0]),
            Op::ToTimeout,
            Op::ToTimeout,
            Op::ToTimeout,
            Op::ToTimeout,
            Op::ToTimeout,
        ],
    };
    out.push((t, "retries_and_errors", troubled.write()));
    let scrape_resp = UdpResponse::Scrape {
        transaction_id: 4,
        stats: vec![ScrapeStats {
            complete: 1,
            downloaded: 2,
            incomplete: 3,
        }],
    }
    .encode();
    let only_packet = Input {
        packet: scrape_resp,
        ipv6: false,
        ops: vec![],
    };
    out.push((t, "scrape_packet", only_packet.write()));
}

fn side(key: u8, pad: u16, encrypted_pad: u16, policy: mse::Policy) -> mse::Side {
    let mut k = [0u8; 20];
    k[0] = key;
    k[19] = key.wrapping_mul(3) | 1;
    mse::Side {
        key: k,
        pad,
        encrypted_pad,
        policy,
    }
}

fn mse_seeds(out: &mut Vec<Seed>) {
    use mse::{Input, Mode, Policy};
    let t = "mse";
    let clean = Input {
        chunks: vec![],
        mode: Mode::Pair {
            init: side(1, 0, 0, Policy::Prefer),
            resp: side(2, 0, 0, Policy::Prefer),
            ia: Handshake::new([0x11; 20], [3; 20]).encode().to_vec(),
            corrupt: vec![],
            after: b"\x00\x00\x00\x01\x02".to_vec(),
        },
    };
    out.push((t, "pair_rc4", clean.write()));
    let chunked = Input {
        chunks: vec![1, 7, 96, 13, 500],
        mode: Mode::Pair {
            init: side(3, 512, 17, Policy::Disable),
            resp: side(4, 100, 512, Policy::Prefer),
            ia: vec![],
            corrupt: vec![],
            after: vec![],
        },
    };
    out.push((t, "pair_plaintext_chunked", chunked.write()));
    let corrupted = Input {
        chunks: vec![50],
        mode: Mode::Pair {
            init: side(5, 10, 0, Policy::Require),
            resp: side(6, 10, 0, Policy::Require),
            ia: b"ia".to_vec(),
            corrupt: vec![(false, 110, 0x40), (true, 3, 1)],
            after: vec![],
        },
    };
    out.push((t, "pair_corrupted", corrupted.write()));
    // A lone side fed bytes that look like a key and some noise.
    let blob: Vec<u8> = (0..700u32).map(|i| (i * 151 % 256) as u8).collect();
    let responder = Input {
        chunks: vec![96, 3],
        mode: Mode::Responder {
            side: side(7, 0, 0, Policy::Prefer),
            data: blob.clone(),
        },
    };
    out.push((t, "responder_noise", responder.write()));
    let initiator = Input {
        chunks: vec![],
        mode: Mode::Initiator {
            side: side(8, 0, 0, Policy::Require),
            data: blob,
        },
    };
    out.push((t, "initiator_noise", initiator.write()));
}

fn private_header(out: &mut Vec<Seed>) {
    use private::Input;
    let t = "private_header";
    let key = ContentKey::from_bytes([7; 32]);
    let dir = Manifest {
        root_name: "holiday".into(),
        entries: vec![
            ManifestEntry {
                path: vec!["a".into(), "one.jpg".into()],
                length: 1000,
                mode: 0o644,
            },
            ManifestEntry {
                path: vec!["empty".into()],
                length: 0,
                mode: 0o600,
            },
            ManifestEntry {
                path: vec!["run.sh".into()],
                length: 10,
                mode: 0o755,
            },
        ],
    };
    let single = Manifest {
        root_name: "notes.txt".into(),
        entries: vec![ManifestEntry {
            path: vec![],
            length: 123,
            mode: 0o644,
        }],
    };
    for (name, manifest) in [("sealed_dir", &dir), ("sealed_single", &single)] {
        let plain = manifest_plaintext(manifest);
        out.push((
            t,
            name,
            Input::Sealed {
                nonce: [9; 24],
                pad: 5,
                plaintext: plain,
            }
            .write(),
        ));
    }
    let layout = PrivateLayout::seal(single, &key).expect("valid manifest");
    let mut stream = layout.region().to_vec();
    stream.extend_from_slice(&[0u8; 123]);
    out.push((
        t,
        "stream",
        Input::Raw {
            extra: 0,
            data: stream,
        }
        .write(),
    ));
    let link = shoal_private::private_link(
        "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567",
        &key,
    );
    out.push((t, "link", Input::Link(link.as_bytes().to_vec()).write()));
}

/// The manifest's bencoded form as described in the crate docs.
fn manifest_plaintext(m: &Manifest) -> Vec<u8> {
    let files = m
        .entries
        .iter()
        .map(|e| {
            dict(vec![
                ("length", int(e.length as i64)),
                ("mode", int(i64::from(e.mode))),
                (
                    "path",
                    list(e.path.iter().map(|c| bytes(c.as_bytes())).collect()),
                ),
            ])
        })
        .collect();
    dict(vec![
        ("files", list(files)),
        ("name", bytes(m.root_name.as_bytes())),
    ])
    .encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds of the stateful targets read back as the inputs they were written
    /// from (the generator and the targets agree on the format).
    #[test]
    fn models_round_trip() {
        let mut n = 0;
        for (target, name, data) in seeds() {
            let again = match target {
                "peer_connection" => peer::Input::read(&data).write(),
                "ut_metadata" => metadata::Input::read(&data).write(),
                "ut_pex" => pex::Input::read(&data).write(),
                "dht_node" => dht::Input::read(&data).write(),
                "tracker_udp" => udp::Input::read(&data).write(),
                "mse" => mse::Input::read(&data).write(),
                "private_header" => private::Input::read(&data).write(),
                _ => continue,
            };
            assert_eq!(again, data, "{target}/{name}");
            n += 1;
        }
        assert!(n >= 15);
    }

    #[test]
    fn every_target_has_seeds() {
        let all = seeds();
        for target in crate::TARGETS {
            assert!(
                all.iter().filter(|(t, _, _)| t == target).count() >= 2,
                "{target}"
            );
        }
        assert!(all.iter().all(|(t, _, _)| crate::TARGETS.contains(t)));
    }
}
