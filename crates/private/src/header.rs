//! The stream's opening bytes: fixed header, manifest nonce and sealed manifest
//! ("the region"). [`seal_region`] builds them for a sender; [`open_header`] checks and
//! opens them for a receiver, asking for more bytes until the whole region is there.
//!
//! Byte layout (all integers big-endian):
//!
//! | offset | len | field |
//! |---|---|---|
//! | 0 | 8 | magic `SHOALPRV` |
//! | 8 | 4 | format version, `1` |
//! | 12 | 4 | `sealed_len`: length of the AEAD ciphertext including its 16-byte tag |
//! | 16 | 16 | key check: HKDF-Expand(PRK, "shoal-private/v1 key check", 16) |
//! | 32 | 24 | manifest nonce |
//! | 56 | `sealed_len` | XChaCha20-Poly1305(manifest key, nonce, AAD = bytes 0..32, manifest plaintext) |

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use zeroize::Zeroizing;

use crate::error::OpenError;
use crate::kdf::{Subkeys, KEY_CHECK_LEN, NONCE_LEN};
use crate::key::ContentKey;
use crate::layout::PrivateLayout;
use crate::manifest::{Manifest, ManifestError};
use crate::manifest_codec::{decode_manifest, encode_manifest};

/// First 8 bytes of every private stream.
pub const MAGIC: [u8; 8] = *b"SHOALPRV";
/// The only format version this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes covered by the AEAD's associated data: magic, version, sealed length, key check.
pub const AAD_LEN: usize = 32;
/// Bytes before the sealed manifest: the AAD part and the 24-byte nonce.
pub const HEADER_LEN: usize = AAD_LEN + NONCE_LEN;
/// Length of the Poly1305 tag at the end of the sealed manifest.
pub const TAG_LEN: usize = 16;
/// Largest `sealed_len` accepted (32 MiB), checked before anything is allocated.
pub const MAX_SEALED_LEN: u32 = 32 << 20;
/// Senders pad the manifest plaintext so the data region starts at a multiple of this.
pub const DATA_ALIGN: usize = 4096;

const NONCE_AT: usize = AAD_LEN;

/// What [`open_header`] made of the bytes it was given.
#[derive(Debug, Clone)]
pub enum Opened {
    /// The first `n` bytes of the stream are needed (more than were given).
    NeedBytes(u64),
    /// The manifest was authenticated and decoded.
    Ready(PrivateLayout),
}

/// Seals `manifest` for `key` and returns the region (header, nonce, sealed manifest),
/// padded so its length is a multiple of [`DATA_ALIGN`]. Deterministic.
pub(crate) fn seal_region(
    manifest: &Manifest,
    key: &ContentKey,
    align: usize,
) -> Result<Vec<u8>, ManifestError> {
    manifest.validate()?;
    seal_plaintext_aligned(&encode_manifest(manifest), key, align)
}

/// Pads and seals arbitrary plaintext (tests use it to forge hostile manifests).
#[cfg(test)]
pub(crate) fn seal_plaintext(plain: &[u8], key: &ContentKey) -> Result<Vec<u8>, ManifestError> {
    seal_plaintext_aligned(plain, key, DATA_ALIGN)
}

