//! A fixed-length set of piece indices, stored MSB-first as on the wire (BEP 3).

/// A fixed-length bit set of pieces. Bit `i` is the high bit of byte `i / 8` shifted
/// right by `i % 8`, exactly as the `bitfield` message carries it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bitfield {
    bytes: Vec<u8>,
    len: usize,
    ones: usize,
}

/// Why a received bitfield payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BitfieldError {
    /// The payload's length does not fit the number of pieces.
    #[error("bitfield is {got} bytes, expected {expected}")]
    WrongLength {
        /// Bytes received.
        got: usize,
        /// Bytes the number of pieces calls for.
        expected: usize,
    },
    /// Bits past the last piece are set (the number of pieces given).
    #[error("bitfield has spare bits set past piece {0}")]
    SpareBitsSet(usize),
}

impl Bitfield {
    /// An empty (all-zero) bitfield of `len` pieces.
    pub fn new(len: usize) -> Self {
        Bitfield {
            bytes: vec![0; len.div_ceil(8)],
            len,
            ones: 0,
        }
    }

    /// A bitfield of `len` pieces, all set.
    pub fn full(len: usize) -> Self {
        let mut b = Self::new(len);
        b.set_all();
        b
    }

    /// Parses a wire payload for a torrent of `len` pieces, refusing a wrong byte count
    /// or spare bits set in the last byte.
    pub fn from_payload(payload: &[u8], len: usize) -> Result<Self, BitfieldError> {
        let expected = len.div_ceil(8);
        if payload.len() != expected {
            return Err(BitfieldError::WrongLength {
                got: payload.len(),
                expected,
            });
        }
        if !len.is_multiple_of(8) {
            let spare_mask = 0xffu8 >> (len % 8);
            if payload[expected - 1] & spare_mask != 0 {
                return Err(BitfieldError::SpareBitsSet(len));
            }
        }
        let ones = payload.iter().map(|b| b.count_ones() as usize).sum();
        Ok(Bitfield {
            bytes: payload.to_vec(),
            len,
            ones,
        })
    }

    /// The wire form of this bitfield.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Number of pieces this bitfield covers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the bitfield covers no pieces.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of bits set.
    pub fn count_ones(&self) -> usize {
        self.ones
    }

    /// Whether every piece is set.
    pub fn is_full(&self) -> bool {
        self.ones == self.len
    }

    /// Whether piece `i` is set; out-of-range indices are reported as not set.
    pub fn get(&self, i: usize) -> bool {
        i < self.len && self.bytes[i / 8] & (0x80 >> (i % 8)) != 0
    }

    /// Sets piece `i`; returns true if it was newly set. Out-of-range indices are ignored.
    pub fn set(&mut self, i: usize) -> bool {
        if i >= self.len || self.get(i) {
            return false;
        }
        self.bytes[i / 8] |= 0x80 >> (i % 8);
        self.ones += 1;
        true
    }

    /// Clears piece `i`; returns true if it was set.
    pub fn clear(&mut self, i: usize) -> bool {
        if !self.get(i) {
            return false;
        }
        self.bytes[i / 8] &= !(0x80 >> (i % 8));
        self.ones -= 1;
        true
    }

    /// Sets every piece.
    pub fn set_all(&mut self) {
        self.bytes.iter_mut().for_each(|b| *b = 0xff);
        if !self.len.is_multiple_of(8) {
            if let Some(last) = self.bytes.last_mut() {
                *last = !(0xffu8 >> (self.len % 8));
            }
        }
        self.ones = self.len;
    }

    /// Indices of the set pieces, ascending.
    pub fn iter_ones(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).filter(move |&i| self.get(i))
    }
}

impl std::fmt::Debug for Bitfield {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitfield({}/{})", self.ones, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_clear_and_counts() {
        let mut b = Bitfield::new(10);
        assert!(b.set(0));
        assert!(b.set(9));
        assert!(!b.set(9));
        assert!(!b.set(10));
        assert_eq!(b.as_bytes(), &[0x80, 0x40]);
        assert_eq!(b.count_ones(), 2);
        assert!(b.clear(0));
        assert_eq!(b.iter_ones().collect::<Vec<_>>(), vec![9]);
    }

    #[test]
    fn full_has_no_spare_bits() {
        let b = Bitfield::full(10);
        assert_eq!(b.as_bytes(), &[0xff, 0xc0]);
        assert!(Bitfield::from_payload(b.as_bytes(), 10).is_ok());
    }

    #[test]
    fn payload_checks() {
        assert_eq!(
            Bitfield::from_payload(&[0xff], 10),
            Err(BitfieldError::WrongLength {
                got: 1,
                expected: 2
            })
        );
        assert_eq!(
            Bitfield::from_payload(&[0xff, 0xe0], 10),
            Err(BitfieldError::SpareBitsSet(10))
        );
        assert_eq!(
            Bitfield::from_payload(&[0x00, 0x40], 10).map(|b| b.count_ones()),
            Ok(1)
        );
    }
}
