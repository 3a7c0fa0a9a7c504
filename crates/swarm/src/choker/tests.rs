//! Unit tests of the choker.

use super::*;
use std::collections::BTreeMap;

const S: Duration = Duration::from_secs(1);

fn cand(peer: PeerKey, rate: u64, t0: Instant) -> ChokeCandidate {
    ChokeCandidate {
        peer,
        interested: true,
        unchoked: false,
        download_rate: rate,
        upload_rate: 0,
        snubbed: false,
        is_seed: false,
        connected_at: t0 - 3600 * S,
    }
}

/// Applies a decision to the candidates' `unchoked` flags, checking it only lists changes.
fn apply(peers: &mut [ChokeCandidate], d: &ChokeDecision) {
    for c in peers.iter_mut() {
        if d.unchoke.contains(&c.peer) {
            assert!(!c.unchoked, "unchoke of unchoked {}", c.peer);
            c.unchoked = true;
        }
        if d.choke.contains(&c.peer) {
            assert!(c.unchoked, "choke of choked {}", c.peer);
            c.unchoked = false;
        }
    }
}

fn unchoked(peers: &[ChokeCandidate]) -> Vec<PeerKey> {
    peers
        .iter()
        .filter(|c| c.unchoked)
        .map(|c| c.peer)
        .collect()
}

#[test]
fn leeching_unchokes_best_uploaders_plus_one_optimistic() {
    let t0 = Instant::now();
    let mut ch = Choker::new(ChokerConfig::default(), t0, 1);
    assert_eq!(ch.poll_timeout(), t0);
    let mut peers: Vec<_> = (0..10).map(|k| cand(k, k * 10, t0)).collect();
    let d = ch.rechoke(t0, false, &peers);
    assert!(d.choke.is_empty());
    assert_eq!(d.unchoke.len(), 5);
    for best in [6, 7, 8, 9] {
        assert!(d.unchoke.contains(&best));
    }
    let opt = ch.optimistic().unwrap();
    assert!(opt < 6 && d.unchoke.contains(&opt));
    apply(&mut peers, &d);
    assert_eq!(ch.poll_timeout(), t0 + 10 * S);
    // Nothing changed: nothing to do.
    assert!(ch.rechoke(t0 + 10 * S, false, &peers).is_empty());
    // Peer 0 now uploads fastest: it takes the slot of the slowest regular (6).
    peers[0].download_rate = 1000;
    let d = ch.rechoke(t0 + 20 * S, false, &peers);
    if opt == 0 {
        assert!(
            d.is_empty(),
            "optimistic peer keeps its slot until rotation: {d:?}"
        );
    } else {
        assert_eq!(
            d,
            ChokeDecision {
                unchoke: vec![0],
                choke: vec![6]
            }
        );
    }
}

#[test]
fn uninterested_and_seeds_never_get_a_slot() {
    let t0 = Instant::now();
    let mut ch = Choker::new(ChokerConfig::default(), t0, 2);
    let mut peers: Vec<_> = (0..6).map(|k| cand(k, 100 + k, t0)).collect();
    peers[0].interested = false;
    peers[0].unchoked = true;
    peers[1].is_seed = true;
    peers[1].unchoked = true;
    peers[2].interested = false;
    for seeding in [false, true] {
        let d = ch.rechoke(t0, seeding, &peers);
        for k in [0, 1, 2] {
            assert!(!d.unchoke.contains(&k));
        }
        if !seeding {
            assert_eq!(d.choke, vec![0, 1]);
            apply(&mut peers, &d);
        }
    }
    assert_eq!(unchoked(&peers), vec![3, 4, 5]);
}

#[test]
fn snubbed_peers_get_no_regular_slot() {
    let t0 = Instant::now();
    for seed in 0..50 {
        let mut ch = Choker::new(ChokerConfig::default(), t0, seed);
        let mut peers: Vec<_> = (0..7).map(|k| cand(k, k, t0)).collect();
        peers[6].snubbed = true; // fastest on paper
        let d = ch.rechoke(t0, false, &peers);
        apply(&mut peers, &d);
        if ch.optimistic() != Some(6) {
            assert!(!peers[6].unchoked);
        }
        for best in [2, 3, 4, 5] {
            assert!(peers[best as usize].unchoked);
        }
    }
}

