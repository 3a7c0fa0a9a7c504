//! Seeds of the HTTP and UDP tracker targets.

use shoal_bencode::OwnedValue;
use shoal_tracker::udp::Response as UdpResponse;
use shoal_tracker::ScrapeStats;

use super::*;
use crate::udp;

pub(super) fn tracker_http(out: &mut Vec<Seed>) {
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

pub(super) fn tracker_udp(out: &mut Vec<Seed>) {
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
