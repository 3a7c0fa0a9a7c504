//! Parsing `.torrent` files: fixtures, validation errors and round trips.
#![allow(clippy::unwrap_used)]

mod common;

use common::{file, multi_info, single_info, torrent};
use sha1::{Digest, Sha1};
use shoal_bencode::OwnedValue;
use shoal_metainfo::{info_hash_of, Info, Magnet, Metainfo, MetainfoError};
use std::path::PathBuf;

/// A hand-written single-file torrent with unsorted outer keys.
fn fixture_single() -> (Vec<u8>, Vec<u8>) {
    let mut info = b"d6:lengthi40000e4:name8:test.bin12:piece lengthi16384e6:pieces60:".to_vec();
    info.extend((0u8..60).collect::<Vec<_>>());
    info.push(b'e');
    let url = "http://127.0.0.1:6969/ann";
    let mut t = format!("d8:announce{}:{}4:info", url.len(), url).into_bytes();
    t.extend_from_slice(&info);
    t.extend_from_slice(b"7:comment5:hello13:creation datei1700000000e10:created by4:teste");
    (t, info)
}

#[test]
fn single_file_fixture() {
    let (bytes, info_raw) = fixture_single();
    let m = Metainfo::from_bytes(&bytes).unwrap();
    assert_eq!(m.info_bytes, info_raw);
    let expected: [u8; 20] = Sha1::digest(&info_raw).into();
    assert_eq!(m.info_hash.0, expected);
    assert_eq!(m.info.name, "test.bin");
    assert_eq!(m.info.piece_length, 16384);
    assert_eq!(m.info.num_pieces(), 3);
    assert_eq!(m.info.piece_size(2), 40000 - 2 * 16384);
    assert_eq!(m.info.pieces[1][0], 20);
    assert_eq!(m.info.total_length, 40000);
    assert!(!m.info.multi_file && !m.info.private);
    assert_eq!(m.info.files.len(), 1);
    assert_eq!(m.info.files[0].path, PathBuf::from("test.bin"));
    assert_eq!(m.announce.as_deref(), Some("http://127.0.0.1:6969/ann"));
    assert_eq!(
        m.announce_list,
        vec![vec!["http://127.0.0.1:6969/ann".to_string()]]
    );
    assert_eq!(m.comment.as_deref(), Some("hello"));
    assert_eq!(m.created_by.as_deref(), Some("test"));
    assert_eq!(m.creation_date, Some(1_700_000_000));
    // Info parses on its own to the same thing (magnet path).
    assert_eq!(Info::from_bytes(&info_raw).unwrap(), m.info);
    // Canonical re-encoding keeps the info bytes and everything else.
    let again = Metainfo::from_bytes(&m.to_bytes()).unwrap();
    assert_eq!(again, m);
}

#[test]
fn unsorted_info_keys_hash_raw_bytes() {
    let mut info = b"d4:name1:x12:piece lengthi16e6:lengthi5e6:pieces20:".to_vec();
    info.extend([1u8; 20]);
    info.push(b'e');
    let mut t = b"d4:info".to_vec();
    t.extend_from_slice(&info);
    t.push(b'e');
    let m = Metainfo::from_bytes(&t).unwrap();
    assert_eq!(m.info_hash, info_hash_of(&info));
    assert_eq!(m.info_bytes, info);
    assert_eq!(m.announce, None);
    assert!(m.announce_list.is_empty());
    assert_eq!(Metainfo::from_bytes(&m.to_bytes()).unwrap(), m);
}

