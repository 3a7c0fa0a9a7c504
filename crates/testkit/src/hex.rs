//! Lower-case hex, as info-hashes appear in magnets and APIs and test vectors in
//! specifications.

/// `bytes` as lower-case hex.
pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of hex string `s` (either case); panics on an odd length or a non-hex
/// digit.
pub fn decode(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// [`decode`] into exactly `N` bytes (such as a 20-byte info-hash); panics on any
/// other length.
pub fn decode_array<const N: usize>(s: &str) -> [u8; N] {
    decode(s).try_into().unwrap()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let bytes = [0x00, 0x7f, 0xab, 0xff];
        assert_eq!(super::encode(&bytes), "007fabff");
        assert_eq!(super::decode("007FABff"), bytes);
        assert_eq!(super::decode_array::<4>("007fabff"), bytes);
    }
}
