//! BEP 14 Local Service Discovery: `LsdAnnounce::parse` on arbitrary datagrams (caps,
//! encode → parse round trip for both address families) and the scheduler's filter
//! for our own announces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoal_ext::lsd::{MAX_COOKIE_LEN, MAX_LSD_INFOHASHES};
use shoal_ext::{LsdAnnounce, LsdFamily, LsdScheduler};

fuzz_target!(|data: &[u8]| {
    let scheduler = LsdScheduler::new(6881, "c00kie".into(), &[LsdFamily::V4]);
    let foreign = scheduler.parse(data);
    let Ok(a) = LsdAnnounce::parse(data) else {
        assert!(foreign.is_err());
        return;
    };
    match foreign {
        Ok(Some(f)) => assert_eq!(f, a),
        Ok(None) => assert_eq!(a.cookie.as_deref(), Some("c00kie")),
        Err(e) => panic!("parse accepted what the scheduler refused: {e:?}"),
    }
    assert_ne!(a.port, 0);
    assert!(!a.info_hashes.is_empty() && a.info_hashes.len() <= MAX_LSD_INFOHASHES);
    if let Some(c) = &a.cookie {
        assert!(!c.is_empty() && c.len() <= MAX_COOKIE_LEN);
        assert!(c.bytes().all(|b| b.is_ascii_graphic()));
    }
    for family in [LsdFamily::V4, LsdFamily::V6] {
        let encoded = a.encode(family);
        let again = LsdAnnounce::parse(&encoded).expect("own announce parses");
        assert_eq!(again, a, "LSD round trip ({family:?})");
    }
});
