//! Block selection: the `pick` family of [`Picker`] methods (prioritised pieces first,
//! then partial pieces, then rarest new pieces, then endgame duplicates).

use rand::Rng;
use shoal_wire::{Bitfield, BlockRef};

use super::partial::{BlockSlot, PartialPiece, ENDGAME_MAX_REQUESTERS};
use super::Picker;
use crate::PeerKey;

/// Unstarted pieces examined in availability order before switching to a sweep of the
/// peer's bitfield.
pub(super) const SCAN_LIMIT: usize = 512;

impl Picker {
    /// Appends up to `want` blocks for `peer` (which has `peer_has`) to `out` and records
    /// them as requested by it.
    pub fn pick(
        &mut self,
        peer: PeerKey,
        peer_has: &Bitfield,
        want: usize,
        out: &mut Vec<BlockRef>,
    ) {
        self.pick_inner(peer, None, peer_has, want, out);
    }

    /// Like [`Picker::pick`] but only from `pieces` (e.g. the allowed-fast set while the
    /// peer chokes us). Meant for short lists.
    pub fn pick_in(
        &mut self,
        peer: PeerKey,
        pieces: &[u32],
        peer_has: &Bitfield,
        want: usize,
        out: &mut Vec<BlockRef>,
    ) {
        self.pick_inner(peer, Some(pieces), peer_has, want, out);
    }

    fn pick_inner(
        &mut self,
        peer: PeerKey,
        only: Option<&[u32]>,
        has: &Bitfield,
        want: usize,
        out: &mut Vec<BlockRef>,
    ) {
        if want == 0 || self.is_complete() {
            return;
        }
        let mut left = want;
        if only.is_none() && !self.priority.is_empty() && !self.in_endgame() {
            // Prioritised pieces first: those in progress, then new ones.
            let priority = std::mem::take(&mut self.priority);
            left -= self.pick_open(peer, Some(&priority), has, left, out);
            if left > 0 {
                left -= self.pick_new_in(peer, &priority, true, has, left, out);
            }
            self.priority = priority;
        }
        if left > 0 && !self.in_endgame() {
            left -= self.pick_open(peer, only, has, left, out);
            if left > 0 {
                left -= match only {
                    None => self.pick_new(peer, has, left, out),
                    Some(pieces) => self.pick_new_in(peer, pieces, false, has, left, out),
                };
            }
        }
        if left > 0 && self.in_endgame() {
            self.pick_endgame(peer, only, has, left, out);
        }
    }

    /// Takes free blocks from pieces in progress: the peer's own first, then the rarest,
    /// then the nearest to completion.
    fn pick_open(
        &mut self,
        peer: PeerKey,
        only: Option<&[u32]>,
        has: &Bitfield,
        want: usize,
        out: &mut Vec<BlockRef>,
    ) -> usize {
        let mut cands = std::mem::take(&mut self.scratch);
        cands.clear();
        for &p in &self.open {
            if !has.get(p as usize) || only.is_some_and(|o| !o.contains(&p)) {
                continue;
            }
            let part = &self.parts[self.slot[p as usize] as usize];
            let mine = u64::from(!part.has_contributor(peer));
            let avail = u64::from(self.avail[p as usize].min(0xffff));
            let free = u64::from(part.free().min(0xffff));
            cands.push(((mine << 32) | (avail << 16) | free, p));
        }
        cands.sort_unstable();
        let mut got = 0;
        for &(_, p) in &cands {
            if got == want {
                break;
            }
            got += self.take_blocks(p, peer, want - got, out);
        }
        self.scratch = cands;
        got
    }

    /// Opens new pieces the peer has, rarest first, random among equally rare ones.
    ///
    /// Walks the availability buckets (each from a random position) so that a peer with
    /// most pieces hits at once. If `scan_limit` ([`SCAN_LIMIT`]) pieces go by without
    /// finding enough, the peer has few pieces we can use, and a byte-wise sweep of its
    /// bitfield against the unstarted set (n/8 steps) finds the rest.
    fn pick_new(
        &mut self,
        peer: PeerKey,
        has: &Bitfield,
        want: usize,
        out: &mut Vec<BlockRef>,
    ) -> usize {
        let mut got = 0;
        let mut examined = 0;
        let mut chosen = std::mem::take(&mut self.scratch);
        for a in 0..self.buckets.buckets().len() {
            if got == want || examined > self.scan_limit {
                break;
            }
            chosen.clear();
            let bucket = &self.buckets.buckets()[a];
            if bucket.is_empty() {
                continue;
            }
            // Scan from a random position, wrapping around: a random tie-break that
            // stops at the first hits.
            let start = self.rng.gen_range(0..bucket.len());
            let (tail, head) = bucket.split_at(start);
            let mut blocks_needed = want - got;
            for &p in head.iter().chain(tail) {
                examined += 1;
                if has.get(p as usize) {
                    chosen.push((0, p));
                    let n = self.geo.blocks_in(p) as usize;
                    if n >= blocks_needed {
                        break;
                    }
                    blocks_needed -= n;
                }
                if examined > self.scan_limit {
                    break;
                }
            }
            for &(_, p) in &chosen {
                got += self.start_piece(p, peer, want - got, out);
            }
        }
        if got < want && examined > self.scan_limit {
            got += self.pick_new_sparse(peer, has, want - got, &mut chosen, out);
        }
        self.scratch = chosen;
        got
    }

