//! Unit tests of the connection state machine: message validation, choking and
//! requests in both directions, and commands. Helpers are shared with the other test
//! modules.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::*;
use crate::{BitfieldError, MAX_REQUEST_LEN};

const PIECE: u32 = 4 * BLOCK_SIZE;

/// 10 pieces of 64 KiB, the last one 1000 bytes; fast and extensions on.
pub(super) fn cfg() -> ConnectionConfig {
    let mut c = ConnectionConfig::new(10, PIECE, 9 * u64::from(PIECE) + 1000);
    c.fast = true;
    c.extensions = true;
    c
}

pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub(super) fn blk(piece: u32, i: u32) -> BlockRef {
    BlockRef {
        piece,
        begin: i * BLOCK_SIZE,
        length: BLOCK_SIZE,
    }
}

pub(super) fn feed(
    c: &mut PeerConnection,
    msgs: &[Message],
    now: Instant,
) -> Result<(), PeerError> {
    let mut buf = BytesMut::new();
    msgs.iter().for_each(|m| m.encode(&mut buf));
    let r = c.handle_input(&mut buf, now);
    if r.is_ok() {
        assert!(buf.is_empty());
    }
    r
}

pub(super) fn events(c: &mut PeerConnection) -> Vec<PeerEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// Decodes and drains everything the connection wants to send.
pub(super) fn sent(c: &mut PeerConnection) -> Vec<Message> {
    let mut out = c.output().split();
    let r = FrameReader::new(u32::MAX);
    std::iter::from_fn(|| r.next(&mut out).unwrap()).collect()
}

pub(super) fn data(b: BlockRef) -> Message {
    Message::Piece {
        piece: b.piece,
        begin: b.begin,
        data: Bytes::from(vec![7; b.length as usize]),
    }
}

/// A connection where the peer has unchoked us.
pub(super) fn unchoked(c: ConnectionConfig, t0: Instant) -> PeerConnection {
    let all = Bitfield::full(c.num_pieces as usize);
    let mut p = PeerConnection::new(c, t0);
    let bf = Message::Bitfield(Bytes::copy_from_slice(all.as_bytes()));
    feed(&mut p, &[bf, Message::Unchoke], t0).unwrap();
    events(&mut p);
    p
}

#[test]
fn bitfield_must_come_first_once() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(cfg(), t0);
    let hs = ExtensionHandshake {
        reqq: Some(50),
        ..Default::default()
    };
    let ext = Message::Extended {
        id: 0,
        payload: hs.encode().into(),
    };
    let bf = Message::Bitfield(Bytes::from_static(&[0x80, 0x40]));
    feed(
        &mut p,
        &[Message::KeepAlive, ext, Message::Port(1), bf.clone()],
        t0,
    )
    .unwrap();
    assert_eq!(
        events(&mut p),
        vec![
            PeerEvent::ExtensionHandshake,
            PeerEvent::Port(1),
            PeerEvent::Bitfield
        ]
    );
    assert_eq!(p.peer_pieces().iter_ones().collect::<Vec<_>>(), vec![0, 9]);
    assert_eq!(p.peer_reqq(), Some(50));
    // A repeated bitfield is an update: nothing new, no events.
    feed(&mut p, std::slice::from_ref(&bf), t0).unwrap();
    assert_eq!(events(&mut p), vec![]);

    // A later bitfield (as aria2 sends) announces its new pieces as haves.
    let mut p = PeerConnection::new(cfg(), t0);
    feed(&mut p, &[Message::Have(1), bf], t0).unwrap();
    assert_eq!(
        events(&mut p),
        vec![PeerEvent::Have(1), PeerEvent::Have(0), PeerEvent::Have(9)]
    );
    assert_eq!(
        p.peer_pieces().iter_ones().collect::<Vec<_>>(),
        vec![0, 1, 9]
    );
    // A malformed late bitfield is still refused.
    assert!(feed(
        &mut p,
        &[Message::Bitfield(Bytes::from_static(&[0xff]))],
        t0
    )
    .is_err());

    let mut p = PeerConnection::new(cfg(), t0);
    feed(&mut p, &[Message::HaveNone, Message::HaveAll], t0).unwrap();
    let evs = events(&mut p);
    assert_eq!(
        evs.len(),
        11,
        "have none, then a have for each of the 10 pieces: {evs:?}"
    );
    assert!(p.peer_is_seed());
    let mut p = PeerConnection::new(cfg(), t0);
    assert_eq!(
        feed(
            &mut p,
            &[Message::Bitfield(Bytes::from_static(&[0xff, 0xff]))],
            t0
        ),
        Err(PeerError::BadBitfield(BitfieldError::SpareBitsSet(10)))
    );
}

