//! Initiator against responder in memory: every policy pair, byte-at-a-time
//! delivery, random pads, wrong torrents, exceeded sync windows and misuse.

#![allow(clippy::unwrap_used)]

mod common;

use common::{params, pump};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shoal_mse::{
    EncryptionPolicy, Established, HandshakeParams, Initiator, MseError, Responder, SyncMarker,
    CRYPTO_PLAINTEXT, CRYPTO_RC4, MAX_PAD_LEN,
};

const HASH: [u8; 20] = [0x42; 20];
const IA: &[u8] = b"\x13BitTorrent protocol and friends";

fn pair(a: EncryptionPolicy, b: EncryptionPolicy, rng: &mut StdRng) -> (Initiator, Responder) {
    (
        Initiator::new(HASH, a, IA.to_vec(), rng).unwrap(),
        Responder::new([[1; 20], HASH], b, rng).unwrap(),
    )
}

/// Both directions carry payload correctly after the handshake.
fn check_channel(a: &mut Established, b: &mut Established) {
    assert_eq!(a.info_hash, HASH);
    assert_eq!(b.info_hash, HASH);
    assert_eq!(b.initial_payload, IA);
    assert!(a.initial_payload.is_empty());
    for (msg, from_a) in [(&b"one"[..], true), (b"two two", false), (b"three", true)] {
        let mut wire = msg.to_vec();
        let (tx, rx) = if from_a {
            (&mut *a, &mut *b)
        } else {
            (&mut *b, &mut *a)
        };
        if let Some(c) = tx.cipher.as_mut() {
            c.encrypt(&mut wire);
            assert_ne!(wire, msg);
        }
        if let Some(c) = rx.cipher.as_mut() {
            c.decrypt(&mut wire);
        }
        assert_eq!(wire, msg);
    }
}

#[test]
fn every_policy_pair() {
    use EncryptionPolicy::*;
    // (initiator, responder, expected: Some(method) or None for no common method)
    let table = [
        (Prefer, Prefer, Some(CRYPTO_RC4)),
        (Prefer, Require, Some(CRYPTO_RC4)),
        (Prefer, Disable, Some(CRYPTO_PLAINTEXT)),
        (Require, Prefer, Some(CRYPTO_RC4)),
        (Require, Require, Some(CRYPTO_RC4)),
        (Require, Disable, None),
        (Disable, Prefer, Some(CRYPTO_PLAINTEXT)),
        (Disable, Require, None),
        (Disable, Disable, Some(CRYPTO_PLAINTEXT)),
    ];
    let mut rng = StdRng::seed_from_u64(1);
    for (pa, pb, expect) in table {
        for chunk in [1, 7, usize::MAX] {
            let (mut a, mut b) = pair(pa, pb, &mut rng);
            let res = pump(&mut a, &mut b, chunk);
            match expect {
                Some(method) => {
                    let mut ea = res.initiator.unwrap().expect("initiator done");
                    let mut eb = res.responder.unwrap().expect("responder done");
                    assert_eq!(ea.is_encrypted(), method == CRYPTO_RC4, "{pa} -> {pb}");
                    assert_eq!(eb.is_encrypted(), method == CRYPTO_RC4, "{pa} -> {pb}");
                    check_channel(&mut ea, &mut eb);
                }
                None => {
                    let err = res.responder.unwrap_err();
                    assert_eq!(
                        err,
                        MseError::NoCommonMethod {
                            provided: pa.crypto_provide(),
                            allowed: pb.crypto_provide(),
                        },
                        "{pa} -> {pb}"
                    );
                    assert!(err.is_peer_misbehaviour());
                    // The refused peer's torrent is still known to the responder.
                    assert_eq!(b.info_hash(), Some(HASH), "{pa} -> {pb}");
                    // The initiator just never hears back.
                    assert!(matches!(res.initiator, Ok(None)));
                }
            }
        }
    }
}

