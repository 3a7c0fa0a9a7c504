//! Unit tests of the connection state machine, driven with a fake clock.

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
    BlockRef { piece, begin: i * BLOCK_SIZE, length: BLOCK_SIZE }
}

pub(super) fn feed(c: &mut PeerConnection, msgs: &[Message], now: Instant) -> Result<(), PeerError> {
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

fn data(b: BlockRef) -> Message {
    Message::Piece { piece: b.piece, begin: b.begin, data: Bytes::from(vec![7; b.length as usize]) }
}

/// A connection where the peer has unchoked us.
fn unchoked(c: ConnectionConfig, t0: Instant) -> PeerConnection {
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
    let hs = ExtensionHandshake { reqq: Some(50), ..Default::default() };
    let ext = Message::Extended { id: 0, payload: hs.encode().into() };
    let bf = Message::Bitfield(Bytes::from_static(&[0x80, 0x40]));
    feed(&mut p, &[Message::KeepAlive, ext, Message::Port(1), bf.clone()], t0).unwrap();
    assert_eq!(events(&mut p), vec![PeerEvent::ExtensionHandshake, PeerEvent::Port(1), PeerEvent::Bitfield]);
    assert_eq!(p.peer_pieces().iter_ones().collect::<Vec<_>>(), vec![0, 9]);
    assert_eq!(p.peer_reqq(), Some(50));
    assert_eq!(feed(&mut p, &[bf.clone()], t0), Err(PeerError::BitfieldNotFirst));

    let mut p = PeerConnection::new(cfg(), t0);
    assert_eq!(feed(&mut p, &[Message::Have(1), bf], t0), Err(PeerError::BitfieldNotFirst));
    let mut p = PeerConnection::new(cfg(), t0);
    assert_eq!(
        feed(&mut p, &[Message::HaveNone, Message::HaveAll], t0),
        Err(PeerError::BitfieldNotFirst)
    );
    let mut p = PeerConnection::new(cfg(), t0);
    assert_eq!(
        feed(&mut p, &[Message::Bitfield(Bytes::from_static(&[0xff, 0xff]))], t0),
        Err(PeerError::BadBitfield(BitfieldError::SpareBitsSet(10)))
    );
}

#[test]
fn have_and_fast_messages_are_validated() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(cfg(), t0);
    feed(&mut p, &[Message::Have(3), Message::Have(3), Message::Have(9)], t0).unwrap();
    assert_eq!(events(&mut p), vec![PeerEvent::Have(3), PeerEvent::Have(9)]);
    assert!(!p.peer_is_seed());
    assert_eq!(feed(&mut p, &[Message::Have(10)], t0), Err(PeerError::InvalidPieceIndex(10)));
    for bad in [Message::Suggest(10), Message::AllowedFast(u32::MAX)] {
        let mut p = PeerConnection::new(cfg(), t0);
        assert!(matches!(feed(&mut p, &[bad], t0), Err(PeerError::InvalidPieceIndex(_))));
    }
    let mut p = PeerConnection::new(cfg(), t0);
    feed(&mut p, &[Message::AllowedFast(2), Message::AllowedFast(2), Message::Suggest(4)], t0)
        .unwrap();
    assert_eq!(events(&mut p), vec![PeerEvent::AllowedFast(2), PeerEvent::Suggest(4)]);
    assert_eq!(p.allowed_fast(), &[2]);

    let slow = ConnectionConfig { fast: false, ..cfg() };
    for m in [
        Message::HaveAll,
        Message::HaveNone,
        Message::Reject(blk(0, 0)),
        Message::AllowedFast(1),
        Message::Suggest(1),
    ] {
        let mut p = PeerConnection::new(slow.clone(), t0);
        assert!(matches!(feed(&mut p, &[m], t0), Err(PeerError::FastMessageWithoutFast(_))));
    }
    let mut p = PeerConnection::new(ConnectionConfig { extensions: false, ..cfg() }, t0);
    let ext = Message::Extended { id: 1, payload: Bytes::new() };
    assert_eq!(feed(&mut p, &[ext], t0), Err(PeerError::ExtendedWithoutExtensions));
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
        Err(PeerError::Malformed(WireError::BadPayloadLength { id: 9, len: 1 }))
    );
    let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
    assert!(matches!(
        p.handle_input(&mut buf, t0),
        Err(PeerError::FrameTooLarge { len: u32::MAX, .. })
    ));
    // Garbage in the extension handshake is malformed.
    let mut p = PeerConnection::new(cfg(), t0);
    let ext = Message::Extended { id: 0, payload: Bytes::from_static(b"i1e") };
    assert!(matches!(feed(&mut p, &[ext], t0), Err(PeerError::Malformed(_))));
}

