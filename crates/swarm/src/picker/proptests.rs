//! Property tests of the piece picker: random operation sequences against a simple model.

use super::*;
use proptest::prelude::*;
use shoal_wire::BLOCK_SIZE;
use std::collections::{BTreeMap, BTreeSet};

const MAX_PEERS: usize = 6;

#[derive(Debug, Clone)]
enum Op {
    Join { seed: bool, bits: Vec<bool> },
    Leave(usize),
    Have(usize, u32),
    Pick(usize, usize),
    PickIn(usize, Vec<u32>, usize),
    Deliver(usize, usize),
    DeliverAny(usize, u32, u32),
    Drop(usize, usize),
    Verify(usize, bool),
    SetWanted(u32, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (any::<bool>(), prop::collection::vec(any::<bool>(), 0..40))
            .prop_map(|(seed, bits)| Op::Join { seed, bits }),
        1 => any::<usize>().prop_map(Op::Leave),
        2 => (any::<usize>(), any::<u32>()).prop_map(|(p, i)| Op::Have(p, i)),
        6 => (any::<usize>(), 0usize..12).prop_map(|(p, w)| Op::Pick(p, w)),
        1 => (any::<usize>(), prop::collection::vec(any::<u32>(), 0..4), 0usize..6)
            .prop_map(|(p, l, w)| Op::PickIn(p, l, w)),
        8 => (any::<usize>(), any::<usize>()).prop_map(|(p, k)| Op::Deliver(p, k)),
        1 => (any::<usize>(), any::<u32>(), any::<u32>())
            .prop_map(|(p, i, b)| Op::DeliverAny(p, i, b)),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(p, k)| Op::Drop(p, k)),
        3 => (any::<usize>(), prop::bool::weighted(0.8)).prop_map(|(k, ok)| Op::Verify(k, ok)),
        1 => (any::<u32>(), any::<bool>()).prop_map(|(i, w)| Op::SetWanted(i, w)),
    ]
}

/// A consistent geometry: `(num_pieces, piece_length, total_length)`.
fn geometry() -> impl Strategy<Value = (u32, u32, u64)> {
    (
        1u32..30,
        prop::sample::select(vec![BLOCK_SIZE, 2 * BLOCK_SIZE + 100, 3 * BLOCK_SIZE, 5000]),
    )
        .prop_flat_map(|(n, len)| {
            let before = u64::from(n - 1) * u64::from(len);
            (Just(n), Just(len), (before + 1)..=(before + u64::from(len)))
        })
}

fn block_of(p: &Picker, piece: u32, index: u32) -> BlockRef {
    let begin = index * BLOCK_SIZE;
    BlockRef {
        piece,
        begin,
        length: (p.piece_len(piece) - begin).min(BLOCK_SIZE),
    }
}

#[derive(Default)]
struct Model {
    peers: Vec<Option<Bitfield>>,
    inflight: BTreeMap<BlockRef, BTreeSet<PeerKey>>,
    received: BTreeMap<BlockRef, PeerKey>,
    pending: BTreeSet<u32>,
}

impl Model {
    fn live(&self, i: usize) -> Option<PeerKey> {
        let live: Vec<usize> = (0..self.peers.len())
            .filter(|&k| self.peers[k].is_some())
            .collect();
        (!live.is_empty()).then(|| live[i % live.len()] as PeerKey)
    }

    fn has(&self, peer: PeerKey) -> Bitfield {
        self.peers[peer as usize].clone().unwrap_or_default()
    }

    fn inflight_of(&self, peer: PeerKey) -> Vec<BlockRef> {
        self.inflight
            .iter()
            .filter(|(_, s)| s.contains(&peer))
            .map(|(b, _)| *b)
            .collect()
    }

    fn forget_piece(&mut self, piece: u32) {
        self.received.retain(|b, _| b.piece != piece);
        self.pending.remove(&piece);
    }

    /// Checks a pick's result and records it.
    fn picked(&mut self, p: &Picker, peer: PeerKey, out: &[BlockRef], want: usize) {
        assert!(out.len() <= want);
        let has = self.has(peer);
        for b in out {
            assert!(has.get(b.piece as usize), "{b:?} not had by the peer");
            assert!(p.is_wanted(b.piece) && !p.have().get(b.piece as usize));
            assert!(!self.received.contains_key(b), "{b:?} already received");
            let set = self.inflight.entry(*b).or_default();
            assert!(
                set.is_empty() || p.in_endgame(),
                "{b:?} duplicated outside endgame"
            );
            assert!(set.insert(peer), "{b:?} picked twice for one peer");
            assert!(set.len() <= ENDGAME_MAX_REQUESTERS);
        }
    }