#[test]
fn random_pads_and_keys() {
    let mut rng = StdRng::seed_from_u64(2);
    for _ in 0..40 {
        let pad_len = |rng: &mut StdRng| rng.gen_range(0..=MAX_PAD_LEN);
        let mk = |rng: &mut StdRng| {
            let mut p = HandshakeParams::random(rng);
            let n = pad_len(rng);
            p.encrypted_pad = (0..n).map(|_| rng.gen()).collect();
            p
        };
        let ia_len = rng.gen_range(0..300);
        let ia: Vec<u8> = (0..ia_len).map(|_| rng.gen()).collect();
        let mut a =
            Initiator::with_params(HASH, EncryptionPolicy::Prefer, ia.clone(), mk(&mut rng))
                .unwrap();
        let mut b = Responder::with_params([HASH], EncryptionPolicy::Prefer, mk(&mut rng)).unwrap();
        let chunk = rng.gen_range(1..200);
        let res = pump(&mut a, &mut b, chunk);
        let ea = res.initiator.unwrap().unwrap();
        let eb = res.responder.unwrap().unwrap();
        assert!(ea.is_encrypted() && eb.is_encrypted());
        assert_eq!(eb.initial_payload, ia);
    }
}

#[test]
fn extreme_pads_sync_at_window_edge() {
    for pad in [0, MAX_PAD_LEN] {
        let mut a = Initiator::with_params(
            HASH,
            EncryptionPolicy::Require,
            Vec::new(),
            params(3, vec![0; pad], vec![0; pad]),
        )
        .unwrap();
        let mut b = Responder::with_params(
            [HASH],
            EncryptionPolicy::Prefer,
            params(4, vec![0xFF; pad], vec![1; pad]),
        )
        .unwrap();
        let res = pump(&mut a, &mut b, 1);
        assert!(res.initiator.unwrap().is_some());
        assert!(res.responder.unwrap().unwrap().initial_payload.is_empty());
    }
}

#[test]
fn unknown_info_hash() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut a = Initiator::new(HASH, EncryptionPolicy::Prefer, IA.to_vec(), &mut rng).unwrap();
    let mut b = Responder::new([[9; 20], [8; 20]], EncryptionPolicy::Prefer, &mut rng).unwrap();
    let res = pump(&mut a, &mut b, 5);
    assert_eq!(res.responder.unwrap_err(), MseError::UnknownInfoHash);
    // No torrents at all behaves the same.
    let mut a = Initiator::new(HASH, EncryptionPolicy::Prefer, IA.to_vec(), &mut rng).unwrap();
    let mut b = Responder::new([], EncryptionPolicy::Prefer, &mut rng).unwrap();
    assert_eq!(
        pump(&mut a, &mut b, 1000).responder.unwrap_err(),
        MseError::UnknownInfoHash
    );
}

/// A valid public key for the peer side of hand-made streams.
fn some_public_key() -> Vec<u8> {
    let mut a = Initiator::with_params(
        HASH,
        EncryptionPolicy::Prefer,
        Vec::new(),
        params(5, vec![], vec![]),
    )
    .unwrap();
    a.poll_transmit().unwrap()
}

#[test]
fn responder_gives_up_after_the_req1_window() {
    let mut b = Responder::with_params([HASH], EncryptionPolicy::Prefer, params(6, vec![], vec![]))
        .unwrap();
    b.handle_input(&some_public_key()).unwrap();
    assert!(b.poll_transmit().is_some());
    // 512 pad bytes plus 19: every offset could still hold the hash.
    b.handle_input(&[0xAB; MAX_PAD_LEN + 19]).unwrap();
    assert_eq!(
        b.handle_input(&[0xAB]),
        Err(MseError::SyncNotFound(SyncMarker::Req1))
    );
    assert_eq!(b.handle_input(b"more"), Err(MseError::Finished));
}