#[test]
fn have_and_fast_messages_are_validated() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(cfg(), t0);
    feed(
        &mut p,
        &[Message::Have(3), Message::Have(3), Message::Have(9)],
        t0,
    )
    .unwrap();
    assert_eq!(events(&mut p), vec![PeerEvent::Have(3), PeerEvent::Have(9)]);
    assert!(!p.peer_is_seed());
    assert_eq!(
        feed(&mut p, &[Message::Have(10)], t0),
        Err(PeerError::InvalidPieceIndex(10))
    );
    for bad in [Message::Suggest(10), Message::AllowedFast(u32::MAX)] {
        let mut p = PeerConnection::new(cfg(), t0);
        assert!(matches!(
            feed(&mut p, &[bad], t0),
            Err(PeerError::InvalidPieceIndex(_))
        ));
    }
    let mut p = PeerConnection::new(cfg(), t0);
    feed(
        &mut p,
        &[
            Message::AllowedFast(2),
            Message::AllowedFast(2),
            Message::Suggest(4),
        ],
        t0,
    )
    .unwrap();
    assert_eq!(
        events(&mut p),
        vec![PeerEvent::AllowedFast(2), PeerEvent::Suggest(4)]
    );
    assert_eq!(p.allowed_fast(), &[2]);

    let slow = ConnectionConfig {
        fast: false,
        ..cfg()
    };
    for m in [
        Message::HaveAll,
        Message::HaveNone,
        Message::Reject(blk(0, 0)),
        Message::AllowedFast(1),
        Message::Suggest(1),
    ] {
        let mut p = PeerConnection::new(slow.clone(), t0);
        assert!(matches!(
            feed(&mut p, &[m], t0),
            Err(PeerError::FastMessageWithoutFast(_))
        ));
    }
    let mut p = PeerConnection::new(
        ConnectionConfig {
            extensions: false,
            ..cfg()
        },
        t0,
    );
    let ext = Message::Extended {
        id: 1,
        payload: Bytes::new(),
    };
    assert_eq!(
        feed(&mut p, &[ext], t0),
        Err(PeerError::ExtendedWithoutExtensions)
    );
}

#[test]
fn malformed_frames_and_unknown_ids() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(cfg(), t0);
    // Unknown id 99 is skipped; the following message still applies.
    let mut buf = BytesMut::from(&[0, 0, 0, 2, 99, 1, 0, 0, 0, 1, 1][..]);
    p.handle_input(&mut buf, t0).unwrap();
    assert_eq!(events(&mut p), vec![PeerEvent::Unchoked]);
    let mut buf = BytesMut::from(&[0, 0, 0, 2, 9, 1][..]);
    assert_eq!(
        p.handle_input(&mut buf, t0),
        Err(PeerError::Malformed(WireError::BadPayloadLength {
            id: 9,
            len: 1
        }))
    );
    let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
    assert!(matches!(
        p.handle_input(&mut buf, t0),
        Err(PeerError::FrameTooLarge { len: u32::MAX, .. })
    ));
    // Garbage in the extension handshake is malformed.
    let mut p = PeerConnection::new(cfg(), t0);
    let ext = Message::Extended {
        id: 0,
        payload: Bytes::from_static(b"i1e"),
    };
    assert!(matches!(
        feed(&mut p, &[ext], t0),
        Err(PeerError::Malformed(_))
    ));
}

#[test]
fn frame_limit_grows_for_huge_bitfields() {
    let t0 = Instant::now();
    let n = 3_000_000u32;
    let mut p = PeerConnection::new(ConnectionConfig::new(n, 16384, u64::from(n) * 16384), t0);
    let bf = Bitfield::full(n as usize);
    feed(
        &mut p,
        &[Message::Bitfield(Bytes::copy_from_slice(bf.as_bytes()))],
        t0,
    )
    .unwrap();
    assert!(p.peer_is_seed());
}

