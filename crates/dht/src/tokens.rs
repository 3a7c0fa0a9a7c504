//! Write tokens for `announce_peer` (BEP 5): `SHA-1(secret | ip)`, with the secret
//! rotated every five minutes and the previous secret still accepted, so a token stays
//! valid for five to ten minutes and only for the address it was handed to.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use rand::Rng;
use sha1::{Digest, Sha1};

/// How often the secret changes.
pub const TOKEN_ROTATION: Duration = Duration::from_secs(5 * 60);
/// Length of the tokens we hand out.
pub const TOKEN_LEN: usize = 20;

/// The current and previous token secrets.
#[derive(Debug, Clone)]
pub struct TokenSecrets {
    current: [u8; 16],
    previous: [u8; 16],
    rotated_at: Instant,
}

impl TokenSecrets {
    /// Fresh secrets drawn from `rng`; the first rotation is due [`TOKEN_ROTATION`]
    /// after `now`.
    pub fn new(rng: &mut impl Rng, now: Instant) -> TokenSecrets {
        let current = rng.gen();
        TokenSecrets {
            current,
            previous: current,
            rotated_at: now,
        }
    }

    /// When the secret is next due to rotate.
    pub fn next_rotation(&self) -> Instant {
        self.rotated_at + TOKEN_ROTATION
    }

    /// Rotates if the period has elapsed; returns whether it did.
    pub fn rotate_if_due(&mut self, rng: &mut impl Rng, now: Instant) -> bool {
        if now < self.next_rotation() {
            return false;
        }
        self.previous = self.current;
        self.current = rng.gen();
        self.rotated_at = now;
        true
    }

    /// The token to hand to a querier at `ip`.
    pub fn token_for(&self, ip: IpAddr) -> [u8; TOKEN_LEN] {
        token(&self.current, ip)
    }

    /// Whether `candidate` was issued to `ip` under the current or previous secret.
    pub fn is_valid(&self, candidate: &[u8], ip: IpAddr) -> bool {
        candidate == token(&self.current, ip) || candidate == token(&self.previous, ip)
    }
}

fn token(secret: &[u8; 16], ip: IpAddr) -> [u8; TOKEN_LEN] {
    let mut hasher = Sha1::new();
    hasher.update(secret);
    match ip {
        IpAddr::V4(v4) => hasher.update(v4.octets()),
        IpAddr::V6(v6) => hasher.update(v6.octets()),
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn tokens_bind_to_ip_and_survive_one_rotation() {
        let mut rng = StdRng::seed_from_u64(3);
        let t0 = Instant::now();
        let mut s = TokenSecrets::new(&mut rng, t0);
        let a: IpAddr = "1.2.3.4".parse().unwrap();
        let b: IpAddr = "1.2.3.5".parse().unwrap();
        let tok = s.token_for(a);
        assert!(s.is_valid(&tok, a));
        assert!(!s.is_valid(&tok, b));
        assert!(!s.is_valid(&tok[..19], a));
        assert!(!s.rotate_if_due(&mut rng, t0 + Duration::from_secs(299)));
        assert!(s.rotate_if_due(&mut rng, t0 + TOKEN_ROTATION));
        assert!(s.is_valid(&tok, a), "previous secret still accepted");
        assert!(s.rotate_if_due(&mut rng, t0 + 2 * TOKEN_ROTATION));
        assert!(!s.is_valid(&tok, a), "two rotations later it expires");
    }
}