/// Pads `plain` so the region is a multiple of `align` (itself a multiple of
/// [`DATA_ALIGN`]) and seals it.
pub(crate) fn seal_plaintext_aligned(
    plain: &[u8],
    key: &ContentKey,
    align: usize,
) -> Result<Vec<u8>, ManifestError> {
    let align = align.max(DATA_ALIGN).div_ceil(DATA_ALIGN) * DATA_ALIGN;
    let unpadded = HEADER_LEN + plain.len() + TAG_LEN;
    let region_len = unpadded.div_ceil(align) * align;
    let sealed_len = region_len - HEADER_LEN;
    let sealed_len_u32 = u32::try_from(sealed_len)
        .ok()
        .filter(|n| *n <= MAX_SEALED_LEN)
        .ok_or(ManifestError::TooLarge(plain.len()))?;
    let mut padded = Zeroizing::new(Vec::with_capacity(sealed_len - TAG_LEN));
    padded.extend_from_slice(plain);
    padded.resize(sealed_len - TAG_LEN, 0);

    let subkeys = Subkeys::new(key);
    let mut region = Vec::with_capacity(region_len);
    region.extend_from_slice(&MAGIC);
    region.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    region.extend_from_slice(&sealed_len_u32.to_be_bytes());
    region.extend_from_slice(&subkeys.key_check());
    let nonce = subkeys.manifest_nonce(&[&region[..AAD_LEN], &padded]);
    region.extend_from_slice(&nonce);

    let aead = XChaCha20Poly1305::new(&(*subkeys.manifest_key()).into());
    let payload = Payload {
        msg: &padded,
        aad: &region[..AAD_LEN],
    };
    let sealed = aead
        .encrypt(&nonce.into(), payload)
        .map_err(|_| ManifestError::TooLarge(plain.len()))?;
    region.extend_from_slice(&sealed);
    debug_assert_eq!(region.len(), region_len);
    Ok(region)
}

/// Opens a private stream from its first bytes.
///
/// `first_bytes` is a prefix of the stream (any length; bytes past the region are
/// ignored) and `stream_len` the torrent's total length. Returns
/// [`Opened::NeedBytes`] until the whole region is present, then the layout. A wrong key
/// is reported as soon as the first 32 bytes are present, before any file exists.
pub fn open_header(
    first_bytes: &[u8],
    stream_len: u64,
    key: &ContentKey,
) -> Result<Opened, OpenError> {
    let magic_seen = first_bytes.len().min(MAGIC.len());
    if first_bytes[..magic_seen] != MAGIC[..magic_seen] || stream_len < HEADER_LEN as u64 {
        return Err(OpenError::NotPrivateContent);
    }
    let Some(fixed) = first_bytes.get(..AAD_LEN) else {
        return Ok(Opened::NeedBytes(HEADER_LEN as u64));
    };
    let version = be_u32(&fixed[8..12]);
    if version != FORMAT_VERSION {
        return Err(OpenError::UnsupportedVersion(version));
    }
    let sealed_len = be_u32(&fixed[12..16]);
    if !(TAG_LEN as u32..=MAX_SEALED_LEN).contains(&sealed_len) {
        return Err(OpenError::BadSealedLength(sealed_len));
    }
    let subkeys = Subkeys::new(key);
    if fixed[16..AAD_LEN] != subkeys.key_check()[..KEY_CHECK_LEN] {
        return Err(OpenError::WrongKey);
    }
    let region_len = HEADER_LEN + sealed_len as usize;
    if region_len as u64 > stream_len {
        return Err(OpenError::LengthMismatch {
            stream: stream_len,
            manifest: region_len as u64,
        });
    }
    let Some(region) = first_bytes.get(..region_len) else {
        return Ok(Opened::NeedBytes(region_len as u64));
    };

    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&region[NONCE_AT..HEADER_LEN]);
    let aead = XChaCha20Poly1305::new(&(*subkeys.manifest_key()).into());
    let payload = Payload {
        msg: &region[HEADER_LEN..],
        aad: &region[..AAD_LEN],
    };
    let plain = Zeroizing::new(
        aead.decrypt(&nonce.into(), payload)
            .map_err(|_| OpenError::CorruptManifest)?,
    );
    let manifest = decode_manifest(&plain)?;
    let layout = PrivateLayout::from_parts(manifest, region.to_vec());
    if layout.stream_len() != stream_len {
        return Err(OpenError::LengthMismatch {
            stream: stream_len,
            manifest: layout.stream_len(),
        });
    }
    Ok(Opened::Ready(layout))
}

fn be_u32(bytes: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(b)
}

/// The manifest nonce stored in a region of at least [`HEADER_LEN`] bytes.
pub(crate) fn region_nonce(region: &[u8]) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    if let Some(bytes) = region.get(NONCE_AT..HEADER_LEN) {
        nonce.copy_from_slice(bytes);
    }
    nonce
}
