//! Helpers shared by the integration tests: building torrents with the bencode encoder.
// Three test binaries include this module and each uses only part of it.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Component, Path};

use shoal_bencode::OwnedValue;

/// A file entry for [`multi_info`]: raw path elements and length.
pub fn file(path: &[&[u8]], length: i64) -> OwnedValue {
    let mut f = OwnedValue::dict();
    f.insert("length", length);
    let els: Vec<OwnedValue> = path.iter().map(|e| OwnedValue::from(*e)).collect();
    f.insert("path", els);
    f
}

/// A multi-file info dict with correct (dummy) piece count.
pub fn multi_info(
    name: &[u8],
    piece_length: i64,
    files: Vec<OwnedValue>,
    total: u64,
) -> OwnedValue {
    let mut info = OwnedValue::dict();
    info.insert("name", name);
    info.insert("piece length", piece_length);
    let n = total.div_ceil(piece_length as u64) as usize;
    info.insert("pieces", vec![7u8; n * 20]);
    info.insert("files", files);
    info
}

/// A single-file info dict.
pub fn single_info(name: &[u8], piece_length: i64, length: i64) -> OwnedValue {
    let mut info = OwnedValue::dict();
    info.insert("name", name);
    info.insert("piece length", piece_length);
    let n = (length.max(0) as u64).div_ceil(piece_length.max(1) as u64) as usize;
    info.insert("pieces", vec![9u8; n * 20]);
    info.insert("length", length);
    info
}

/// Wraps an info dict into a torrent with an announce URL.
pub fn torrent(info: OwnedValue) -> Vec<u8> {
    let mut root = OwnedValue::dict();
    root.insert("announce", "http://127.0.0.1:6969/announce");
    root.insert("info", info);
    root.encode()
}

/// Asserts `p` is relative, made only of normal components, and starts with `name`.
pub fn assert_safe(p: &Path, name: &str) {
    assert!(p.is_relative(), "{p:?}");
    let comps: Vec<_> = p.components().collect();
    assert!(!comps.is_empty());
    for c in &comps {
        assert!(matches!(c, Component::Normal(_)), "{p:?} has {c:?}");
        let s = c.as_os_str().to_str().unwrap();
        assert!(
            !s.contains('/') && !s.contains('\\') && !s.contains('\0'),
            "{s:?}"
        );
        assert!(s.len() <= 255);
    }
    assert_eq!(comps[0].as_os_str(), name, "{p:?}");
}
