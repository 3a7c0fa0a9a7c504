//! `.torrent` parsing (`Metainfo::from_bytes`) and raw info dictionaries from magnet
//! metadata (`Metainfo::from_magnet_metadata`), on arbitrary bytes. For every accepted
//! torrent: the info-hash covers the exact info bytes, the piece and file layout is
//! consistent, every path is confined and unique, and `to_bytes` round-trips.
#![no_main]

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use sha1::{Digest, Sha1};
use shoal_metainfo::{is_safe_component, InfoHash, Magnet, Metainfo};

fn check_paths(m: &Metainfo) {
    let info = &m.info;
    let root = Path::new(&info.name);
    assert!(is_safe_component(&info.name), "unsafe name {:?}", info.name);
    let mut files = HashSet::new();
    let mut dirs = HashSet::new();
    for f in &info.files {
        for c in f.path.components() {
            match c {
                Component::Normal(s) => {
                    let s = s.to_str().expect("paths are UTF-8");
                    assert!(is_safe_component(s), "unsafe component {s:?}");
                }
                other => panic!("non-normal path component {other:?} in {:?}", f.path),
            }
        }
        if info.multi_file {
            assert!(f.path.starts_with(root) && f.path != root);
        } else {
            assert_eq!(f.path, root);
        }
        assert!(files.insert(f.path.clone()), "duplicate path {:?}", f.path);
        let mut parent: Option<PathBuf> = f.path.parent().map(Path::to_path_buf);
        while let Some(p) = parent {
            if p.as_os_str().is_empty() {
                break;
            }
            parent = p.parent().map(Path::to_path_buf);
            dirs.insert(p);
        }
    }
    for f in &files {
        assert!(!dirs.contains(f), "{f:?} is both a file and a directory");
    }
}

fn check_layout(m: &Metainfo) {
    let info = &m.info;
    let mut offset = 0u64;
    for f in &info.files {
        assert_eq!(f.offset, offset);
        offset += f.length;
    }
    assert_eq!(offset, info.total_length);
    assert!(info.total_length > 0 && info.piece_length > 0);
    let n = info.num_pieces();
    assert_eq!(
        u64::from(n),
        info.total_length.div_ceil(u64::from(info.piece_length))
    );
    let mut sizes = 0u64;
    for p in [0, n / 2, n.saturating_sub(1), n, u32::MAX] {
        let size = info.piece_size(p);
        let slices = info.piece_file_slices(p);
        let covered: u64 = slices.iter().map(|s| u64::from(s.length)).sum();
        assert_eq!(covered, u64::from(size), "slices of piece {p} cover it");
        for s in &slices {
            let f = &info.files[s.file_index];
            assert!(s.file_offset + u64::from(s.length) <= f.length);
        }
        if p >= n {
            assert_eq!(size, 0);
            assert!(info.piece_hash(p).is_none());
        }
        sizes += u64::from(size);
    }
    let _ = sizes;
    if n > 0 {
        let last = info.piece_offset(n - 1) + u64::from(info.piece_size(n - 1));
        assert_eq!(last, info.total_length);
    }
}

fn check(m: &Metainfo) {
    let digest: [u8; 20] = Sha1::digest(&m.info_bytes).into();
    assert_eq!(m.info_hash, InfoHash(digest));
    check_layout(m);
    check_paths(m);

    // Writing and re-reading gives the same torrent.
    let again = Metainfo::from_bytes(&m.to_bytes()).expect("to_bytes output parses");
    assert_eq!(&again, m);

    // The info dictionary alone (as fetched for a magnet link) gives the same info.
    let magnet = m.magnet();
    let from_meta = Metainfo::from_magnet_metadata(m.info_bytes.clone(), &magnet)
        .expect("own info bytes verify against own magnet");
    assert_eq!(from_meta.info, m.info);
    let reparsed = Magnet::parse(&magnet.to_string()).expect("own magnet parses");
    assert_eq!(reparsed, magnet);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Metainfo::from_bytes(data) {
        check(&m);
    }
    // The same bytes as a bare info dictionary (ut_metadata result).
    let digest: [u8; 20] = Sha1::digest(data).into();
    let magnet = Magnet::new(InfoHash(digest));
    if let Ok(m) = Metainfo::from_magnet_metadata(data.to_vec(), &magnet) {
        check(&m);
    }
});
