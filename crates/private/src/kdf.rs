//! Subkey derivation: every secret used on the wire is derived from the content key with
//! HKDF-SHA256 (RFC 5869), so the manifest cipher, the nonce derivation, the key check
//! and the data keystream never share a key.
//!
//! `PRK = HKDF-Extract(salt = "shoal-private/v1", IKM = content key)`, then
//! `HKDF-Expand(PRK, info, L)` with the `info` strings below.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::key::ContentKey;

/// HKDF-Extract salt.
pub(crate) const SALT: &[u8] = b"shoal-private/v1";
/// `info` of the XChaCha20-Poly1305 key that seals the manifest (32 bytes).
pub(crate) const INFO_MANIFEST_KEY: &[u8] = b"shoal-private/v1 manifest key";
/// `info` of the HMAC key that derives the manifest nonce (32 bytes).
pub(crate) const INFO_NONCE_KEY: &[u8] = b"shoal-private/v1 manifest nonce";
/// `info` of the key check stored in the header (16 bytes).
pub(crate) const INFO_KEY_CHECK: &[u8] = b"shoal-private/v1 key check";
/// `info` prefix of the data keystream key (32 bytes); the 24-byte manifest nonce follows.
pub(crate) const INFO_DATA_KEY: &[u8] = b"shoal-private/v1 data key";

/// Length of the key check stored in the header.
pub(crate) const KEY_CHECK_LEN: usize = 16;
/// Length of the manifest nonce (XChaCha20).
pub(crate) const NONCE_LEN: usize = 24;

/// A 32-byte secret, wiped on drop.
pub(crate) type Secret = Zeroizing<[u8; 32]>;

/// The HKDF state of one content key.
pub(crate) struct Subkeys {
    hkdf: Hkdf<Sha256>,
}

impl Subkeys {
    pub(crate) fn new(key: &ContentKey) -> Self {
        Subkeys {
            hkdf: Hkdf::<Sha256>::new(Some(SALT), key.as_bytes()),
        }
    }

    fn expand<const N: usize>(&self, info: &[&[u8]]) -> Zeroizing<[u8; N]> {
        let info: Vec<u8> = info.concat();
        let mut out = Zeroizing::new([0u8; N]);
        // Expand only fails for outputs longer than 255 * 32 bytes; ours are at most 32.
        if self.hkdf.expand(&info, &mut out[..]).is_err() {
            unreachable_expand();
        }
        out
    }

    pub(crate) fn manifest_key(&self) -> Secret {
        self.expand(&[INFO_MANIFEST_KEY])
    }

    pub(crate) fn key_check(&self) -> [u8; KEY_CHECK_LEN] {
        *self.expand::<KEY_CHECK_LEN>(&[INFO_KEY_CHECK])
    }

    pub(crate) fn data_key(&self, manifest_nonce: &[u8; NONCE_LEN]) -> Secret {
        self.expand(&[INFO_DATA_KEY, manifest_nonce])
    }

    /// The synthetic manifest nonce: `HMAC-SHA256(nonce key, parts...)[..24]`. Sealing
    /// is therefore deterministic: the same key and manifest give the same bytes.
    pub(crate) fn manifest_nonce(&self, parts: &[&[u8]]) -> [u8; NONCE_LEN] {
        let nonce_key: Secret = self.expand(&[INFO_NONCE_KEY]);
        let mut out = [0u8; NONCE_LEN];
        // HMAC accepts keys of any length; the error branch cannot be taken.
        if let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&nonce_key[..]) {
            for part in parts {
                mac.update(part);
            }
            let tag = mac.finalize().into_bytes();
            out.copy_from_slice(&tag[..NONCE_LEN]);
        }
        out
    }
}

#[cold]
fn unreachable_expand() {
    debug_assert!(false, "HKDF expand of at most 32 bytes cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subkeys_are_distinct_and_deterministic() {
        let key = ContentKey::from_bytes([1; 32]);
        let a = Subkeys::new(&key);
        let b = Subkeys::new(&key);
        assert_eq!(*a.manifest_key(), *b.manifest_key());
        assert_ne!(*a.manifest_key(), *a.data_key(&[0; NONCE_LEN]));
        assert_ne!(*a.data_key(&[0; NONCE_LEN]), *a.data_key(&[1; NONCE_LEN]));
        assert_ne!(a.key_check(), a.manifest_key()[..16]);
        assert_eq!(a.manifest_nonce(&[b"x"]), b.manifest_nonce(&[b"x"]));
        assert_ne!(a.manifest_nonce(&[b"x"]), a.manifest_nonce(&[b"y"]));
        let other = Subkeys::new(&ContentKey::from_bytes([2; 32]));
        assert_ne!(a.key_check(), other.key_check());
    }
}
