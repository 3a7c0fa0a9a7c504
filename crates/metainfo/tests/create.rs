//! Creating torrents from files on disk and parsing them back.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use sha1::{Digest, Sha1};
use shoal_metainfo::{
    auto_piece_length, create_torrent, create_torrent_with_progress, CreateError, CreateOptions,
    Metainfo,
};

fn opts() -> CreateOptions {
    CreateOptions {
        trackers: vec!["http://127.0.0.1:1/a".into(), "udp://127.0.0.1:2".into()],
        piece_length: Some(16 * 1024),
        comment: Some("test".into()),
        creation_date: Some(1_600_000_000),
        ..CreateOptions::default()
    }
}

/// Deterministic pseudo-random bytes.
fn data(len: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Checks every piece hash against SHA-1 of the concatenated stream.
fn check_hashes(m: &Metainfo, stream: &[u8]) {
    assert_eq!(m.info.total_length, stream.len() as u64);
    let pl = m.info.piece_length as usize;
    let expected: Vec<[u8; 20]> = stream.chunks(pl).map(|c| Sha1::digest(c).into()).collect();
    assert_eq!(m.info.pieces, expected);
}

#[test]
fn single_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.bin");
    let content = data(100_000, 1);
    fs::write(&path, &content).unwrap();
    let m = create_torrent(&path, &opts()).unwrap();
    assert!(!m.info.multi_file);
    assert_eq!(m.info.name, "file.bin");
    assert_eq!(m.info.files[0].path, PathBuf::from("file.bin"));
    assert_eq!(m.info.num_pieces(), 7);
    check_hashes(&m, &content);
    assert_eq!(m.announce.as_deref(), Some("http://127.0.0.1:1/a"));
    assert_eq!(m.announce_list.len(), 2);
    assert_eq!(m.comment.as_deref(), Some("test"));
    assert_eq!(m.creation_date, Some(1_600_000_000));
    assert!(m.created_by.as_deref().unwrap().starts_with("shoal/"));
    let bytes = m.to_bytes();
    assert_eq!(Metainfo::from_bytes(&bytes).unwrap(), m);
    // Output is canonical bencode.
    assert!(shoal_bencode::decode(&bytes).is_ok());
    assert!(shoal_bencode::decode(&m.info_bytes).is_ok());
}

fn build_tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let files = vec![
        (PathBuf::from("b/z.txt"), data(20_000, 2)),
        (PathBuf::from("a.txt"), data(5, 3)),
        (PathBuf::from("b/a/deep.bin"), data(70_001, 4)),
        (PathBuf::from(".hidden"), data(16_384, 5)),
        (PathBuf::from("empty"), Vec::new()),
        (PathBuf::from("b.c"), data(1, 6)),
    ];
    for (p, d) in &files {
        let full = root.join(p);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, d).unwrap();
    }
    files
}

