//! Known-answer and property tests for the BEP 15 packet codecs.

use super::*;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

#[test]
fn connect_request_layout() {
    let bytes = Request::Connect {
        transaction_id: 0xDEAD_BEEF,
    }
    .encode();
    assert_eq!(
        bytes,
        [0, 0, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF]
    );
}

#[test]
fn announce_request_is_98_bytes() {
    let p = AnnouncePacket {
        connection_id: 1,
        transaction_id: 2,
        info_hash: [3; 20],
        peer_id: [4; 20],
        downloaded: 5,
        left: 6,
        uploaded: 7,
        event: AnnounceEvent::Started,
        ip: 0,
        key: 8,
        num_want: -1,
        port: 6881,
    };
    let bytes = Request::Announce(p.clone()).encode();
    assert_eq!(bytes.len(), 98);
    assert_eq!(&bytes[80..84], &2u32.to_be_bytes()); // event started = 2
    assert_eq!(&bytes[92..96], &[0xFF; 4]); // num_want -1
    assert_eq!(Request::decode(&bytes).unwrap(), Request::Announce(p));
}

#[test]
fn announce_response_v4_and_v6() {
    let mut v4 = vec![0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 7, 8, 0, 0, 0, 2, 0, 0, 0, 3];
    v4.extend_from_slice(&[127, 0, 0, 1, 0x1A, 0xE1]);
    match Response::decode(&v4, false).unwrap() {
        Response::Announce {
            transaction_id,
            interval,
            leechers,
            seeders,
            peers,
        } => {
            assert_eq!(
                (transaction_id, interval, leechers, seeders),
                (9, 1800, 2, 3)
            );
            assert_eq!(peers, vec!["127.0.0.1:6881".parse().unwrap()]);
        }
        other => panic!("{other:?}"),
    }
    let mut v6 = v4[..20].to_vec();
    v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    v6.extend_from_slice(&[0x1A, 0xE1]);
    match Response::decode(&v6, true).unwrap() {
        Response::Announce { peers, .. } => assert_eq!(peers, vec!["[::1]:6881".parse().unwrap()]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn error_packet() {
    let mut data = vec![0, 0, 0, 3, 0, 0, 0, 5];
    data.extend_from_slice(b"go away");
    assert_eq!(
        Response::decode(&data, false).unwrap(),
        Response::Error {
            transaction_id: 5,
            message: "go away".into()
        }
    );
}

#[test]
fn rejects_short_and_unknown() {
    assert_eq!(
        Response::decode(&[0, 0, 0], false),
        Err(PacketError::TooShort)
    );
    assert_eq!(
        Response::decode(&[0, 0, 0, 9, 0, 0, 0, 0], false),
        Err(PacketError::UnknownAction(9))
    );
    assert_eq!(
        Response::decode(&[0, 0, 0, 1, 0, 0, 0, 0, 1], false),
        Err(PacketError::TooShort)
    );
}

fn arb_event() -> impl Strategy<Value = AnnounceEvent> {
    prop_oneof![
        Just(AnnounceEvent::None),
        Just(AnnounceEvent::Started),
        Just(AnnounceEvent::Completed),
        Just(AnnounceEvent::Stopped),
    ]
}

fn arb_request() -> impl Strategy<Value = Request> {
    let announce = (
        (
            any::<u64>(),
            any::<u32>(),
            any::<[u8; 20]>(),
            any::<[u8; 20]>(),
        ),
        (any::<u64>(), any::<u64>(), any::<u64>(), arb_event()),
        (any::<u32>(), any::<u32>(), any::<i32>(), any::<u16>()),
    )
        .prop_map(|((c, t, ih, pid), (d, l, u, e), (ip, key, nw, port))| {
            Request::Announce(AnnouncePacket {
                connection_id: c,
                transaction_id: t,
                info_hash: ih,
                peer_id: pid,
                downloaded: d,
                left: l,
                uploaded: u,
                event: e,
                ip,
                key,
                num_want: nw,
                port,
            })
        });
    prop_oneof![
        any::<u32>().prop_map(|t| Request::Connect { transaction_id: t }),
        announce,
        (
            any::<u64>(),
            any::<u32>(),
            proptest::collection::vec(any::<[u8; 20]>(), 1..=MAX_SCRAPE_HASHES)
        )
            .prop_map(|(c, t, h)| Request::Scrape {
                connection_id: c,
                transaction_id: t,
                info_hashes: h
            }),
    ]
}

fn arb_peers(ipv6: bool) -> BoxedStrategy<Vec<SocketAddr>> {
    if ipv6 {
        proptest::collection::vec((any::<[u8; 16]>(), 1u16..), 0..10)
            .prop_map(|v| {
                v.into_iter()
                    .map(|(ip, p)| SocketAddr::from((Ipv6Addr::from(ip), p)))
                    .collect()
            })
            .boxed()
    } else {
        proptest::collection::vec((any::<[u8; 4]>(), 1u16..), 0..10)
            .prop_map(|v| {
                v.into_iter()
                    .map(|(ip, p)| SocketAddr::from((Ipv4Addr::from(ip), p)))
                    .collect()
            })
            .boxed()
    }
}

fn arb_response(ipv6: bool) -> impl Strategy<Value = Response> {
    prop_oneof![
        (any::<u32>(), any::<u64>()).prop_map(|(t, c)| Response::Connect {
            transaction_id: t,
            connection_id: c
        }),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            arb_peers(ipv6)
        )
            .prop_map(|(t, i, l, s, peers)| Response::Announce {
                transaction_id: t,
                interval: i,
                leechers: l,
                seeders: s,
                peers
            }),
        (
            any::<u32>(),
            proptest::collection::vec(any::<(u32, u32, u32)>(), 0..10)
        )
            .prop_map(|(t, s)| {
                Response::Scrape {
                    transaction_id: t,
                    stats: s
                        .into_iter()
                        .map(|(c, d, i)| ScrapeStats {
                            complete: c,
                            downloaded: d,
                            incomplete: i,
                        })
                        .collect(),
                }
            }),
        (any::<u32>(), ".{0,40}").prop_map(|(t, m)| Response::Error {
            transaction_id: t,
            message: m
        }),
    ]
}

proptest! {
    #[test]
    fn request_round_trip(req in arb_request()) {
        prop_assert_eq!(Request::decode(&req.encode()).unwrap(), req);
    }

    #[test]
    fn response_round_trip_v4(resp in arb_response(false)) {
        prop_assert_eq!(Response::decode(&resp.encode(), false).unwrap(), resp);
    }

    #[test]
    fn response_round_trip_v6(resp in arb_response(true)) {
        prop_assert_eq!(Response::decode(&resp.encode(), true).unwrap(), resp);
    }

    #[test]
    fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200), v6 in any::<bool>()) {
        let _ = Request::decode(&data);
        let _ = Response::decode(&data, v6);
    }
}