#[test]
fn optimistic_rotates_every_30s_and_ignores_early_rechokes() {
    let t0 = Instant::now();
    let mut ch = Choker::new(ChokerConfig::default(), t0, 3);
    let mut peers: Vec<_> = (0..12).map(|k| cand(k, 0, t0)).collect();
    let mut history = Vec::new();
    let mut t = t0;
    while t <= t0 + 300 * S {
        let d = ch.rechoke(t, false, &peers);
        apply(&mut peers, &d);
        history.push((t - t0, ch.optimistic().unwrap()));
        // A forced early rechoke 3 s later (e.g. someone became interested).
        let d = ch.rechoke(t + 3 * S, false, &peers);
        assert!(d.is_empty(), "early rechoke changed things: {d:?}");
        assert_eq!(ch.optimistic(), Some(history.last().unwrap().1));
        t = ch.poll_timeout();
    }
    for w in history.windows(2) {
        let ((_, a), (at, b)) = (w[0], w[1]);
        let boundary = at.as_secs() % 30 == 0;
        assert_eq!(a != b, boundary, "at {at:?}: {a} -> {b}");
    }
    // Equal rates: the regular slots stay put (ties favour the unchoked).
    assert_eq!(unchoked(&peers).len(), 5);
}

#[test]
fn departed_or_uninterested_optimistic_is_replaced_at_once() {
    let t0 = Instant::now();
    let mut ch = Choker::new(
        ChokerConfig {
            regular_slots: 1,
            ..ChokerConfig::default()
        },
        t0,
        4,
    );
    let mut peers: Vec<_> = (0..4).map(|k| cand(k, 10 - k, t0)).collect();
    let d = ch.rechoke(t0, false, &peers);
    apply(&mut peers, &d);
    let opt = ch.optimistic().unwrap();
    peers.iter_mut().find(|c| c.peer == opt).unwrap().interested = false;
    let d = ch.rechoke(t0 + S, false, &peers);
    let new = ch.optimistic().unwrap();
    assert_ne!(new, opt);
    assert_eq!(
        d,
        ChokeDecision {
            unchoke: vec![new],
            choke: vec![opt]
        }
    );
    apply(&mut peers, &d);
    peers.retain(|c| c.peer != new);
    ch.rechoke(t0 + 2 * S, false, &peers);
    assert!(ch.optimistic().is_some_and(|o| o != new && o != opt));
}

#[test]
fn good_optimistic_peer_keeps_a_regular_slot_after_rotation() {
    let t0 = Instant::now();
    let mut ch = Choker::new(
        ChokerConfig {
            regular_slots: 2,
            ..ChokerConfig::default()
        },
        t0,
        5,
    );
    let mut peers: Vec<_> = (0..6).map(|k| cand(k, 0, t0)).collect();
    peers[0].download_rate = 50;
    peers[1].download_rate = 40;
    let d = ch.rechoke(t0, false, &peers);
    apply(&mut peers, &d);
    let opt = ch.optimistic().unwrap();
    peers[opt as usize].download_rate = 100; // it reciprocates generously
    let d = ch.rechoke(t0 + 30 * S, false, &peers);
    apply(&mut peers, &d);
    assert!(peers[opt as usize].unchoked);
    assert_ne!(ch.optimistic(), Some(opt));
    assert!(
        d.choke.contains(&1),
        "the slower regular lost its slot: {d:?}"
    );
}

#[test]
fn new_peers_are_likelier_optimistic_picks() {
    let t0 = Instant::now();
    let cfg = ChokerConfig {
        regular_slots: 0,
        ..ChokerConfig::default()
    };
    let mut new_count = 0;
    let trials = 3000;
    for seed in 0..trials {
        let mut ch = Choker::new(cfg.clone(), t0, seed);
        let mut peers: Vec<_> = (0..4).map(|k| cand(k, 0, t0)).collect();
        peers[3].connected_at = t0 - 5 * S;
        ch.rechoke(t0, false, &peers);
        new_count += u32::from(ch.optimistic() == Some(3));
    }
    // Weights 3:1:1:1, so the new peer is drawn half the time.
    let share = f64::from(new_count) / trials as f64;
    assert!((0.44..0.56).contains(&share), "new peer share {share}");
}

