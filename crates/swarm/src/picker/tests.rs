//! Unit tests of the piece picker, plus an internal consistency checker.

use super::*;
use shoal_wire::BLOCK_SIZE;
use std::collections::BTreeSet;

const B: u32 = BLOCK_SIZE;

impl Picker {
    /// Asserts every internal index and counter agrees with the per-piece state.
    pub(crate) fn check_invariants(&self) {
        self.buckets.check(&self.avail);
        let (mut missing, mut left, mut open) = (0, 0, 0);
        for p in 0..self.num_pieces() {
            let i = p as usize;
            let (have, wanted) = (self.have.get(i), self.wanted.get(i));
            assert_eq!(self.need.get(i), wanted && !have);
            if wanted && !have {
                missing += 1;
                left += u64::from(self.piece_len(p));
            }
            let part = self.part(p);
            assert!(!(have && part.is_some()), "had piece {p} still in progress");
            assert_eq!(
                self.buckets.contains(p),
                part.is_none() && wanted && !have,
                "piece {p}"
            );
            let is_open = self.open_pos[i] != NONE;
            assert_eq!(
                is_open,
                wanted && part.is_some_and(|x| x.free() > 0),
                "open {p}"
            );
            if is_open {
                open += 1;
                assert_eq!(self.open[self.open_pos[i] as usize], p);
            }
            if let Some(part) = part {
                part.check();
                assert!(!part.is_idle(), "idle piece {p} kept in progress");
                assert_eq!(part.piece, p);
            }
        }
        assert_eq!(open, self.open.len());
        for (s, part) in self.parts.iter().enumerate() {
            assert_eq!(self.slot[part.piece as usize] as usize, s);
        }
        assert_eq!(missing, self.wanted_missing);
        assert_eq!(left, self.left_bytes);
    }
}

fn bits(len: usize, ones: &[usize]) -> Bitfield {
    let mut b = Bitfield::new(len);
    for &i in ones {
        b.set(i);
    }
    b
}

fn blk(piece: u32, index: u32) -> BlockRef {
    BlockRef {
        piece,
        begin: index * B,
        length: B,
    }
}

fn pick(p: &mut Picker, peer: PeerKey, has: &Bitfield, want: usize) -> Vec<BlockRef> {
    let mut out = Vec::new();
    p.pick(peer, has, want, &mut out);
    p.check_invariants();
    out
}

#[test]
fn rarest_first() {
    rarest_first_with_scan_limit(usize::MAX);
    rarest_first_with_scan_limit(0); // the bitfield sweep, not the bucket walk
}

fn rarest_first_with_scan_limit(scan_limit: usize) {
    // 6 one-block pieces; availability: p0=3, p1=1, p2=2, p3=1, p4=3, p5=2 (+1 from the seed).
    let mut p = Picker::new(6, B, 6 * u64::from(B), 1);
    p.scan_limit = scan_limit;
    p.add_peer_pieces(&bits(6, &[0, 2, 4, 5]));
    p.add_peer_pieces(&bits(6, &[0, 4]));
    p.add_peer_pieces(&bits(6, &[1, 2, 3, 5]));
    p.remove_peer_pieces(&bits(6, &[1, 3])); // that peer traded 1 and 3 away
    p.add_peer_piece(1);
    p.add_peer_piece(3);
    let seed = Bitfield::full(6);
    p.add_peer_pieces(&seed);
    assert_eq!(p.availability(0), 3);
    let order: Vec<u32> = (0..6).map(|_| pick(&mut p, 9, &seed, 1)[0].piece).collect();
    let first: BTreeSet<u32> = order[..2].iter().copied().collect();
    let middle: BTreeSet<u32> = order[2..4].iter().copied().collect();
    assert_eq!(first, BTreeSet::from([1, 3]));
    assert_eq!(middle, BTreeSet::from([2, 5]));
    assert!(pick(&mut p, 9, &seed, 1).is_empty() || p.in_endgame());
}

#[test]
fn rarest_first_only_among_pieces_the_peer_has() {
    let mut p = Picker::new(4, B, 4 * u64::from(B), 1);
    p.add_peer_pieces(&bits(4, &[0]));
    let has = bits(4, &[2, 3]);
    p.add_peer_pieces(&has);
    p.add_peer_piece(3);
    assert_eq!(pick(&mut p, 1, &has, 1), vec![blk(2, 0)]);
    assert_eq!(pick(&mut p, 1, &has, 5), vec![blk(3, 0)]);
}