    fn deliver(&mut self, p: &mut Picker, peer: PeerKey, b: BlockRef) {
        let requested = self.inflight.get(&b).is_some_and(|s| s.contains(&peer));
        let outcome = p.on_block(peer, b);
        if !requested {
            let dup = p.have().get(b.piece as usize) || self.received.contains_key(&b);
            let want = if dup {
                BlockOutcome::Duplicate
            } else {
                BlockOutcome::NotRequested
            };
            assert_eq!(outcome, want, "{b:?} from {peer}");
            return;
        }
        let BlockOutcome::Accepted {
            piece_complete,
            cancel,
        } = outcome
        else {
            panic!("requested {b:?} from {peer} not accepted: {outcome:?}")
        };
        let mut others = self.inflight.remove(&b).unwrap_or_default();
        others.remove(&peer);
        let cancel: BTreeSet<PeerKey> = cancel
            .iter()
            .inspect(|(_, c)| assert_eq!(*c, b))
            .map(|(q, _)| *q)
            .collect();
        assert_eq!(cancel, others);
        self.received.insert(b, peer);
        let all = (0..p.num_blocks(b.piece))
            .all(|i| self.received.contains_key(&block_of(p, b.piece, i)));
        assert_eq!(piece_complete, all);
        if all {
            self.pending.insert(b.piece);
        }
    }

    fn apply(&mut self, p: &mut Picker, op: Op) {
        let n = p.num_pieces();
        match op {
            Op::Join { seed, bits } => {
                if self.peers.len() < MAX_PEERS {
                    let has = if seed {
                        Bitfield::full(n as usize)
                    } else {
                        let mut h = Bitfield::new(n as usize);
                        bits.iter()
                            .enumerate()
                            .filter(|(_, &b)| b)
                            .for_each(|(i, _)| {
                                h.set(i);
                            });
                        h
                    };
                    p.add_peer_pieces(&has);
                    self.peers.push(Some(has));
                }
            }
            Op::Leave(i) => {
                if let Some(peer) = self.live(i) {
                    let has = self.peers[peer as usize].take().unwrap_or_default();
                    p.remove_peer_pieces(&has);
                    p.on_peer_gone(peer);
                    self.inflight.values_mut().for_each(|s| {
                        s.remove(&peer);
                    });
                    self.inflight.retain(|_, s| !s.is_empty());
                }
            }
            Op::Have(i, piece) => {
                if let Some(peer) = self.live(i) {
                    let piece = piece % n;
                    if self.peers[peer as usize]
                        .as_mut()
                        .is_some_and(|h| h.set(piece as usize))
                    {
                        p.add_peer_piece(piece);
                    }
                }
            }
            Op::Pick(i, want) => {
                if let Some(peer) = self.live(i) {
                    let mut out = Vec::new();
                    p.pick(peer, &self.has(peer), want, &mut out);
                    self.picked(p, peer, &out, want);
                }
            }
            Op::PickIn(i, list, want) => {
                if let Some(peer) = self.live(i) {
                    let list: Vec<u32> = list.iter().map(|x| x % (n + 1)).collect();
                    let mut out = Vec::new();
                    p.pick_in(peer, &list, &self.has(peer), want, &mut out);
                    assert!(out.iter().all(|b| list.contains(&b.piece)));
                    self.picked(p, peer, &out, want);
                }
            }
            Op::Deliver(i, k) => {
                if let Some(peer) = self.live(i) {
                    let mine = self.inflight_of(peer);
                    if !mine.is_empty() {
                        self.deliver(p, peer, mine[k % mine.len()]);
                    }
                }
            }
            Op::DeliverAny(i, piece, index) => {
                if let Some(peer) = self.live(i) {
                    let piece = piece % n;
                    let b = block_of(p, piece, index % p.num_blocks(piece));
                    self.deliver(p, peer, b);
                }
            }
            Op::Drop(i, k) => {
                if let Some(peer) = self.live(i) {
                    let mine = self.inflight_of(peer);
                    if !mine.is_empty() {
                        let b = mine[k % mine.len()];
                        p.on_request_dropped(peer, b);
                        if let Some(s) = self.inflight.get_mut(&b) {
                            s.remove(&peer);
                            if s.is_empty() {
                                self.inflight.remove(&b);
                            }
                        }
                    }
                }
            }
            Op::Verify(k, ok) => {
                let pending: Vec<u32> = self.pending.iter().copied().collect();
                if !pending.is_empty() {
                    let piece = pending[k % pending.len()];
                    assert!(p.is_pending_verification(piece));
                    if ok {
                        p.on_piece_verified(piece);
                        assert!(p.have().get(piece as usize));
                        // Requests still out for it (endgame) are moot now.
                        self.inflight.retain(|b, _| b.piece != piece);
                    } else {
                        let mut got = p.on_piece_failed(piece);
                        got.sort();
                        let want: Vec<(u32, PeerKey)> = self
                            .received
                            .iter()
                            .filter(|(b, _)| b.piece == piece)
                            .map(|(b, q)| (b.begin, *q))
                            .collect();
                        assert_eq!(got, want);
                    }
                    self.forget_piece(piece);
                }
            }
            Op::SetWanted(piece, w) => p.set_wanted(piece % n, w),
        }
    }

