//! End-to-end tests: two connections wired back to back, the metadata-pending mode,
//! and property tests that arbitrary input and command sequences never panic.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::tests::{blk, cfg, events, feed};
use super::*;
use crate::message::tests::arb_message;

const PIECE_LEN: u32 = 4 * BLOCK_SIZE;
const TOTAL: u64 = 4 * PIECE_LEN as u64 + 10_000;

fn content(at: u64) -> u8 {
    (at * 31 % 251) as u8
}

/// Moves one side's output to the other's input buffer `pipe` in odd-sized chunks,
/// so frames arrive split.
fn pump(
    from: &mut PeerConnection,
    pipe: &mut BytesMut,
    to: &mut PeerConnection,
    now: Instant,
) -> Result<(), PeerError> {
    let mut src = from.output().split();
    while !src.is_empty() {
        let n = src.len().min(999);
        pipe.extend_from_slice(&src.split_to(n));
        to.handle_input(pipe, now)?;
    }
    Ok(())
}

fn transfer(fast: bool, extensions: bool) {
    let t0 = Instant::now();
    let c = ConnectionConfig {
        fast,
        extensions,
        ..ConnectionConfig::new(5, PIECE_LEN, TOTAL)
    };
    let mut seed = PeerConnection::new(c.clone(), t0);
    let mut leech = PeerConnection::new(c.clone(), t0);
    seed.send_extension_handshake(&ExtensionHandshake {
        reqq: Some(8),
        ..Default::default()
    });
    seed.send_bitfield(&Bitfield::full(5));
    leech.send_bitfield(&Bitfield::new(5));
    let mut todo: Vec<BlockRef> = (0..5u32)
        .flat_map(|p| {
            let size = c.piece_size(p).unwrap();
            (0..size.div_ceil(BLOCK_SIZE)).map(move |i| BlockRef {
                piece: p,
                begin: i * BLOCK_SIZE,
                length: BLOCK_SIZE.min(size - i * BLOCK_SIZE),
            })
        })
        .rev()
        .collect();
    let blocks = todo.len();
    let mut file = vec![0u8; TOTAL as usize];
    let mut received = 0;
    let (mut to_leech, mut to_seed) = (BytesMut::new(), BytesMut::new());
    let mut now = t0;
    for _ in 0..10_000 {
        now += Duration::from_millis(1);
        pump(&mut seed, &mut to_leech, &mut leech, now).unwrap();
        pump(&mut leech, &mut to_seed, &mut seed, now).unwrap();
        seed.handle_timeout(now).unwrap();
        leech.handle_timeout(now).unwrap();
        while let Some(ev) = seed.poll_event() {
            match ev {
                PeerEvent::Interested => seed.unchoke(),
                PeerEvent::Request(b) => {
                    let at = u64::from(b.piece) * u64::from(PIECE_LEN) + u64::from(b.begin);
                    seed.send_block(b, |buf| {
                        buf.iter_mut()
                            .enumerate()
                            .for_each(|(i, x)| *x = content(at + i as u64));
                        Ok(())
                    })
                    .unwrap();
                }
                PeerEvent::Have(_) | PeerEvent::HaveNone | PeerEvent::ExtensionHandshake => {}
                other => panic!("seed got {other:?}"),
            }
        }
        while let Some(ev) = leech.poll_event() {
            match ev {
                PeerEvent::HaveAll | PeerEvent::Bitfield => {
                    assert!(leech.peer_is_seed());
                    leech.set_interested(true);
                }
                PeerEvent::ExtensionHandshake => assert_eq!(leech.peer_reqq(), Some(8)),
                PeerEvent::Unchoked => {}
                PeerEvent::Block { block, data } => {
                    let at = (block.piece * PIECE_LEN + block.begin) as usize;
                    file[at..at + data.len()].copy_from_slice(&data);
                    received += 1;
                    if block.begin + block.length == c.piece_size(block.piece).unwrap() {
                        leech.send_have(block.piece);
                    }
                }
                other => panic!("leech got {other:?}"),
            }
        }
        for _ in 0..leech.request_capacity() {
            let Some(b) = todo.pop() else { break };
            assert!(leech.request(b, now));
        }
        let cap = if extensions { 8 } else { 32 };
        assert!(leech.outstanding() <= cap);
        if received == blocks {
            break;
        }
    }
    assert_eq!(received, blocks);
    assert!(file
        .iter()
        .enumerate()
        .all(|(i, &x)| x == content(i as u64)));
    assert_eq!((leech.downloaded(), seed.uploaded()), (TOTAL, TOTAL));
    assert_eq!(leech.outstanding(), 0);
    assert_eq!(seed.peer_requests_pending(), 0);
    assert!(seed.download_rate() == 0 && leech.download_rate() > 0 && seed.upload_rate() > 0);
}

#[test]
fn two_connections_transfer_a_torrent() {
    transfer(true, true);
}

#[test]
fn two_connections_transfer_without_extensions() {
    transfer(false, false);
}

