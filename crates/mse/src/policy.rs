//! The user's encryption policy and the `crypto_provide` / `crypto_select` bitfields.

use std::fmt;
use std::str::FromStr;

/// `crypto_provide` / `crypto_select` bit for an unencrypted payload stream.
pub const CRYPTO_PLAINTEXT: u32 = 0x01;
/// `crypto_provide` / `crypto_select` bit for an RC4-encrypted payload stream.
pub const CRYPTO_RC4: u32 = 0x02;

/// How much encryption a connection insists on.
///
/// Within an MSE handshake: `Prefer` offers RC4 and plaintext and, as responder,
/// selects RC4 whenever the initiator offers it; `Require` offers and accepts RC4
/// only; `Disable` offers and accepts only the plaintext method. Whether to attempt
/// MSE at all, and whether to accept a plain BitTorrent handshake, is the caller's
/// decision (see [`EncryptionPolicy::accepts_plaintext_handshake`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EncryptionPolicy {
    /// Offer RC4 and plaintext; pick RC4 when the peer offers it.
    #[default]
    Prefer,
    /// RC4 only.
    Require,
    /// Plaintext only.
    Disable,
}

impl EncryptionPolicy {
    /// The `crypto_provide` bitfield an initiator with this policy sends; as a
    /// responder, the set of methods it accepts.
    pub fn crypto_provide(self) -> u32 {
        match self {
            Self::Prefer => CRYPTO_PLAINTEXT | CRYPTO_RC4,
            Self::Require => CRYPTO_RC4,
            Self::Disable => CRYPTO_PLAINTEXT,
        }
    }

    /// Whether an unobfuscated BitTorrent handshake (no MSE) is acceptable.
    pub fn accepts_plaintext_handshake(self) -> bool {
        !matches!(self, Self::Require)
    }

    /// Whether outgoing connections should start with MSE rather than a plain
    /// BitTorrent handshake.
    pub fn initiates_mse(self) -> bool {
        !matches!(self, Self::Disable)
    }

    /// The responder's `crypto_select` for a peer's `crypto_provide`, if any.
    pub(crate) fn select(self, provided: u32) -> Option<u32> {
        let common = provided & self.crypto_provide();
        if common & CRYPTO_RC4 != 0 {
            Some(CRYPTO_RC4)
        } else if common & CRYPTO_PLAINTEXT != 0 {
            Some(CRYPTO_PLAINTEXT)
        } else {
            None
        }
    }
}

impl fmt::Display for EncryptionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::Disable => "disable",
        })
    }
}

/// Error from parsing an [`EncryptionPolicy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown encryption policy {0:?} (expected prefer, require or disable)")]
pub struct ParsePolicyError(pub String);

impl FromStr for EncryptionPolicy {
    type Err = ParsePolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "prefer" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            "disable" => Ok(Self::Disable),
            _ => Err(ParsePolicyError(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for p in [
            EncryptionPolicy::Prefer,
            EncryptionPolicy::Require,
            EncryptionPolicy::Disable,
        ] {
            assert_eq!(p.to_string().parse::<EncryptionPolicy>(), Ok(p));
        }
        assert_eq!("REQUIRE".parse(), Ok(EncryptionPolicy::Require));
        assert!("forced".parse::<EncryptionPolicy>().is_err());
    }

    #[test]
    fn selection() {
        use EncryptionPolicy::*;
        assert_eq!(Prefer.select(3), Some(CRYPTO_RC4));
        assert_eq!(Prefer.select(1), Some(CRYPTO_PLAINTEXT));
        assert_eq!(Prefer.select(0), None);
        assert_eq!(Prefer.select(0xFFFF_FFFC), None);
        assert_eq!(Require.select(1), None);
        assert_eq!(Require.select(3), Some(CRYPTO_RC4));
        assert_eq!(Disable.select(3), Some(CRYPTO_PLAINTEXT));
        assert_eq!(Disable.select(2), None);
    }
}
