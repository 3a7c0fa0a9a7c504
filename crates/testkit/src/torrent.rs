//! Torrents of files on disk, made with shoal's own creator.

use std::path::Path;

use shoal_metainfo::{create_torrent, CreateOptions, Metainfo};

/// A torrent of `path` (a file or a directory) with the given piece length, read back
/// from its encoded bytes like a `.torrent` a user would load.
pub fn make_torrent(path: &Path, piece_length: u32) -> Metainfo {
    let opts = CreateOptions {
        piece_length: Some(piece_length),
        ..CreateOptions::default()
    };
    let meta = create_torrent(path, &opts).unwrap();
    Metainfo::from_bytes(&meta.to_bytes()).unwrap()
}