#[test]
fn choke_without_fast_drops_requests() {
    let t0 = Instant::now();
    let mut p = unchoked(
        ConnectionConfig {
            fast: false,
            ..cfg()
        },
        t0,
    );
    for i in 0..3 {
        assert!(p.request(blk(1, i), t0));
    }
    assert!(!p.request(blk(1, 0), t0), "duplicate");
    assert_eq!(p.outstanding(), 3);
    feed(&mut p, &[Message::Choke], t0).unwrap();
    assert_eq!(
        events(&mut p),
        vec![PeerEvent::Choked {
            dropped: vec![blk(1, 0), blk(1, 1), blk(1, 2)]
        }]
    );
    assert_eq!(p.outstanding(), 0);
    assert_eq!(p.request_capacity(), 0);
    assert!(!p.request(blk(1, 0), t0), "choked");
    // A block that was in flight still arrives: ignored, no error.
    feed(&mut p, &[data(blk(1, 0))], t0).unwrap();
    assert!(events(&mut p).is_empty());
    feed(&mut p, &[Message::Choke], t0).unwrap();
    assert!(events(&mut p).is_empty(), "no change, no event");
}

#[test]
fn choke_with_fast_keeps_requests_until_rejected() {
    let t0 = Instant::now();
    let mut p = unchoked(cfg(), t0);
    assert!(p.request(blk(1, 0), t0));
    assert!(p.request(blk(1, 1), t0));
    feed(
        &mut p,
        &[
            Message::Choke,
            Message::Reject(blk(1, 0)),
            Message::Reject(blk(5, 0)),
        ],
        t0,
    )
    .unwrap();
    assert_eq!(
        events(&mut p),
        vec![
            PeerEvent::Choked { dropped: vec![] },
            PeerEvent::Rejected(blk(1, 0))
        ]
    );
    assert_eq!(p.outstanding(), 1);
    // Allowed-fast pieces can be requested while choked.
    assert_eq!(p.request_capacity(), 0);
    feed(&mut p, &[Message::AllowedFast(4)], t0).unwrap();
    assert!(p.request_capacity() > 0);
    assert!(!p.request(blk(3, 0), t0));
    assert!(p.request(blk(4, 0), t0));
}

#[test]
fn peer_requests_are_validated_and_gated() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(cfg(), t0);
    let mut have = Bitfield::new(10);
    (0..9).for_each(|i| {
        have.set(i);
    });
    p.send_bitfield(&have);
    assert_eq!(
        sent(&mut p),
        vec![Message::Bitfield(Bytes::from_static(&[0xff, 0x80]))]
    );
    // Out of range: error.
    for bad in [
        BlockRef {
            piece: 10,
            begin: 0,
            length: 1,
        },
        BlockRef {
            piece: 0,
            begin: 0,
            length: 0,
        },
        BlockRef {
            piece: 0,
            begin: 0,
            length: MAX_REQUEST_LEN + 1,
        },
        BlockRef {
            piece: 0,
            begin: PIECE - 1,
            length: 2,
        },
        BlockRef {
            piece: 9,
            begin: 0,
            length: 1001,
        },
        BlockRef {
            piece: 0,
            begin: u32::MAX,
            length: 16384,
        },
    ] {
        let mut q = PeerConnection::new(cfg(), t0);
        assert_eq!(
            feed(&mut q, &[Message::Request(bad)], t0),
            Err(PeerError::InvalidRequest(bad))
        );
    }
    // Choked: rejected (fast). Piece we lack: rejected.
    let last = BlockRef {
        piece: 9,
        begin: 0,
        length: 1000,
    };
    feed(&mut p, &[Message::Request(blk(0, 0))], t0).unwrap();
    assert_eq!(sent(&mut p), vec![Message::Reject(blk(0, 0))]);
    p.unchoke();
    feed(
        &mut p,
        &[Message::Request(last), Message::Request(blk(0, 0))],
        t0,
    )
    .unwrap();
    assert_eq!(sent(&mut p), vec![Message::Unchoke, Message::Reject(last)]);
    assert_eq!(events(&mut p), vec![PeerEvent::Request(blk(0, 0))]);
    assert!(p.peer_request_pending(&blk(0, 0)));
    // Duplicate: ignored. Cancel: event plus reject (fast).
    feed(
        &mut p,
        &[
            Message::Request(blk(0, 0)),
            Message::Cancel(blk(0, 0)),
            Message::Cancel(blk(0, 1)),
        ],
        t0,
    )
    .unwrap();
    assert_eq!(events(&mut p), vec![PeerEvent::Cancel(blk(0, 0))]);
    assert_eq!(sent(&mut p), vec![Message::Reject(blk(0, 0))]);
    assert!(!p.peer_request_pending(&blk(0, 0)));
    // Our choke rejects pending requests except allowed-fast ones, which stay served.
    p.send_allowed_fast(1);
    feed(
        &mut p,
        &[Message::Request(blk(0, 1)), Message::Request(blk(1, 1))],
        t0,
    )
    .unwrap();
    events(&mut p);
    sent(&mut p);
    p.choke();
    assert_eq!(
        sent(&mut p),
        vec![Message::Choke, Message::Reject(blk(0, 1))]
    );
    assert!(p.peer_request_pending(&blk(1, 1)));
    feed(
        &mut p,
        &[Message::Request(blk(1, 2)), Message::Request(blk(2, 0))],
        t0,
    )
    .unwrap();
    assert_eq!(events(&mut p), vec![PeerEvent::Request(blk(1, 2))]);
    assert_eq!(sent(&mut p), vec![Message::Reject(blk(2, 0))]);
}