    /// The picker's view of who has what in flight matches the model exactly.
    fn check(&self, p: &Picker) {
        p.check_invariants();
        for piece in 0..p.num_pieces() {
            for i in 0..p.num_blocks(piece) {
                let b = block_of(p, piece, i);
                let got: BTreeSet<PeerKey> = p.requested_by(b).collect();
                let want = if p.have().get(piece as usize) {
                    BTreeSet::new()
                } else {
                    self.inflight.get(&b).cloned().unwrap_or_default()
                };
                assert_eq!(got, want, "requesters of {b:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_invariants(
        (n, len, total) in geometry(),
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 0..120),
        scan_limit in prop_oneof![Just(usize::MAX), 0usize..4],
    ) {
        let mut p = Picker::try_new(n, len, total, seed).unwrap();
        p.scan_limit = scan_limit;
        let mut m = Model::default();
        for op in ops {
            m.apply(&mut p, op);
            m.check(&p);
        }
    }

    /// Peers that keep delivering (with drops, disconnects and bad pieces mixed in)
    /// always finish the wanted pieces.
    #[test]
    fn download_always_completes(
        (n, len, total) in geometry(),
        seed in any::<u64>(),
        unwanted in prop::collection::vec(any::<bool>(), 0..30),
    ) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut p = Picker::try_new(n, len, total, seed).unwrap();
        p.scan_limit = (seed % 3) as usize;
        for (i, &u) in unwanted.iter().enumerate() {
            if u && rng.gen_bool(0.3) {
                p.set_wanted(i as u32 % n, false);
            }
        }
        let mut m = Model::default();
        let peers = rng.gen_range(1..=4usize);
        for k in 0..peers {
            let mut bits: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.5)).collect();
            if k == peers - 1 {
                // Together the peers have every piece.
                for (i, b) in bits.iter_mut().enumerate() {
                    let others = m.peers.iter().flatten().any(|h| h.get(i));
                    *b |= !others;
                }
            }
            m.apply(&mut p, Op::Join { seed: false, bits });
        }
        let mut fails = 0;
        let mut rounds = 0;
        while !p.is_complete() {
            rounds += 1;
            let (endgame, left) = (p.in_endgame(), p.left_bytes());
            prop_assert!(rounds < 2000, "stuck: endgame={} left={}", endgame, left);
            let peer = rng.gen_range(0..peers);
            m.apply(&mut p, Op::Pick(peer, rng.gen_range(1..8)));
            for _ in 0..rng.gen_range(0..6) {
                let k = rng.gen();
                if rng.gen_bool(0.15) {
                    m.apply(&mut p, Op::Drop(peer, k));
                } else {
                    m.apply(&mut p, Op::Deliver(peer, k));
                }
            }
            if !m.pending.is_empty() {
                let ok = fails > 5 || rng.gen_bool(0.9);
                fails += usize::from(!ok);
                m.apply(&mut p, Op::Verify(rng.gen(), ok));
            }
            if rng.gen_bool(0.02) {
                // A peer reconnects: its requests vanish, its pieces are re-announced.
                let key = m.live(peer).unwrap();
                let has = m.has(key);
                p.remove_peer_pieces(&has);
                p.on_peer_gone(key);
                m.inflight.values_mut().for_each(|s| { s.remove(&key); });
                m.inflight.retain(|_, s| !s.is_empty());
                p.add_peer_pieces(&has);
            }
            m.check(&p);
        }
        for piece in 0..n {
            prop_assert_eq!(p.have().get(piece as usize), p.is_wanted(piece));
        }
        prop_assert_eq!(p.left_bytes(), 0);
    }
}
