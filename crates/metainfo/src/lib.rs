//! BitTorrent v1 metainfo: `.torrent` parsing and creation, magnet links and path safety.
//!
//! Sans-IO except for [`create_torrent`], which reads files (hashing pieces on all cores
//! with plain threads). Everything parsed from a file or a peer is validated; every path
//! in an [`Info`] is relative, made only of normal components and unique.
//!
//! Path safety: every element of `name` and `files[].path` goes through
//! [`sanitize_component`] (separators, NUL and control characters become `_`; empty, `.`
//! and `..` elements are dropped; trailing dots/spaces trimmed; Windows device names get
//! `_`; 255-byte cap). A file left with no elements is called `_`; an unusable `name`
//! becomes the info-hash hex. Paths that still collide within a torrent — two equal paths,
//! or a file where another entry needs a directory — are made unique by appending `.1`,
//! `.2`, … to the later entry's clashing element (first come, first served).
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod create;
mod create_stream;
mod error;
mod hash;
mod info;
mod infohash;
mod limits;
mod magnet;
mod metainfo;
mod parse;
mod sanitize;

pub use create::{
    auto_piece_length, create_torrent, create_torrent_with_progress, CreateError, CreateOptions,
};
pub use create_stream::{create_torrent_from_stream, StreamReader};
pub use error::MetainfoError;
pub use info::{FileEntry, FileSlice, Info, MAX_FILES, MAX_PATH_DEPTH, MAX_PIECE_LENGTH};
pub use infohash::{info_hash_hex, info_hash_of, InfoHash, InfoHashParseError};
pub use limits::{MAX_BENCODE_VALUES, MAX_METAINFO_BYTES, MAX_PIECES};
pub use magnet::{Magnet, MagnetError, MAX_MAGNET_EXTRA, MAX_MAGNET_PEERS, MAX_MAGNET_TRACKERS};
pub use metainfo::Metainfo;
pub use sanitize::{is_safe_component, sanitize_component, MAX_COMPONENT_BYTES};
