//! HTTP tracker replies: `parse_announce` and `parse_scrape` on arbitrary bodies, with a
//! re-encode → parse round trip of accepted announces; and the URL builders on
//! arbitrary tracker URLs (they come from torrents and magnet links).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use shoal_bencode::OwnedValue;
use shoal_tracker::compact::encode_into;
use shoal_tracker::http::{announce_url, parse_announce, parse_scrape, scrape_query, scrape_url};
use shoal_tracker::{AnnounceEvent, AnnounceRequest, AnnounceResponse};

/// Bencodes a reply the way a tracker would (compact peers split by family).
fn encode(r: &AnnounceResponse) -> Vec<u8> {
    let mut d = OwnedValue::dict();
    d.insert("interval", r.interval.as_secs());
    if let Some(m) = r.min_interval {
        d.insert("min interval", m.as_secs());
    }
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for p in &r.peers {
        encode_into(p, if p.is_ipv4() { &mut v4 } else { &mut v6 });
    }
    d.insert("peers", v4);
    if !v6.is_empty() {
        d.insert("peers6", v6);
    }
    if let Some(c) = r.complete {
        d.insert("complete", c);
    }
    if let Some(c) = r.incomplete {
        d.insert("incomplete", c);
    }
    if let Some(w) = &r.warning {
        d.insert("warning message", w.as_str());
    }
    if let Some(t) = &r.tracker_id {
        d.insert("tracker id", t.clone());
    }
    d.encode()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = parse_announce(data) {
        assert!(r.peers.iter().all(|p| p.port() != 0));
        let again = parse_announce(&encode(&r)).expect("re-encoded reply parses");
        let mut expected = r.clone();
        // Re-encoding puts IPv4 peers before IPv6 ones; order within a family is kept.
        expected.peers.sort_by_key(|p| p.is_ipv6());
        // Intervals beyond i64 seconds cannot be bencoded; the parser never yields them.
        assert!(r.interval <= Duration::from_secs(i64::MAX as u64));
        assert_eq!(again, expected, "HTTP announce round trip");
    }
    if let Ok(files) = parse_scrape(data) {
        assert!(files.len() <= data.len() / 20 + 1);
    }
    if let Ok(url) = std::str::from_utf8(data) {
        let req = AnnounceRequest {
            info_hash: [0xab; 20],
            peer_id: *b"-SH0100-abcdefghijkl",
            port: 6881,
            uploaded: 1,
            downloaded: 2,
            left: 3,
            event: AnnounceEvent::Started,
            numwant: Some(50),
            key: 0xdead_beef,
            tracker_id: Some(b"id\x00\xff".to_vec()),
        };
        let full = announce_url(url, &req);
        assert!(full.contains("info_hash=%AB%AB"));
        if let Some(scrape) = scrape_url(url) {
            let q = scrape_query(&scrape, &[[1; 20], [2; 20]]);
            assert!(q.contains("scrape"));
        }
    }
});
