//! Seeds of the peer wire targets: messages, the connection state machine, the extension handshake.

use shoal_wire::{BlockRef, ExtensionHandshake, Handshake, Message};

use super::*;
use crate::peer;

pub(super) fn frames(msgs: &[Message]) -> Vec<u8> {
    let mut buf = bytes::BytesMut::new();
    for m in msgs {
        m.encode(&mut buf);
    }
    buf.to_vec()
}

pub(super) fn block(piece: u32, begin: u32) -> BlockRef {
    BlockRef {
        piece,
        begin,
        length: 16_384,
    }
}

pub(super) fn wire_message(out: &mut Vec<Seed>) {
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

pub(super) fn layout(pieces: u16, pl: peer::PieceLength, extra: u32) -> peer::Layout {
    peer::Layout {
        pieces,
        piece_length: pl,
        last_piece_extra: extra,
    }
}

pub(super) fn peer_connection(out: &mut Vec<Seed>) {
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

pub(super) fn extension_handshake(out: &mut Vec<Seed>) {
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
