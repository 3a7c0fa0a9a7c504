//! Speed tests of the piece picker on large torrents (the engine calls `pick` about
//! 100k times per GiB).

use super::*;
use shoal_wire::BLOCK_SIZE;
use std::time::{Duration, Instant};

const B: u32 = BLOCK_SIZE;

fn every(n: u32, step: usize, offset: usize) -> Bitfield {
    let mut b = Bitfield::new(n as usize);
    for i in (0..n as usize).filter(|i| (i + offset).is_multiple_of(step)) {
        b.set(i);
    }
    b
}

/// 1 GiB of 16 KiB pieces fetched block by block from 8 seeds.
#[test]
fn large_torrent_picks_fast() {
    let n = 65_536u32;
    let start = Instant::now();
    let mut p = Picker::new(n, B, u64::from(n) * u64::from(B), 42);
    let all = Bitfield::full(n as usize);
    for _ in 0..8 {
        p.add_peer_pieces(&all);
    }
    let mut inflight: Vec<Vec<BlockRef>> = vec![Vec::new(); 8];
    let mut out = Vec::new();
    let mut picks = 0u64;
    while !p.is_complete() {
        for peer in 0..inflight.len() {
            // Keep a pipeline of 16; deliver the oldest block, then top up one at a time.
            while inflight[peer].len() < 16 {
                out.clear();
                p.pick(peer as u64, &all, 1, &mut out);
                picks += 1;
                if out.is_empty() {
                    break;
                }
                inflight[peer].extend_from_slice(&out);
            }
            if !inflight[peer].is_empty() {
                let b = inflight[peer].remove(0);
                if let BlockOutcome::Accepted {
                    piece_complete: true,
                    cancel,
                } = p.on_block(peer as u64, b)
                {
                    for (other, c) in cancel {
                        inflight[other as usize].retain(|x| *x != c);
                    }
                    p.on_piece_verified(b.piece);
                }
            }
        }
    }
    let took = start.elapsed();
    eprintln!("65536 pieces, {picks} picks: {took:?}");
    assert!(took < Duration::from_secs(5), "too slow: {took:?}");
}

/// 4 MiB pieces (256 blocks): the open list stays short and picks stay cheap.
#[test]
fn large_pieces_pick_fast() {
    let n = 256u32;
    let start = Instant::now();
    let mut p = Picker::new(n, 256 * B, u64::from(n) * 256 * u64::from(B), 9);
    let all = Bitfield::full(n as usize);
    let mut peers: Vec<Bitfield> = vec![all.clone(); 4];
    peers.extend((0..12).map(|k| every(n, 3, k)));
    for h in &peers {
        p.add_peer_pieces(h);
    }
    let mut out = Vec::new();
    while !p.is_complete() {
        for (peer, h) in peers.iter().enumerate() {
            out.clear();
            p.pick(peer as u64, h, 32, &mut out);
            for &b in &out {
                if let BlockOutcome::Accepted {
                    piece_complete: true,
                    ..
                } = p.on_block(peer as u64, b)
                {
                    p.on_piece_verified(b.piece);
                }
            }
        }
    }
    let took = start.elapsed();
    eprintln!("256 x 4 MiB pieces: {took:?}");
    assert!(took < Duration::from_secs(5), "too slow: {took:?}");
}

/// The worst case: a peer with only pieces we have, among 65,536 pieces we lack, and a
/// peer whose single piece is the last one we need.
#[test]
fn sparse_peers_pick_in_bounded_time() {
    let n = 65_536u32;
    let mut p = Picker::new(n, B, u64::from(n) * u64::from(B), 1);
    let mut useless = Bitfield::new(n as usize);
    for i in 0..100 {
        useless.set(i);
        p.set_have(i as u32);
    }
    let mut one = Bitfield::new(n as usize);
    one.set(n as usize - 1);
    p.add_peer_pieces(&useless);
    p.add_peer_pieces(&one);
    let start = Instant::now();
    let mut out = Vec::new();
    for _ in 0..100 {
        p.pick(1, &useless, 10, &mut out);
    }
    assert!(out.is_empty());
    p.pick(2, &one, 10, &mut out);
    assert_eq!(out.len(), 1);
    let took = start.elapsed();
    eprintln!("100 fruitless full scans + 1 hit: {took:?}");
    assert!(took < Duration::from_secs(5), "too slow: {took:?}");
}
