//! Property tests: parsing arbitrary or mutated input never panics, and round trips hold.
#![allow(clippy::unwrap_used)]

mod common;

use common::{file, multi_info, torrent};
use proptest::prelude::*;
use shoal_metainfo::{Info, Metainfo};

/// A valid multi-file torrent to mutate.
fn seed_torrent() -> Vec<u8> {
    let files = vec![
        file(&[b"a", b"b"], 10),
        file(&[b".pad", b"6"], 6),
        file(&[b"c"], 20),
    ];
    torrent(multi_info(b"seed", 16, files, 36))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn from_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Metainfo::from_bytes(&bytes);
        let _ = Info::from_bytes(&bytes);
    }

    #[test]
    fn mutated_torrent_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = seed_torrent();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(m) = Metainfo::from_bytes(&bytes) {
            // Whatever parsed must re-encode to an identical torrent.
            prop_assert_eq!(Metainfo::from_bytes(&m.to_bytes()).unwrap(), m);
        }
        let end = cut.index(bytes.len());
        let _ = Metainfo::from_bytes(&bytes[..end]);
    }

    #[test]
    fn info_round_trip_through_torrent(
        lengths in proptest::collection::vec(0i64..100, 1..8),
        piece_length in 1i64..64,
    ) {
        let files: Vec<_> = lengths
            .iter()
            .enumerate()
            .map(|(i, &l)| file(&[format!("f{i}").as_bytes()], l))
            .collect();
        let total: u64 = lengths.iter().map(|&l| l as u64).sum();
        let bytes = torrent(multi_info(b"n", piece_length, files, total));
        match Metainfo::from_bytes(&bytes) {
            Ok(m) => {
                prop_assert_eq!(m.info.total_length, total);
                let sum: u64 = (0..m.info.num_pieces()).map(|p| u64::from(m.info.piece_size(p))).sum();
                prop_assert_eq!(sum, total);
                let slices: u64 = (0..m.info.num_pieces())
                    .flat_map(|p| m.info.piece_file_slices(p))
                    .map(|s| u64::from(s.length))
                    .sum();
                prop_assert_eq!(slices, total);
                prop_assert_eq!(Metainfo::from_bytes(&m.to_bytes()).unwrap(), m);
            }
            Err(e) => prop_assert!(total == 0, "{e}"),
        }
    }
}
