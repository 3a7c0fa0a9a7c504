//! Owned bencode values and the encoder. Dictionaries are `BTreeMap`s, so output is
//! always canonical (keys sorted by raw bytes).

use std::collections::BTreeMap;

/// An owned bencode value for building messages and files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedValue {
    /// `i<n>e`.
    Int(i64),
    /// `<len>:<bytes>`: a byte string (not necessarily UTF-8).
    Bytes(Vec<u8>),
    /// `l…e`.
    List(Vec<OwnedValue>),
    /// `d…e`, keyed by raw bytes.
    Dict(BTreeMap<Vec<u8>, OwnedValue>),
    /// Already-encoded bencode, spliced into the output as-is (e.g. an `info` dictionary
    /// whose exact bytes must be preserved).
    Raw(Vec<u8>),
}

/// Appends `i<n>e`.
pub fn encode_int(out: &mut Vec<u8>, n: i64) {
    out.push(b'i');
    out.extend_from_slice(n.to_string().as_bytes());
    out.push(b'e');
}

/// Appends `<len>:<bytes>`.
pub fn encode_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(bytes);
}

impl OwnedValue {
    /// An empty dictionary.
    pub fn dict() -> Self {
        OwnedValue::Dict(BTreeMap::new())
    }

    /// Inserts `key` into a dictionary value; does nothing on other variants.
    pub fn insert(&mut self, key: &str, value: impl Into<OwnedValue>) {
        if let OwnedValue::Dict(map) = self {
            map.insert(key.as_bytes().to_vec(), value.into());
        }
    }

    /// The value, bencoded.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the value, bencoded, to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            OwnedValue::Int(n) => encode_int(out, *n),
            OwnedValue::Bytes(b) => encode_bytes(out, b),
            OwnedValue::List(items) => {
                out.push(b'l');
                items.iter().for_each(|item| item.encode_into(out));
                out.push(b'e');
            }
            OwnedValue::Dict(map) => {
                out.push(b'd');
                for (key, value) in map {
                    encode_bytes(out, key);
                    value.encode_into(out);
                }
                out.push(b'e');
            }
            OwnedValue::Raw(raw) => out.extend_from_slice(raw),
        }
    }
}

impl From<i64> for OwnedValue {
    fn from(n: i64) -> Self {
        OwnedValue::Int(n)
    }
}

impl From<u64> for OwnedValue {
    fn from(n: u64) -> Self {
        OwnedValue::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<u32> for OwnedValue {
    fn from(n: u32) -> Self {
        OwnedValue::Int(i64::from(n))
    }
}

impl From<&str> for OwnedValue {
    fn from(s: &str) -> Self {
        OwnedValue::Bytes(s.as_bytes().to_vec())
    }
}

impl From<String> for OwnedValue {
    fn from(s: String) -> Self {
        OwnedValue::Bytes(s.into_bytes())
    }
}

impl From<Vec<u8>> for OwnedValue {
    fn from(b: Vec<u8>) -> Self {
        OwnedValue::Bytes(b)
    }
}

impl From<&[u8]> for OwnedValue {
    fn from(b: &[u8]) -> Self {
        OwnedValue::Bytes(b.to_vec())
    }
}

impl From<Vec<OwnedValue>> for OwnedValue {
    fn from(items: Vec<OwnedValue>) -> Self {
        OwnedValue::List(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;
    use proptest::prelude::*;

    #[test]
    fn encodes_sorted_dicts() {
        let mut d = OwnedValue::dict();
        d.insert("b", 1i64);
        d.insert("a", "x");
        d.insert(
            "l",
            vec![OwnedValue::Int(-3), OwnedValue::from(&b"\x00\xff"[..])],
        );
        assert_eq!(d.encode(), b"d1:a1:x1:bi1e1:lli-3e2:\x00\xffee");
    }

    fn owned_value() -> impl Strategy<Value = OwnedValue> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(OwnedValue::Int),
            proptest::collection::vec(any::<u8>(), 0..16).prop_map(OwnedValue::Bytes),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(OwnedValue::List),
                proptest::collection::btree_map(
                    proptest::collection::vec(any::<u8>(), 0..8),
                    inner,
                    0..8
                )
                .prop_map(OwnedValue::Dict),
            ]
        })
    }

    proptest! {
        #[test]
        fn round_trip(v in owned_value()) {
            let bytes = v.encode();
            let decoded = decode(&bytes).unwrap();
            prop_assert_eq!(decoded.to_owned_value(), v);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
            let _ = crate::decode_lenient(&bytes);
            let _ = crate::decode_prefix(&bytes);
        }

        #[test]
        fn decoded_values_reencode_identically(bytes in proptest::collection::vec(prop_oneof![Just(b'd'), Just(b'e'), Just(b'l'), Just(b'i'), Just(b'1'), Just(b'0'), Just(b':'), Just(b'a'), Just(b'-')], 0..64)) {
            // Anything the strict decoder accepts is canonical, so it re-encodes to itself.
            if let Ok(v) = decode(&bytes) {
                prop_assert_eq!(v.to_owned_value().encode(), bytes);
            }
        }
    }
}
