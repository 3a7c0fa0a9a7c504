//! State-machine tests for [`UdpTracker`] with a fake clock.

use super::*;
use crate::types::AnnounceEvent;
use proptest::prelude::*;
use std::net::SocketAddr;

fn req() -> AnnounceRequest {
    AnnounceRequest {
        info_hash: [1; 20],
        peer_id: [2; 20],
        port: 6881,
        uploaded: 10,
        downloaded: 20,
        left: 30,
        event: AnnounceEvent::Started,
        numwant: Some(50),
        key: 0xABCD,
        tracker_id: None,
    }
}

fn fast() -> UdpConfig {
    UdpConfig {
        retransmit_base: Duration::from_secs(1),
        max_retries: 3,
        ..UdpConfig::default()
    }
}

fn sent(t: &mut UdpTracker) -> Request {
    let pkt = t.poll_transmit().expect("a packet to send");
    assert!(t.poll_transmit().is_none(), "only one packet at a time");
    Request::decode(&pkt).unwrap()
}

fn connect_reply(tid: u32, cid: u64) -> Vec<u8> {
    Response::Connect {
        transaction_id: tid,
        connection_id: cid,
    }
    .encode()
}

fn announce_reply(tid: u32) -> Vec<u8> {
    Response::Announce {
        transaction_id: tid,
        interval: 1800,
        leechers: 4,
        seeders: 5,
        peers: vec!["10.1.2.3:51413".parse().unwrap()],
    }
    .encode()
}

/// Runs connect → announce on a fresh tracker and returns the connection id used.
fn do_connect_announce(t: &mut UdpTracker, now: Instant, cid: u64) {
    let Request::Connect { transaction_id } = sent(t) else {
        panic!("expected connect")
    };
    t.handle_datagram(&connect_reply(transaction_id, cid), now);
    let Request::Announce(a) = sent(t) else {
        panic!("expected announce")
    };
    assert_eq!(a.connection_id, cid);
    t.handle_datagram(&announce_reply(a.transaction_id), now);
}

