//! Message Stream Encryption handshakes (`shoal_mse`): a `Responder` and an `Initiator`
//! each fed arbitrary bytes in arbitrary chunks, and a real initiator ↔ responder
//! exchange whose byte streams are cut into fuzzed chunks and corrupted at fuzzed
//! offsets. An uncorrupted exchange between compatible policies must succeed on both
//! sides, agree on the torrent and the method, and deliver the initial payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoal_fuzz::mse::{Input, Mode, Policy, Side};
use shoal_mse::{
    is_plaintext_handshake, EncryptionPolicy, HandshakeParams, Initiator, Responder, MAX_PAD_LEN,
};

const HASH: [u8; 20] = [0x11; 20];
const OTHER: [u8; 20] = [0x22; 20];

fn policy(p: Policy) -> EncryptionPolicy {
    match p {
        Policy::Prefer => EncryptionPolicy::Prefer,
        Policy::Require => EncryptionPolicy::Require,
        Policy::Disable => EncryptionPolicy::Disable,
    }
}

fn params(side: &Side) -> HandshakeParams {
    let pad_len = usize::from(side.pad) % (MAX_PAD_LEN + 1);
    let enc_len = usize::from(side.encrypted_pad) % (MAX_PAD_LEN + 1);
    HandshakeParams {
        private_key: side.key,
        pad: vec![0xa5; pad_len],
        encrypted_pad: vec![0x5a; enc_len],
    }
}

/// Splits `data` into chunks of the fuzzed sizes (cycled) and feeds each one.
fn feed_chunked(
    data: &[u8],
    chunks: &[u16],
    cursor: &mut usize,
    mut feed: impl FnMut(&[u8]) -> bool,
) -> bool {
    let mut rest = data;
    while !rest.is_empty() {
        let size = match chunks.get(*cursor % chunks.len().max(1)) {
            Some(&c) => usize::from(c % 700).max(1),
            None => rest.len(),
        };
        *cursor += 1;
        let (now, later) = rest.split_at(size.min(rest.len()));
        if !feed(now) {
            return false;
        }
        rest = later;
    }
    true
}

fn lone_responder(side: &Side, data: &[u8], chunks: &[u16]) {
    let Ok(mut r) = Responder::with_params([HASH, OTHER], policy(side.policy), params(side)) else {
        return;
    };
    let mut cursor = 0;
    feed_chunked(data, chunks, &mut cursor, |c| {
        let ok = r.handle_input(c).is_ok();
        while r.poll_transmit().is_some() {}
        ok
    });
    let _ = r.poll_outcome();
}

fn lone_initiator(side: &Side, data: &[u8], chunks: &[u16]) {
    let Ok(mut i) = Initiator::with_params(HASH, policy(side.policy), vec![1; 68], params(side))
    else {
        return;
    };
    while i.poll_transmit().is_some() {}
    let mut cursor = 0;
    feed_chunked(data, chunks, &mut cursor, |c| {
        let ok = i.handle_input(c).is_ok();
        while i.poll_transmit().is_some() {}
        ok
    });
    let _ = i.poll_outcome();
}

/// Moves bytes between the two sides until both are quiet; applies corruptions.
fn pair(
    init: &Side,
    resp: &Side,
    ia: &[u8],
    corrupt: &[(bool, u16, u8)],
    after: &[u8],
    chunks: &[u16],
) {
    let ia: Vec<u8> = ia.iter().copied().take(300).collect();
    let Ok(mut i) = Initiator::with_params(HASH, policy(init.policy), ia.clone(), params(init))
    else {
        return;
    };
    let Ok(mut r) = Responder::with_params([OTHER, HASH], policy(resp.policy), params(resp)) else {
        return;
    };
    let corrupted = corrupt.iter().any(|&(_, _, x)| x != 0);
    let mut sent = [0usize; 2]; // bytes sent initiator→responder, responder→initiator
    let mut cursor = 0;
    let mut failed = false;
    for _round in 0..16 {
        let mut moved = false;
        let mut bytes: Vec<u8> = std::iter::from_fn(|| i.poll_transmit()).flatten().collect();
        if !bytes.is_empty() {
            moved = true;
            apply(&mut bytes, corrupt, false, sent[0]);
            sent[0] += bytes.len();
            failed |= !feed_chunked(&bytes, chunks, &mut cursor, |c| r.handle_input(c).is_ok());
        }
        let mut bytes: Vec<u8> = std::iter::from_fn(|| r.poll_transmit()).flatten().collect();
        if !bytes.is_empty() {
            moved = true;
            apply(&mut bytes, corrupt, true, sent[1]);
            sent[1] += bytes.len();
            failed |= !feed_chunked(&bytes, chunks, &mut cursor, |c| i.handle_input(c).is_ok());
        }
        if !moved || failed {
            break;
        }
    }
    let compatible =
        policy(init.policy).crypto_provide() & policy(resp.policy).crypto_provide() != 0;
    let clean = !corrupted && compatible;
    if clean {
        assert!(!failed, "clean handshake failed");
        assert!(
            i.is_done() && r.is_done(),
            "clean handshake did not complete"
        );
    }
    let Some(mut a) = i.poll_outcome() else {
        return;
    };
    // Payload the initiator sends after the handshake, while the responder has not
    // handed over its outcome yet: it is decrypted into the initial payload.
    let mut payload = after.to_vec();
    if let Some(c) = a.cipher.as_mut() {
        c.encrypt(&mut payload);
    }
    let absorbed = r.is_done() && r.handle_input(&payload).is_ok();
    let Some(mut b) = r.poll_outcome() else {
        assert!(!clean, "responder outcome missing");
        return;
    };
    if !clean {
        return;
    }
    assert!(absorbed);
    assert_eq!(a.info_hash, HASH);
    assert_eq!(b.info_hash, HASH);
    assert_eq!(a.cipher.is_some(), b.cipher.is_some());
    let mut expected = ia.clone();
    expected.extend_from_slice(after);
    assert_eq!(b.initial_payload, expected, "initial payload delivered");
    assert!(a.initial_payload.is_empty());
    // The established streams talk to each other both ways.
    if let (Some(ca), Some(cb)) = (a.cipher.as_mut(), b.cipher.as_mut()) {
        let mut msg = b"hello over rc4".to_vec();
        ca.encrypt(&mut msg);
        cb.decrypt(&mut msg);
        assert_eq!(msg, b"hello over rc4");
        cb.encrypt(&mut msg);
        ca.decrypt(&mut msg);
        assert_eq!(msg, b"hello over rc4");
    }
}

fn apply(bytes: &mut [u8], corrupt: &[(bool, u16, u8)], dir: bool, base: usize) {
    for &(d, at, x) in corrupt {
        if d == dir {
            if let Some(i) = usize::from(at).checked_sub(base) {
                if let Some(b) = bytes.get_mut(i) {
                    *b ^= x;
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let input = Input::read(data);
    let chunks = &input.chunks[..];
    match &input.mode {
        Mode::Responder { side, data } => {
            let _ = is_plaintext_handshake(data);
            lone_responder(side, data, chunks);
        }
        Mode::Initiator { side, data } => lone_initiator(side, data, chunks),
        Mode::Pair {
            init,
            resp,
            ia,
            corrupt,
            after,
        } => pair(init, resp, ia, corrupt, after, chunks),
    }
});
