//! The BEP 10 extension handshake: the bencoded dictionary sent as extended message 0,
//! naming the extensions a peer supports (`m`) and a few optional facts about it.
//!
//! Decoding is tolerant: unknown keys, unsorted keys, trailing bytes and malformed
//! optional fields are ignored (the field is left unset). Absurd values are capped:
//! `metadata_size` above [`MAX_METADATA_SIZE`] or ≤ 0 is dropped (`None`), `p` outside
//! 1..=65535 is dropped, `reqq` ≤ 0 is dropped and larger values saturate at `u32::MAX`
//! (the connection clamps it to [`MAX_PEER_REQQ`] when using it).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use shoal_bencode::{DecodeOptions, OwnedValue, Value};

use crate::WireError;

/// Largest `metadata_size` we believe (a 64 MiB info dictionary is already absurd).
pub const MAX_METADATA_SIZE: u64 = 64 * 1024 * 1024;

/// Upper bound applied to a peer's advertised `reqq` when sizing our request queue.
pub const MAX_PEER_REQQ: u32 = 2000;

/// Longest client name (`v`) we keep, in bytes.
const MAX_VERSION_LEN: usize = 256;

/// Most extension names kept from a peer's `m` dictionaries (real clients send about
/// ten); more are ignored, so repeated handshakes with fresh names cannot grow it.
pub(crate) const MAX_EXTENSION_NAMES: usize = 128;

/// Longest extension name kept, in bytes.
const MAX_EXTENSION_NAME_LEN: usize = 64;

/// Contents of a BEP 10 extension handshake.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtensionHandshake {
    /// Extension name → the id the sender wants to receive it under. On decode, entries
    /// with id 0 (disabled) or out of range are dropped.
    pub m: BTreeMap<String, u8>,
    /// Client name and version.
    pub v: Option<String>,
    /// The sender's listen port.
    pub p: Option<u16>,
    /// How many outstanding requests the sender accepts.
    pub reqq: Option<u32>,
    /// Our address as the sender sees it.
    pub yourip: Option<IpAddr>,
    /// Size of the info dictionary (BEP 9), capped at [`MAX_METADATA_SIZE`].
    pub metadata_size: Option<u64>,
    /// Our IPv4 address (BEP 10 `ipv4`), as the sender reports it.
    pub ipv4: Option<Ipv4Addr>,
    /// Our IPv6 address (BEP 10 `ipv6`), as the sender reports it.
    pub ipv6: Option<Ipv6Addr>,
    /// BEP 21: the sender is only seeding.
    pub upload_only: bool,
}

impl ExtensionHandshake {
    /// Bencodes the handshake (canonical key order); unset fields are omitted.
    pub fn encode(&self) -> Vec<u8> {
        let mut d = OwnedValue::dict();
        let mut m = OwnedValue::dict();
        for (name, id) in &self.m {
            m.insert(name, i64::from(*id));
        }
        d.insert("m", m);
        if let Some(v) = &self.v {
            d.insert("v", v.as_str());
        }
        if let Some(p) = self.p {
            d.insert("p", i64::from(p));
        }
        if let Some(reqq) = self.reqq {
            d.insert("reqq", reqq);
        }
        if let Some(ip) = self.yourip {
            d.insert("yourip", ip_bytes(ip));
        }
        if let Some(size) = self.metadata_size {
            d.insert("metadata_size", size);
        }
        if let Some(ip) = self.ipv4 {
            d.insert("ipv4", ip.octets().to_vec());
        }
        if let Some(ip) = self.ipv6 {
            d.insert("ipv6", ip.octets().to_vec());
        }
        if self.upload_only {
            d.insert("upload_only", 1i64);
        }
        d.encode()
    }

    /// Parses a handshake payload. Only a payload that is not bencode, or whose top
    /// value is not a dictionary, is an error.
    pub fn decode(payload: &[u8]) -> Result<Self, WireError> {
        Self::decode_update(payload).map(|(hs, _)| hs)
    }