#[test]
fn multi_file_with_announce_list_and_pads() {
    let mut padded = file(&[b"a.bin"], 10);
    padded.insert("attr", "x");
    let mut pad = file(&[b"whatever"], 6);
    pad.insert("attr", "p");
    let files = vec![
        padded,
        pad,
        file(&[b"sub", b"b.txt"], 16),
        file(&[b".pad", b"16"], 16),
        file(&[b"sub", b"empty"], 0),
        file(&[b"c"], 1),
    ];
    let mut info = multi_info(b"My Torrent", 16, files, 49);
    info.insert("private", 1i64);
    let mut root = OwnedValue::dict();
    root.insert("announce", "http://a/ann");
    let tiers = vec![
        OwnedValue::from(vec![
            OwnedValue::from("http://a/ann"),
            OwnedValue::from("udp://b:1"),
        ]),
        OwnedValue::from(Vec::<OwnedValue>::new()),
        OwnedValue::from(vec![OwnedValue::from(""), OwnedValue::from("udp://b:1")]),
        OwnedValue::from(vec![OwnedValue::from("http://c/ann"), OwnedValue::Int(5)]),
    ];
    root.insert("announce-list", tiers);
    root.insert("url-list", "http://ws/");
    root.insert("info", info);
    let m = Metainfo::from_bytes(&root.encode()).unwrap();
    let i = &m.info;
    assert!(i.multi_file && i.private);
    assert_eq!(i.total_length, 49);
    assert_eq!(i.num_pieces(), 4);
    let paths: Vec<_> = i.files.iter().map(|f| f.path.clone()).collect();
    let expect = [
        "My Torrent/a.bin",
        "My Torrent/whatever",
        "My Torrent/sub/b.txt",
        "My Torrent/.pad/16",
        "My Torrent/sub/empty",
        "My Torrent/c",
    ];
    assert_eq!(paths, expect.iter().map(PathBuf::from).collect::<Vec<_>>());
    let offsets: Vec<u64> = i.files.iter().map(|f| f.offset).collect();
    assert_eq!(offsets, vec![0, 10, 16, 32, 48, 48]);
    let pads: Vec<bool> = i.files.iter().map(|f| f.pad).collect();
    assert_eq!(pads, vec![false, true, false, true, false, false]);
    assert!(i.files[0].executable && !i.files[0].hidden);
    assert_eq!(
        m.announce_list,
        vec![
            vec!["http://a/ann".to_string(), "udp://b:1".to_string()],
            vec!["http://c/ann".to_string()]
        ]
    );
    assert_eq!(m.url_list, vec!["http://ws/"]);
    assert_eq!(
        m.trackers(),
        vec!["http://a/ann", "udp://b:1", "http://c/ann"]
    );
    let again = Metainfo::from_bytes(&m.to_bytes()).unwrap();
    assert_eq!(again, m);

    let magnet = m.magnet();
    assert_eq!(magnet.info_hash, m.info_hash);
    assert_eq!(magnet.display_name.as_deref(), Some("My Torrent"));
    assert_eq!(magnet.trackers, m.trackers());
    assert_eq!(Magnet::parse(&magnet.to_string()).unwrap(), magnet);
}

#[test]
fn duplicate_paths_disambiguated() {
    let files = vec![
        file(&[b"a"], 1),
        file(&[b"a"], 1),
        file(&[b"x/y"], 1),
        file(&[b"x_y"], 1),
        file(&[b"d", b"f"], 1),
        file(&[b"d"], 1),
    ];
    let m = Metainfo::from_bytes(&torrent(multi_info(b"n", 16, files, 6))).unwrap();
    let paths: Vec<_> = m.info.files.iter().map(|f| f.path.clone()).collect();
    let expect = ["n/a", "n/a.1", "n/x_y", "n/x_y.1", "n/d/f", "n/d.1"];
    assert_eq!(paths, expect.iter().map(PathBuf::from).collect::<Vec<_>>());
}

#[test]
fn unusable_name_uses_info_hash() {
    for name in [&b".."[..], b"", b"  ", b"."] {
        let info = single_info(name, 16, 5);
        let info_bytes = info.encode();
        let m = Metainfo::from_bytes(&torrent(info)).unwrap();
        assert_eq!(m.info.name, info_hash_of(&info_bytes).to_hex());
        assert_eq!(m.info.files[0].path, PathBuf::from(&m.info.name));
    }
}

#[test]
fn utf8_variants_preferred() {
    let mut f = file(&[b"bad\xff"], 5);
    f.insert("path.utf-8", vec![OwnedValue::from("gut")]);
    let mut info = multi_info(b"latin\xe9", 16, vec![f], 5);
    info.insert("name.utf-8", "caf\u{e9}");
    let m = Metainfo::from_bytes(&torrent(info)).unwrap();
    assert_eq!(m.info.name, "caf\u{e9}");
    assert_eq!(m.info.files[0].path, PathBuf::from("caf\u{e9}/gut"));
}

fn err_of(info: OwnedValue) -> MetainfoError {
    Metainfo::from_bytes(&torrent(info)).unwrap_err()
}

