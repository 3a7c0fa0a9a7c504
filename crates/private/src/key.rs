//! The content key: 32 random bytes that unlock one private share, and its text form
//! (unpadded base64url, 43 characters) as carried in a link's fragment.
//!
//! The key never appears in `Debug` output and its memory is wiped on drop. There is
//! deliberately no `Display`: turning a key into text is always an explicit
//! [`ContentKey::to_link_string`] call, whose result is wiped on drop too.

use std::fmt;

use data_encoding::BASE64URL_NOPAD;
use rand::RngCore;
use zeroize::{Zeroize, Zeroizing};

/// Length of a content key in bytes.
pub const KEY_LEN: usize = 32;

/// Length of a content key's text form (`ceil(32 * 8 / 6)`).
pub const KEY_STRING_LEN: usize = 43;

/// The secret that encrypts one private share. Generate a fresh one for every share:
/// the data keystream is a function of the key and the manifest only, so encrypting
/// different file contents under the same key and manifest would reuse keystream.
#[derive(Clone, PartialEq, Eq)]
pub struct ContentKey([u8; KEY_LEN]);

/// Why a key string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyParseError {
    /// Not [`KEY_STRING_LEN`] characters long (the length given).
    #[error("key must be {KEY_STRING_LEN} base64url characters, got {0}")]
    BadLength(usize),
    /// Characters outside the unpadded base64url alphabet.
    #[error("key is not valid unpadded base64url")]
    BadEncoding,
}

impl ContentKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        ContentKey(bytes)
    }

    /// Wraps raw key bytes (e.g. read back from the engine's resume state).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        ContentKey(bytes)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The key as 43 characters of unpadded base64url (RFC 4648 §5, alphabet
    /// `A-Z a-z 0-9 - _`), safe in a URL fragment without escaping.
    pub fn to_link_string(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64URL_NOPAD.encode(&self.0))
    }

    /// Parses the text form. Exactly [`KEY_STRING_LEN`] characters of unpadded base64url
    /// with canonical trailing bits; no whitespace, no padding, no other alphabet.
    pub fn parse(text: &str) -> Result<Self, KeyParseError> {
        if text.len() != KEY_STRING_LEN {
            return Err(KeyParseError::BadLength(text.len()));
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        match BASE64URL_NOPAD.decode_mut(text.as_bytes(), &mut bytes[..]) {
            Ok(KEY_LEN) => Ok(ContentKey(*bytes)),
            _ => Err(KeyParseError::BadEncoding),
        }
    }
}

impl Drop for ContentKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContentKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_round_trip() {
        for _ in 0..32 {
            let key = ContentKey::generate();
            let text = key.to_link_string();
            assert_eq!(text.len(), KEY_STRING_LEN);
            assert!(text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(ContentKey::parse(&text).unwrap(), key);
        }
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(ContentKey::generate(), ContentKey::generate());
    }

    #[test]
    fn debug_hides_the_key() {
        let key = ContentKey::from_bytes([0xab; KEY_LEN]);
        assert_eq!(format!("{key:?}"), "ContentKey(..)");
    }

    #[test]
    fn garbage_refused() {
        let good = ContentKey::from_bytes([7; KEY_LEN]).to_link_string();
        assert_eq!(ContentKey::parse(""), Err(KeyParseError::BadLength(0)));
        assert_eq!(
            ContentKey::parse(&good[..42]),
            Err(KeyParseError::BadLength(42))
        );
        assert!(ContentKey::parse(&format!("{}=", &*good)).is_err());
        assert!(ContentKey::parse(&format!(" {}", &good[1..])).is_err());
        // Standard base64 characters are not base64url.
        let plus = format!("+{}", &good[1..]);
        assert_eq!(ContentKey::parse(&plus), Err(KeyParseError::BadEncoding));
        // 43 characters carry 258 bits; the last 2 must be zero.
        let all_ones = "_".repeat(KEY_STRING_LEN);
        assert_eq!(
            ContentKey::parse(&all_ones),
            Err(KeyParseError::BadEncoding)
        );
        // Multi-byte characters with the right byte length.
        let uni = format!("é{}", &good[2..]);
        assert_eq!(uni.len(), KEY_STRING_LEN);
        assert_eq!(ContentKey::parse(&uni), Err(KeyParseError::BadEncoding));
    }
}
