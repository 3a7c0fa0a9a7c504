//! Property tests: arbitrary, truncated and corrupted input never panics, the sync
//! windows bound what is buffered, and honest peers always agree.

#![allow(clippy::unwrap_used)]

mod common;

use common::{params, pump};
use proptest::prelude::*;
use shoal_mse::{
    is_plaintext_handshake, EncryptionPolicy, HandshakeParams, Initiator, MseError, Responder,
    MAX_PAD_LEN, MAX_REQ1_SYNC, MAX_VC_SYNC, PUBLIC_KEY_LEN,
};

const HASH: [u8; 20] = [0x5c; 20];

fn policy() -> impl Strategy<Value = EncryptionPolicy> {
    prop_oneof![
        Just(EncryptionPolicy::Prefer),
        Just(EncryptionPolicy::Require),
        Just(EncryptionPolicy::Disable),
    ]
}

fn handshake_params() -> impl Strategy<Value = HandshakeParams> {
    (
        any::<[u8; 20]>().prop_filter("non-zero key", |k| k.iter().any(|&b| b != 0)),
        prop::collection::vec(any::<u8>(), 0..=MAX_PAD_LEN),
        prop::collection::vec(any::<u8>(), 0..=MAX_PAD_LEN),
    )
        .prop_map(|(private_key, pad, encrypted_pad)| HandshakeParams {
            private_key,
            pad,
            encrypted_pad,
        })
}

/// Feeds `data` in pieces of `chunk` bytes; returns the first error.
fn feed(
    data: &[u8],
    chunk: usize,
    mut f: impl FnMut(&[u8]) -> Result<(), MseError>,
) -> Result<(), MseError> {
    data.chunks(chunk.max(1)).try_for_each(&mut f)
}