#[test]
fn validation_errors() {
    let invalid = |field| MetainfoError::Invalid { field, reason: "" };
    let same_kind = |a: &MetainfoError, b: &MetainfoError| match (a, b) {
        (MetainfoError::Invalid { field: x, .. }, MetainfoError::Invalid { field: y, .. }) => {
            x == y
        }
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    };
    let check = |info: OwnedValue, expect: MetainfoError| {
        let got = err_of(info);
        assert!(same_kind(&got, &expect), "got {got:?}, want {expect:?}");
    };
    check(single_info(b"x", 0, 5), invalid("info.piece length"));
    check(single_info(b"x", -16, 5), invalid("info.piece length"));
    check(
        single_info(b"x", (256 << 20) + 1, 5),
        invalid("info.piece length"),
    );
    let mut i = single_info(b"x", 16, 5);
    i.insert("pieces", vec![0u8; 19]);
    check(i, invalid("info.pieces"));
    let mut i = single_info(b"x", 16, 5);
    i.insert("pieces", vec![0u8; 40]);
    check(
        i,
        MetainfoError::PieceCountMismatch {
            expected: 1,
            actual: 2,
        },
    );
    check(single_info(b"x", 16, 0), MetainfoError::EmptyTorrent);
    check(single_info(b"x", 16, -1), invalid("info.length"));
    let mut i = single_info(b"x", 16, 5);
    i.insert("files", Vec::<OwnedValue>::new());
    check(i, MetainfoError::BothLengthAndFiles);
    let mut i = OwnedValue::dict();
    i.insert("name", "x");
    i.insert("piece length", 16i64);
    i.insert("pieces", Vec::<u8>::new());
    check(i, MetainfoError::NoLengthOrFiles);
    let mut i = OwnedValue::dict();
    i.insert("name", "x");
    i.insert("piece length", 16i64);
    i.insert("meta version", 2i64);
    i.insert("length", 5i64);
    check(i, MetainfoError::V2Only);
    check(multi_info(b"x", 16, vec![], 0), MetainfoError::EmptyTorrent);
    let big = vec![
        file(&[b"a"], i64::MAX),
        file(&[b"b"], i64::MAX),
        file(&[b"c"], 5),
    ];
    check(multi_info(b"x", 16, big, 0), MetainfoError::LengthOverflow);
    let neg = vec![file(&[b"a"], -5)];
    assert!(matches!(
        err_of(multi_info(b"x", 16, neg, 0)),
        MetainfoError::InvalidFile {
            index: 0,
            field: "length",
            ..
        }
    ));
    let deep: Vec<&[u8]> = vec![b"d"; 257];
    assert!(matches!(
        err_of(multi_info(b"x", 16, vec![file(&deep, 1)], 1)),
        MetainfoError::PathTooDeep {
            index: 0,
            depth: 257,
            ..
        }
    ));
    let mut no_path = OwnedValue::dict();
    no_path.insert("length", 1i64);
    assert!(matches!(
        err_of(multi_info(b"x", 16, vec![no_path], 1)),
        MetainfoError::InvalidFile {
            index: 0,
            field: "path",
            ..
        }
    ));
    assert!(matches!(
        Metainfo::from_bytes(b"d8:announce1:xe"),
        Err(MetainfoError::Missing { field: "info" })
    ));
    assert!(matches!(
        Metainfo::from_bytes(b"le"),
        Err(MetainfoError::Invalid {
            field: "torrent",
            ..
        })
    ));
    assert!(matches!(
        Metainfo::from_bytes(b"d4:infoi1ee"),
        Err(MetainfoError::Invalid { field: "info", .. })
    ));
    assert!(matches!(
        Metainfo::from_bytes(b"d4:info"),
        Err(MetainfoError::Bencode(_))
    ));
}

#[test]
fn non_power_of_two_piece_length_accepted() {
    let m = Metainfo::from_bytes(&torrent(single_info(b"x", 1000, 2500))).unwrap();
    assert_eq!(m.info.num_pieces(), 3);
    assert_eq!(m.info.piece_size(2), 500);
}

#[test]
fn magnet_metadata() {
    let info = single_info(b"x", 16, 5).encode();
    let mut magnet = Magnet::new(info_hash_of(&info));
    magnet.trackers = vec!["udp://t:1".into(), "http://u/a".into()];
    let m = Metainfo::from_magnet_metadata(info.clone(), &magnet).unwrap();
    assert_eq!(m.announce.as_deref(), Some("udp://t:1"));
    assert_eq!(m.announce_list.len(), 2);
    assert_eq!(Metainfo::from_bytes(&m.to_bytes()).unwrap(), m);
    let wrong = Magnet::new(shoal_metainfo::InfoHash([0; 20]));
    assert!(matches!(
        Metainfo::from_magnet_metadata(info, &wrong),
        Err(MetainfoError::InfoHashMismatch { .. })
    ));
}
