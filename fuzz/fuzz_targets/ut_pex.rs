//! BEP 11 `ut_pex`: `PexMessage::decode` on arbitrary payloads (caps, usable addresses,
//! encode → decode round trip) and a `PexState` receiving a stream of such payloads at
//! fuzzed times while announcing the peers it learned back.
#![no_main]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use shoal_ext::pex::MAX_PEX_ENTRIES;
use shoal_ext::{PexMessage, PexPeer, PexState};
use shoal_fuzz::pex::Input;

fn check(msg: &PexMessage) {
    assert!(msg.added.len() <= MAX_PEX_ENTRIES);
    assert!(msg.dropped.len() <= MAX_PEX_ENTRIES);
    for addr in msg
        .added
        .iter()
        .map(|p| p.addr)
        .chain(msg.dropped.iter().copied())
    {
        assert_ne!(addr.port(), 0);
        assert!(!addr.ip().is_unspecified() && !addr.ip().is_multicast());
    }
    let again = PexMessage::decode(&msg.encode()).expect("own encoding decodes");
    assert_eq!(&again, msg, "ut_pex round trip");
}

fuzz_target!(|data: &[u8]| {
    let input = Input::read(data);
    let me: SocketAddr = "127.0.0.1:6881".parse().expect("literal");
    let mut state = PexState::new(input.private).excluding(me);
    let mut now = Instant::now();
    let mut connected: BTreeSet<PexPeer> = BTreeSet::new();
    connected.insert(PexPeer {
        addr: me,
        flags: Default::default(),
    });
    for step in &input.steps {
        if let Ok(msg) = PexMessage::decode(&step.payload) {
            check(&msg);
        }
        now += Duration::from_secs(u64::from(step.advance_secs));
        if let Ok(Some(msg)) = state.handle_message(&step.payload, now) {
            assert!(!input.private);
            connected.extend(msg.added.iter().copied());
            for addr in &msg.dropped {
                connected.retain(|p| p.addr != *addr);
            }
        }
        for _ in 0..step.drop {
            let Some(first) = connected.iter().next().copied() else {
                break;
            };
            connected.remove(&first);
        }
        if step.poll {
            if let Some(due) = state.next_due(now) {
                assert!(due >= now);
            }
            if let Some(msg) = state.poll_message(now, connected.iter().copied()) {
                assert!(!input.private);
                assert!(!msg.is_empty());
                assert!(
                    msg.added.iter().all(|p| p.addr != me),
                    "peer told about itself"
                );
                check(&msg);
            }
        }
    }
});