#[test]
fn equal_rarity_ties_are_spread() {
    let seed = Bitfield::full(256);
    let mut firsts = BTreeSet::new();
    for s in 0..40 {
        let mut p = Picker::new(256, B, 256 * u64::from(B), s);
        p.scan_limit = if s % 2 == 0 { usize::MAX } else { 0 };
        p.add_peer_pieces(&seed);
        firsts.insert(pick(&mut p, 1, &seed, 1)[0].piece);
    }
    assert!(firsts.len() > 20, "first picks not spread: {firsts:?}");
    // Within one picker, successive picks are not simply consecutive.
    let mut p = Picker::new(256, B, 256 * u64::from(B), 7);
    let got: Vec<u32> = pick(&mut p, 1, &seed, 16).iter().map(|b| b.piece).collect();
    let spread = got.iter().max().unwrap() - got.iter().min().unwrap();
    assert!(spread > 16, "{got:?}");
}

#[test]
fn partial_pieces_first_and_own_pieces_preferred() {
    // 8 pieces of 4 blocks.
    let mut p = Picker::new(8, 4 * B, 32 * u64::from(B), 3);
    let all = Bitfield::full(8);
    p.add_peer_pieces(&all);
    let a = pick(&mut p, 1, &all, 2);
    assert_eq!(a.len(), 2);
    let pa = a[0].piece;
    assert!(a.iter().all(|b| b.piece == pa));
    // B joins the piece A started before opening a new one.
    let b = pick(&mut p, 2, &all, 3);
    assert_eq!(&b[..2], &[blk(pa, 2), blk(pa, 3)]);
    let pb = b[2].piece;
    assert_ne!(pb, pa);
    // A third peer opens something else... unless pb is open: it is (3 blocks free).
    let c = pick(&mut p, 3, &all, 1);
    assert_eq!(c, vec![blk(pb, 1)]);
    // Make another open piece that peer 1 contributed to; it prefers that one.
    let d = pick(&mut p, 1, &all, 2);
    assert_eq!(d, vec![blk(pb, 2), blk(pb, 3)]);
    let e = pick(&mut p, 4, &all, 1);
    let pe = e[0].piece;
    assert!(![pa, pb].contains(&pe));
    p.on_request_dropped(2, blk(pa, 2)); // pa has a free block again; peer 1 worked on it
    let f = pick(&mut p, 1, &all, 1);
    assert_eq!(f, vec![blk(pa, 2)]);
}

#[test]
fn no_block_requested_twice_outside_endgame() {
    let mut p = Picker::new(40, 3 * B, 120 * u64::from(B), 5);
    let peers: Vec<Bitfield> = (0..5)
        .map(|k| {
            bits(
                40,
                &(0..40).filter(|i| i % (k + 1) == 0).collect::<Vec<_>>(),
            )
        })
        .collect();
    for h in &peers {
        p.add_peer_pieces(h);
    }
    let mut seen = BTreeSet::new();
    for round in 0..30 {
        for (k, h) in peers.iter().enumerate() {
            if p.in_endgame() {
                break;
            }
            for b in pick(&mut p, k as u64, h, 1 + round % 4) {
                // A pick may enter endgame part-way; only then may it duplicate.
                assert!(seen.insert(b) || p.in_endgame(), "{b:?} requested twice");
                assert!(h.get(b.piece as usize));
            }
        }
    }
    assert!(p.in_endgame());
    assert_eq!(seen.len(), 120);
}

