//! BEP 10 extension handshake decoding (`ExtensionHandshake::decode` /
//! `decode_update` / `merge`) on arbitrary bytes: decoded values respect the documented
//! caps, and encode → decode gives the same handshake.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoal_bencode::{decode_with, DecodeOptions};
use shoal_wire::{ExtensionHandshake, MAX_METADATA_SIZE};

fn check_caps(hs: &ExtensionHandshake) {
    assert!(hs.m.values().all(|&id| id != 0));
    if let Some(size) = hs.metadata_size {
        assert!(size > 0 && size <= MAX_METADATA_SIZE);
    }
    assert_ne!(hs.p, Some(0));
    assert_ne!(hs.reqq, Some(0));
    if let Some(v) = &hs.v {
        assert!(v.len() <= 256, "client name of {} bytes kept", v.len());
    }
}

fuzz_target!(|data: &[u8]| {
    // Trailing bytes after the dictionary are ignored; here they are a second
    // handshake, applied as an update.
    let Ok((mut hs, disabled)) = ExtensionHandshake::decode_update(data) else {
        return;
    };
    let lenient = DecodeOptions {
        require_sorted_keys: false,
        ..DecodeOptions::default()
    };
    let used = decode_with(data, &lenient).map_or(data.len(), |(_, used)| used);
    let rest = &data[used..];
    check_caps(&hs);
    assert!(disabled.iter().all(|name| !hs.m.contains_key(name)));
    let again = ExtensionHandshake::decode(&hs.encode()).expect("own encoding decodes");
    assert_eq!(again, hs, "extension handshake round trip");

    if !rest.is_empty() {
        if let Ok((upd, disabled)) = ExtensionHandshake::decode_update(rest) {
            check_caps(&upd);
            hs.merge(upd.clone(), &disabled);
            check_caps(&hs);
            for (name, id) in &upd.m {
                assert_eq!(hs.id_of(name), Some(*id));
            }
            for name in &disabled {
                if !upd.m.contains_key(name) {
                    assert_eq!(hs.id_of(name), None);
                }
            }
        }
    }
});
