//! Known-answer and property tests for the HTTP tracker codecs.

use super::*;
use crate::{AnnounceEvent, AnnounceRequest, ScrapeStats, TrackerError};
use proptest::prelude::*;
use std::net::SocketAddr;
use std::time::Duration;

/// The info-hash example of BEP 3's tracker section.
const HASH: [u8; 20] = [
    0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf1, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x12,
    0x34, 0x56, 0x78, 0x9a,
];
const HASH_ENC: &str = "%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A";

fn req(event: AnnounceEvent) -> AnnounceRequest {
    AnnounceRequest {
        info_hash: HASH,
        peer_id: *b"-SH0100-abc~def.g_h ",
        port: 6881,
        uploaded: 1,
        downloaded: 2,
        left: 3,
        event,
        numwant: Some(200),
        key: 0xBEEF,
        tracker_id: None,
    }
}

#[test]
fn announce_url_known_answer() {
    let url = announce_url("http://t.example/announce", &req(AnnounceEvent::Started));
    assert_eq!(
        url,
        format!(
            "http://t.example/announce?info_hash={HASH_ENC}&peer_id=-SH0100-abc~def.g_h%20\
             &port=6881&uploaded=1&downloaded=2&left=3&compact=1&no_peer_id=1&event=started\
             &numwant=200&key=0000beef"
        )
    );
}

#[test]
fn announce_url_separators_and_optional_fields() {
    let r = AnnounceRequest {
        numwant: None,
        tracker_id: Some(b"a b".to_vec()),
        ..req(AnnounceEvent::None)
    };
    let url = announce_url("https://t/announce.php?passkey=xyz#frag", &r);
    assert!(
        url.starts_with(&format!(
            "https://t/announce.php?passkey=xyz&info_hash={HASH_ENC}&"
        )),
        "{url}"
    );
    assert!(!url.contains("event="));
    assert!(!url.contains("numwant="));
    assert!(!url.contains('#'));
    assert!(url.ends_with("&trackerid=a%20b"));
    assert!(announce_url("http://t/a?", &r).starts_with("http://t/a?info_hash="));
    assert!(announce_url("http://t/a?x=1&", &r).starts_with("http://t/a?x=1&info_hash="));
    assert!(announce_url("http://t/a", &req(AnnounceEvent::Stopped)).contains("&event=stopped&"));
    assert!(
        announce_url("http://t/a", &req(AnnounceEvent::Completed)).contains("&event=completed&")
    );
}

#[test]
fn scrape_url_rule() {
    let cases = [
        (
            "http://example.com/announce",
            Some("http://example.com/scrape"),
        ),
        (
            "http://example.com/x/announce",
            Some("http://example.com/x/scrape"),
        ),
        (
            "http://example.com/announce.php",
            Some("http://example.com/scrape.php"),
        ),
        ("http://example.com/a", None),
        (
            "http://example.com/announce?x2%0644",
            Some("http://example.com/scrape?x2%0644"),
        ),
        (
            "http://example.com/announce?x=2/4",
            Some("http://example.com/scrape?x=2/4"),
        ),
        ("http://example.com/x%064announce", None),
        ("http://example.com/announce/", None),
        ("http://announce", None),
        ("not a url", None),
    ];
    for (input, want) in cases {
        assert_eq!(scrape_url(input).as_deref(), want, "{input}");
    }
}

#[test]
fn scrape_query_known_answer() {
    assert_eq!(
        scrape_query("http://t/scrape", &[HASH, [b'a'; 20]]),
        format!(
            "http://t/scrape?info_hash={HASH_ENC}&info_hash={}",
            "a".repeat(20)
        )
    );
    assert!(
        scrape_query("http://t/scrape?k=1", &[HASH]).starts_with("http://t/scrape?k=1&info_hash=")
    );
}

