//! Bencode decoder: strict, lenient and prefix decoding of arbitrary bytes, with the
//! round-trip properties the rest of shoal relies on (strictly decoded input is
//! canonical, so it re-encodes to itself; every dictionary's raw span decodes to the
//! same dictionary; lenient input re-encodes to canonical bencode).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoal_bencode::{decode, decode_lenient, decode_prefix, Value};

/// Every dictionary's `raw()` span must decode (strictly) to an equal dictionary.
fn check_raw_spans(v: &Value<'_>) {
    match v {
        Value::Dict(d) => {
            let again = decode(d.raw()).expect("raw span of a strict dict decodes");
            assert_eq!(&again, v, "raw span decodes to the same dict");
            for (_, child) in d.iter() {
                check_raw_spans(child);
            }
        }
        Value::List(items) => items.iter().for_each(check_raw_spans),
        Value::Int(_) | Value::Bytes(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let strict = decode(data);
    let lenient = decode_lenient(data);
    if let Ok(v) = &strict {
        // Canonical input re-encodes byte for byte.
        let owned = v.to_owned_value();
        assert_eq!(owned.encode(), data, "strict decode is canonical");
        check_raw_spans(v);
        // Everything strict accepts, lenient accepts identically.
        assert_eq!(lenient.as_ref().ok(), Some(v), "lenient agrees with strict");
    }
    if let Ok(v) = &lenient {
        // Lenient input becomes canonical bencode that strict accepts.
        let owned = v.to_owned_value();
        let canonical = owned.encode();
        let again = decode(&canonical).expect("re-encoded lenient value is canonical");
        assert_eq!(again.to_owned_value(), owned);
    }
    if let Ok((v, used)) = decode_prefix(data) {
        assert!(used > 0 && used <= data.len());
        assert_eq!(
            decode(&data[..used]).as_ref(),
            Ok(&v),
            "prefix decodes alone"
        );
        if used == data.len() {
            assert_eq!(strict.as_ref(), Ok(&v));
        }
    }
});
