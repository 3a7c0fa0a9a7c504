//! Magnet link parsing (`Magnet::parse`) on arbitrary UTF-8, and the formatting round
//! trip: a parsed link, printed and parsed again, is the same link.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoal_metainfo::Magnet;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(m) = Magnet::parse(s) else {
        return;
    };
    let printed = m.to_string();
    let again = Magnet::parse(&printed).expect("a printed magnet parses");
    assert_eq!(again, m, "magnet round trip via {printed:?}");
    assert_eq!(again.to_string(), printed);
});
