//! Unit tests for [`MetadataFetch`](super::MetadataFetch).

use super::*;
use crate::metadata::{piece_len, DEFAULT_MAX_METADATA_SIZE, METADATA_PIECE_LEN};

const MAX: u64 = DEFAULT_MAX_METADATA_SIZE;

fn info(len: usize) -> (Vec<u8>, [u8; 20]) {
    let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let hash = Sha1::digest(&bytes).into();
    (bytes, hash)
}

fn piece(bytes: &[u8], index: u32) -> &[u8] {
    let start = index as usize * METADATA_PIECE_LEN;
    let len = piece_len(bytes.len() as u64, index).unwrap();
    &bytes[start..start + len]
}

#[test]
fn first_size_wins() {
    let mut f = MetadataFetch::new([0; 20], MAX);
    assert_eq!(
        f.add_peer(1, 0),
        Err(AddPeerError::InvalidSize { size: 0, max: MAX })
    );
    assert!(matches!(
        f.add_peer(1, MAX + 1),
        Err(AddPeerError::InvalidSize { .. })
    ));
    f.add_peer(1, 40_000).unwrap();
    assert_eq!(f.metadata_size(), Some(40_000));
    assert_eq!(f.progress(), (0, 3));
    assert_eq!(
        f.add_peer(2, 50_000),
        Err(AddPeerError::SizeMismatch {
            expected: 40_000,
            got: 50_000
        })
    );
    assert_eq!(f.next_request(2, Instant::now()), None);
    f.add_peer(1, 40_000).unwrap();
    // Once every peer with that size is gone and nothing was received, it may change.
    f.peer_gone(1);
    f.add_peer(2, 50_000).unwrap();
    assert_eq!(f.metadata_size(), Some(50_000));
}

#[test]
fn spreads_pieces_across_peers() {
    let now = Instant::now();
    let mut f = MetadataFetch::new([0; 20], MAX);
    for p in 1..=3 {
        f.add_peer(p, 40_000).unwrap();
    }
    assert_eq!(f.next_request(1, now), Some(0));
    assert_eq!(f.next_request(1, now), None);
    assert_eq!(f.next_request(2, now), Some(1));
    assert_eq!(f.next_request(3, now), Some(2));
    assert_eq!(f.next_request(3, now), None);
    assert_eq!(f.next_request(99, now), None);
}

/// By default a peer has one request at a time: some clients stop serving a
/// connection that pipelines metadata requests.
#[test]
fn one_request_per_peer_by_default() {
    let now = Instant::now();
    let (bytes, hash) = info(40_000);
    let mut f = MetadataFetch::new(hash, MAX);
    f.add_peer(7, 40_000).unwrap();
    for index in 0..3 {
        assert_eq!(f.next_request(7, now), Some(index));
        assert_eq!(f.next_request(7, now), None, "a second request in flight");
        let done = f.on_data(7, index, 40_000, piece(&bytes, index)).unwrap();
        assert_eq!(done.is_some(), index == 2);
    }
}

#[test]
fn single_peer_pipelines_up_to_the_cap() {
    let now = Instant::now();
    let mut f = MetadataFetch::new([0; 20], MAX).with_max_in_flight(2);
    f.add_peer(7, 100_000).unwrap();
    assert_eq!(f.next_request(7, now), Some(0));
    assert_eq!(f.next_request(7, now), Some(1));
    assert_eq!(f.next_request(7, now), None);
}

#[test]
fn endgame_duplicates_only_when_all_requested() {
    let now = Instant::now();
    let mut f = MetadataFetch::new([0; 20], MAX).with_max_in_flight(4);
    f.add_peer(1, 20_000).unwrap();
    assert_eq!(f.next_request(1, now), Some(0));
    assert_eq!(f.next_request(1, now), Some(1));
    f.add_peer(2, 20_000).unwrap();
    f.add_peer(3, 20_000).unwrap();
    // Everything is requested: duplicates are allowed, least-requested first.
    assert_eq!(f.next_request(2, now), Some(0));
    assert_eq!(f.next_request(3, now), Some(1));
    f.add_peer(4, 20_000).unwrap();
    assert_eq!(f.next_request(4, now), None);
}