#[test]
fn initiator_gives_up_after_the_vc_window() {
    let mut a = Initiator::with_params(
        HASH,
        EncryptionPolicy::Prefer,
        Vec::new(),
        params(7, vec![], vec![]),
    )
    .unwrap();
    a.poll_transmit();
    a.handle_input(&some_public_key()).unwrap();
    assert!(a.poll_transmit().is_some());
    a.handle_input(&[0xCD; MAX_PAD_LEN + 7]).unwrap();
    assert_eq!(
        a.handle_input(&[0xCD]),
        Err(MseError::SyncNotFound(SyncMarker::Vc))
    );
}

#[test]
fn bad_public_keys_are_rejected_by_both_sides() {
    let p = shoal_testkit::hex::decode("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563");
    let mut p_minus_1 = p.clone();
    p_minus_1[95] -= 1;
    let mut one = vec![0u8; 96];
    one[95] = 1;
    for key in [vec![0u8; 96], one, p_minus_1, p, vec![0xFF; 96]] {
        let mut b =
            Responder::with_params([HASH], EncryptionPolicy::Prefer, params(8, vec![], vec![]))
                .unwrap();
        assert_eq!(b.handle_input(&key), Err(MseError::BadPublicKey));
        assert_eq!(b.poll_transmit(), None, "no reply to a bad key");

        let mut a = Initiator::with_params(
            HASH,
            EncryptionPolicy::Prefer,
            Vec::new(),
            params(9, vec![], vec![]),
        )
        .unwrap();
        a.poll_transmit();
        assert_eq!(a.handle_input(&key), Err(MseError::BadPublicKey));
        assert_eq!(a.poll_transmit(), None);
    }
}

#[test]
fn bytes_after_the_handshake_join_the_initial_payload() {
    let mut rng = StdRng::seed_from_u64(4);
    let (mut a, mut b) = pair(EncryptionPolicy::Prefer, EncryptionPolicy::Prefer, &mut rng);
    let ya = a.poll_transmit().unwrap();
    b.handle_input(&ya).unwrap();
    let yb = b.poll_transmit().unwrap();
    a.handle_input(&yb).unwrap();
    let step3 = a.poll_transmit().unwrap();
    b.handle_input(&step3).unwrap();
    let mut eb = b.poll_outcome().unwrap();
    let mut step4 = b.poll_transmit().unwrap();
    // B's first payload goes out in the same packet as its handshake reply.
    let mut more = b"bitfield".to_vec();
    eb.cipher.as_mut().unwrap().encrypt(&mut more);
    step4.extend_from_slice(&more[..3]);
    a.handle_input(&step4).unwrap();
    assert!(a.is_done());
    // Still before the outcome is taken: the rest is appended, decrypted.
    a.handle_input(&more[3..]).unwrap();
    let ea = a.poll_outcome().unwrap();
    assert_eq!(ea.initial_payload, b"bitfield");
    assert_eq!(a.handle_input(b"x"), Err(MseError::Finished));
}

#[test]
fn bad_vc_and_long_pads_from_a_hand_made_initiator() {
    // Build a correct step three with the real initiator, then corrupt it: the
    // encrypted part starts right after the two 20-byte hashes.
    let corrupt = |offset: usize, xor: u8| {
        let mut a = Initiator::with_params(
            HASH,
            EncryptionPolicy::Prefer,
            Vec::new(),
            params(10, vec![], vec![]),
        )
        .unwrap();
        let mut b =
            Responder::with_params([HASH], EncryptionPolicy::Prefer, params(11, vec![], vec![]))
                .unwrap();
        b.handle_input(&a.poll_transmit().unwrap()).unwrap();
        a.handle_input(&b.poll_transmit().unwrap()).unwrap();
        let mut step3 = a.poll_transmit().unwrap();
        step3[40 + offset] ^= xor;
        b.handle_input(&step3)
    };
    assert_eq!(corrupt(0, 1), Err(MseError::BadVc));
    assert_eq!(corrupt(7, 0x80), Err(MseError::BadVc));
    // crypto_provide 3 -> 0 offers nothing.
    assert!(matches!(
        corrupt(11, 3),
        Err(MseError::NoCommonMethod { provided: 0, .. })
    ));
    // len(PadC) 0 -> 0x0300 = 768; 0x0200 = 512 is still allowed (then waits).
    assert_eq!(corrupt(12, 0x03), Err(MseError::PadTooLong { len: 0x0300 }));
    assert_eq!(corrupt(12, 0x02), Ok(()));
}

