//! Security: hostile names and paths must never escape the download directory.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use common::{assert_safe, file, multi_info, single_info, torrent};
use proptest::prelude::*;
use shoal_metainfo::{Metainfo, MAX_COMPONENT_BYTES};

fn hostile_elements() -> Vec<Vec<u8>> {
    let long = "x".repeat(1000).into_bytes();
    let long_multibyte = "\u{1F600}".repeat(200).into_bytes();
    vec![
        b"..".to_vec(),
        b".".to_vec(),
        b"".to_vec(),
        b"/etc/passwd".to_vec(),
        b"/".to_vec(),
        b"\\".to_vec(),
        b"..\\..\\windows".to_vec(),
        b"C:\\boot.ini".to_vec(),
        b"C:".to_vec(),
        b"a\0b".to_vec(),
        b"\0".to_vec(),
        b"../../.ssh/authorized_keys".to_vec(),
        b"\xff\xfe".to_vec(),
        b"NUL".to_vec(),
        b"  ..  ".to_vec(),
        b"...".to_vec(),
        b"~".to_vec(),
        b"\n".to_vec(),
        long,
        long_multibyte,
    ]
}

#[test]
fn hostile_multi_file_paths_are_contained() {
    let els = hostile_elements();
    let mut files = Vec::new();
    // Each element alone, every pair, and whole sequences.
    for a in &els {
        files.push(file(&[a], 1));
        for b in &els {
            files.push(file(&[a, b], 1));
        }
    }
    let all: Vec<&[u8]> = els.iter().map(|e| e.as_slice()).collect();
    files.push(file(&all, 1));
    files.push(file(&[b"..", b"..", b"..", b"etc", b"passwd"], 1));
    files.push(file(&[], 1));
    files.push(file(&[b"..", b".", b""], 1));
    let n = files.len() as u64;
    let m = Metainfo::from_bytes(&torrent(multi_info(b"../evil", 16, files, n))).unwrap();
    assert_eq!(m.info.name, ".._evil");
    let mut seen = HashSet::new();
    for f in &m.info.files {
        assert_safe(&f.path, ".._evil");
        assert!(seen.insert(f.path.clone()), "duplicate {:?}", f.path);
    }
    let etc = &m.info.files[m.info.files.len() - 3].path;
    assert_eq!(etc, &std::path::PathBuf::from(".._evil/etc/passwd"));
    // Paths whose every element is dropped get a placeholder name.
    let last = &m.info.files[m.info.files.len() - 1].path;
    assert!(last.to_str().unwrap().starts_with(".._evil/_"), "{last:?}");
}

#[test]
fn hostile_single_file_names_are_contained() {
    for name in hostile_elements() {
        let m = Metainfo::from_bytes(&torrent(single_info(&name, 16, 3))).unwrap();
        let p = &m.info.files[0].path;
        assert_eq!(p.components().count(), 1, "{p:?}");
        assert_safe(p, &m.info.name);
        assert!(m.info.name.len() <= MAX_COMPONENT_BYTES);
    }
}

/// No sequence of path elements can produce a path whose directory is also a file.
#[test]
fn files_and_directories_never_collide() {
    let files = vec![
        file(&[b"a", b"b"], 1),
        file(&[b"a"], 1),
        file(&[b"a.1"], 1),
        file(&[b"a", b"b", b"c"], 1),
        file(&[b"a/b"], 1),
        file(&[b"a_b"], 1),
    ];
    let m = Metainfo::from_bytes(&torrent(multi_info(b"n", 16, files, 6))).unwrap();
    let paths: Vec<_> = m.info.files.iter().map(|f| f.path.clone()).collect();
    for (i, p) in paths.iter().enumerate() {
        for (j, q) in paths.iter().enumerate() {
            if i != j {
                assert!(!q.starts_with(p), "{p:?} is a prefix of {q:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_elements_stay_contained(
        name in proptest::collection::vec(any::<u8>(), 0..20),
        paths in proptest::collection::vec(
            proptest::collection::vec(
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..12),
                    Just(b"..".to_vec()),
                    Just(b"/".to_vec()),
                    Just(b"a".to_vec()),
                ],
                0..6,
            ),
            1..12,
        ),
    ) {
        let files = paths
            .iter()
            .map(|p| file(&p.iter().map(Vec::as_slice).collect::<Vec<_>>(), 1))
            .collect();
        let n = paths.len() as u64;
        let m = Metainfo::from_bytes(&torrent(multi_info(&name, 16, files, n))).unwrap();
        let mut seen = HashSet::new();
        for f in &m.info.files {
            assert_safe(&f.path, &m.info.name);
            prop_assert!(seen.insert(f.path.clone()));
        }
        for p in &seen {
            for q in &seen {
                prop_assert!(p == q || !q.starts_with(p));
            }
        }
    }
}
