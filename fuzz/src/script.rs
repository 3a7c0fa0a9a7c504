//! The byte format of the stateful fuzz targets' inputs: a flat sequence of fields read
//! by [`Reader`] and written by [`Writer`] (which the corpus generator uses to build
//! meaningful seeds).
//!
//! Integers are little-endian and fixed-size; a byte string is a `u16` length followed by
//! that many bytes (fewer if the input ends first); an enum is one tag byte taken modulo
//! the number of variants. Reading past the end yields zeros and empty strings, so every
//! input means something and libFuzzer's mutations stay meaningful.

/// Reads fields from a fuzz input; never fails.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(n.min(self.data.len()));
        self.data = tail;
        head
    }

    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let head = self.take(N);
        out[..head.len()].copy_from_slice(head);
        out
    }

    pub fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }

    /// An enum tag in `0..variants`.
    pub fn tag(&mut self, variants: u8) -> u8 {
        self.u8() % variants
    }

    /// A length-prefixed byte string.
    pub fn bytes(&mut self) -> &'a [u8] {
        let len = usize::from(self.u16());
        self.take(len)
    }
}

/// Writes fields in the format [`Reader`] reads.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    pub out: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }

    pub fn array(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.extend_from_slice(bytes);
        self
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.array(&[v])
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }

    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.array(&v.to_le_bytes())
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.array(&v.to_le_bytes())
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.array(&v.to_le_bytes())
    }

    pub fn tag(&mut self, t: u8) -> &mut Self {
        self.u8(t)
    }

    /// A length-prefixed byte string (at most 65535 bytes).
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        let len = u16::try_from(b.len()).expect("byte strings in seeds are short");
        self.u16(len).array(b)
    }

    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_short_input() {
        let mut w = Writer::new();
        w.u8(7)
            .u16(0x1234)
            .u32(9)
            .bytes(b"abc")
            .tag(3)
            .u64(u64::MAX);
        let data = w.finish();
        let mut r = Reader::new(&data);
        assert_eq!(r.u8(), 7);
        assert_eq!(r.u16(), 0x1234);
        assert_eq!(r.u32(), 9);
        assert_eq!(r.bytes(), b"abc");
        assert_eq!(r.tag(2), 1);
        assert_eq!(r.u64(), u64::MAX);
        assert!(r.is_empty());
        assert_eq!(r.u32(), 0);
        assert_eq!(r.bytes(), b"");
        let mut r = Reader::new(&[5, 0, b'x']);
        assert_eq!(r.bytes(), b"x");
    }
}