#[test]
fn parse_compact_and_peers6() {
    let mut body =
        b"d8:completei5e10:incompletei7e8:intervali1800e12:min intervali60e5:peers12:".to_vec();
    body.extend_from_slice(&[127, 0, 0, 1, 0x1A, 0xE1, 10, 0, 0, 2, 0, 80]);
    body.extend_from_slice(b"6:peers618:");
    body.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    body.extend_from_slice(&[0x1A, 0xE2]);
    body.extend_from_slice(b"10:tracker id3:abc15:warning message6:bewaree");
    let r = parse_announce(&body).unwrap();
    assert_eq!(r.interval, Duration::from_secs(1800));
    assert_eq!(r.min_interval, Some(Duration::from_secs(60)));
    assert_eq!((r.complete, r.incomplete), (Some(5), Some(7)));
    let want: Vec<SocketAddr> = ["127.0.0.1:6881", "10.0.0.2:80", "[::1]:6882"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(r.peers, want);
    assert_eq!(r.tracker_id.as_deref(), Some(&b"abc"[..]));
    assert_eq!(r.warning.as_deref(), Some("beware"));
}

#[test]
fn parse_dict_peers_skips_bad_entries() {
    let body = b"d8:intervali900e5:peersl\
        d2:ip9:127.0.0.17:peer id20:aaaaaaaaaaaaaaaaaaaa4:porti6881ee\
        d2:ip3:::14:porti6882ee\
        d2:ip11:example.com4:porti1ee\
        d2:ip8:10.0.0.14:porti70000ee\
        i5e\
        ee";
    let r = parse_announce(body).unwrap();
    let want: Vec<SocketAddr> = ["127.0.0.1:6881", "[::1]:6882"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(r.peers, want);
    assert_eq!(r.interval, Duration::from_secs(900));
    assert_eq!(r.complete, None);
}

#[test]
fn parse_tolerates_unsorted_keys_and_trailing_newline() {
    let r = parse_announce(b"d5:peers0:8:intervali60ee\n").unwrap();
    assert_eq!(r.interval, Duration::from_secs(60));
    assert!(r.peers.is_empty());
    assert_eq!(parse_announce(b"de").unwrap().interval, DEFAULT_INTERVAL);
}

#[test]
fn failure_reason() {
    assert_eq!(
        parse_announce(b"d14:failure reason17:torrent not founde"),
        Err(TrackerError::Failure("torrent not found".into()))
    );
    assert_eq!(
        parse_scrape(b"d14:failure reason6:no waye"),
        Err(TrackerError::Failure("no way".into()))
    );
}

#[test]
fn malformed_replies() {
    for body in [
        &b""[..],
        b"<html>",
        b"li1ee",
        b"d8:intervali-5ee",
        b"d8:interval3:abce",
        // `peers` / `peers6` of the wrong type: broken, not an empty answer.
        b"d8:intervali60e5:peersi42ee",
        b"d8:intervali60e5:peersd1:xi1eee",
        b"d8:intervali60e5:peers0:6:peers6le",
        b"d8:intervali60e6:peers6i7ee",
    ] {
        assert!(
            matches!(parse_announce(body), Err(TrackerError::Malformed(_))),
            "{body:?}"
        );
    }
    assert!(matches!(
        parse_scrape(b"de"),
        Err(TrackerError::Malformed(_))
    ));
}

/// No `peers` at all is an empty (valid) answer.
#[test]
fn missing_peers_is_an_empty_answer() {
    let r = parse_announce(b"d8:intervali60ee").unwrap();
    assert!(r.peers.is_empty());
}

#[test]
fn parse_scrape_known_answer() {
    let mut body = b"d5:filesd20:".to_vec();
    body.extend_from_slice(&HASH);
    body.extend_from_slice(
        b"d8:completei5e10:downloadedi50e10:incompletei10ee3:badd8:completei1eee",
    );
    body.extend_from_slice(b"e");
    let m = parse_scrape(&body).unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(
        m[&HASH],
        ScrapeStats {
            complete: 5,
            downloaded: 50,
            incomplete: 10
        }
    );
}

proptest! {
    #[test]
    fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_announce(&data);
        let _ = parse_scrape(&data);
    }

    /// Mostly-valid bencode with random peer bytes and integers also never panics.
    #[test]
    fn structured_replies_never_panic(peers in proptest::collection::vec(any::<u8>(), 0..64), n in any::<i64>()) {
        let mut body = format!("d8:intervali{n}e5:peers{}:", peers.len()).into_bytes();
        body.extend_from_slice(&peers);
        body.extend_from_slice(format!("6:peers6{}:", peers.len()).as_bytes());
        body.extend_from_slice(&peers);
        body.push(b'e');
        let _ = parse_announce(&body);
    }

    /// Every byte string survives percent-encoding: decoding it gives the input back.
    #[test]
    fn percent_encoding_round_trip(data in proptest::collection::vec(any::<u8>(), 0..40)) {
        let enc = percent_encode(&data);
        let mut out = Vec::new();
        let b = enc.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap(), 16).unwrap());
                i += 3;
            } else {
                prop_assert!(b[i].is_ascii_alphanumeric() || b"-._~".contains(&b[i]));
                out.push(b[i]);
                i += 1;
            }
        }
        prop_assert_eq!(out, data);
    }
}