#[test]
fn requests_while_choked_are_ignored_without_fast() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(
        ConnectionConfig {
            fast: false,
            ..cfg()
        },
        t0,
    );
    p.send_bitfield(&Bitfield::full(10));
    assert_eq!(
        sent(&mut p),
        vec![Message::Bitfield(Bytes::from_static(&[0xff, 0xc0]))]
    );
    feed(&mut p, &[Message::Request(blk(0, 0))], t0).unwrap();
    assert!(events(&mut p).is_empty());
    assert!(sent(&mut p).is_empty());
    p.unchoke();
    feed(&mut p, &[Message::Request(blk(0, 0))], t0).unwrap();
    p.choke();
    assert!(!p.peer_request_pending(&blk(0, 0)));
    assert_eq!(sent(&mut p), vec![Message::Unchoke, Message::Choke]);
}

#[test]
fn request_flood_is_an_error() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(
        ConnectionConfig {
            max_peer_requests: 3,
            ..cfg()
        },
        t0,
    );
    p.send_bitfield(&Bitfield::full(10));
    p.unchoke();
    let reqs: Vec<_> = (0..3).map(|i| Message::Request(blk(0, i))).collect();
    feed(&mut p, &reqs, t0).unwrap();
    assert_eq!(events(&mut p).len(), 3);
    assert_eq!(
        feed(&mut p, &[Message::Request(blk(1, 0))], t0),
        Err(PeerError::RequestFlood { limit: 3 })
    );
    // Serving one makes room.
    let mut p = PeerConnection::new(
        ConnectionConfig {
            max_peer_requests: 3,
            ..cfg()
        },
        t0,
    );
    p.send_bitfield(&Bitfield::full(10));
    p.unchoke();
    feed(&mut p, &reqs, t0).unwrap();
    p.send_block_data(blk(0, 0), &[1; BLOCK_SIZE as usize])
        .unwrap();
    feed(&mut p, &[Message::Request(blk(1, 0))], t0).unwrap();
}

#[test]
fn refused_request_flood_from_a_peer_that_does_not_read_is_an_error() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(cfg(), t0);
    p.send_bitfield(&Bitfield::full(10));
    // Choked: every request is rejected. Reading our output keeps it harmless.
    let reqs: Vec<_> = (0..4).map(|i| Message::Request(blk(0, i))).collect();
    for _ in 0..10_000 {
        feed(&mut p, &reqs, t0).unwrap();
        p.output().clear();
    }
    // Not reading: the rejects pile up until the connection gives up.
    let mut result = Ok(());
    for _ in 0..10_000 {
        result = feed(&mut p, &reqs, t0);
        if result.is_err() {
            break;
        }
    }
    assert!(matches!(result, Err(PeerError::RequestFlood { .. })));
    assert!(p.output().len() <= MAX_REJECT_BACKLOG + 64);
}