#[test]
fn endgame_duplicates_are_bounded_and_cancelled() {
    let mut p = Picker::new(1, 2 * B, 2 * u64::from(B), 0);
    let all = Bitfield::full(1);
    assert!(!p.in_endgame());
    assert_eq!(pick(&mut p, 1, &all, 10), vec![blk(0, 0), blk(0, 1)]);
    assert!(p.in_endgame());
    assert_eq!(pick(&mut p, 1, &all, 10), vec![]); // never twice to the same peer
    assert_eq!(pick(&mut p, 2, &all, 10).len(), 2);
    assert_eq!(pick(&mut p, 3, &all, 10).len(), 2);
    assert_eq!(pick(&mut p, 4, &all, 10), vec![]); // at most 3 requesters per block
    let mut who: Vec<_> = p.requested_by(blk(0, 0)).collect();
    who.sort();
    assert_eq!(who, vec![1, 2, 3]);

    let BlockOutcome::Accepted {
        piece_complete,
        mut cancel,
    } = p.on_block(2, blk(0, 0))
    else {
        panic!("not accepted")
    };
    assert!(!piece_complete);
    cancel.sort();
    assert_eq!(cancel, vec![(1, blk(0, 0)), (3, blk(0, 0))]);
    assert_eq!(p.requested_by(blk(0, 0)).count(), 0);
    assert_eq!(p.on_block(1, blk(0, 0)), BlockOutcome::Duplicate);
    p.on_request_dropped(1, blk(0, 0)); // engine cancelled it: harmless
    assert_eq!(p.on_block(4, blk(0, 1)), BlockOutcome::NotRequested);
    let out = p.on_block(3, blk(0, 1));
    assert!(
        matches!(
            out,
            BlockOutcome::Accepted {
                piece_complete: true,
                ..
            }
        ),
        "{out:?}"
    );
    assert!(p.is_pending_verification(0));
    assert_eq!(pick(&mut p, 5, &all, 10), vec![]);
    p.on_piece_verified(0);
    assert!(p.is_complete());
    assert!(!p.in_endgame());
    assert_eq!(p.on_block(1, blk(0, 1)), BlockOutcome::Duplicate);
    p.check_invariants();
}

#[test]
fn endgame_prefers_least_requested_blocks() {
    let mut p = Picker::new(1, 3 * B, 3 * u64::from(B), 0);
    let all = Bitfield::full(1);
    pick(&mut p, 1, &all, 3);
    assert_eq!(pick(&mut p, 2, &all, 1).len(), 1);
    let third = pick(&mut p, 3, &all, 2);
    // Peer 3 got the two blocks that had a single requester, not peer 2's.
    let twos: Vec<_> = (0..3)
        .filter(|&i| p.requested_by(blk(0, i)).count() == 2)
        .collect();
    assert_eq!(twos.len(), 3);
    assert_eq!(third.len(), 2);
}

#[test]
fn dropped_requests_become_pickable_again() {
    let mut p = Picker::new(2, 2 * B, 4 * u64::from(B), 0);
    let has = bits(2, &[0]);
    p.add_peer_pieces(&has);
    assert_eq!(pick(&mut p, 1, &has, 1), vec![blk(0, 0)]);
    p.on_request_dropped(1, blk(0, 0));
    p.check_invariants();
    assert_eq!(p.requested_by(blk(0, 0)).count(), 0);
    let again = pick(&mut p, 2, &has, 4);
    assert_eq!(again, vec![blk(0, 0), blk(0, 1)]);
    // Dropping by a peer that does not have it requested changes nothing.
    p.on_request_dropped(1, blk(0, 1));
    assert_eq!(p.requested_by(blk(0, 1)).collect::<Vec<_>>(), vec![2]);
    // Invalid addresses are ignored.
    p.on_request_dropped(
        2,
        BlockRef {
            piece: 0,
            begin: 1,
            length: B,
        },
    );
    p.on_request_dropped(
        2,
        BlockRef {
            piece: 7,
            begin: 0,
            length: B,
        },
    );
    p.check_invariants();
}

#[test]
fn dropping_one_of_several_endgame_requesters_keeps_block_in_flight() {
    let mut p = Picker::new(1, B, u64::from(B), 0);
    let all = Bitfield::full(1);
    pick(&mut p, 1, &all, 1);
    pick(&mut p, 2, &all, 1);
    p.on_request_dropped(1, blk(0, 0));
    assert_eq!(p.requested_by(blk(0, 0)).collect::<Vec<_>>(), vec![2]);
    assert!(p.in_endgame());
    p.on_request_dropped(2, blk(0, 0));
    assert!(!p.in_endgame());
    assert_eq!(pick(&mut p, 3, &all, 1), vec![blk(0, 0)]);
}

#[test]
fn peer_gone_releases_its_requests() {
    let mut p = Picker::new(4, 2 * B, 8 * u64::from(B), 0);
    let all = Bitfield::full(4);
    p.add_peer_pieces(&all);
    let a = pick(&mut p, 1, &all, 3);
    let b = pick(&mut p, 2, &all, 3);
    assert_eq!(
        p.on_block(1, a[0]),
        BlockOutcome::Accepted {
            piece_complete: false,
            cancel: vec![]
        }
    );
    p.on_peer_gone(1);
    p.remove_peer_pieces(&all);
    p.check_invariants();
    for blk in &a[1..] {
        assert_eq!(p.requested_by(*blk).count(), 0);
    }
    assert_eq!(p.on_block(1, a[1]), BlockOutcome::NotRequested);
    // 8 blocks: 1 received, 3 with peer 2, 2 released, 2 never picked.
    let c = pick(&mut p, 3, &all, 4);
    assert!(p.in_endgame());
    let c: BTreeSet<_> = c.into_iter().collect();
    for blk in &a[1..] {
        assert!(c.contains(blk));
    }
    for blk in &b {
        assert!(!c.contains(blk));
    }
    assert!(!c.contains(&a[0]), "received block picked again");
}