#[test]
fn timed_out_requests_are_reissued() {
    let t0 = Instant::now();
    let mut f = MetadataFetch::new([0; 20], MAX).with_request_timeout(Duration::from_secs(10));
    for p in 1..=3 {
        f.add_peer(p, 1000).unwrap();
    }
    assert_eq!(f.next_request(1, t0), Some(0));
    assert_eq!(f.next_timeout(), Some(t0 + Duration::from_secs(10)));
    // The only piece is requested, so a second peer may duplicate it, a third not.
    assert_eq!(f.next_request(2, t0 + Duration::from_secs(1)), Some(0));
    assert_eq!(f.next_request(3, t0 + Duration::from_secs(9)), None);
    assert_eq!(f.next_request(1, t0 + Duration::from_secs(9)), None);
    // Peer 1's request expired: the piece is free for peer 3 again.
    assert_eq!(f.next_request(3, t0 + Duration::from_secs(10)), Some(0));
}

#[test]
fn rejects_and_departures_free_pieces() {
    let now = Instant::now();
    let mut f = MetadataFetch::new([0; 20], MAX);
    f.add_peer(1, 1000).unwrap();
    assert_eq!(f.next_request(1, now), Some(0));
    f.on_reject(1, 0);
    f.on_reject(1, 99);
    f.on_reject(42, 0);
    assert_eq!(f.next_request(1, now), None);
    f.add_peer(2, 1000).unwrap();
    assert_eq!(f.next_request(2, now), Some(0));
    f.peer_gone(2);
    f.add_peer(3, 1000).unwrap();
    assert_eq!(f.next_request(3, now), Some(0));
}

#[test]
fn assembles_and_verifies() {
    let now = Instant::now();
    let (bytes, hash) = info(40_000);
    let mut f = MetadataFetch::new(hash, MAX);
    f.add_peer(1, 40_000).unwrap();
    f.add_peer(2, 40_000).unwrap();
    let a = f.next_request(1, now).unwrap();
    let b = f.next_request(2, now).unwrap();
    assert_eq!(f.on_data(1, a, 40_000, piece(&bytes, a)), Ok(None));
    // A duplicate is ignored.
    assert_eq!(f.on_data(2, a, 40_000, piece(&bytes, a)), Ok(None));
    assert_eq!(f.on_data(2, b, 40_000, piece(&bytes, b)), Ok(None));
    assert_eq!(f.progress(), (2, 3));
    let c = f.next_request(1, now).unwrap();
    assert_eq!(f.on_data(1, c, 40_000, piece(&bytes, c)), Ok(Some(bytes)));
    assert!(f.is_complete());
    assert_eq!(f.next_request(1, now), None);
    assert_eq!(f.on_data(1, 0, 1, b"x"), Ok(None));
}

#[test]
fn ignores_unsolicited_but_takes_late_data() {
    let t0 = Instant::now();
    let (bytes, hash) = info(1000);
    let mut f = MetadataFetch::new(hash, MAX).with_request_timeout(Duration::from_secs(5));
    f.add_peer(1, 1000).unwrap();
    f.add_peer(2, 1000).unwrap();
    // Nobody asked peer 2.
    assert_eq!(f.on_data(2, 0, 1000, &bytes), Ok(None));
    assert_eq!(f.progress(), (0, 1));
    assert_eq!(f.next_request(1, t0), Some(0));
    // Peer 1 times out and the piece goes to peer 2, but peer 1's late answer counts.
    assert_eq!(f.next_request(2, t0 + Duration::from_secs(5)), Some(0));
    assert_eq!(f.on_data(1, 0, 1000, &bytes), Ok(Some(bytes)));
}

#[test]
fn refuses_bad_data() {
    let (bytes, hash) = info(20_000);
    let mut f = MetadataFetch::new(hash, MAX);
    assert_eq!(f.on_data(1, 0, 20_000, b""), Err(DataError::UnknownPeer(1)));
    f.add_peer(1, 20_000).unwrap();
    assert_eq!(
        f.on_data(1, 0, 30_000, piece(&bytes, 0)),
        Err(DataError::SizeMismatch {
            expected: 20_000,
            got: 30_000
        })
    );
    assert!(matches!(
        f.on_data(1, 2, 20_000, b""),
        Err(DataError::Invalid(MetadataError::PieceOutOfRange { .. }))
    ));
    assert!(matches!(
        f.on_data(1, 0, 20_000, b"short"),
        Err(DataError::Invalid(MetadataError::WrongPieceLength { .. }))
    ));
    assert_eq!(f.progress(), (0, 2));
}