#[test]
fn frame_limit_grows_for_huge_bitfields() {
    let t0 = Instant::now();
    let n = 3_000_000u32;
    let mut p = PeerConnection::new(ConnectionConfig::new(n, 16384, u64::from(n) * 16384), t0);
    let bf = Bitfield::full(n as usize);
    feed(&mut p, &[Message::Bitfield(Bytes::copy_from_slice(bf.as_bytes()))], t0).unwrap();
    assert!(p.peer_is_seed());
}

#[test]
fn choke_without_fast_drops_requests() {
    let t0 = Instant::now();
    let mut p = unchoked(ConnectionConfig { fast: false, ..cfg() }, t0);
    for i in 0..3 {
        assert!(p.request(blk(1, i), t0));
    }
    assert!(!p.request(blk(1, 0), t0), "duplicate");
    assert_eq!(p.outstanding(), 3);
    feed(&mut p, &[Message::Choke], t0).unwrap();
    assert_eq!(events(&mut p), vec![PeerEvent::Choked { dropped: vec![blk(1, 0), blk(1, 1), blk(1, 2)] }]);
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
    feed(&mut p, &[Message::Choke, Message::Reject(blk(1, 0)), Message::Reject(blk(5, 0))], t0)
        .unwrap();
    assert_eq!(
        events(&mut p),
        vec![PeerEvent::Choked { dropped: vec![] }, PeerEvent::Rejected(blk(1, 0))]
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
    assert_eq!(sent(&mut p), vec![Message::Bitfield(Bytes::from_static(&[0xff, 0x80]))]);
    // Out of range: error.
    for bad in [
        BlockRef { piece: 10, begin: 0, length: 1 },
        BlockRef { piece: 0, begin: 0, length: 0 },
        BlockRef { piece: 0, begin: 0, length: MAX_REQUEST_LEN + 1 },
        BlockRef { piece: 0, begin: PIECE - 1, length: 2 },
        BlockRef { piece: 9, begin: 0, length: 1001 },
        BlockRef { piece: 0, begin: u32::MAX, length: 16384 },
    ] {
        let mut q = PeerConnection::new(cfg(), t0);
        assert_eq!(feed(&mut q, &[Message::Request(bad)], t0), Err(PeerError::InvalidRequest(bad)));
    }
    // Choked: rejected (fast). Piece we lack: rejected.
    let last = BlockRef { piece: 9, begin: 0, length: 1000 };
    feed(&mut p, &[Message::Request(blk(0, 0))], t0).unwrap();
    assert_eq!(sent(&mut p), vec![Message::Reject(blk(0, 0))]);
    p.unchoke();
    feed(&mut p, &[Message::Request(last), Message::Request(blk(0, 0))], t0).unwrap();
    assert_eq!(sent(&mut p), vec![Message::Unchoke, Message::Reject(last)]);
    assert_eq!(events(&mut p), vec![PeerEvent::Request(blk(0, 0))]);
    assert!(p.peer_request_pending(&blk(0, 0)));
    // Duplicate: ignored. Cancel: event plus reject (fast).
    feed(&mut p, &[Message::Request(blk(0, 0)), Message::Cancel(blk(0, 0)), Message::Cancel(blk(0, 1))], t0)
        .unwrap();
    assert_eq!(events(&mut p), vec![PeerEvent::Cancel(blk(0, 0))]);
    assert_eq!(sent(&mut p), vec![Message::Reject(blk(0, 0))]);
    assert!(!p.peer_request_pending(&blk(0, 0)));
    // Our choke rejects pending requests except allowed-fast ones, which stay served.
    p.send_allowed_fast(1);
    feed(&mut p, &[Message::Request(blk(0, 1)), Message::Request(blk(1, 1))], t0).unwrap();
    events(&mut p);
    sent(&mut p);
    p.choke();
    assert_eq!(sent(&mut p), vec![Message::Choke, Message::Reject(blk(0, 1))]);
    assert!(p.peer_request_pending(&blk(1, 1)));
    feed(&mut p, &[Message::Request(blk(1, 2)), Message::Request(blk(2, 0))], t0).unwrap();
    assert_eq!(events(&mut p), vec![PeerEvent::Request(blk(1, 2))]);
    assert_eq!(sent(&mut p), vec![Message::Reject(blk(2, 0))]);
}

#[test]
fn requests_while_choked_are_ignored_without_fast() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(ConnectionConfig { fast: false, ..cfg() }, t0);
    p.send_bitfield(&Bitfield::full(10));
    assert_eq!(sent(&mut p), vec![Message::Bitfield(Bytes::from_static(&[0xff, 0xc0]))]);
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
    let mut p = PeerConnection::new(ConnectionConfig { max_peer_requests: 3, ..cfg() }, t0);
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
    let mut p = PeerConnection::new(ConnectionConfig { max_peer_requests: 3, ..cfg() }, t0);
    p.send_bitfield(&Bitfield::full(10));
    p.unchoke();
    feed(&mut p, &reqs, t0).unwrap();
    p.send_block_data(blk(0, 0), &[1; BLOCK_SIZE as usize]).unwrap();
    feed(&mut p, &[Message::Request(blk(1, 0))], t0).unwrap();
}