#[test]
fn metadata_pending_mode_buffers_announcements() {
    let t0 = Instant::now();
    let c = ConnectionConfig {
        fast: true,
        extensions: true,
        ..ConnectionConfig::default()
    };
    let mut p = PeerConnection::new(c.clone(), t0);
    let msgs = [
        Message::Bitfield(Bytes::from_static(&[0x80, 0, 0])),
        Message::Have(19),
        Message::AllowedFast(3),
        Message::Suggest(3),
        Message::Request(blk(0, 0)),
    ];
    feed(&mut p, &msgs, t0).unwrap();
    assert!(events(&mut p).is_empty());
    assert_eq!(p.peer_pieces().len(), 0);
    p.set_torrent_layout(20, 16384, 20 * 16384).unwrap();
    assert_eq!(events(&mut p), vec![PeerEvent::Bitfield]);
    assert_eq!(p.peer_pieces().iter_ones().collect::<Vec<_>>(), vec![0, 19]);
    feed(&mut p, &[Message::Have(20)], t0).unwrap_err();

    let mut p = PeerConnection::new(c.clone(), t0);
    feed(&mut p, &[Message::HaveAll], t0).unwrap();
    assert!(p.peer_is_seed());
    p.set_torrent_layout(20, 16384, 20 * 16384).unwrap();
    assert_eq!(events(&mut p), vec![PeerEvent::HaveAll, PeerEvent::HaveAll]);
    assert!(p.peer_is_seed());

    let mut p = PeerConnection::new(c.clone(), t0);
    feed(&mut p, &[Message::Have(20)], t0).unwrap();
    assert_eq!(
        p.set_torrent_layout(20, 1, 20),
        Err(PeerError::InvalidPieceIndex(20))
    );
    let mut p = PeerConnection::new(c, t0);
    feed(
        &mut p,
        &[Message::Bitfield(Bytes::from_static(&[0x80]))],
        t0,
    )
    .unwrap();
    assert!(matches!(
        p.set_torrent_layout(20, 1, 20),
        Err(PeerError::BadBitfield(_))
    ));
}

/// Something the engine or the peer does.
#[derive(Debug, Clone)]
enum Act {
    Msg(Message),
    Raw(Vec<u8>),
    Request(u32, u32),
    Cancel(u32, u32),
    Serve(u32, u32),
    Reject(u32, u32),
    Choke(bool),
    Interested(bool),
    Have(u32),
    AllowedFast(u32),
    Wait(u64),
}

fn arb_act() -> impl Strategy<Value = Act> {
    prop_oneof![
        6 => arb_message().prop_map(Act::Msg),
        1 => proptest::collection::vec(any::<u8>(), 0..24).prop_map(Act::Raw),
        3 => (0u32..11, 0u32..4).prop_map(|(p, i)| Act::Request(p, i)),
        1 => (0u32..11, 0u32..4).prop_map(|(p, i)| Act::Cancel(p, i)),
        1 => (0u32..11, 0u32..4).prop_map(|(p, i)| Act::Serve(p, i)),
        1 => (0u32..11, 0u32..4).prop_map(|(p, i)| Act::Reject(p, i)),
        1 => any::<bool>().prop_map(Act::Choke),
        1 => any::<bool>().prop_map(Act::Interested),
        1 => (0u32..11).prop_map(Act::Have),
        1 => (0u32..11).prop_map(Act::AllowedFast),
        2 => (0u64..100_000).prop_map(Act::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn handle_input_never_panics_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        fast in any::<bool>(),
        extensions in any::<bool>(),
        pending in any::<bool>(),
    ) {
        let t0 = Instant::now();
        let mut c = if pending { ConnectionConfig::default() } else { cfg() };
        c.fast = fast;
        c.extensions = extensions;
        let mut p = PeerConnection::new(c, t0);
        let mut buf = BytesMut::from(&bytes[..]);
        let _ = p.handle_input(&mut buf, t0);
        let _ = p.set_torrent_layout(10, 100, 1000);
        while p.poll_event().is_some() {}
    }

    #[test]
    fn arbitrary_sessions_never_panic_and_keep_invariants(
        acts in proptest::collection::vec(arb_act(), 0..60),
        fast in any::<bool>(),
        max_depth in 1usize..40,
    ) {
        let t0 = Instant::now();
        let c = ConnectionConfig { fast, max_request_depth: max_depth, max_peer_requests: 8, ..cfg() };
        let mut p = PeerConnection::new(c, t0);
        let mut now = t0;
        p.send_bitfield(&Bitfield::full(10));
        for act in acts {
            let r = match act {
                Act::Msg(m) => feed(&mut p, &[m], now),
                Act::Raw(b) => p.handle_input(&mut BytesMut::from(&b[..]), now),
                Act::Request(pc, i) => { p.request(blk(pc, i), now); Ok(()) }
                Act::Cancel(pc, i) => { p.cancel(blk(pc, i)); Ok(()) }
                Act::Serve(pc, i) => {
                    let _ = p.send_block(blk(pc, i), |b| { b.fill(1); Ok(()) });
                    Ok(())
                }
                Act::Reject(pc, i) => { p.reject(blk(pc, i)); Ok(()) }
                Act::Choke(true) => { p.choke(); Ok(()) }
                Act::Choke(false) => { p.unchoke(); Ok(()) }
                Act::Interested(y) => { p.set_interested(y); Ok(()) }
                Act::Have(i) => { p.send_have(i); Ok(()) }
                Act::AllowedFast(i) => { p.send_allowed_fast(i); Ok(()) }
                Act::Wait(ms) => {
                    now += Duration::from_millis(ms);
                    p.handle_timeout(now)
                }
            };
            while p.poll_event().is_some() {}
            prop_assert!(p.outstanding() <= max_depth);
            prop_assert!(p.request_capacity() <= p.request_depth());
            prop_assert!(p.peer_requests_pending() <= 8);
            prop_assert!(p.poll_timeout() > t0);
            if r.is_err() {
                break;
            }
        }
        // Whatever was written is a valid frame sequence.
        let mut out = p.output().split();
        let reader = FrameReader::new(u32::MAX);
        while reader.next(&mut out).unwrap().is_some() {}
        prop_assert!(out.is_empty());
    }
}