    /// Finds every unstarted piece the peer has with a byte-wise sweep, then opens the
    /// rarest ones (random among equals).
    fn pick_new_sparse(
        &mut self,
        peer: PeerKey,
        has: &Bitfield,
        want: usize,
        cands: &mut Vec<(u64, u32)>,
        out: &mut Vec<BlockRef>,
    ) -> usize {
        cands.clear();
        let members = self.buckets.members().as_bytes();
        for (i, (&m, &h)) in members.iter().zip(has.as_bytes()).enumerate() {
            let both = m & h;
            if both == 0 {
                continue;
            }
            for bit in 0..8 {
                if both & (0x80 >> bit) != 0 {
                    let p = (i * 8 + bit) as u32;
                    let tie: u32 = self.rng.gen();
                    cands.push((
                        (u64::from(self.avail[p as usize]) << 32) | u64::from(tie),
                        p,
                    ));
                }
            }
        }
        cands.sort_unstable();
        let mut got = 0;
        for &(_, p) in cands.iter() {
            if got == want {
                break;
            }
            got += self.start_piece(p, peer, want - got, out);
        }
        got
    }

    /// Opens new pieces among `pieces` that the peer has, rarest first.
    fn pick_new_in(
        &mut self,
        peer: PeerKey,
        pieces: &[u32],
        in_order: bool,
        has: &Bitfield,
        want: usize,
        out: &mut Vec<BlockRef>,
    ) -> usize {
        let mut cands = std::mem::take(&mut self.scratch);
        cands.clear();
        for (pos, &p) in pieces.iter().enumerate() {
            if has.get(p as usize) && self.buckets.contains(p) {
                // A priority list is in order of urgency; other lists go rarest first.
                let key = if in_order {
                    pos as u64
                } else {
                    u64::from(self.avail[p as usize])
                };
                cands.push((key, p));
            }
        }
        cands.sort_unstable();
        cands.dedup();
        let mut got = 0;
        for &(_, p) in &cands {
            if got == want {
                break;
            }
            got += self.start_piece(p, peer, want - got, out);
        }
        self.scratch = cands;
        got
    }

    /// Endgame: requests in-flight blocks from this peer too, least-requested blocks
    /// first, starting at a random piece so peers spread over the remaining blocks.
    fn pick_endgame(
        &mut self,
        peer: PeerKey,
        only: Option<&[u32]>,
        has: &Bitfield,
        want: usize,
        out: &mut Vec<BlockRef>,
    ) {
        let n = self.parts.len();
        if n == 0 {
            return;
        }
        let start = self.rng.gen_range(0..n);
        let mut got = 0;
        for holders in 1..ENDGAME_MAX_REQUESTERS {
            for k in 0..n {
                let part = &mut self.parts[(start + k) % n];
                let p = part.piece;
                if part.is_complete()
                    || !self.wanted.get(p as usize)
                    || !has.get(p as usize)
                    || only.is_some_and(|o| !o.contains(&p))
                {
                    continue;
                }
                for i in 0..part.slots().len() {
                    if got == want {
                        return;
                    }
                    let BlockSlot::Requested(r) = part.slots()[i] else {
                        continue;
                    };
                    if r.len() == holders && part.add_requester(i as u32, peer) {
                        out.push(self.geo.block(p, i as u32));
                        got += 1;
                    }
                }
            }
        }
    }

    /// Moves an unstarted piece into progress and takes up to `max` of its blocks.
    fn start_piece(
        &mut self,
        piece: u32,
        peer: PeerKey,
        max: usize,
        out: &mut Vec<BlockRef>,
    ) -> usize {
        if max == 0 || !self.buckets.contains(piece) {
            return 0;
        }
        self.buckets.remove(piece, self.avail[piece as usize]);
        self.slot[piece as usize] = self.parts.len() as u32;
        self.parts
            .push(PartialPiece::new(piece, self.geo.blocks_in(piece)));
        self.refresh_open(piece);
        self.take_blocks(piece, peer, max, out)
    }

    /// Takes up to `max` free blocks of a piece in progress for `peer`.
    fn take_blocks(
        &mut self,
        piece: u32,
        peer: PeerKey,
        max: usize,
        out: &mut Vec<BlockRef>,
    ) -> usize {
        let s = self.slot[piece as usize];
        let Some(part) = self.parts.get_mut(s as usize) else {
            return 0;
        };
        let geo = &self.geo;
        let n = part.take_free(peer, max, |i| out.push(geo.block(piece, i)));
        self.refresh_open(piece);
        n
    }
}