#[test]
fn sole_supplier_of_bad_data_is_banned() {
    let now = Instant::now();
    let (bytes, hash) = info(20_000);
    let mut f = MetadataFetch::new(hash, MAX).with_max_in_flight(4);
    f.add_peer(1, 20_000).unwrap();
    assert_eq!(f.next_request(1, now), Some(0));
    assert_eq!(f.next_request(1, now), Some(1));
    f.add_peer(2, 20_000).unwrap();
    let bad = vec![0u8; METADATA_PIECE_LEN];
    assert_eq!(f.on_data(1, 0, 20_000, &bad), Ok(None));
    assert_eq!(
        f.on_data(1, 1, 20_000, piece(&bytes, 1)),
        Err(DataError::HashMismatch {
            banned: vec![1],
            suspect: vec![]
        })
    );
    assert!(f.is_banned(1));
    assert_eq!(f.progress(), (0, 2));
    assert_eq!(f.add_peer(1, 20_000), Err(AddPeerError::Banned(1)));
    assert_eq!(f.next_request(1, now), None);
    assert_eq!(f.on_data(1, 0, 20_000, piece(&bytes, 0)), Ok(None));
    // Solo mode: peer 2 takes every piece.
    assert_eq!(f.next_request(2, now), Some(0));
    assert_eq!(f.next_request(2, now), Some(1));
}

#[test]
fn mixed_suppliers_become_suspect_and_solo_prefers_clean_peers() {
    let now = Instant::now();
    let (bytes, hash) = info(20_000);
    let mut f = MetadataFetch::new(hash, MAX).with_max_in_flight(4);
    for p in 1..=3 {
        f.add_peer(p, 20_000).unwrap();
    }
    assert_eq!(f.next_request(1, now), Some(0));
    assert_eq!(f.next_request(2, now), Some(1));
    let bad = vec![0u8; METADATA_PIECE_LEN];
    f.on_data(1, 0, 20_000, &bad).unwrap();
    assert_eq!(
        f.on_data(2, 1, 20_000, piece(&bytes, 1)),
        Err(DataError::HashMismatch {
            banned: vec![],
            suspect: vec![1, 2]
        })
    );
    // Peer 3 is not suspect, so suspects wait for it to be the source.
    assert_eq!(f.next_request(1, now), None);
    assert_eq!(f.next_request(3, now), Some(0));
    assert_eq!(f.next_request(2, now), None);
    // If the source leaves, a suspect may take over.
    f.peer_gone(3);
    assert_eq!(f.next_request(2, now), Some(0));
    assert_eq!(f.next_request(1, now), None);
    assert_eq!(f.next_request(2, now), Some(1));
    f.on_data(2, 0, 20_000, piece(&bytes, 0)).unwrap();
    assert_eq!(f.on_data(2, 1, 20_000, piece(&bytes, 1)), Ok(Some(bytes)));
}

#[test]
fn memory_is_bounded_by_the_cap() {
    let mut f = MetadataFetch::new([0; 20], 1 << 20);
    assert!(f.add_peer(1, (1 << 20) + 1).is_err());
    f.add_peer(1, 1 << 20).unwrap();
    assert_eq!(f.progress(), (0, 64));
    for p in 2..=MAX_FETCH_PEERS as u64 {
        f.add_peer(p, 1 << 20).unwrap();
    }
    assert_eq!(
        f.add_peer(5000, 1 << 20),
        Err(AddPeerError::TooManyPeers(MAX_FETCH_PEERS))
    );
}

#[derive(Debug, Clone)]
enum Op {
    Add(u64, bool),
    Request(u64, u64),
    Data(u64, u32, bool, bool),
    Reject(u64, u32),
    Gone(u64),
}

