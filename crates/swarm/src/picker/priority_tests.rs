//! Tests of [`Picker::prioritize`]: prioritised pieces are requested before rarer or
//! partially downloaded ones, had pieces leave the set, and bad ranges are harmless.

use super::*;
use shoal_wire::BLOCK_SIZE;

const B: u32 = BLOCK_SIZE;

fn seed_bits(n: usize) -> Bitfield {
    Bitfield::full(n)
}

#[test]
fn prioritised_pieces_come_first() {
    // 10 pieces of 2 blocks; piece 7 is rarest, but 0 and 1 are prioritised.
    let mut p = Picker::new(10, 2 * B, 20 * u64::from(B), 1);
    let all = seed_bits(10);
    p.add_peer_pieces(&all);
    p.add_peer_pieces(&all);
    p.remove_peer_piece(7);
    p.prioritize(0..2);
    assert_eq!(p.priority(), &[0, 1]);
    let mut out = Vec::new();
    p.pick(1, &all, 3, &mut out);
    let pieces: Vec<u32> = out.iter().map(|b| b.piece).collect();
    assert_eq!(&pieces[..3], &[0, 0, 1][..], "{pieces:?}");
    // Without priority: the rest of piece 1 (in progress), then the rarest piece.
    p.prioritize(0..0);
    out.clear();
    p.pick(2, &all, 2, &mut out);
    let pieces: Vec<u32> = out.iter().map(|b| b.piece).collect();
    assert_eq!(pieces, vec![1, 7]);
    p.check_invariants();
}

#[test]
fn priority_beats_a_partial_piece() {
    let mut p = Picker::new(4, 4 * B, 16 * u64::from(B), 2);
    let all = seed_bits(4);
    p.add_peer_pieces(&all);
    let mut out = Vec::new();
    p.pick_in(1, &[2], &all, 1, &mut out);
    assert_eq!(out[0].piece, 2, "piece 2 in progress");
    p.prioritize(3..4);
    out.clear();
    p.pick(1, &all, 2, &mut out);
    assert!(out.iter().all(|b| b.piece == 3), "{out:?}");
    // A peer without the prioritised piece still gets other work.
    let mut has = Bitfield::new(4);
    has.set(2);
    out.clear();
    p.pick(2, &has, 2, &mut out);
    assert!(out.iter().all(|b| b.piece == 2) && !out.is_empty());
    p.check_invariants();
}

#[test]
fn had_pieces_leave_and_bad_ranges_are_clipped() {
    let mut p = Picker::new(5, B, 5 * u64::from(B), 3);
    p.set_have(1);
    p.prioritize(0..100);
    assert_eq!(p.priority(), &[0, 2, 3, 4]);
    p.on_piece_verified(2);
    assert_eq!(p.priority(), &[0, 3, 4]);
    let (hi, lo) = (9, 3);
    p.prioritize(hi..lo);
    assert!(p.priority().is_empty());
    p.prioritize(u32::MAX - 1..u32::MAX);
    assert!(p.priority().is_empty());
    let mut big = Picker::new(10_000, B, 10_000 * u64::from(B), 4);
    big.prioritize(0..u32::MAX);
    assert_eq!(big.priority().len(), MAX_PRIORITY_PIECES);
    p.check_invariants();
}

#[test]
fn completes_with_priority_set() {
    let mut p = Picker::new(6, B, 6 * u64::from(B), 5);
    let all = seed_bits(6);
    p.add_peer_pieces(&all);
    p.prioritize(4..6);
    let mut got = Vec::new();
    loop {
        let mut out = Vec::new();
        p.pick(1, &all, 2, &mut out);
        if out.is_empty() {
            break;
        }
        for b in out {
            got.push(b.piece);
            if let BlockOutcome::Accepted {
                piece_complete: true,
                ..
            } = p.on_block(1, b)
            {
                p.on_piece_verified(b.piece);
            }
        }
    }
    assert!(p.is_complete());
    assert_eq!(&got[..2], &[4, 5]);
    p.check_invariants();
}
