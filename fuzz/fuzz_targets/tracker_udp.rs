//! BEP 15 UDP tracker: `Response::decode` / `Request::decode` on arbitrary packets
//! (encode → decode round trips), and the per-tracker `UdpTracker` state machine with a
//! fake clock, answered with arbitrary packets that carry the transaction id of its
//! real request (or not). Every operation must end in exactly one event.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use shoal_fuzz::udp::{Action, Input, Op};
use shoal_tracker::udp::{Request, Response, UdpConfig, UdpEvent, UdpTracker};
use shoal_tracker::{AnnounceEvent, AnnounceRequest};

fn check_codecs(packet: &[u8]) {
    for ipv6 in [false, true] {
        if let Ok(r) = Response::decode(packet, ipv6) {
            let again = Response::decode(&r.encode(), ipv6).expect("own response decodes");
            assert_eq!(again, r, "UDP response round trip");
        }
    }
    if let Ok(r) = Request::decode(packet) {
        let again = Request::decode(&r.encode()).expect("own request decodes");
        assert_eq!(again, r, "UDP request round trip");
    }
}

fn request() -> AnnounceRequest {
    AnnounceRequest {
        info_hash: [1; 20],
        peer_id: [2; 20],
        port: 6881,
        uploaded: 0,
        downloaded: 0,
        left: 100,
        event: AnnounceEvent::Started,
        numwant: Some(50),
        key: 7,
        tracker_id: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let input = Input::read(data);
    check_codecs(&input.packet);

    let cfg = UdpConfig {
        retransmit_base: Duration::from_secs(1),
        max_retries: 3,
        connection_id_lifetime: Duration::from_secs(60),
        ipv6: input.ipv6,
    };
    let mut now = Instant::now();
    let mut t = UdpTracker::with_config(cfg, now);
    let mut last_sent: Option<Request> = None;
    let mut queued = 0usize;
    let mut finished = 0usize;
    let mut aborted = 0usize;
    let mut scrape_sizes = std::collections::VecDeque::new();

    for op in &input.ops {
        match op {
            Op::Announce => {
                t.announce(request(), now);
                queued += 1;
                scrape_sizes.push_back(None);
            }
            Op::Scrape(n) => {
                let n = usize::from(*n % 80);
                let hashes: Vec<[u8; 20]> = (0..n).map(|i| [i as u8; 20]).collect();
                t.scrape(hashes, now);
                queued += 1;
                // Scrapes of 0 or more than 74 hashes fail at once without queueing.
                if n == 0 || n > 74 {
                    scrape_sizes.push_front(Some(n));
                } else {
                    scrape_sizes.push_back(Some(n));
                }
            }
            Op::Abort => {
                let before = t.pending();
                t.abort_current(now);
                if t.pending() < before {
                    aborted += 1;
                    scrape_sizes.pop_front();
                }
            }
            Op::AdvanceMs(ms) => {
                now += Duration::from_millis(u64::from(*ms));
                t.handle_timeout(now);
            }
            Op::AdvanceSecs(s) => {
                now += Duration::from_secs(u64::from(*s));
                t.handle_timeout(now);
            }
            Op::ToTimeout => {
                if let Some(deadline) = t.poll_timeout() {
                    now = now.max(deadline);
                }
                t.handle_timeout(now);
            }
            Op::Reply {
                action,
                wrong_tid,
                body,
            } => {
                let tid = last_sent.as_ref().map_or(0, Request::transaction_id);
                let tid = if *wrong_tid { tid.wrapping_add(1) } else { tid };
                let action = match action {
                    Action::Connect => 0,
                    Action::Announce => 1,
                    Action::Scrape => 2,
                    Action::Error => 3,
                    Action::Raw(x) => *x,
                };
                let mut packet = Vec::with_capacity(8 + body.len());
                packet.extend_from_slice(&action.to_be_bytes());
                packet.extend_from_slice(&tid.to_be_bytes());
                packet.extend_from_slice(body);
                t.handle_datagram(&packet, now);
            }
            Op::Raw(bytes) => t.handle_datagram(bytes, now),
        }
        while let Some(packet) = t.poll_transmit() {
            let req = Request::decode(&packet).expect("own packets decode");
            last_sent = Some(req);
        }
        while let Some(ev) = t.poll_event() {
            finished += 1;
            let size = scrape_sizes.pop_front().flatten();
            match ev {
                UdpEvent::Scraped(stats) => {
                    let n = size.expect("scrape result for a scrape");
                    assert!(stats.len() <= n);
                }
                UdpEvent::Announced(r) => {
                    assert!(size.is_none(), "announce result for a scrape");
                    assert!(r.peers.iter().all(|p| p.port() != 0));
                    assert!(r.peers.iter().all(|p| p.is_ipv6() == input.ipv6));
                }
                UdpEvent::Failed(_) => {}
            }
        }
        assert_eq!(
            finished + aborted + t.pending(),
            queued,
            "every operation ends in one event"
        );
        if t.pending() > 0 {
            assert!(
                t.poll_timeout().is_some(),
                "a pending operation has a timer"
            );
        }
    }
});
