//! Private links: share a file or directory so that the swarm, trackers and the DHT
//! only ever see ciphertext.
//!
//! A share is one byte stream, described by an ordinary single-file torrent whose file
//! name reveals nothing ([`PrivateLayout::stream_name`]). The link is the torrent's
//! magnet link plus the key in the URL fragment (`magnet:?…#k=<key>`, see [`link`]); the
//! fragment is never sent to peers, trackers or the DHT, and must never be logged.
//!
//! This crate maps stream offsets to files and transforms bytes. It stores nothing but
//! plaintext files: [`PrivateSource`] (sender) and [`PrivateSink`] (receiver) encrypt on
//! read, since the ciphertext is a deterministic function of plaintext, key and offset.
//!
//! # Wire format, version 1
//!
//! All integers are big-endian. `key` is the 32-byte [`ContentKey`].
//!
//! **Subkeys** (HKDF-SHA256, RFC 5869): `PRK = HKDF-Extract(salt =
//! "shoal-private/v1", IKM = key)`, then `HKDF-Expand(PRK, info, L)`:
//!
//! | name | `info` (ASCII) | L |
//! |---|---|---|
//! | manifest key | `shoal-private/v1 manifest key` | 32 |
//! | nonce key | `shoal-private/v1 manifest nonce` | 32 |
//! | key check | `shoal-private/v1 key check` | 16 |
//! | data key | `shoal-private/v1 data key` ‖ manifest nonce (24 bytes) | 32 |
//!
//! **Stream** = region ‖ data. The region:
//!
//! | offset | len | field |
//! |---|---|---|
//! | 0 | 8 | magic `SHOALPRV` |
//! | 8 | 4 | version `1` |
//! | 12 | 4 | `sealed_len` (16 ≤ n ≤ 32 MiB): AEAD ciphertext length, tag included |
//! | 16 | 16 | key check |
//! | 32 | 24 | manifest nonce |
//! | 56 | `sealed_len` | XChaCha20-Poly1305(manifest key, nonce, AAD = bytes 0..32, plaintext) |
//!
//! The plaintext is the bencoded manifest (see [`Manifest`] and the `manifest_codec`
//! module: `d5:filesl…e4:name…e`, each file `d6:lengthi…e4:modei…e4:pathl…ee`) followed
//! by zero bytes. Writers pad so the region is a multiple of [`DATA_ALIGN`] (4096)
//! bytes, which also hides the exact size of the file names; readers accept any zero
//! padding. Writers derive the nonce as `HMAC-SHA256(nonce key, bytes 0..32 ‖
//! padded plaintext)[..24]`, so sealing is deterministic (a sender can restart from the
//! key and the files alone and get the same torrent); readers take the nonce as stored.
//!
//! **Data** starts at `data_offset` = 56 + `sealed_len`: the files' bytes concatenated in
//! manifest order (empty files take no room), XORed with ChaCha20 (RFC 8439) keystream
//! under the data key. Data position `d` = stream offset − `data_offset` uses nonce
//! `[0; 4] ‖ (d >> 32) as u64` and keystream byte `d mod 2^32` (see [`cipher`]).
//! Stream length = `data_offset` + total file length; the receiver checks it equals the
//! torrent's length.
//!
//! A receiver with the wrong key is told so by the key check as soon as it has the first
//! 32 bytes; a right key with a damaged manifest fails AEAD authentication. Either way
//! no file has been created. Never reuse a key for a different share.
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cipher;
mod error;
mod files;
mod header;
mod kdf;
mod key;
mod layout;
pub mod link;
mod manifest;
mod manifest_codec;
mod scan;
mod sink;
mod source;
mod store;

#[cfg(test)]
mod header_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod roundtrip_tests;

pub use cipher::DataCipher;
pub use error::OpenError;
pub use header::{
    open_header, Opened, AAD_LEN, DATA_ALIGN, FORMAT_VERSION, HEADER_LEN, MAGIC, MAX_SEALED_LEN,
    TAG_LEN,
};
pub use key::{ContentKey, KeyParseError, KEY_LEN, KEY_STRING_LEN};
pub use layout::{PrivateLayout, Segment, Segments, MAX_ALIGN};
pub use link::{key_from_fragment, parse_link, private_link, split_link, LinkError};
pub use manifest::{
    Manifest, ManifestEntry, ManifestError, MAX_COMPONENT_BYTES, MAX_ENTRIES, MAX_MODE,
    MAX_PATH_BYTES, MAX_PATH_DEPTH, MAX_TOTAL_LEN,
};
pub use scan::{scan_path, ScanError, ScanReport, SkipReason, Skipped};
pub use sink::{PrivateSink, APPLIED_MODE_MASK};
pub use source::PrivateSource;
pub use store::{PrivateStore, PrivateStoreError, HEADER_CACHE_PREFIX, SPOOL_PREFIX};