#[test]
fn send_block_writes_in_place_and_rolls_back() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(cfg(), t0);
    p.send_bitfield(&Bitfield::full(10));
    sent(&mut p);
    let b = BlockRef { piece: 2, begin: 16, length: 5 };
    let err = p.send_block(b, |buf| {
        buf[0] = 1;
        Err(std::io::Error::other("disk"))
    });
    assert!(err.is_err());
    assert!(!p.has_output());
    assert_eq!(p.uploaded(), 0);
    p.send_block(b, |buf| {
        buf.copy_from_slice(b"hello");
        Ok(())
    })
    .unwrap();
    assert_eq!(sent(&mut p), vec![Message::Piece { piece: 2, begin: 16, data: Bytes::from_static(b"hello") }]);
    assert_eq!(p.uploaded(), 5);
    assert!(p.send_block_data(b, b"toolong").is_err());
    assert!(!p.has_output());
}

#[test]
fn send_bitfield_forms() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(cfg(), t0);
    p.send_bitfield(&Bitfield::full(10));
    p.send_bitfield(&Bitfield::new(10));
    assert_eq!(sent(&mut p), vec![Message::HaveAll]);
    let mut p = PeerConnection::new(cfg(), t0);
    p.send_bitfield(&Bitfield::new(10));
    assert_eq!(sent(&mut p), vec![Message::HaveNone]);
    let mut p = PeerConnection::new(ConnectionConfig { fast: false, ..cfg() }, t0);
    p.send_bitfield(&Bitfield::new(10));
    assert!(sent(&mut p).is_empty());
    p.send_have(3);
    p.send_have(3);
    p.send_have(10);
    assert_eq!(sent(&mut p), vec![Message::Have(3)]);
    // Too late for a bitfield: falls back to haves.
    let mut p = PeerConnection::new(cfg(), t0);
    p.set_interested(true);
    let mut have = Bitfield::new(10);
    have.set(1);
    have.set(4);
    p.send_bitfield(&have);
    assert_eq!(sent(&mut p), vec![Message::Interested, Message::Have(1), Message::Have(4)]);
    assert_eq!(p.our_pieces().count_ones(), 2);
}