#[test]
fn failed_piece_reports_senders_and_is_picked_again() {
    let mut p = Picker::new(2, 3 * B, 5 * u64::from(B), 0);
    let all = Bitfield::full(2);
    // Piece 1 is the short last piece: blocks of 16 KiB and 16 KiB.
    p.set_have(0);
    let a = pick(&mut p, 10, &all, 1);
    let b = pick(&mut p, 20, &all, 1);
    assert_eq!(a, vec![blk(1, 0)]);
    assert_eq!(b, vec![blk(1, 1)]);
    assert!(matches!(
        p.on_block(20, b[0]),
        BlockOutcome::Accepted {
            piece_complete: false,
            ..
        }
    ));
    assert!(matches!(
        p.on_block(10, a[0]),
        BlockOutcome::Accepted {
            piece_complete: true,
            ..
        }
    ));
    let mut senders = p.on_piece_failed(1);
    senders.sort();
    assert_eq!(senders, vec![(0, 10), (B, 20)]);
    p.check_invariants();
    assert!(!p.is_complete());
    assert!(!p.is_pending_verification(1));
    assert_eq!(pick(&mut p, 30, &all, 5), vec![blk(1, 0), blk(1, 1)]);
    assert_eq!(p.on_piece_failed(9), vec![]);
    // A later recheck failing on a had piece makes it missing again.
    assert_eq!(p.on_piece_failed(0), vec![]);
    assert!(!p.have().get(0));
    p.check_invariants();
    assert_eq!(pick(&mut p, 30, &all, 5).len(), 3);
}

#[test]
fn failed_piece_with_blocks_still_requested_stays_in_progress() {
    let mut p = Picker::new(1, 2 * B, 2 * u64::from(B), 0);
    let all = Bitfield::full(1);
    pick(&mut p, 1, &all, 2);
    p.on_block(1, blk(0, 0));
    // Out-of-order failure report (engine bug or recheck): received blocks reset only.
    assert_eq!(p.on_piece_failed(0), vec![(0, 1)]);
    p.check_invariants();
    assert_eq!(p.requested_by(blk(0, 1)).collect::<Vec<_>>(), vec![1]);
    assert_eq!(pick(&mut p, 2, &all, 1), vec![blk(0, 0)]);
    assert!(p.in_endgame());
}

#[test]
fn wanted_subset() {
    let mut p = Picker::new(5, B, 5 * u64::from(B) - 100, 0);
    let all = Bitfield::full(5);
    assert_eq!(p.left_bytes(), 5 * u64::from(B) - 100);
    for piece in [0, 2, 4] {
        p.set_wanted(piece, false);
    }
    p.check_invariants();
    assert_eq!(p.left_bytes(), 2 * u64::from(B));
    assert!(p.is_interesting(&all));
    assert!(!p.is_interesting(&bits(5, &[0, 2, 4])));
    let got: BTreeSet<u32> = pick(&mut p, 1, &all, 10).iter().map(|b| b.piece).collect();
    assert_eq!(got, BTreeSet::from([1, 3]));
    for piece in [1, 3] {
        assert!(matches!(
            p.on_block(1, blk(piece, 0)),
            BlockOutcome::Accepted {
                piece_complete: true,
                ..
            }
        ));
        p.on_piece_verified(piece);
    }
    assert!(p.is_complete());
    assert!(!p.in_endgame());
    assert!(pick(&mut p, 1, &all, 10).is_empty());
    assert!(!p.is_interesting(&all));
    // Wanting the last piece again: its short block is picked.
    p.set_wanted(4, true);
    assert!(!p.is_complete());
    assert_eq!(p.left_bytes(), u64::from(B) - 100);
    assert_eq!(
        pick(&mut p, 1, &all, 10),
        vec![BlockRef {
            piece: 4,
            begin: 0,
            length: B - 100
        }]
    );
}