#[test]
fn bad_crypto_select_and_long_pad_d() {
    // Run the real pair up to B's reply, then corrupt the reply.
    let run = |offset: usize, xor: u8, policy: EncryptionPolicy| {
        let mut a =
            Initiator::with_params(HASH, policy, Vec::new(), params(12, vec![], vec![])).unwrap();
        let mut b =
            Responder::with_params([HASH], EncryptionPolicy::Prefer, params(13, vec![], vec![]))
                .unwrap();
        b.handle_input(&a.poll_transmit().unwrap()).unwrap();
        a.handle_input(&b.poll_transmit().unwrap()).unwrap();
        b.handle_input(&a.poll_transmit().unwrap()).unwrap();
        let mut step4 = b.poll_transmit().unwrap();
        step4[offset] ^= xor;
        a.handle_input(&step4)
    };
    // Select RC4 (2) -> 3: two methods at once.
    assert!(matches!(
        run(11, 1, EncryptionPolicy::Prefer),
        Err(MseError::BadCryptoSelect {
            selected: 3,
            provided: 3
        })
    ));
    // Require sees plaintext (2 -> 1) selected: not offered.
    assert!(matches!(
        run(11, 3, EncryptionPolicy::Require),
        Err(MseError::BadCryptoSelect {
            selected: 1,
            provided: 2
        })
    ));
    // len(PadD) 0 -> 0x0300.
    assert_eq!(
        run(12, 3, EncryptionPolicy::Prefer),
        Err(MseError::PadTooLong { len: 0x0300 })
    );
    // A corrupted VC is not recognised as sync at all: A keeps scanning.
    assert_eq!(run(0, 1, EncryptionPolicy::Prefer), Ok(()));
}

#[test]
fn invalid_local_parameters() {
    assert!(matches!(
        Initiator::with_params(
            HASH,
            EncryptionPolicy::Prefer,
            vec![0; 65536],
            params(1, vec![], vec![])
        ),
        Err(MseError::InitialPayloadTooLong { len: 65536 })
    ));
    assert!(Initiator::with_params(
        HASH,
        EncryptionPolicy::Prefer,
        vec![0; 65535],
        params(1, vec![], vec![])
    )
    .is_ok());
    assert!(matches!(
        Responder::with_params(
            [HASH],
            EncryptionPolicy::Prefer,
            params(1, vec![0; 513], vec![])
        ),
        Err(MseError::InvalidParams(_))
    ));
    assert!(matches!(
        Initiator::with_params(
            HASH,
            EncryptionPolicy::Prefer,
            vec![],
            params(1, vec![], vec![0; 513])
        ),
        Err(MseError::InvalidParams(_))
    ));
    assert!(matches!(
        Responder::with_params([HASH], EncryptionPolicy::Prefer, params(0, vec![], vec![])),
        Err(MseError::InvalidParams(_))
    ));
    assert!(!MseError::InitialPayloadTooLong { len: 1 }.is_peer_misbehaviour());
}

#[test]
fn largest_initial_payload_goes_through() {
    let ia: Vec<u8> = (0..65535u32).map(|i| i as u8).collect();
    let mut a = Initiator::with_params(
        HASH,
        EncryptionPolicy::Prefer,
        ia.clone(),
        params(1, vec![], vec![]),
    )
    .unwrap();
    let mut b =
        Responder::with_params([HASH], EncryptionPolicy::Require, params(2, vec![], vec![]))
            .unwrap();
    let res = pump(&mut a, &mut b, 4096);
    assert_eq!(res.responder.unwrap().unwrap().initial_payload, ia);
}