#[test]
fn commands_that_change_nothing_send_nothing() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(ConnectionConfig { fast: false, extensions: false, ..cfg() }, t0);
    p.choke();
    p.set_interested(false);
    p.reject(blk(0, 0));
    p.send_allowed_fast(1);
    p.send_suggest(1);
    p.send_extended(1, b"x");
    p.send_extension_handshake(&ExtensionHandshake::default());
    p.cancel(blk(0, 0));
    assert!(!p.has_output());
    p.set_interested(true);
    p.set_interested(true);
    p.unchoke();
    p.unchoke();
    p.send_port(6881);
    assert_eq!(sent(&mut p), vec![Message::Interested, Message::Unchoke, Message::Port(6881)]);
    assert!(p.am_interested() && !p.am_choking());
}

#[test]
fn keepalive_and_idle_timeout() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(cfg(), t0);
    assert_eq!(p.poll_timeout(), t0 + secs(60));
    p.handle_timeout(t0 + secs(59)).unwrap();
    assert!(!p.has_output());
    p.handle_timeout(t0 + secs(60)).unwrap();
    assert_eq!(sent(&mut p), vec![Message::KeepAlive]);
    assert_eq!(p.poll_timeout(), t0 + secs(120));
    // Sending anything postpones the keep-alive.
    feed(&mut p, &[Message::KeepAlive], t0 + secs(100)).unwrap();
    p.set_interested(true);
    assert_eq!(p.poll_timeout(), t0 + secs(160));
    p.handle_timeout(t0 + secs(159)).unwrap();
    assert_eq!(sent(&mut p), vec![Message::Interested]);
    p.handle_timeout(t0 + secs(160)).unwrap();
    assert_eq!(sent(&mut p), vec![Message::KeepAlive]);
    assert_eq!(p.poll_timeout(), t0 + secs(220));
    p.handle_timeout(t0 + secs(219)).unwrap();
    assert!(!p.has_output());
    p.handle_timeout(t0 + secs(220)).unwrap();
    assert_eq!(sent(&mut p), vec![Message::KeepAlive]);
    assert_eq!(p.poll_timeout(), t0 + secs(280));
    let err = p.handle_timeout(t0 + secs(280)).unwrap_err();
    assert_eq!(err, PeerError::IdleTimeout);
    assert!(!err.is_misbehaviour());
}

#[test]
fn stalled_requests_time_out_and_snub() {
    let t0 = Instant::now();
    let mut p = unchoked(cfg(), t0);
    p.request(blk(0, 0), t0);
    p.request(blk(0, 1), t0 + secs(5));
    assert_eq!(p.poll_timeout(), t0 + secs(30));
    p.handle_timeout(t0 + secs(29)).unwrap();
    assert!(events(&mut p).is_empty());
    p.handle_timeout(t0 + secs(30)).unwrap();
    assert_eq!(events(&mut p), vec![PeerEvent::RequestTimedOut(blk(0, 0))]);
    assert!(p.is_snubbed());
    assert_eq!(p.request_depth(), 1);
    assert_eq!(p.request_capacity(), 0);
    assert_eq!(p.poll_timeout(), t0 + secs(35));
    // Late data for the timed-out block is tolerated; a requested block clears the snub.
    feed(&mut p, &[data(blk(0, 0)), data(blk(0, 1))], t0 + secs(31)).unwrap();
    assert_eq!(events(&mut p).len(), 1);
    assert!(!p.is_snubbed());
    assert_eq!(p.request_depth(), 4);
}

#[test]
fn one_lost_request_times_out_while_others_flow() {
    let t0 = Instant::now();
    let mut p = unchoked(cfg(), t0);
    p.request(blk(0, 0), t0); // the peer never serves this one
    for s in 0..200u64 {
        let now = t0 + secs(s);
        let b = blk(1 + (s as u32 % 9), 1);
        assert!(p.request(b, now));
        feed(&mut p, &[data(b)], now).unwrap();
        p.handle_timeout(now).unwrap();
        let ev = events(&mut p);
        if s < 120 {
            assert!(matches!(ev[..], [PeerEvent::Block { .. }]), "{s}: {ev:?}");
        } else if s == 120 {
            assert_eq!(ev.last(), Some(&PeerEvent::RequestTimedOut(blk(0, 0))));
            assert!(!p.is_snubbed());
        }
    }
    assert_eq!(p.outstanding(), 0);
}

