//! Unit tests of the connection's timers and adaptive request depth, driven with a
//! fake clock.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::tests::{blk, cfg, data, events, feed, secs, sent, unchoked};
use super::*;

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
    assert!(!err.is_peer_misbehaviour());
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
    assert_eq!(
        sent(&mut p),
        vec![Message::Request(blk(0, 0)), Message::Cancel(blk(0, 0))]
    );
    // The cancelled block is excused entirely.
    feed(&mut p, &[data(blk(0, 0))], t0).unwrap();
    // A block of the wrong length does not match the request.
    p.request(blk(0, 1), t0);
    let short = Message::Piece {
        piece: 0,
        begin: BLOCK_SIZE,
        data: Bytes::from_static(b"ab"),
    };
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
        let b = BlockRef {
            piece: n % 10,
            begin: 0,
            length: BLOCK_SIZE,
        };
        n += 1;
        assert!(p.request(b, now));
        now += Duration::from_micros(100);
        let m = Message::Piece {
            piece: b.piece,
            begin: 0,
            data: payload.clone(),
        };
        feed(&mut p, &[m], now).unwrap();
        assert!(matches!(p.poll_event(), Some(PeerEvent::Block { .. })));
        if n == 3 {
            // Slow start: +1 per block.
            assert_eq!(p.request_depth(), INITIAL_DEPTH + 3);
        }
    }
    assert!(!p.slow_start);
    assert_eq!(p.request_depth(), DEFAULT_PEER_REQQ as usize);
    feed(&mut p, &[reqq(5000)], now).unwrap();
    assert_eq!(p.request_depth(), 1000);
    assert!(p.download_rate() > 150_000_000, "{}", p.download_rate());
    // The peer's reqq caps it.
    feed(&mut p, &[reqq(100)], now).unwrap();
    assert_eq!(p.request_depth(), 100);
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
    feed(&mut p, &[reqq(2000)], t0).unwrap();
    let mut now = t0;
    for i in 0..2500u32 {
        let b = BlockRef {
            piece: i % 10,
            begin: 0,
            length: 10_000,
        };
        p.request(b, now);
        now += Duration::from_millis(1);
        feed(&mut p, &[data(b)], now).unwrap();
    }
    let d = p.request_depth();
    assert!((850..=950).contains(&d), "{d}");
}

fn reqq(n: u32) -> Message {
    let hs = ExtensionHandshake {
        reqq: Some(n),
        ..Default::default()
    };
    Message::Extended {
        id: 0,
        payload: hs.encode().into(),
    }
}

#[test]
fn inactivity_closes_only_while_neither_side_is_interested() {
    let t0 = Instant::now();
    let mut c = cfg();
    c.inactivity_timeout = secs(100);
    let mut p = PeerConnection::new(c, t0);
    // Keep-alives keep the connection from going idle, not from being inactive.
    feed(&mut p, &[Message::KeepAlive], t0 + secs(50)).unwrap();
    assert_eq!(p.poll_timeout(), t0 + secs(60));
    p.handle_timeout(t0 + secs(60)).unwrap();
    feed(&mut p, &[Message::KeepAlive], t0 + secs(90)).unwrap();
    assert_eq!(p.poll_timeout(), t0 + secs(100));
    let err = p.handle_timeout(t0 + secs(100)).unwrap_err();
    assert_eq!(err, PeerError::Inactive);
    assert!(!err.is_peer_misbehaviour());

    // A peer interested in us (waiting to be unchoked) is never inactive.
    let mut p = PeerConnection::new(c_with(secs(100)), t0);
    feed(&mut p, &[Message::Interested], t0 + secs(10)).unwrap();
    for s in (60..=1000).step_by(60) {
        feed(&mut p, &[Message::KeepAlive], t0 + secs(s)).unwrap();
        p.handle_timeout(t0 + secs(s)).unwrap();
    }
    // Once it loses interest the clock starts from then.
    feed(&mut p, &[Message::NotInterested], t0 + secs(1000)).unwrap();
    p.handle_timeout(t0 + secs(1099)).unwrap();
    assert_eq!(
        p.handle_timeout(t0 + secs(1100)).unwrap_err(),
        PeerError::Inactive
    );

    // Our own interest counts the same way.
    let mut p = PeerConnection::new(c_with(secs(100)), t0);
    p.set_interested(true);
    feed(&mut p, &[Message::KeepAlive], t0 + secs(150)).unwrap();
    p.handle_timeout(t0 + secs(150)).unwrap();
    p.set_interested(false);
    feed(&mut p, &[Message::KeepAlive], t0 + secs(200)).unwrap();
    p.handle_timeout(t0 + secs(200)).unwrap();
    assert_eq!(
        p.handle_timeout(t0 + secs(250)).unwrap_err(),
        PeerError::Inactive
    );
}

fn c_with(inactivity: Duration) -> ConnectionConfig {
    let mut c = cfg();
    c.inactivity_timeout = inactivity;
    c
}