#[test]
fn seeding_rotates_slots_fairly() {
    let t0 = Instant::now();
    let mut ch = Choker::new(ChokerConfig::default(), t0, 6);
    let mut peers: Vec<_> = (0..12).map(|k| cand(k, 0, t0)).collect();
    peers[0].download_rate = 1_000_000; // irrelevant when seeding
    let mut served: BTreeMap<PeerKey, u64> = BTreeMap::new();
    let mut t = t0;
    while t < t0 + 1800 * S {
        let d = ch.rechoke(t, true, &peers);
        apply(&mut peers, &d);
        assert!(unchoked(&peers).len() <= 5);
        for p in unchoked(&peers) {
            *served.entry(p).or_default() += 10;
        }
        t = ch.poll_timeout();
    }
    let (min, max) = (
        served.values().min().unwrap(),
        served.values().max().unwrap(),
    );
    assert_eq!(served.len(), 12, "someone never served: {served:?}");
    assert!(*max <= min + min / 2, "unfair: {served:?}");
}

#[test]
fn seeding_keeps_slots_for_their_hold_time() {
    let t0 = Instant::now();
    let mut ch = Choker::new(ChokerConfig::default(), t0, 7);
    let mut peers: Vec<_> = (0..10).map(|k| cand(k, 0, t0)).collect();
    let d = ch.rechoke(t0, true, &peers);
    apply(&mut peers, &d);
    let first = unchoked(&peers);
    assert_eq!(first.len(), 5);
    for t in [10, 20] {
        assert!(ch.rechoke(t0 + t * S, true, &peers).is_empty());
    }
    let d = ch.rechoke(t0 + 30 * S, true, &peers);
    apply(&mut peers, &d);
    // The five that waited now get served; the former holders make way.
    let second = unchoked(&peers);
    assert_eq!(second.len(), 5);
    assert!(
        second.iter().all(|p| !first.contains(p)),
        "{first:?} then {second:?}"
    );
}

#[test]
fn forced_rechoke_does_not_move_schedule() {
    let t0 = Instant::now();
    let mut ch = Choker::new(ChokerConfig::default(), t0, 8);
    ch.rechoke(t0, false, &[]);
    assert_eq!(ch.poll_timeout(), t0 + 10 * S);
    ch.rechoke(t0 + 5 * S, false, &[]);
    assert_eq!(ch.poll_timeout(), t0 + 10 * S);
    ch.rechoke(t0 + 12 * S, false, &[]);
    assert_eq!(ch.poll_timeout(), t0 + 22 * S);
    assert_eq!(ch.optimistic(), None);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn candidate() -> impl Strategy<Value = (bool, bool, u64, bool, bool, u64)> {
        (
            any::<bool>(),
            any::<bool>(),
            0u64..1000,
            any::<bool>(),
            prop::bool::weighted(0.1),
            0u64..200,
        )
    }

    proptest! {
        /// Whatever the peers do, the choker only reports real changes, never unchokes
        /// uninterested peers or seeds, and keeps at most `regular_slots + 1` unchoked.
        #[test]
        fn rechoke_respects_slots(
            slots in 0usize..6,
            seed in any::<u64>(),
            rounds in prop::collection::vec(
                (prop::collection::vec(candidate(), 0..12), any::<bool>(), 0u64..25),
                1..30,
            ),
        ) {
            let t0 = Instant::now();
            let cfg = ChokerConfig { regular_slots: slots, ..ChokerConfig::default() };
            let mut ch = Choker::new(cfg, t0, seed);
            let mut unchoked_set: HashSet<PeerKey> = HashSet::new();
            let mut t = t0;
            for (peers, seeding, step) in rounds {
                t += Duration::from_secs(step);
                let peers: Vec<ChokeCandidate> = peers
                    .iter()
                    .enumerate()
                    .map(|(k, &(interested, snubbed, rate, up, is_seed, age))| ChokeCandidate {
                        peer: k as PeerKey,
                        interested,
                        unchoked: unchoked_set.contains(&(k as PeerKey)),
                        download_rate: rate,
                        upload_rate: u64::from(up),
                        snubbed,
                        is_seed,
                        connected_at: t0.checked_sub(Duration::from_secs(age)).unwrap_or(t0),
                    })
                    .collect();
                unchoked_set.retain(|p| (*p as usize) < peers.len());
                let mut after = peers.clone();
                let d = ch.rechoke(t, seeding, &peers);
                apply(&mut after, &d);
                for c in &after {
                    if c.unchoked {
                        prop_assert!(c.interested && !c.is_seed, "{c:?}");
                    }
                }
                prop_assert!(after.iter().filter(|c| c.unchoked).count() <= slots + 1);
                unchoked_set = after.iter().filter(|c| c.unchoked).map(|c| c.peer).collect();
                prop_assert!(ch.poll_timeout() > t);
            }
        }
    }
}
