//! BEP 9 `ut_metadata`: `MetadataMessage::decode` on arbitrary payloads (encode → decode
//! round trip), and a `MetadataFetch` driven by several fake peers that send arbitrary,
//! corrupt or correct pieces, reject, time out and leave. A completed fetch must yield
//! exactly the info dictionary whose SHA-1 is the info-hash. Also the server side.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sha1::{Digest, Sha1};
use shoal_ext::metadata::DEFAULT_MAX_METADATA_SIZE;
use shoal_ext::{DataError, MetadataFetch, MetadataMessage, MetadataServer, METADATA_PIECE_LEN};
use shoal_fuzz::metadata::{Input, Op, Size};

/// A three-piece "info dictionary" (contents do not matter to the fetch).
fn info() -> &'static [u8] {
    static INFO: OnceLock<Vec<u8>> = OnceLock::new();
    INFO.get_or_init(|| {
        let len = 2 * METADATA_PIECE_LEN + 777;
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    })
}

fn piece_bytes(piece: u32) -> Option<&'static [u8]> {
    let start = (piece as usize).checked_mul(METADATA_PIECE_LEN)?;
    let info = info();
    let end = start.checked_add(METADATA_PIECE_LEN)?.min(info.len());
    info.get(start..end)
}

fn check_message(data: &[u8], max: u64) {
    let Ok(msg) = MetadataMessage::decode(data, max) else {
        return;
    };
    if let MetadataMessage::Data {
        total_size, data, ..
    } = msg
    {
        assert!(total_size > 0 && total_size <= max);
        assert!(data.len() <= METADATA_PIECE_LEN);
    }
    let encoded = msg.encode();
    let again = MetadataMessage::decode(&encoded, max).expect("own encoding decodes");
    assert_eq!(again, msg, "ut_metadata round trip");
}

fuzz_target!(|data: &[u8]| {
    let input = Input::read(data);
    check_message(&input.message, DEFAULT_MAX_METADATA_SIZE);
    check_message(&input.message, 40_000);

    let info = info();
    let size = info.len() as u64;
    let hash: [u8; 20] = Sha1::digest(info).into();
    let mut fetch =
        MetadataFetch::new(hash, 1 << 20).with_max_in_flight(usize::from(input.max_in_flight));
    let server = MetadataServer::new(info.to_vec());
    let mut limiter = server.limiter();
    let mut now = Instant::now();
    let mut done = false;

    for op in &input.ops {
        let peer = |p: &u8| u64::from(*p % 8);
        let result = match op {
            Op::AddPeer { peer: p, size: s } => {
                let s = match s {
                    Size::Right => size,
                    Size::Raw(x) => u64::from(*x),
                };
                let _ = fetch.add_peer(peer(p), s);
                None
            }
            Op::NextRequest { peer: p } => {
                if let Some(piece) = fetch.next_request(peer(p), now) {
                    let (_, total) = fetch.progress();
                    assert!(piece < total, "requested piece {piece} of {total}");
                    // The server side answers what a peer would be asked.
                    let _ = server.handle_request(&mut limiter, piece, now);
                }
                None
            }
            Op::Deliver { peer: p, piece } => {
                let piece = u32::from(*piece % 4);
                piece_bytes(piece).map(|b| fetch.on_data(peer(p), piece, size, b))
            }
            Op::Corrupt { peer: p, piece, at } => {
                let piece = u32::from(*piece % 4);
                piece_bytes(piece).map(|b| {
                    let mut b = b.to_vec();
                    if !b.is_empty() {
                        let i = usize::from(*at) % b.len();
                        b[i] ^= 1;
                    }
                    fetch.on_data(peer(p), piece, size, &b)
                })
            }
            Op::Payload { peer: p, payload } => {
                match MetadataMessage::decode(payload, DEFAULT_MAX_METADATA_SIZE) {
                    Ok(MetadataMessage::Data {
                        piece,
                        total_size,
                        data,
                    }) => Some(fetch.on_data(peer(p), piece, total_size, data)),
                    Ok(MetadataMessage::Reject { piece }) => {
                        fetch.on_reject(peer(p), piece);
                        None
                    }
                    Ok(MetadataMessage::Request { piece }) => {
                        let answer = server.handle_request(&mut limiter, piece, now);
                        if let MetadataMessage::Data { data, .. } = answer {
                            assert_eq!(Some(data), piece_bytes(piece));
                        }
                        None
                    }
                    Err(_) => None,
                }
            }
            Op::Reject { peer: p, piece } => {
                fetch.on_reject(peer(p), *piece);
                None
            }
            Op::Gone { peer: p } => {
                fetch.peer_gone(peer(p));
                None
            }
            Op::Advance { secs } => {
                now += Duration::from_secs(u64::from(*secs));
                let _ = fetch.next_timeout();
                None
            }
        };
        match result {
            Some(Ok(Some(bytes))) => {
                assert!(!done, "completed twice");
                assert_eq!(bytes, info, "a completed fetch yields the verified bytes");
                assert!(fetch.is_complete());
                done = true;
            }
            Some(Err(DataError::HashMismatch { banned, .. })) => {
                assert!(banned.iter().all(|p| fetch.is_banned(*p)));
            }
            _ => {}
        }
        let (have, total) = fetch.progress();
        assert!(have <= total);
    }
});
