//! The v1 info-hash: SHA-1 of the bencoded `info` dictionary, with hex and base32 forms.

use std::fmt;
use std::str::FromStr;

use sha1::{Digest, Sha1};

/// SHA-1 of a torrent's raw `info` dictionary (BitTorrent v1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct InfoHash(pub [u8; 20]);

/// Error from [`InfoHash::from_str`]: not 40 hex digits nor 32 base32 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("info-hash must be 40 hex digits or 32 base32 characters")]
pub struct InfoHashParseError;

impl InfoHash {
    /// Lowercase 40-digit hex form.
    pub fn to_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(&self.0)
    }

    /// Parses exactly 40 hex digits (either case).
    pub fn from_hex(s: &str) -> Option<InfoHash> {
        if s.len() != 40 {
            return None;
        }
        let bytes = data_encoding::HEXLOWER_PERMISSIVE
            .decode(s.as_bytes())
            .ok()?;
        <[u8; 20]>::try_from(bytes.as_slice()).ok().map(InfoHash)
    }

    /// Uppercase 32-character RFC 4648 base32 form (as used by old magnet links).
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32.encode(&self.0)
    }

    /// Parses exactly 32 base32 characters (either case).
    pub fn from_base32(s: &str) -> Option<InfoHash> {
        if s.len() != 32 || !s.is_ascii() {
            return None;
        }
        let upper = s.to_ascii_uppercase();
        let bytes = data_encoding::BASE32.decode(upper.as_bytes()).ok()?;
        <[u8; 20]>::try_from(bytes.as_slice()).ok().map(InfoHash)
    }

    /// The raw 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

/// Computes the info-hash of raw, already-encoded `info` dictionary bytes.
pub fn info_hash_of(info_bytes: &[u8]) -> InfoHash {
    InfoHash(Sha1::digest(info_bytes).into())
}

/// Convenience: lowercase hex info-hash of raw `info` bytes.
pub fn info_hash_hex(info_bytes: &[u8]) -> String {
    info_hash_of(info_bytes).to_hex()
}

impl fmt::Display for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({})", self.to_hex())
    }
}

impl FromStr for InfoHash {
    type Err = InfoHashParseError;

    /// Accepts 40 hex digits or 32 base32 characters, case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InfoHash::from_hex(s)
            .or_else(|| InfoHash::from_base32(s))
            .ok_or(InfoHashParseError)
    }
}

impl From<[u8; 20]> for InfoHash {
    fn from(b: [u8; 20]) -> Self {
        InfoHash(b)
    }
}

impl AsRef<[u8]> for InfoHash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_display() {
        let h = InfoHash([0xab; 20]);
        assert_eq!(h.to_hex(), "ab".repeat(20));
        assert_eq!(h.to_string(), h.to_hex());
        assert_eq!(InfoHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(InfoHash::from_hex(&"AB".repeat(20)), Some(h));
        assert_eq!(format!("{h:?}"), format!("InfoHash({})", "ab".repeat(20)));
    }

    #[test]
    fn bad_hex() {
        assert_eq!(InfoHash::from_hex("abc"), None);
        assert_eq!(InfoHash::from_hex(&"zz".repeat(20)), None);
        assert_eq!(InfoHash::from_hex(&"é".repeat(20)), None);
    }

    #[test]
    fn base32_round_trip() {
        let h = InfoHash(*b"0123456789abcdefghij");
        let b = h.to_base32();
        assert_eq!(b.len(), 32);
        assert_eq!(InfoHash::from_base32(&b), Some(h));
        assert_eq!(InfoHash::from_base32(&b.to_lowercase()), Some(h));
        assert_eq!(b.parse::<InfoHash>(), Ok(h));
        assert_eq!(
            InfoHash::from_base32("1111111111111111111111111111111!"),
            None
        );
    }

    #[test]
    fn sha1_of_known_input() {
        // SHA-1("abc")
        assert_eq!(
            info_hash_hex(b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