#[test]
fn unwanting_a_piece_in_progress_stops_new_requests() {
    let mut p = Picker::new(2, 4 * B, 8 * u64::from(B), 0);
    let has = bits(2, &[0]);
    pick(&mut p, 1, &has, 2);
    p.set_wanted(0, false);
    p.check_invariants();
    assert!(pick(&mut p, 2, &has, 4).is_empty());
    // Arrivals still land.
    assert!(matches!(
        p.on_block(1, blk(0, 0)),
        BlockOutcome::Accepted { .. }
    ));
    p.set_wanted(0, true);
    p.check_invariants();
    assert_eq!(pick(&mut p, 2, &has, 4), vec![blk(0, 2), blk(0, 3)]);
}

#[test]
fn last_piece_and_block_sizes() {
    // 3 pieces of 40000 bytes = 2 full blocks + 7232; last piece 20000 = 16384 + 3616.
    let mut p = Picker::new(3, 40_000, 100_000, 0);
    let all = Bitfield::full(3);
    let mut got = pick(&mut p, 1, &all, 100);
    got.sort();
    let lengths: Vec<(u32, u32, u32)> = got.iter().map(|b| (b.piece, b.begin, b.length)).collect();
    assert_eq!(
        lengths,
        vec![
            (0, 0, B),
            (0, B, B),
            (0, 2 * B, 40_000 - 2 * B),
            (1, 0, B),
            (1, B, B),
            (1, 2 * B, 40_000 - 2 * B),
            (2, 0, B),
            (2, B, 20_000 - B),
        ]
    );
    // A block with the wrong length is not ours.
    assert_eq!(
        p.on_block(
            1,
            BlockRef {
                piece: 2,
                begin: B,
                length: B
            }
        ),
        BlockOutcome::NotRequested
    );
    assert_eq!(p.num_blocks(2), 2);
    assert_eq!(p.piece_len(2), 20_000);
}

#[test]
fn allowed_fast_restricted_picking() {
    let mut p = Picker::new(10, 2 * B, 20 * u64::from(B), 0);
    let all = Bitfield::full(10);
    p.add_peer_pieces(&all);
    p.add_peer_piece(7); // piece 7 is less rare than 3
    let got = {
        let mut out = Vec::new();
        p.pick_in(1, &[7, 3, 3, 42], &all, 3, &mut out);
        out
    };
    assert_eq!(got, vec![blk(3, 0), blk(3, 1), blk(7, 0)]);
    let mut out = Vec::new();
    p.pick_in(2, &[7], &bits(10, &[3]), 5, &mut out);
    assert!(out.is_empty(), "peer lacks 7");
    p.pick_in(2, &[7, 3], &all, 5, &mut out);
    assert_eq!(out, vec![blk(7, 1)]);
    p.check_invariants();
}

#[test]
fn set_have_and_interest() {
    let mut p = Picker::new(3, B, 3 * u64::from(B), 0);
    p.set_have(1);
    p.set_have(1);
    p.set_have(99);
    assert_eq!(p.have().count_ones(), 1);
    assert!(!p.is_interesting(&bits(3, &[1])));
    assert!(p.is_interesting(&bits(3, &[2])));
    assert!(!p.is_interesting(&Bitfield::new(0)));
    let all = Bitfield::full(3);
    let got: BTreeSet<u32> = pick(&mut p, 1, &all, 9).iter().map(|b| b.piece).collect();
    assert_eq!(got, BTreeSet::from([0, 2]));
    // A piece marked had while in flight: late arrivals are duplicates.
    p.set_have(0);
    p.check_invariants();
    assert_eq!(p.on_block(1, blk(0, 0)), BlockOutcome::Duplicate);
}

#[test]
fn empty_and_odd_geometry_does_not_panic() {
    let mut p = Picker::new(0, 0, 0, 0);
    assert!(p.is_complete());
    assert!(pick(&mut p, 1, &Bitfield::new(0), 5).is_empty());
    assert!(Picker::try_new(3, 10, 5, 0).is_err());
    let mut p = Picker::new(3, 0, 5, 0);
    p.check_invariants();
    assert_eq!(pick(&mut p, 1, &Bitfield::full(3), 5).len(), 3);
    // A bitfield of the wrong size only counts pieces in range.
    let mut p = Picker::new(3, B, 3 * u64::from(B), 0);
    p.add_peer_pieces(&Bitfield::full(20));
    p.remove_peer_pieces(&Bitfield::full(20));
    p.remove_peer_pieces(&Bitfield::full(20));
    p.check_invariants();
    assert_eq!(p.availability(0), 0);
}