fn arb_op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        (0u64..5, any::<bool>()).prop_map(|(p, ok)| Op::Add(p, ok)),
        (0u64..5, 0u64..40).prop_map(|(p, dt)| Op::Request(p, dt)),
        (0u64..5, 0u32..5, any::<bool>(), any::<bool>())
            .prop_map(|(p, i, good, whole)| Op::Data(p, i, good, whole)),
        (0u64..5, 0u32..5).prop_map(|(p, i)| Op::Reject(p, i)),
        (0u64..5).prop_map(Op::Gone),
    ]
}

proptest::proptest! {
    /// Any sequence of events leaves the fetch consistent: no panic, and whatever it
    /// returns is the verified dictionary.
    #[test]
    fn random_events_never_panic(len in 1usize..50_000, ops in proptest::collection::vec(arb_op(), 0..80)) {
        let (bytes, hash) = info(len);
        let size = len as u64;
        let mut f = MetadataFetch::new(hash, MAX).with_request_timeout(Duration::from_secs(10));
        let mut now = Instant::now();
        for op in ops {
            match op {
                Op::Add(p, ok) => {
                    let _ = f.add_peer(p, if ok { size } else { size + 1 });
                }
                Op::Request(p, dt) => {
                    now += Duration::from_secs(dt);
                    let _ = f.next_request(p, now);
                }
                Op::Data(p, i, good, whole) => {
                    let data = match piece_len(size, i) {
                        Some(_) if whole => {
                            let mut d = piece(&bytes, i).to_vec();
                            if !good {
                                d[0] ^= 1;
                            }
                            d
                        }
                        _ => vec![0; 3],
                    };
                    if let Ok(Some(out)) = f.on_data(p, i, size, &data) {
                        proptest::prop_assert_eq!(&out, &bytes);
                        proptest::prop_assert!(f.is_complete());
                    }
                }
                Op::Reject(p, i) => f.on_reject(p, i),
                Op::Gone(p) => f.peer_gone(p),
            }
            let (have, total) = f.progress();
            proptest::prop_assert!(have <= total);
        }
    }
}

#[test]
fn a_silent_liar_with_a_false_size_gives_way_after_a_timeout() {
    let (bytes, hash) = info(40_000);
    let t0 = Instant::now();
    let timeout = Duration::from_secs(10);
    let mut f = MetadataFetch::new(hash, MAX).with_request_timeout(timeout);
    // The liar announces a false size first, takes requests and never answers.
    f.add_peer(1, 70_000).unwrap();
    while f.next_request(1, t0).is_some() {}
    let honest = bytes.len() as u64;
    assert!(matches!(
        f.add_peer(2, honest),
        Err(AddPeerError::SizeMismatch { .. })
    ));
    f.handle_timeout(t0 + timeout / 2);
    assert!(
        matches!(
            f.add_peer(2, honest),
            Err(AddPeerError::SizeMismatch { .. })
        ),
        "gave way before any request timed out"
    );
    f.handle_timeout(t0 + timeout);
    f.add_peer(2, honest).unwrap();
    assert_eq!(f.metadata_size(), Some(honest));
    // The liar is out of the fetch; the honest peer completes it.
    assert_eq!(f.next_request(1, t0 + timeout), None);
    assert!(matches!(
        f.on_data(1, 0, 70_000, &[0; METADATA_PIECE_LEN]),
        Err(DataError::UnknownPeer(1))
    ));
    let mut done = None;
    while let Some(p) = f.next_request(2, t0 + timeout) {
        done = f.on_data(2, p, honest, piece(&bytes, p)).unwrap();
    }
    assert_eq!(done.as_deref(), Some(&bytes[..]));
}

#[test]
fn a_size_with_data_coming_is_not_stalled() {
    let (bytes, hash) = info(40_000);
    let t0 = Instant::now();
    let timeout = Duration::from_secs(10);
    let mut f = MetadataFetch::new(hash, MAX).with_request_timeout(timeout);
    let size = bytes.len() as u64;
    f.add_peer(1, size).unwrap();
    let first = f.next_request(1, t0).unwrap();
    f.on_data(1, first, size, piece(&bytes, first)).unwrap();
    while f.next_request(1, t0).is_some() {}
    f.handle_timeout(t0 + timeout * 2);
    assert!(
        matches!(
            f.add_peer(2, 99_999),
            Err(AddPeerError::SizeMismatch { .. })
        ),
        "a size that delivered data must not be replaced"
    );
}