#[test]
fn directory_sorted_and_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("My Data");
    let files = build_tree(&root);
    let m = create_torrent(&root, &opts()).unwrap();
    assert!(m.info.multi_file);
    assert_eq!(m.info.name, "My Data");
    // Sorted element by element: "b" < "b.c" (whereas whole-string order would put
    // "b.c" before "b/…").
    let order = [
        ".hidden",
        "a.txt",
        "b/a/deep.bin",
        "b/z.txt",
        "b.c",
        "empty",
    ];
    let got: Vec<_> = m.info.files.iter().map(|f| f.path.clone()).collect();
    let want: Vec<_> = order.iter().map(|p| Path::new("My Data").join(p)).collect();
    assert_eq!(got, want);
    let mut stream = Vec::new();
    for p in order {
        let (_, d) = files.iter().find(|(q, _)| q == Path::new(p)).unwrap();
        stream.extend_from_slice(d);
    }
    check_hashes(&m, &stream);
    assert_eq!(Metainfo::from_bytes(&m.to_bytes()).unwrap(), m);

    // Deterministic, and independent of the thread count.
    let one = create_torrent(
        &root,
        &CreateOptions {
            threads: Some(1),
            ..opts()
        },
    )
    .unwrap();
    let four = create_torrent(
        &root,
        &CreateOptions {
            threads: Some(4),
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(one.to_bytes(), m.to_bytes());
    assert_eq!(four.to_bytes(), m.to_bytes());
}

#[test]
fn progress_reaches_total() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("t");
    build_tree(&root);
    let last = AtomicU64::new(0);
    let m = create_torrent_with_progress(&root, &opts(), &|done, total| {
        assert!(done <= total);
        last.fetch_max(done, Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(last.load(Ordering::Relaxed), m.info.total_length);
}

#[test]
fn private_and_auto_piece_length() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    fs::write(&path, data(3 << 20, 7)).unwrap();
    let o = CreateOptions {
        private: true,
        ..CreateOptions::default()
    };
    let m = create_torrent(&path, &o).unwrap();
    assert!(m.info.private);
    assert_eq!(m.info.piece_length, auto_piece_length(3 << 20));
    assert!(m.announce.is_none() && m.announce_list.is_empty());
    assert!(m.creation_date.unwrap() > 1_600_000_000);
}

#[test]
fn errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    assert!(matches!(
        create_torrent(&empty, &opts()),
        Err(CreateError::Empty { .. })
    ));
    fs::write(empty.join("zero"), b"").unwrap();
    assert!(matches!(
        create_torrent(&empty, &opts()),
        Err(CreateError::Empty { .. })
    ));

    let f = dir.path().join("f");
    fs::write(&f, b"abc").unwrap();
    for bad in [0, 1000, 8192, 512 << 20] {
        let o = CreateOptions {
            piece_length: Some(bad),
            ..opts()
        };
        assert!(matches!(
            create_torrent(&f, &o),
            Err(CreateError::BadPieceLength(_))
        ));
    }
    assert!(matches!(
        create_torrent(&dir.path().join("missing"), &opts()),
        Err(CreateError::Io { .. })
    ));

    let unsafe_dir = dir.path().join("u");
    fs::create_dir(&unsafe_dir).unwrap();
    fs::write(unsafe_dir.join("trailing."), b"x").unwrap();
    assert!(matches!(
        create_torrent(&unsafe_dir, &opts()),
        Err(CreateError::UnsafeName { .. })
    ));
}

#[cfg(unix)]
#[test]
fn symlinks() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside.bin");
    fs::write(&outside, data(100, 8)).unwrap();
    let root = dir.path().join("r");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::write(root.join("sub/real"), b"real").unwrap();
    symlink(&outside, root.join("link")).unwrap();
    let m = create_torrent(&root, &opts()).unwrap();
    let got: Vec<_> = m.info.files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(
        got,
        vec![PathBuf::from("r/link"), PathBuf::from("r/sub/real")]
    );
    assert_eq!(m.info.total_length, 104);

    symlink(&root, root.join("sub/loop")).unwrap();
    assert!(matches!(
        create_torrent(&root, &opts()),
        Err(CreateError::SymlinkLoop { .. })
    ));
    fs::remove_file(root.join("sub/loop")).unwrap();

    symlink(dir.path().join("nowhere"), root.join("dangling")).unwrap();
    assert!(matches!(
        create_torrent(&root, &opts()),
        Err(CreateError::Io { .. })
    ));
}

#[test]
fn auto_piece_length_bounds() {
    assert_eq!(auto_piece_length(0), 16 * 1024);
    assert_eq!(auto_piece_length(1), 16 * 1024);
    assert_eq!(auto_piece_length(1 << 30), 1 << 20);
    assert_eq!(auto_piece_length(u64::MAX), 16 << 20);
    for shift in 10..50 {
        for total in [1u64 << shift, (1u64 << shift) + 12345, (3u64 << shift) / 2] {
            let pl = auto_piece_length(total);
            assert!(pl.is_power_of_two());
            assert!((16 * 1024..=16 << 20).contains(&pl));
            let pieces = total.div_ceil(u64::from(pl));
            if pl > 16 * 1024 && pl < 16 << 20 {
                assert!((1000..=2000).contains(&pieces), "{total}: {pieces}");
            }
        }
    }
}

