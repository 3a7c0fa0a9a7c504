//! 160-bit node ids: XOR distance, bucket arithmetic, random ids inside a bucket's
//! range, and the BEP 42 binding between a node id and its external IP address.

use std::fmt;
use std::net::IpAddr;

use rand::Rng;

/// Length of a node id / info-hash in bytes.
pub const ID_LEN: usize = 20;
/// Length of a node id in bits.
pub const ID_BITS: usize = ID_LEN * 8;

/// A DHT node id (also used for lookup targets and info-hashes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NodeId(pub [u8; ID_LEN]);

/// The XOR distance between two ids; ordered as a 160-bit big-endian number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Distance(pub [u8; ID_LEN]);

impl NodeId {
    /// The id in `bytes` if it is exactly 20 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<NodeId> {
        <[u8; ID_LEN]>::try_from(bytes).ok().map(NodeId)
    }

    /// The id's 20 bytes.
    pub fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }

    /// A uniformly random id.
    pub fn random(rng: &mut impl Rng) -> NodeId {
        let mut id = [0u8; ID_LEN];
        rng.fill(&mut id[..]);
        NodeId(id)
    }

    /// The XOR distance to `other`.
    pub fn distance(&self, other: &NodeId) -> Distance {
        let mut d = [0u8; ID_LEN];
        for (i, byte) in d.iter_mut().enumerate() {
            *byte = self.0[i] ^ other.0[i];
        }
        Distance(d)
    }

    /// Number of leading bits shared with `other` (160 when equal).
    pub fn common_prefix_len(&self, other: &NodeId) -> usize {
        self.distance(other).leading_zeros()
    }

    /// Bit `i`, counted from the most significant bit of byte 0.
    pub fn bit(&self, i: usize) -> bool {
        i < ID_BITS && self.0[i / 8] & (0x80 >> (i % 8)) != 0
    }

    /// A random id that shares exactly `prefix_len` leading bits with `self` (bit
    /// `prefix_len` differs), i.e. an id falling in bucket `prefix_len` of a table
    /// centred on `self`. With `prefix_len >= 160` this is `self`.
    pub fn random_at_prefix(&self, prefix_len: usize, rng: &mut impl Rng) -> NodeId {
        if prefix_len >= ID_BITS {
            return *self;
        }
        let mut out = NodeId::random(rng);
        for i in 0..ID_BITS {
            let want = match i.cmp(&prefix_len) {
                std::cmp::Ordering::Less => self.bit(i),
                std::cmp::Ordering::Equal => !self.bit(i),
                std::cmp::Ordering::Greater => break,
            };
            out.set_bit(i, want);
        }
        out
    }

    fn set_bit(&mut self, i: usize, value: bool) {
        let mask = 0x80 >> (i % 8);
        if value {
            self.0[i / 8] |= mask;
        } else {
            self.0[i / 8] &= !mask;
        }
    }
}

impl Distance {
    /// Number of leading zero bits (160 for a distance of zero).
    pub fn leading_zeros(&self) -> usize {
        let mut n = 0;
        for byte in self.0 {
            if byte == 0 {
                n += 8;
            } else {
                return n + byte.leading_zeros() as usize;
            }
        }
        n
    }
}

impl From<[u8; ID_LEN]> for NodeId {
    fn from(bytes: [u8; ID_LEN]) -> Self {
        NodeId(bytes)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

const V4_MASK: [u8; 4] = [0x03, 0x0f, 0x3f, 0xff];
const V6_MASK: [u8; 8] = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff];

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78); inputs here are 4 or 8 bytes.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The BEP 42 CRC of `ip` (masked, with `r & 7` in the top three bits).
fn bep42_crc(ip: IpAddr, r: u8) -> u32 {
    let mut buf = [0u8; 8];
    let len = match ip {
        IpAddr::V4(v4) => {
            for (i, b) in v4.octets().iter().enumerate() {
                buf[i] = b & V4_MASK[i];
            }
            4
        }
        IpAddr::V6(v6) => {
            for (i, b) in v6.octets()[..8].iter().enumerate() {
                buf[i] = b & V6_MASK[i];
            }
            8
        }
    };
    buf[0] |= (r & 7) << 5;
    crc32c(&buf[..len])
}

