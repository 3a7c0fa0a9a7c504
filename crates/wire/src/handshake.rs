//! The 68-byte BitTorrent handshake (BEP 3) and the capability bits in its reserved
//! field (BEP 10 extension protocol, BEP 6 fast extension, BEP 5 DHT).

/// The protocol string every handshake carries, preceded by its length (19).
pub const PROTOCOL: &[u8; 19] = b"BitTorrent protocol";

/// Why a received handshake was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Not 68 bytes (the length given).
    #[error("handshake is {0} bytes, expected 68")]
    WrongLength(usize),
    /// The length byte or protocol string is not `19`, `BitTorrent protocol`.
    #[error("handshake does not name the BitTorrent protocol")]
    BadProtocol,
}

/// A handshake: reserved capability bits, the torrent's info-hash and the sender's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handshake {
    /// Capability bits (BEP 10, BEP 6, BEP 5 and others).
    pub reserved: [u8; 8],
    /// The torrent's info-hash.
    pub info_hash: [u8; 20],
    /// The sender's peer id.
    pub peer_id: [u8; 20],
}

// (byte, mask) of each capability bit in `reserved`.
const EXTENSIONS: (usize, u8) = (5, 0x10);
const FAST: (usize, u8) = (7, 0x04);
const DHT: (usize, u8) = (7, 0x01);

impl Handshake {
    /// Encoded size: 1 + 19 + 8 + 20 + 20.
    pub const LEN: usize = 68;

    /// Our handshake: extension protocol and fast extension advertised, DHT not (see
    /// [`Handshake::set_dht`]).
    pub fn new(info_hash: [u8; 20], peer_id: [u8; 20]) -> Self {
        let mut hs = Handshake {
            reserved: [0; 8],
            info_hash,
            peer_id,
        };
        hs.set_bit(EXTENSIONS, true);
        hs.set_bit(FAST, true);
        hs
    }

    /// The 68 bytes on the wire.
    pub fn encode(&self) -> [u8; 68] {
        let mut out = [0u8; 68];
        out[0] = 19;
        out[1..20].copy_from_slice(PROTOCOL);
        out[20..28].copy_from_slice(&self.reserved);
        out[28..48].copy_from_slice(&self.info_hash);
        out[48..68].copy_from_slice(&self.peer_id);
        out
    }

    /// Parses exactly 68 bytes, checking the length byte and the protocol string.
    pub fn decode(buf: &[u8]) -> Result<Handshake, HandshakeError> {
        if buf.len() != Self::LEN {
            return Err(HandshakeError::WrongLength(buf.len()));
        }
        if buf[0] != 19 || &buf[1..20] != PROTOCOL {
            return Err(HandshakeError::BadProtocol);
        }
        let mut hs = Handshake {
            reserved: [0; 8],
            info_hash: [0; 20],
            peer_id: [0; 20],
        };
        hs.reserved.copy_from_slice(&buf[20..28]);
        hs.info_hash.copy_from_slice(&buf[28..48]);
        hs.peer_id.copy_from_slice(&buf[48..68]);
        Ok(hs)
    }

    /// BEP 10 extension protocol bit.
    pub fn supports_extensions(&self) -> bool {
        self.bit(EXTENSIONS)
    }

    /// BEP 6 fast extension bit.
    pub fn supports_fast(&self) -> bool {
        self.bit(FAST)
    }

    /// BEP 5 DHT bit (the peer will accept a `port` message).
    pub fn supports_dht(&self) -> bool {
        self.bit(DHT)
    }

    /// Sets or clears the BEP 5 DHT bit.
    pub fn set_dht(&mut self, on: bool) {
        self.set_bit(DHT, on);
    }

    /// Sets or clears the BEP 10 extension bit.
    pub fn set_extensions(&mut self, on: bool) {
        self.set_bit(EXTENSIONS, on);
    }

    /// Sets or clears the BEP 6 fast extension bit.
    pub fn set_fast(&mut self, on: bool) {
        self.set_bit(FAST, on);
    }

    fn bit(&self, (byte, mask): (usize, u8)) -> bool {
        self.reserved[byte] & mask != 0
    }

    fn set_bit(&mut self, (byte, mask): (usize, u8), on: bool) {
        if on {
            self.reserved[byte] |= mask;
        } else {
            self.reserved[byte] &= !mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_bits() {
        let mut hs = Handshake::new([1; 20], [2; 20]);
        assert!(hs.supports_extensions() && hs.supports_fast() && !hs.supports_dht());
        assert_eq!(hs.reserved, [0, 0, 0, 0, 0, 0x10, 0, 0x04]);
        hs.set_dht(true);
        assert_eq!(hs.reserved[7], 0x05);
        let bytes = hs.encode();
        assert_eq!(bytes[0], 19);
        assert_eq!(&bytes[1..20], PROTOCOL);
        assert_eq!(Handshake::decode(&bytes), Ok(hs));
        hs.set_dht(false);
        hs.set_fast(false);
        hs.set_extensions(false);
        assert_eq!(hs.reserved, [0; 8]);
    }

    #[test]
    fn refuses_bad_input() {
        let bytes = Handshake::new([1; 20], [2; 20]).encode();
        assert_eq!(
            Handshake::decode(&bytes[..67]),
            Err(HandshakeError::WrongLength(67))
        );
        let mut long = bytes.to_vec();
        long.push(0);
        assert_eq!(
            Handshake::decode(&long),
            Err(HandshakeError::WrongLength(69))
        );
        let mut bad = bytes;
        bad[0] = 18;
        assert_eq!(Handshake::decode(&bad), Err(HandshakeError::BadProtocol));
        let mut bad = bytes;
        bad[5] = b'X';
        assert_eq!(Handshake::decode(&bad), Err(HandshakeError::BadProtocol));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = Handshake::decode(&bytes);
        }

        #[test]
        fn round_trips(reserved in any::<[u8; 8]>(), ih in any::<[u8; 20]>(), id in any::<[u8; 20]>()) {
            let hs = Handshake { reserved, info_hash: ih, peer_id: id };
            prop_assert_eq!(Handshake::decode(&hs.encode()), Ok(hs));
        }
    }
}
