//! Peers whose handshakes failed on the encryption policy: we allow only plaintext
//! and they require encryption, or the reverse. Counted per torrent (and per magnet
//! fetch) so that a user who sees "peers 0" also sees why.
//!
//! Incoming handshakes show the mismatch for certain (a plaintext handshake while we
//! require encryption; an MSE offer with no method in common). Outgoing ones show it
//! as the peer hanging up before answering: a plaintext handshake closed unanswered
//! under `disable`, an MSE handshake under `require`. A peer that lacks the torrent
//! hangs up the same way; one that does has no other reason to.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

/// Most refusing peers remembered per torrent (a flood of dials cannot grow it; the
/// count stops there).
pub(crate) const MAX_REFUSING_PEERS: usize = 1024;

/// How a peer's encryption policy and ours failed to meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncryptionRefusal {
    /// The peer requires encryption; our policy (`disable`) allows only plaintext.
    TheyRequireEncryption,
    /// The peer does not encrypt; our policy (`require`) allows only encryption.
    TheyRefuseEncryption,
}

impl fmt::Display for EncryptionRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EncryptionRefusal::TheyRequireEncryption => {
                "the peer requires encryption, which our policy disables"
            }
            EncryptionRefusal::TheyRefuseEncryption => {
                "the peer does not encrypt, and our policy requires encryption"
            }
        })
    }
}

/// How many peers refused our encryption policy, by reason.
/// Fields are public: a plain report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EncryptionRefusals {
    /// Peers that require encryption (we disabled it).
    pub require_encryption: usize,
    /// Peers that do not encrypt (we require it).
    pub refuse_encryption: usize,
}

impl EncryptionRefusals {
    /// No peer refused.
    pub fn is_empty(&self) -> bool {
        self.require_encryption == 0 && self.refuse_encryption == 0
    }
}

impl fmt::Display for EncryptionRefusals {
    /// "3 peers refused: they require encryption" (empty when none refused).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [
            (self.require_encryption, "they require encryption"),
            (self.refuse_encryption, "they do not encrypt"),
        ];
        let mut first = true;
        for (n, why) in parts.into_iter().filter(|(n, _)| *n > 0) {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            let peers = if n == 1 { "peer" } else { "peers" };
            write!(f, "{n} {peers} refused: {why}")?;
        }
        Ok(())
    }
}

/// The peers that refused, by address: a peer dialled again and again counts once,
/// and one that later connects is forgotten.
#[derive(Debug, Default)]
pub(crate) struct RefusingPeers {
    by_ip: HashMap<IpAddr, EncryptionRefusal>,
}

impl RefusingPeers {
    /// `ip` refused for `why`; ignored once [`MAX_REFUSING_PEERS`] are remembered.
    pub(crate) fn refused(&mut self, ip: IpAddr, why: EncryptionRefusal) {
        if self.by_ip.len() < MAX_REFUSING_PEERS || self.by_ip.contains_key(&ip) {
            self.by_ip.insert(ip, why);
        }
    }

    /// `ip` completed a handshake: it no longer counts.
    pub(crate) fn connected(&mut self, ip: IpAddr) {
        self.by_ip.remove(&ip);
    }

    /// The counts by reason.
    pub(crate) fn counts(&self) -> EncryptionRefusals {
        let mut counts = EncryptionRefusals::default();
        for why in self.by_ip.values() {
            match why {
                EncryptionRefusal::TheyRequireEncryption => counts.require_encryption += 1,
                EncryptionRefusal::TheyRefuseEncryption => counts.refuse_encryption += 1,
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    #[test]
    fn counts_peers_once_and_forgets_those_that_connect() {
        let mut peers = RefusingPeers::default();
        assert!(peers.counts().is_empty());
        assert_eq!(peers.counts().to_string(), "");
        for _ in 0..3 {
            peers.refused(ip(1), EncryptionRefusal::TheyRequireEncryption);
        }
        peers.refused(ip(2), EncryptionRefusal::TheyRequireEncryption);
        peers.refused(ip(3), EncryptionRefusal::TheyRequireEncryption);
        assert_eq!(
            peers.counts().to_string(),
            "3 peers refused: they require encryption"
        );
        peers.refused(ip(4), EncryptionRefusal::TheyRefuseEncryption);
        peers.connected(ip(2));
        assert_eq!(
            peers.counts().to_string(),
            "2 peers refused: they require encryption; 1 peer refused: they do not encrypt"
        );
    }

    #[test]
    fn memory_is_bounded() {
        let mut peers = RefusingPeers::default();
        for n in 0..(MAX_REFUSING_PEERS as u32 + 50) {
            peers.refused(ip(n), EncryptionRefusal::TheyRefuseEncryption);
        }
        assert_eq!(peers.counts().refuse_encryption, MAX_REFUSING_PEERS);
    }
}