/// Addresses BEP 42 exempts from the check (loopback, private and link-local ranges).
pub fn is_bep42_exempt(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// A BEP 42 id for a node whose external address is `ip`: 21 bits fixed by the CRC of
/// the masked address, the last byte holding the random `r`, the rest random.
pub fn bep42_id(ip: IpAddr, rng: &mut impl Rng) -> NodeId {
    let seed: u8 = rng.gen();
    let mut id = NodeId::random(rng);
    let crc = bep42_crc(ip, seed).to_be_bytes();
    id.0[0] = crc[0];
    id.0[1] = crc[1];
    id.0[2] = (crc[2] & 0xf8) | (id.0[2] & 0x07);
    id.0[19] = seed;
    id
}

/// Whether `id` is a valid BEP 42 id for `ip` (exempt addresses always pass).
pub fn is_bep42_valid(id: &NodeId, ip: IpAddr) -> bool {
    if is_bep42_exempt(ip) {
        return true;
    }
    let crc = bep42_crc(ip, id.0[19]).to_be_bytes();
    id.0[0] == crc[0] && id.0[1] == crc[1] && (id.0[2] & 0xf8) == (crc[2] & 0xf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn hex_id(s: &str) -> NodeId {
        let mut id = [0u8; 20];
        for (i, b) in id.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        NodeId(id)
    }

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn bep42_spec_vectors() {
        let vectors = [
            ("124.31.75.21", "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401"),
            ("21.75.31.124", "5a3ce9c14e7a08645677bbd1cfe7d8f956d53256"),
            ("65.23.51.170", "a5d43220bc8f112a3d426c84764f8c2a1150e616"),
            ("84.124.73.14", "1b0321dd1bb1fe518101ceef99462b947a01ff41"),
            ("43.213.53.83", "e56f6cbf5b7c4be0237986d5243b87aa6d51305a"),
        ];
        for (ip, id) in vectors {
            let ip: IpAddr = ip.parse().unwrap();
            let id = hex_id(id);
            assert!(is_bep42_valid(&id, ip), "{ip}");
            let mut bad = id;
            bad.0[0] ^= 0x01;
            assert!(!is_bep42_valid(&bad, ip));
        }
    }

    #[test]
    fn derived_ids_validate() {
        let mut rng = StdRng::seed_from_u64(7);
        for ip in ["1.2.3.4", "200.100.50.25", "2001:db8::1"] {
            let ip: IpAddr = ip.parse().unwrap();
            for _ in 0..20 {
                let id = bep42_id(ip, &mut rng);
                assert!(is_bep42_valid(&id, ip));
            }
        }
        let id = NodeId([0; 20]);
        assert!(is_bep42_valid(&id, "192.168.1.1".parse().unwrap()));
        assert!(is_bep42_valid(&id, "127.0.0.5".parse().unwrap()));
    }

    #[test]
    fn distance_and_prefix() {
        let a = NodeId([0; 20]);
        let mut b = a;
        b.0[2] = 0x10;
        assert_eq!(a.common_prefix_len(&b), 19);
        assert_eq!(a.common_prefix_len(&a), 160);
        assert!(a.distance(&b) < a.distance(&NodeId([0xff; 20])));
        assert!(b.bit(19) && !b.bit(18) && !b.bit(500));
    }

    #[test]
    fn random_at_prefix_lands_in_bucket() {
        let mut rng = StdRng::seed_from_u64(1);
        let me = NodeId::random(&mut rng);
        for prefix in [0, 1, 7, 8, 9, 100, 159] {
            let t = me.random_at_prefix(prefix, &mut rng);
            assert_eq!(me.common_prefix_len(&t), prefix);
        }
        assert_eq!(me.random_at_prefix(160, &mut rng), me);
    }
}