#[test]
fn connect_then_announce() {
    let now = Instant::now();
    let mut t = UdpTracker::with_config(fast(), now);
    assert_eq!(t.poll_timeout(), None);
    t.announce(req(), now);
    assert_eq!(t.poll_timeout(), Some(now + Duration::from_secs(1)));
    let Request::Connect { transaction_id } = sent(&mut t) else {
        panic!()
    };
    t.handle_datagram(&connect_reply(transaction_id, 77), now);
    let Request::Announce(a) = sent(&mut t) else {
        panic!()
    };
    assert_eq!(
        (
            a.connection_id,
            a.info_hash,
            a.peer_id,
            a.port,
            a.key,
            a.num_want
        ),
        (77, [1; 20], [2; 20], 6881, 0xABCD, 50)
    );
    assert_eq!(
        (a.uploaded, a.downloaded, a.left, a.event),
        (10, 20, 30, AnnounceEvent::Started)
    );
    t.handle_datagram(&announce_reply(a.transaction_id), now);
    let Some(UdpEvent::Announced(r)) = t.poll_event() else {
        panic!()
    };
    assert_eq!(r.interval, Duration::from_secs(1800));
    assert_eq!((r.complete, r.incomplete), (Some(5), Some(4)));
    assert_eq!(
        r.peers,
        vec!["10.1.2.3:51413".parse::<SocketAddr>().unwrap()]
    );
    assert_eq!(t.poll_event(), None);
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn connection_id_reused_within_60s_then_renewed() {
    let t0 = Instant::now();
    let mut t = UdpTracker::with_config(fast(), t0);
    t.announce(req(), t0);
    do_connect_announce(&mut t, t0, 5);
    assert!(matches!(t.poll_event(), Some(UdpEvent::Announced(_))));

    // 59 s later: straight to announce with the same id.
    let t1 = t0 + Duration::from_secs(59);
    t.announce(req(), t1);
    let Request::Announce(a) = sent(&mut t) else {
        panic!("expected reuse")
    };
    assert_eq!(a.connection_id, 5);
    t.handle_datagram(&announce_reply(a.transaction_id), t1);
    assert!(matches!(t.poll_event(), Some(UdpEvent::Announced(_))));

    // 60 s after the connect: a new connect.
    let t2 = t0 + Duration::from_secs(60);
    t.announce(req(), t2);
    do_connect_announce(&mut t, t2, 6);
    assert!(matches!(t.poll_event(), Some(UdpEvent::Announced(_))));
}

#[test]
fn retransmission_backoff_then_timeout() {
    let t0 = Instant::now();
    let mut t = UdpTracker::with_config(fast(), t0);
    t.announce(req(), t0);
    let first = t.poll_transmit().unwrap();
    // Too early: nothing happens.
    t.handle_timeout(t0 + Duration::from_millis(999));
    assert!(t.poll_transmit().is_none());
    let mut now = t0;
    for n in 0..3u32 {
        let deadline = t.poll_timeout().unwrap();
        assert_eq!(deadline - now, Duration::from_secs(1 << n));
        now = deadline;
        t.handle_timeout(now);
        assert_eq!(
            t.poll_transmit().unwrap(),
            first,
            "same connect packet, same transaction id"
        );
    }
    now = t.poll_timeout().unwrap();
    t.handle_timeout(now);
    assert_eq!(
        t.poll_event(),
        Some(UdpEvent::Failed(TrackerError::TimedOut))
    );
    assert!(t.poll_transmit().is_none());
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn default_timings_are_bep15() {
    let t0 = Instant::now();
    let mut t = UdpTracker::new(t0);
    t.announce(req(), t0);
    let mut now = t0;
    let mut total = Duration::ZERO;
    for n in 0..=8u32 {
        let d = t.poll_timeout().unwrap();
        assert_eq!(d - now, Duration::from_secs(15 << n));
        total += d - now;
        now = d;
        t.handle_timeout(now);
    }
    assert_eq!(total, Duration::from_secs(15 * 511));
    assert_eq!(
        t.poll_event(),
        Some(UdpEvent::Failed(TrackerError::TimedOut))
    );
}

#[test]
fn expired_connection_during_retransmit_reconnects() {
    let t0 = Instant::now();
    let cfg = UdpConfig {
        retransmit_base: Duration::from_secs(40),
        ..fast()
    };
    let mut t = UdpTracker::with_config(cfg, t0);
    t.announce(req(), t0);
    let Request::Connect { transaction_id } = sent(&mut t) else {
        panic!()
    };
    t.handle_datagram(&connect_reply(transaction_id, 9), t0);
    assert!(matches!(sent(&mut t), Request::Announce(_)));
    // Retransmit at 40 s: the id is still valid.
    t.handle_timeout(t0 + Duration::from_secs(40));
    assert!(matches!(sent(&mut t), Request::Announce(_)));
    // Next retransmit at 120 s: the id expired, so connect again.
    t.handle_timeout(t0 + Duration::from_secs(120));
    assert!(matches!(sent(&mut t), Request::Connect { .. }));
}

#[test]
fn wrong_transaction_id_and_junk_ignored() {
    let t0 = Instant::now();
    let mut t = UdpTracker::with_config(fast(), t0);
    t.announce(req(), t0);
    let Request::Connect { transaction_id } = sent(&mut t) else {
        panic!()
    };
    t.handle_datagram(&connect_reply(transaction_id.wrapping_add(1), 1), t0);
    t.handle_datagram(b"junk", t0);
    t.handle_datagram(&[], t0);
    // An announce answer while connecting is ignored too.
    t.handle_datagram(&announce_reply(transaction_id), t0);
    assert!(t.poll_transmit().is_none());
    assert_eq!(t.poll_event(), None);
    t.handle_datagram(&connect_reply(transaction_id, 2), t0);
    let Request::Announce(a) = sent(&mut t) else {
        panic!()
    };
    assert_eq!(a.connection_id, 2);
    // Stale connect id answer after we moved on: ignored.
    t.handle_datagram(&connect_reply(transaction_id, 3), t0);
    assert!(t.poll_transmit().is_none());
    t.handle_datagram(&announce_reply(a.transaction_id ^ 0xFFFF), t0);
    assert_eq!(t.poll_event(), None);
}

#[test]
fn error_action_fails_operation_and_forgets_connection() {
    let t0 = Instant::now();
    let mut t = UdpTracker::with_config(fast(), t0);
    t.announce(req(), t0);
    let Request::Connect { transaction_id } = sent(&mut t) else {
        panic!()
    };
    t.handle_datagram(&connect_reply(transaction_id, 2), t0);
    let Request::Announce(a) = sent(&mut t) else {
        panic!()
    };
    let err = Response::Error {
        transaction_id: a.transaction_id,
        message: "torrent not registered".into(),
    };
    t.handle_datagram(&err.encode(), t0);
    assert_eq!(
        t.poll_event(),
        Some(UdpEvent::Failed(TrackerError::Failure(
            "torrent not registered".into()
        )))
    );
    // Next operation reconnects.
    t.announce(req(), t0);
    assert!(matches!(sent(&mut t), Request::Connect { .. }));
}

#[test]
fn queued_operations_run_in_order_and_scrape_works() {
    let t0 = Instant::now();
    let mut t = UdpTracker::with_config(fast(), t0);
    t.announce(req(), t0);
    t.scrape(vec![[1; 20], [2; 20]], t0);
    assert_eq!(t.pending(), 2);
    do_connect_announce(&mut t, t0, 8);
    let Request::Scrape {
        connection_id,
        transaction_id,
        info_hashes,
    } = sent(&mut t)
    else {
        panic!()
    };
    assert_eq!((connection_id, info_hashes.len()), (8, 2));
    let stats = vec![
        ScrapeStats {
            complete: 1,
            downloaded: 2,
            incomplete: 3,
        },
        ScrapeStats {
            complete: 4,
            downloaded: 5,
            incomplete: 6,
        },
    ];
    t.handle_datagram(
        &Response::Scrape {
            transaction_id,
            stats: stats.clone(),
        }
        .encode(),
        t0,
    );
    assert!(matches!(t.poll_event(), Some(UdpEvent::Announced(_))));
    assert_eq!(t.poll_event(), Some(UdpEvent::Scraped(stats)));
    assert_eq!(t.pending(), 0);
}

#[test]
fn bad_scrape_sizes_rejected() {
    let t0 = Instant::now();
    let mut t = UdpTracker::new(t0);
    t.scrape(vec![], t0);
    t.scrape(vec![[0; 20]; 75], t0);
    assert!(matches!(
        t.poll_event(),
        Some(UdpEvent::Failed(TrackerError::InvalidRequest(_)))
    ));
    assert!(matches!(
        t.poll_event(),
        Some(UdpEvent::Failed(TrackerError::InvalidRequest(_)))
    ));
    assert!(t.poll_transmit().is_none());
}

#[test]
fn abort_current_moves_on_silently() {
    let t0 = Instant::now();
    let mut t = UdpTracker::with_config(fast(), t0);
    t.announce(req(), t0);
    t.announce(
        AnnounceRequest {
            event: AnnounceEvent::Stopped,
            ..req()
        },
        t0,
    );
    let _ = sent(&mut t);
    t.abort_current(t0);
    assert_eq!(t.pending(), 1);
    assert!(matches!(sent(&mut t), Request::Connect { .. }));
    assert_eq!(t.poll_event(), None);
}

#[test]
fn ipv6_peers() {
    let t0 = Instant::now();
    let mut t = UdpTracker::with_config(
        UdpConfig {
            ipv6: true,
            ..fast()
        },
        t0,
    );
    t.announce(req(), t0);
    let Request::Connect { transaction_id } = sent(&mut t) else {
        panic!()
    };
    t.handle_datagram(&connect_reply(transaction_id, 1), t0);
    let Request::Announce(a) = sent(&mut t) else {
        panic!()
    };
    let peer: SocketAddr = "[2001:db8::1]:6881".parse().unwrap();
    let reply = Response::Announce {
        transaction_id: a.transaction_id,
        interval: 60,
        leechers: 0,
        seeders: 0,
        peers: vec![peer],
    };
    t.handle_datagram(&reply.encode(), t0);
    let Some(UdpEvent::Announced(r)) = t.poll_event() else {
        panic!()
    };
    assert_eq!(r.peers, vec![peer]);
}

proptest! {
    /// Whatever arrives, at whatever time, the machine never panics and never sends more
    /// than one packet per input.
    #[test]
    fn arbitrary_datagrams_never_panic(
        inputs in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..120), 0u64..200_000), 0..30)
    ) {
        let t0 = Instant::now();
        let mut t = UdpTracker::with_config(fast(), t0);
        t.announce(req(), t0);
        let _ = t.poll_transmit();
        for (data, ms) in inputs {
            let now = t0 + Duration::from_millis(ms);
            t.handle_datagram(&data, now);
            t.handle_timeout(now);
            let mut n = 0;
            while t.poll_transmit().is_some() { n += 1; }
            prop_assert!(n <= 2);
            while t.poll_event().is_some() {}
        }
    }
}