#[test]
fn unrequested_blocks_are_ignored_up_to_a_limit() {
    let t0 = Instant::now();
    let mut p = unchoked(cfg(), t0);
    p.request(blk(0, 0), t0);
    p.cancel(blk(0, 0));
    assert_eq!(sent(&mut p), vec![Message::Request(blk(0, 0)), Message::Cancel(blk(0, 0))]);
    // The cancelled block is excused entirely.
    feed(&mut p, &[data(blk(0, 0))], t0).unwrap();
    // A block of the wrong length does not match the request.
    p.request(blk(0, 1), t0);
    let short = Message::Piece { piece: 0, begin: BLOCK_SIZE, data: Bytes::from_static(b"ab") };
    feed(&mut p, &[short], t0).unwrap();
    assert!(events(&mut p).is_empty());
    assert_eq!(p.outstanding(), 1);
    assert_eq!(p.downloaded(), 0);
    let junk: Vec<_> = (0..15).map(|i| data(blk(5, i))).collect();
    feed(&mut p, &junk, t0).unwrap();
    assert!(matches!(
        feed(&mut p, &[data(blk(6, 0))], t0),
        Err(PeerError::TooManyUnrequested { .. })
    ));
}

#[test]
fn depth_slow_starts_then_follows_rate_and_honours_limits() {
    let t0 = Instant::now();
    let mut p = unchoked(cfg(), t0);
    assert_eq!(p.request_depth(), INITIAL_DEPTH);
    assert_eq!(p.request_capacity(), INITIAL_DEPTH);
    // A fast peer: one block every 100 µs (~160 MB/s) for 2.5 s.
    let payload = Bytes::from(vec![7; BLOCK_SIZE as usize]);
    let mut now = t0;
    let mut n = 0u32;
    while now < t0 + Duration::from_millis(2500) {
        let b = BlockRef { piece: n % 10, begin: 0, length: BLOCK_SIZE };
        n += 1;
        assert!(p.request(b, now));
        now += Duration::from_micros(100);
        let m = Message::Piece { piece: b.piece, begin: 0, data: payload.clone() };
        feed(&mut p, &[m], now).unwrap();
        assert!(matches!(p.poll_event(), Some(PeerEvent::Block { .. })));
        if n == 3 {
            // Slow start: +1 per block.
            assert_eq!(p.request_depth(), INITIAL_DEPTH + 3);
        }
    }
    assert!(!p.slow_start);
    assert_eq!(p.request_depth(), 1000);
    assert!(p.download_rate() > 150_000_000, "{}", p.download_rate());
    // The peer's reqq caps it.
    let hs = ExtensionHandshake { reqq: Some(250), ..Default::default() };
    feed(&mut p, &[Message::Extended { id: 0, payload: hs.encode().into() }], now).unwrap();
    assert_eq!(p.request_depth(), 250);
    // A slow peer: 64 KiB/s → about 1.5 s worth is 6 blocks after slow start.
    let mut p = unchoked(cfg(), t0);
    let mut now = t0;
    for i in 0..40u32 {
        let b = blk(i % 10, i % 4);
        p.request(b, now);
        now += Duration::from_millis(250);
        feed(&mut p, &[data(b)], now).unwrap();
    }
    assert_eq!(p.request_depth(), 6);
    // 10 MB/s → 15 MB queued ≈ 915 blocks.
    let mut p = unchoked(cfg(), t0);
    let mut now = t0;
    for i in 0..2500u32 {
        let b = BlockRef { piece: i % 10, begin: 0, length: 10_000 };
        p.request(b, now);
        now += Duration::from_millis(1);
        feed(&mut p, &[data(b)], now).unwrap();
    }
    let d = p.request_depth();
    assert!((850..=950).contains(&d), "{d}");
}
