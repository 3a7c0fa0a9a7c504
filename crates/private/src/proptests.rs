//! Property tests: codecs round-trip, hostile bytes never panic, and encrypting any
//! sub-range gives the same bytes as encrypting the whole stream.

use proptest::prelude::*;

use crate::header::seal_plaintext;
use crate::manifest_codec::{decode_manifest, encode_manifest};
use crate::{
    open_header, ContentKey, DataCipher, Manifest, ManifestEntry, Opened, PrivateLayout, Segment,
};

fn key() -> ContentKey {
    ContentKey::from_bytes([7; 32])
}

fn layout_for(lengths: &[u64]) -> PrivateLayout {
    let entries = lengths
        .iter()
        .enumerate()
        .map(|(i, &length)| ManifestEntry {
            path: vec![format!("f{i}")],
            length,
            mode: 0o644,
        })
        .collect();
    let manifest = Manifest {
        root_name: "r".into(),
        entries,
    };
    PrivateLayout::seal(manifest, &key()).unwrap()
}

fn component() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._-]{1,12}".prop_filter("not . or ..", |c| c != "." && c != "..")
}

fn manifest() -> impl Strategy<Value = Manifest> {
    let entry = (
        proptest::collection::vec(component(), 1..4),
        0u64..1 << 40,
        0u32..=0o7777,
    )
        .prop_map(|(path, length, mode)| ManifestEntry { path, length, mode });
    (component(), proptest::collection::vec(entry, 0..12)).prop_filter_map(
        "valid",
        |(root_name, entries)| {
            let m = Manifest { root_name, entries };
            m.validate().is_ok().then_some(m)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn manifest_round_trip(m in manifest(), pad in 0usize..64) {
        let mut bytes = encode_manifest(&m);
        bytes.resize(bytes.len() + pad, 0);
        prop_assert_eq!(decode_manifest(&bytes).unwrap(), m);
    }

    #[test]
    fn decode_manifest_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_manifest(&bytes);
    }

    #[test]
    fn open_header_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        stream_len in any::<u64>(),
        magic in any::<bool>(),
    ) {
        let mut bytes = bytes;
        if magic && bytes.len() >= 12 {
            bytes[..8].copy_from_slice(b"SHOALPRV");
            bytes[8..12].copy_from_slice(&1u32.to_be_bytes());
        }
        let _ = open_header(&bytes, stream_len, &key());
    }

    #[test]
    fn sealed_garbage_never_panics(plain in proptest::collection::vec(any::<u8>(), 0..300)) {
        let region = seal_plaintext(&plain, &key()).unwrap();
        let _ = open_header(&region, region.len() as u64 + 5, &key());
    }

    #[test]
    fn sealed_manifests_open(m in manifest()) {
        let layout = PrivateLayout::seal(m.clone(), &key()).unwrap();
        let opened = open_header(layout.region(), layout.stream_len(), &key()).unwrap();
        let Opened::Ready(opened) = opened else { panic!("not ready") };
        prop_assert_eq!(opened.manifest(), &m);
        prop_assert_eq!(opened.region(), layout.region());
    }

    #[test]
    fn sub_range_encryption_matches_whole(
        lengths in proptest::collection::vec(0u64..3000, 1..5),
        start in 0usize..12_000,
        len in 0usize..12_000,
    ) {
        let layout = layout_for(&lengths);
        let cipher = DataCipher::new(&key(), &layout);
        let total = layout.stream_len() as usize;
        let plain: Vec<u8> = (0..total).map(|i| (i * 31 % 251) as u8).collect();
        let mut whole = plain.clone();
        cipher.apply(0, &mut whole);
        let start = start.min(total);
        let end = (start + len).min(total);
        let mut part = plain[start..end].to_vec();
        cipher.apply(start as u64, &mut part);
        prop_assert_eq!(&part[..], &whole[start..end]);
    }

    #[test]
    fn map_covers_exactly_the_range(
        lengths in proptest::collection::vec(0u64..3000, 0..6),
        start in 0u64..14_000,
        len in 0usize..14_000,
    ) {
        let layout = layout_for(&lengths);
        let mut pos = start;
        let expected_end = (start + len as u64).min(layout.stream_len()).max(start);
        for segment in layout.map(start, len) {
            prop_assert!(!segment.is_empty());
            let seg_len = segment.len() as u64;
            match segment {
                Segment::Header { range } => prop_assert_eq!(range.start as u64, pos),
                Segment::File { index, file_offset, len } => {
                    let file = layout.file_range(index).unwrap();
                    prop_assert_eq!(file.start + file_offset, pos);
                    prop_assert!(file_offset + len as u64 <= file.end - file.start);
                }
            }
            pos += seg_len;
        }
        prop_assert_eq!(pos, expected_end);
    }

    #[test]
    fn key_strings_round_trip(bytes in any::<[u8; 32]>()) {
        let key = ContentKey::from_bytes(bytes);
        prop_assert_eq!(ContentKey::parse(&key.to_link_string()).unwrap(), key);
    }

    #[test]
    fn key_parse_never_panics(text in ".{0,60}") {
        let _ = ContentKey::parse(&text);
        let _ = crate::parse_link(&text);
    }
}