    /// Like [`ExtensionHandshake::decode`], also returning the names the sender mapped
    /// to id 0 (disabled), for applying a later handshake as an update.
    pub fn decode_update(payload: &[u8]) -> Result<(Self, Vec<String>), WireError> {
        let opts = DecodeOptions {
            require_sorted_keys: false,
            ..DecodeOptions::default()
        };
        let (value, _) = shoal_bencode::decode_with(payload, &opts)?;
        let d = value
            .as_dict()
            .ok_or(WireError::ExtensionHandshakeNotDict)?;
        let mut hs = ExtensionHandshake::default();
        let mut disabled = Vec::new();
        if let Some(m) = d.get_dict(b"m") {
            for (name, id) in m.iter() {
                let (Ok(name), Some(id)) = (std::str::from_utf8(name), id.as_int()) else {
                    continue;
                };
                match id {
                    0 => disabled.push(name.to_owned()),
                    1..=255
                        if name.len() <= MAX_EXTENSION_NAME_LEN
                            && hs.m.len() < MAX_EXTENSION_NAMES =>
                    {
                        hs.m.insert(name.to_owned(), id as u8);
                    }
                    _ => {}
                }
            }
        }
        hs.v = d.get_bytes(b"v").map(client_name);
        hs.p = d
            .get_int(b"p")
            .and_then(|p| u16::try_from(p).ok())
            .filter(|&p| p != 0);
        hs.reqq = d
            .get_int(b"reqq")
            .filter(|&r| r > 0)
            .map(|r| u32::try_from(r).unwrap_or(u32::MAX));
        hs.metadata_size = d
            .get_int(b"metadata_size")
            .and_then(|s| u64::try_from(s).ok())
            .filter(|&s| s > 0 && s <= MAX_METADATA_SIZE);
        hs.yourip = d.get_bytes(b"yourip").and_then(parse_ip);
        hs.ipv4 = d
            .get_bytes(b"ipv4")
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(Ipv4Addr::from);
        hs.ipv6 = d
            .get_bytes(b"ipv6")
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .map(Ipv6Addr::from);
        hs.upload_only = matches!(d.get(b"upload_only"), Some(Value::Int(n)) if *n != 0);
        Ok((hs, disabled))
    }

    /// Applies a later handshake from the same peer (BEP 10 lets a peer re-send it to
    /// enable or disable extensions): `m` entries are added or replaced, `disabled`
    /// names removed, and fields the update sets overwrite ours.
    pub fn merge(&mut self, update: ExtensionHandshake, disabled: &[String]) {
        for name in disabled {
            self.m.remove(name);
        }
        for (name, id) in update.m {
            if self.m.len() < MAX_EXTENSION_NAMES || self.m.contains_key(&name) {
                self.m.insert(name, id);
            }
        }
        self.v = update.v.or(self.v.take());
        self.p = update.p.or(self.p);
        self.reqq = update.reqq.or(self.reqq);
        self.yourip = update.yourip.or(self.yourip);
        self.metadata_size = update.metadata_size.or(self.metadata_size);
        self.ipv4 = update.ipv4.or(self.ipv4);
        self.ipv6 = update.ipv6.or(self.ipv6);
        self.upload_only = update.upload_only;
    }

    /// The id the sender wants extension `name` sent under, if it supports it.
    pub fn id_of(&self, name: &str) -> Option<u8> {
        self.m.get(name).copied()
    }
}