/// The transcript of one successful exchange: (A's bytes, B's bytes).
fn transcript(chunk_seed: u8) -> (Vec<u8>, Vec<u8>) {
    let pad = usize::from(chunk_seed) * 2;
    let mut a = Initiator::with_params(
        HASH,
        EncryptionPolicy::Prefer,
        b"ia".to_vec(),
        params(1, vec![7; pad], vec![8; pad / 2]),
    )
    .unwrap();
    let mut b = Responder::with_params(
        [HASH],
        EncryptionPolicy::Prefer,
        params(2, vec![9; pad], vec![]),
    )
    .unwrap();
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..4 {
        if let Some(x) = a.poll_transmit() {
            b.handle_input(&x).unwrap();
            ta.extend(x);
        }
        if let Some(x) = b.poll_transmit() {
            a.handle_input(&x).unwrap();
            tb.extend(x);
        }
    }
    assert!(a.is_done() && b.is_done());
    (ta, tb)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn responder_survives_garbage(data in prop::collection::vec(any::<u8>(), 0..1500), chunk in 1usize..300) {
        let mut b = Responder::with_params([HASH], EncryptionPolicy::Prefer, params(3, vec![], vec![])).unwrap();
        let res = feed(&data, chunk, |p| b.handle_input(p));
        if data.len() >= MAX_REQ1_SYNC {
            // Garbage never contains req1: the window bounds what is buffered.
            prop_assert!(res.is_err());
        }
        if let Err(e) = res {
            prop_assert!(e.is_peer_misbehaviour());
            prop_assert_eq!(b.handle_input(b"x"), Err(MseError::Finished));
        }
        prop_assert!(!b.is_done());
    }

    #[test]
    fn initiator_survives_garbage(data in prop::collection::vec(any::<u8>(), 0..1500), chunk in 1usize..300) {
        let mut a = Initiator::with_params(HASH, EncryptionPolicy::Prefer, vec![], params(4, vec![], vec![])).unwrap();
        a.poll_transmit();
        let res = feed(&data, chunk, |p| a.handle_input(p));
        if data.len() >= MAX_VC_SYNC {
            prop_assert!(res.is_err());
        }
        if let Err(e) = res {
            prop_assert!(e.is_peer_misbehaviour());
        }
        prop_assert!(!a.is_done());
    }

    #[test]
    fn garbage_after_a_valid_key_is_bounded(
        data in prop::collection::vec(any::<u8>(), 0..1200),
        chunk in 1usize..100,
    ) {
        // Keys from a real peer so the garbage reaches the scanning states.
        let (ta, tb) = transcript(3);
        let mut b = Responder::with_params([HASH], EncryptionPolicy::Prefer, params(2, vec![], vec![])).unwrap();
        b.handle_input(&ta[..PUBLIC_KEY_LEN]).unwrap();
        let res = feed(&data, chunk, |p| b.handle_input(p));
        prop_assert!(data.len() < MAX_REQ1_SYNC - PUBLIC_KEY_LEN || res.is_err());

        let mut a = Initiator::with_params(HASH, EncryptionPolicy::Prefer, vec![], params(1, vec![], vec![])).unwrap();
        a.handle_input(&tb[..PUBLIC_KEY_LEN]).unwrap();
        let res = feed(&data, chunk, |p| a.handle_input(p));
        prop_assert!(data.len() < MAX_VC_SYNC - PUBLIC_KEY_LEN || res.is_err());
    }

    #[test]
    fn truncated_transcripts_wait_quietly(seed in any::<u8>(), cut_a in any::<prop::sample::Index>(), cut_b in any::<prop::sample::Index>()) {
        let (ta, tb) = transcript(seed);
        let ca = cut_a.index(ta.len());
        let mut b = Responder::with_params([HASH], EncryptionPolicy::Prefer, params(2, vec![9; usize::from(seed) * 2], vec![])).unwrap();
        prop_assert_eq!(b.handle_input(&ta[..ca]), Ok(()));
        prop_assert!(!b.is_done());

        let cb = cut_b.index(tb.len());
        let mut a = Initiator::with_params(HASH, EncryptionPolicy::Prefer, b"ia".to_vec(), params(1, vec![7; usize::from(seed) * 2], vec![8; usize::from(seed)])).unwrap();
        prop_assert_eq!(a.handle_input(&tb[..cb]), Ok(()));
        prop_assert!(!a.is_done());
    }

    #[test]
    fn corrupted_transcripts_never_panic(
        seed in any::<u8>(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..,
        to_responder in any::<bool>(),
        chunk in 1usize..64,
    ) {
        let (mut ta, mut tb) = transcript(seed);
        let pad = usize::from(seed) * 2;
        if to_responder {
            let i = at.index(ta.len());
            ta[i] ^= xor;
            let mut b = Responder::with_params([HASH], EncryptionPolicy::Prefer, params(2, vec![9; pad], vec![])).unwrap();
            let _ = feed(&ta, chunk, |p| b.handle_input(p));
        } else {
            let i = at.index(tb.len());
            tb[i] ^= xor;
            let mut a = Initiator::with_params(HASH, EncryptionPolicy::Prefer, b"ia".to_vec(), params(1, vec![7; pad], vec![8; pad / 2])).unwrap();
            let _ = feed(&tb, chunk, |p| a.handle_input(p));
            let _ = a.poll_outcome();
        }
    }

    #[test]
    fn honest_peers_agree(
        pa in policy(),
        pb in policy(),
        ka in handshake_params(),
        kb in handshake_params(),
        ia in prop::collection::vec(any::<u8>(), 0..200),
        chunk in 1usize..700,
    ) {
        let mut a = Initiator::with_params(HASH, pa, ia.clone(), ka).unwrap();
        let mut b = Responder::with_params([[0; 20], HASH], pb, kb).unwrap();
        let res = pump(&mut a, &mut b, chunk);
        if pa.crypto_provide() & pb.crypto_provide() == 0 {
            let is_no_common = matches!(res.responder, Err(MseError::NoCommonMethod { .. }));
            prop_assert!(is_no_common);
        } else {
            let ea = res.initiator.unwrap().unwrap();
            let eb = res.responder.unwrap().unwrap();
            let rc4 = pa.crypto_provide() & pb.crypto_provide() & shoal_mse::CRYPTO_RC4 != 0;
            prop_assert_eq!(ea.is_encrypted(), rc4);
            prop_assert_eq!(eb.is_encrypted(), rc4);
            prop_assert_eq!(eb.initial_payload, ia);
            prop_assert_eq!(eb.info_hash, HASH);
        }
    }

    #[test]
    fn plaintext_detection_never_panics(data in prop::collection::vec(any::<u8>(), 0..40)) {
        let r = is_plaintext_handshake(&data);
        let full = b"\x13BitTorrent protocol";
        let n = data.len().min(20);
        if data[..n] != full[..n] {
            prop_assert_eq!(r, Some(false));
        } else {
            prop_assert_eq!(r, (n == 20).then_some(true));
        }
    }
}