/// Manual interop check: writes torrents to $SHOAL_WRITE_TORRENTS for external tools.
#[test]
#[ignore]
fn write_torrents_for_interop() {
    let Ok(out) = std::env::var("SHOAL_WRITE_TORRENTS") else {
        return;
    };
    let out = PathBuf::from(out);
    let root = out.join("My Data");
    build_tree(&root);
    fs::write(root.join("exe"), b"#!/bin/sh\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(root.join("exe"), fs::Permissions::from_mode(0o755)).unwrap();
    }
    let m = create_torrent(&root, &opts()).unwrap();
    fs::write(out.join("multi.torrent"), m.to_bytes()).unwrap();
    let m = create_torrent(&root.join("b/a/deep.bin"), &opts()).unwrap();
    fs::write(out.join("single.torrent"), m.to_bytes()).unwrap();
}

/// User + system CPU time of this process (Linux; 0 elsewhere), in ms at 100 Hz ticks.
fn process_cpu_ms() -> u64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_comm = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<u64> = after_comm
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the command name.
    (f.get(11).unwrap_or(&0) + f.get(12).unwrap_or(&0)) * 10
}

/// Manual speed check: `cargo test --release -p shoal-metainfo -- --ignored hash_speed`.
#[test]
#[ignore]
fn hash_speed_1gib() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big");
    fs::write(&path, data(1 << 30, 9)).unwrap();
    for threads in [1, 2] {
        for piece_length in [16 * 1024, 1 << 20] {
            let o = CreateOptions {
                threads: Some(threads),
                piece_length: Some(piece_length),
                ..opts()
            };
            let (start, cpu) = (std::time::Instant::now(), process_cpu_ms());
            let m = create_torrent(&path, &o).unwrap();
            let took = start.elapsed();
            eprintln!(
                "threads {threads}: hashed 1 GiB in {took:?} wall, {} ms CPU ({} pieces)",
                process_cpu_ms() - cpu,
                m.info.num_pieces()
            );
        }
    }
    let cpu_ns = || -> u64 {
        let s = fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
        s.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let buf = data(64 << 20, 1);
    let (start, cpu) = (std::time::Instant::now(), cpu_ns());
    for _ in 0..16 {
        std::hint::black_box(Sha1::digest(&buf));
    }
    eprintln!(
        "reference: plain SHA-1 of 1 GiB on one thread {:?} wall, {} ms CPU",
        start.elapsed(),
        (cpu_ns() - cpu) / 1_000_000
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn create_parse_round_trip(
        sizes in proptest::collection::vec(0usize..60_000, 1..5),
        big_pieces in any::<bool>(),
        private in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        fs::create_dir(&root).unwrap();
        let mut stream = Vec::new();
        for (i, &len) in sizes.iter().enumerate() {
            let d = data(len, i as u8);
            fs::write(root.join(format!("f{i}")), &d).unwrap();
            stream.extend_from_slice(&d);
        }
        let o = CreateOptions {
            piece_length: Some(if big_pieces { 32 * 1024 } else { 16 * 1024 }),
            private,
            ..opts()
        };
        match create_torrent(&root, &o) {
            Ok(m) => {
                check_hashes(&m, &stream);
                prop_assert_eq!(m.info.private, private);
                let bytes = m.to_bytes();
                let again = Metainfo::from_bytes(&bytes).unwrap();
                prop_assert_eq!(&again, &m);
                prop_assert_eq!(again.to_bytes(), bytes);
            }
            Err(CreateError::Empty { .. }) => prop_assert!(stream.is_empty()),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}
