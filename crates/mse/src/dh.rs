//! Diffie-Hellman over the 768-bit MODP group that MSE uses (generator 2), with
//! 160-bit private keys and 96-byte big-endian public keys and shared secrets.

use std::sync::OnceLock;

use num_bigint::BigUint;

use crate::MseError;

/// Length in bytes of a public key and of the shared secret.
pub const PUBLIC_KEY_LEN: usize = 96;

/// Length in bytes of a private key (160 bits).
pub const PRIVATE_KEY_LEN: usize = 20;

/// The prime P, big-endian.
const PRIME_BYTES: [u8; PUBLIC_KEY_LEN] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC9, 0x0F, 0xDA, 0xA2, //
    0x21, 0x68, 0xC2, 0x34, 0xC4, 0xC6, 0x62, 0x8B, 0x80, 0xDC, 0x1C, 0xD1, //
    0x29, 0x02, 0x4E, 0x08, 0x8A, 0x67, 0xCC, 0x74, 0x02, 0x0B, 0xBE, 0xA6, //
    0x3B, 0x13, 0x9B, 0x22, 0x51, 0x4A, 0x08, 0x79, 0x8E, 0x34, 0x04, 0xDD, //
    0xEF, 0x95, 0x19, 0xB3, 0xCD, 0x3A, 0x43, 0x1B, 0x30, 0x2B, 0x0A, 0x6D, //
    0xF2, 0x5F, 0x14, 0x37, 0x4F, 0xE1, 0x35, 0x6D, 0x6D, 0x51, 0xC2, 0x45, //
    0xE4, 0x85, 0xB5, 0x76, 0x62, 0x5E, 0x7E, 0xC6, 0xF4, 0x4C, 0x42, 0xE9, //
    0xA6, 0x3A, 0x36, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x05, 0x63, //
];

/// The shared secret S, big-endian and left-padded to 96 bytes.
pub(crate) type SharedSecret = [u8; PUBLIC_KEY_LEN];

fn prime() -> &'static BigUint {
    static PRIME: OnceLock<BigUint> = OnceLock::new();
    PRIME.get_or_init(|| BigUint::from_bytes_be(&PRIME_BYTES))
}

/// Whether `y` lies in `2..=P-2`: the range of keys that do not give away the secret.
fn in_range(y: &BigUint) -> bool {
    let two = BigUint::from(2u8);
    *y >= two && *y <= prime() - &two
}

/// Writes `n` (known to be below P) big-endian into 96 bytes, left-padded with zeros.
fn to_fixed(n: &BigUint) -> [u8; PUBLIC_KEY_LEN] {
    let bytes = n.to_bytes_be();
    let mut out = [0u8; PUBLIC_KEY_LEN];
    // n < P < 2^768, so it always fits; `saturating_sub` keeps this panic-free regardless.
    let start = PUBLIC_KEY_LEN.saturating_sub(bytes.len());
    let src = bytes
        .get(bytes.len().saturating_sub(PUBLIC_KEY_LEN)..)
        .unwrap_or(&[]);
    if let Some(dst) = out.get_mut(start..) {
        dst.copy_from_slice(src);
    }
    out
}

/// One side's key pair.
pub(crate) struct Keypair {
    private: BigUint,
    public: [u8; PUBLIC_KEY_LEN],
}

impl Keypair {
    /// Derives the public key `2^x mod P`; fails if it lies outside `2..=P-2`
    /// (only for degenerate private keys such as zero).
    pub(crate) fn from_private(x: &[u8; PRIVATE_KEY_LEN]) -> Result<Self, MseError> {
        let private = BigUint::from_bytes_be(x);
        let public = BigUint::from(2u8).modpow(&private, prime());
        if !in_range(&public) {
            return Err(MseError::InvalidParams(
                "private key gives a degenerate public key",
            ));
        }
        Ok(Self {
            private,
            public: to_fixed(&public),
        })
    }

    pub(crate) fn public(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.public
    }

    /// Computes S from the peer's public key, rejecting keys outside `2..=P-2`.
    pub(crate) fn shared_secret(
        &self,
        peer: &[u8; PUBLIC_KEY_LEN],
    ) -> Result<SharedSecret, MseError> {
        let y = BigUint::from_bytes_be(peer);
        if !in_range(&y) {
            return Err(MseError::BadPublicKey);
        }
        Ok(to_fixed(&y.modpow(&self.private, prime())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_from(n: &BigUint) -> [u8; PUBLIC_KEY_LEN] {
        to_fixed(n)
    }

    #[test]
    fn rejects_out_of_range_peer_keys() {
        let kp = Keypair::from_private(&[7u8; 20]).unwrap();
        let p = prime().clone();
        for bad in [BigUint::from(0u8), BigUint::from(1u8), &p - 1u8] {
            assert_eq!(
                kp.shared_secret(&key_from(&bad)),
                Err(MseError::BadPublicKey)
            );
        }
        // P itself and anything above it (only representable as raw bytes).
        assert_eq!(kp.shared_secret(&PRIME_BYTES), Err(MseError::BadPublicKey));
        assert_eq!(kp.shared_secret(&[0xFF; 96]), Err(MseError::BadPublicKey));
        // The extremes of the accepted range work.
        assert!(kp.shared_secret(&key_from(&BigUint::from(2u8))).is_ok());
        assert!(kp.shared_secret(&key_from(&(&p - 2u8))).is_ok());
    }

    #[test]
    fn zero_private_key_is_refused() {
        assert!(matches!(
            Keypair::from_private(&[0u8; 20]),
            Err(MseError::InvalidParams(_))
        ));
    }

    #[test]
    fn both_sides_agree() {
        let a = Keypair::from_private(&[0x11; 20]).unwrap();
        let b = Keypair::from_private(&[0x22; 20]).unwrap();
        assert_eq!(
            a.shared_secret(b.public()).unwrap(),
            b.shared_secret(a.public()).unwrap()
        );
    }

    #[test]
    fn small_values_are_left_padded() {
        let two = to_fixed(&BigUint::from(2u8));
        assert_eq!(two[95], 2);
        assert!(two[..95].iter().all(|&b| b == 0));
    }
}