/// At most [`MAX_VERSION_LEN`] bytes of `v` as text. Invalid bytes become U+FFFD (3
/// bytes each), so the text is cut again on a character boundary.
fn client_name(v: &[u8]) -> String {
    let mut name = String::from_utf8_lossy(&v[..v.len().min(MAX_VERSION_LEN)]).into_owned();
    let mut end = name.len().min(MAX_VERSION_LEN);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.truncate(end);
    name
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn parse_ip(b: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(b) {
        Some(IpAddr::from(v4))
    } else {
        <[u8; 16]>::try_from(b).ok().map(IpAddr::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn extension_names_are_capped_across_updates() {
        let mut all = ExtensionHandshake::default();
        for round in 0..20 {
            let mut d = OwnedValue::dict();
            let mut m = OwnedValue::dict();
            for i in 0..500 {
                m.insert(format!("x{round}_{i}").as_str(), 1i64);
            }
            m.insert("y".repeat(MAX_EXTENSION_NAME_LEN + 1).as_str(), 2i64);
            d.insert("m", m);
            let (hs, disabled) = ExtensionHandshake::decode_update(&d.encode()).unwrap();
            assert!(hs.m.len() <= MAX_EXTENSION_NAMES);
            assert!(hs.m.keys().all(|k| k.len() <= MAX_EXTENSION_NAME_LEN));
            all.merge(hs, &disabled);
            assert!(all.m.len() <= MAX_EXTENSION_NAMES);
        }
    }

    fn sample() -> ExtensionHandshake {
        ExtensionHandshake {
            m: [("ut_metadata".to_owned(), 3), ("ut_pex".to_owned(), 1)]
                .into_iter()
                .collect(),
            v: Some("shoal 0.1".into()),
            p: Some(6881),
            reqq: Some(250),
            yourip: Some(IpAddr::from([127, 0, 0, 1])),
            metadata_size: Some(31_235),
            ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)),
            ipv6: Some(Ipv6Addr::LOCALHOST),
            upload_only: true,
        }
    }

    #[test]
    fn round_trips_and_is_canonical() {
        let hs = sample();
        let bytes = hs.encode();
        // Strict decoding accepts it, so keys are sorted.
        assert!(shoal_bencode::decode(&bytes).is_ok());
        assert_eq!(ExtensionHandshake::decode(&bytes), Ok(hs));
        let empty = ExtensionHandshake::default();
        assert_eq!(empty.encode(), b"d1:mdee");
        assert_eq!(ExtensionHandshake::decode(&empty.encode()), Ok(empty));
    }

    #[test]
    fn tolerant_of_unknown_unsorted_and_junk_fields() {
        let raw = b"d1:v3:abc1:md6:ut_pexi0e11:ut_metadatai2e3:badi300e2:xxi-1e2:\xff\xffi5ee\
            1:pi99999e4:reqqi-5e13:metadata_sizei999999999999e6:yourip3:abc4:ipv42:no\
            3:zzzli1ee11:upload_onlyi1ee";
        let (hs, disabled) = ExtensionHandshake::decode_update(raw).unwrap();
        assert_eq!(hs.m, [("ut_metadata".to_owned(), 2)].into_iter().collect());
        assert_eq!(disabled, vec!["ut_pex".to_owned()]);
        assert_eq!(hs.v.as_deref(), Some("abc"));
        assert_eq!((hs.p, hs.reqq, hs.metadata_size), (None, None, None));
        assert_eq!((hs.yourip, hs.ipv4), (None, None));
        assert!(hs.upload_only);
    }

    #[test]
    fn caps_and_saturates() {
        let hs =
            ExtensionHandshake::decode(b"d4:reqqi99999999999e13:metadata_sizei67108864ee").unwrap();
        assert_eq!(hs.reqq, Some(u32::MAX));
        assert_eq!(hs.metadata_size, Some(MAX_METADATA_SIZE));
        let hs = ExtensionHandshake::decode(b"d13:metadata_sizei67108865ee").unwrap();
        assert_eq!(hs.metadata_size, None);
    }

    #[test]
    fn client_name_stays_capped_and_round_trips() {
        // Found by the extension_handshake fuzz target: 256 invalid bytes became 768
        // bytes of U+FFFD, and encoding then decoding that gave a different name.
        let mut payload = b"d1:v300:".to_vec();
        payload.extend_from_slice(&[b'a'; 254]);
        payload.extend_from_slice(&[0xff; 46]);
        payload.push(b'e');
        let hs = ExtensionHandshake::decode(&payload).unwrap();
        assert_eq!(hs.v.as_deref(), Some("a".repeat(254).as_str()));
        let all_bad = [&b"d1:v256:"[..], &[0xff; 256], b"e"].concat();
        let hs = ExtensionHandshake::decode(&all_bad).unwrap();
        let v = hs.v.clone().unwrap();
        assert!(v.len() <= MAX_VERSION_LEN && v.chars().all(|c| c == '\u{fffd}'));
        assert_eq!(ExtensionHandshake::decode(&hs.encode()).unwrap(), hs);
    }

    #[test]
    fn refuses_non_dict_and_garbage() {
        assert_eq!(
            ExtensionHandshake::decode(b"le"),
            Err(WireError::ExtensionHandshakeNotDict)
        );
        assert!(matches!(
            ExtensionHandshake::decode(b"d1:m"),
            Err(WireError::Bencode(_))
        ));
        assert!(matches!(
            ExtensionHandshake::decode(b""),
            Err(WireError::Bencode(_))
        ));
    }

    #[test]
    fn merge_updates_extensions() {
        let mut hs = sample();
        let (update, disabled) =
            ExtensionHandshake::decode_update(b"d1:md6:ut_pexi0e8:lt_donthi7eee").unwrap();
        hs.merge(update, &disabled);
        assert_eq!(hs.id_of("ut_pex"), None);
        assert_eq!(hs.id_of("lt_donthave"), None);
        assert_eq!(hs.id_of("lt_donth"), Some(7));
        assert_eq!(hs.id_of("ut_metadata"), Some(3));
        assert_eq!(hs.reqq, Some(250));
        assert!(!hs.upload_only);
    }

    fn arb_handshake() -> impl Strategy<Value = ExtensionHandshake> {
        (
            proptest::collection::btree_map("[a-z_]{1,12}", 1u8..=255, 0..5),
            proptest::option::of("[ -~]{0,20}"),
            proptest::option::of(1u16..),
            proptest::option::of(1u32..),
            proptest::option::of(any::<[u8; 4]>().prop_map(IpAddr::from)),
            proptest::option::of(1..=MAX_METADATA_SIZE),
            proptest::option::of(any::<[u8; 4]>().prop_map(Ipv4Addr::from)),
            proptest::option::of(any::<[u8; 16]>().prop_map(Ipv6Addr::from)),
            any::<bool>(),
        )
            .prop_map(
                |(m, v, p, reqq, yourip, metadata_size, ipv4, ipv6, upload_only)| {
                    ExtensionHandshake {
                        m,
                        v,
                        p,
                        reqq,
                        yourip,
                        metadata_size,
                        ipv4,
                        ipv6,
                        upload_only,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn round_trip(hs in arb_handshake()) {
            prop_assert_eq!(ExtensionHandshake::decode(&hs.encode()), Ok(hs));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = ExtensionHandshake::decode(&bytes);
        }

        #[test]
        fn bencode_like_bytes_never_panic(s in "[dlie0-9:a-z_]{0,80}") {
            let _ = ExtensionHandshake::decode(s.as_bytes());
        }
    }
}
