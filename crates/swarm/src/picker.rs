//! The piece picker: decides which blocks to request from which peer.
//!
//! Policy: pieces the engine prioritised ([`Picker::prioritize`]) come before all
//! others; then finish pieces already in progress (those this peer already works on
//! before others), then open new pieces rarest-first with a random tie-break. Outside
//! endgame a block is requested from at most one peer. Endgame starts once every missing
//! wanted block is requested or received; then blocks still in flight may be requested
//! from up to [`ENDGAME_MAX_REQUESTERS`] peers, and the first arrival cancels the others.
//!
//! Cost: pieces not yet started live in availability buckets ([`buckets`]), so opening
//! the rarest piece a peer has examines only pieces until the first hit (the first one
//! for a seed); pieces in progress with free blocks are kept in a short "open" list. A
//! peer with few useful pieces falls back to a byte-wise sweep of its bitfield (n/8
//! steps) after 512 misses; endgame scans the blocks of the pieces in progress.
//!
//! The picker only knows requests it handed out: when a piece becomes had or unwanted
//! while requests are out, the engine cancels them from its own per-peer queues.

mod buckets;
mod geometry;
mod partial;
#[cfg(test)]
mod perf_tests;
#[cfg(test)]
mod priority_tests;
#[cfg(test)]
mod proptests;
mod select;
#[cfg(test)]
mod tests;

use rand::rngs::StdRng;
use rand::SeedableRng;
use shoal_wire::{Bitfield, BlockRef};

use crate::PeerKey;
use buckets::Buckets;
use geometry::Geometry;
pub use geometry::GeometryError;
pub use partial::ENDGAME_MAX_REQUESTERS;
use partial::{Arrival, BlockSlot, PartialPiece, Requesters};

const NONE: u32 = u32::MAX;

/// Most pieces [`Picker::prioritize`] keeps (a priority list is for a few pieces, such
/// as the header of a stream, not for reordering a whole torrent).
pub const MAX_PRIORITY_PIECES: usize = 4096;

/// What to do with a block that arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockOutcome {
    /// Write the data. `piece_complete`: every block of the piece is now received, so the
    /// engine should hash it and report [`Picker::on_piece_verified`] or
    /// [`Picker::on_piece_failed`]. `cancel`: other peers that had this block requested
    /// (endgame); send each a Cancel. Their requests are already forgotten here.
    Accepted {
        /// Every block of the piece is now received: hash it.
        piece_complete: bool,
        /// Other peers' requests of this block to cancel (endgame).
        cancel: Vec<(PeerKey, BlockRef)>,
    },
    /// Already received from someone else (endgame race, or the piece is verified): drop.
    Duplicate,
    /// Not requested from this peer (or not a valid block of this torrent): drop.
    NotRequested,
}

/// Block-level download bookkeeping for one torrent. See the module docs for the policy.
pub struct Picker {
    geo: Geometry,
    have: Bitfield,
    wanted: Bitfield,
    /// `wanted & !have`, kept as a bitfield for a fast byte-wise interest test.
    need: Bitfield,
    /// Number of connected peers that have each piece.
    avail: Vec<u32>,
    /// Wanted pieces with nothing requested or received, by availability.
    buckets: Buckets,
    /// Pieces in progress or awaiting verification.
    parts: Vec<PartialPiece>,
    /// Index into `parts` per piece, or `NONE`.
    slot: Vec<u32>,
    /// Wanted pieces in `parts` that still have free blocks.
    open: Vec<u32>,
    /// Index into `open` per piece, or `NONE`.
    open_pos: Vec<u32>,
    wanted_missing: u32,
    left_bytes: u64,
    rng: StdRng,
    scratch: Vec<(u64, u32)>,
    /// See [`select::SCAN_LIMIT`]; tests lower it to exercise the sweep.
    scan_limit: usize,
    /// Pieces to request before any other (see [`Picker::prioritize`]).
    priority: Vec<u32>,
}

impl Picker {
    /// A picker for `num_pieces` pieces of `piece_length` bytes holding `total_length`
    /// bytes in all (the last piece may be shorter), nothing had, everything wanted.
    /// Geometry should come from a validated metainfo; inconsistent input does not panic
    /// but is clamped (see [`Picker::try_new`] to check it).
    pub fn new(num_pieces: u32, piece_length: u32, total_length: u64, seed: u64) -> Self {
        let geo = Geometry::new(num_pieces, piece_length, total_length)
            .unwrap_or_else(|_| Geometry::lenient(num_pieces, piece_length, total_length));
        Self::with_geometry(geo, seed)
    }

    /// Like [`Picker::new`] but refuses inconsistent geometry.
    pub fn try_new(
        num_pieces: u32,
        piece_length: u32,
        total_length: u64,
        seed: u64,
    ) -> Result<Self, GeometryError> {
        Ok(Self::with_geometry(
            Geometry::new(num_pieces, piece_length, total_length)?,
            seed,
        ))
    }

    fn with_geometry(geo: Geometry, seed: u64) -> Self {
        let n = geo.num_pieces();
        let mut buckets = Buckets::new(n);
        let mut left_bytes = 0;
        for p in 0..n {
            buckets.insert(p, 0);
            left_bytes += u64::from(geo.piece_len(p));
        }
        Picker {
            have: Bitfield::new(n as usize),
            wanted: Bitfield::full(n as usize),
            need: Bitfield::full(n as usize),
            avail: vec![0; n as usize],
            buckets,
            parts: Vec::new(),
            slot: vec![NONE; n as usize],
            open: Vec::new(),
            open_pos: vec![NONE; n as usize],
            wanted_missing: n,
            left_bytes,
            rng: StdRng::seed_from_u64(seed),
            scratch: Vec::new(),
            scan_limit: select::SCAN_LIMIT,
            priority: Vec::new(),
            geo,
        }
    }

    /// Number of pieces of the torrent.
    pub fn num_pieces(&self) -> u32 {
        self.geo.num_pieces()
    }

    /// Length of `piece` in bytes (0 when out of range).
    pub fn piece_len(&self, piece: u32) -> u32 {
        self.geo.piece_len(piece)
    }

    /// Number of blocks of `piece` (0 when out of range).
    pub fn num_blocks(&self, piece: u32) -> u32 {
        self.geo.blocks_in(piece)
    }

    /// How many connected peers have `piece`, as reported through the `*_peer_*` calls.
    pub fn availability(&self, piece: u32) -> u32 {
        self.avail.get(piece as usize).copied().unwrap_or(0)
    }

    /// Pieces verified on disk.
    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    /// Whether every wanted piece is had.
    pub fn is_complete(&self) -> bool {
        self.wanted_missing == 0
    }

    /// Bytes of wanted pieces not yet verified (the tracker's `left`).
    pub fn left_bytes(&self) -> u64 {
        self.left_bytes
    }

    /// Whether `piece` is wanted (see [`Picker::set_wanted`]).
    pub fn is_wanted(&self, piece: u32) -> bool {
        self.wanted.get(piece as usize)
    }

    /// Whether all blocks of `piece` are received and it awaits verification.
    pub fn is_pending_verification(&self, piece: u32) -> bool {
        self.part(piece).is_some_and(PartialPiece::is_complete)
    }

    /// Asks for `pieces` to be requested before any other piece (e.g. the header of a
    /// private stream, needed before anything can be written out), replacing the
    /// previous priority set; an empty range clears it. Pieces out of range, and any past
    /// the first [`MAX_PRIORITY_PIECES`], are ignored. Had pieces leave the set.
    pub fn prioritize(&mut self, pieces: std::ops::Range<u32>) {
        let end = pieces.end.min(self.num_pieces());
        self.priority = (pieces.start..end)
            .filter(|p| !self.have.get(*p as usize))
            .take(MAX_PRIORITY_PIECES)
            .collect();
    }

    /// Like [`Picker::prioritize`] with an explicit list, most urgent first (e.g. the
    /// pieces a streaming reader waits for, then a sequential window). Duplicates, had
    /// pieces and pieces out of range are dropped; at most [`MAX_PRIORITY_PIECES`] kept.
    pub fn set_priority(&mut self, pieces: impl IntoIterator<Item = u32>) {
        let n = self.num_pieces();
        let mut seen = Bitfield::new(n as usize);
        self.priority.clear();
        for p in pieces {
            if self.priority.len() >= MAX_PRIORITY_PIECES {
                break;
            }
            if p < n && !self.have.get(p as usize) && seen.set(p as usize) {
                self.priority.push(p);
            }
        }
    }

    /// The pieces still prioritised, not had.
    pub fn priority(&self) -> &[u32] {
        &self.priority
    }

    /// Marks `piece` as verified on disk (resume data, or after hashing).
    pub fn set_have(&mut self, piece: u32) {
        if piece >= self.num_pieces() || self.have.get(piece as usize) {
            return;
        }
        self.buckets.remove(piece, self.avail[piece as usize]);
        if self.slot[piece as usize] != NONE {
            self.remove_part(piece);
        }
        self.have.set(piece as usize);
        self.need.clear(piece as usize);
        if let Some(at) = self.priority.iter().position(|p| *p == piece) {
            self.priority.remove(at);
        }
        if self.is_wanted(piece) {
            self.wanted_missing -= 1;
            self.left_bytes -= u64::from(self.geo.piece_len(piece));
        }
    }

    /// Selects or deselects `piece` for download. A piece in progress that becomes
    /// unwanted keeps its requests (arrivals are still accepted) but gets no new ones.
    pub fn set_wanted(&mut self, piece: u32, wanted: bool) {
        if piece >= self.num_pieces() || self.is_wanted(piece) == wanted {
            return;
        }
        let i = piece as usize;
        if wanted {
            self.wanted.set(i);
        } else {
            self.wanted.clear(i);
        }
        if self.have.get(i) {
            return;
        }
        let len = u64::from(self.geo.piece_len(piece));
        if wanted {
            self.need.set(i);
            self.wanted_missing += 1;
            self.left_bytes += len;
        } else {
            self.need.clear(i);
            self.wanted_missing -= 1;
            self.left_bytes -= len;
        }
        if self.slot[i] == NONE {
            if wanted {
                self.buckets.insert(piece, self.avail[i]);
            } else {
                self.buckets.remove(piece, self.avail[i]);
            }
        } else {
            self.refresh_open(piece);
        }
    }

    /// A peer's bitfield (or have-all, as a full bitfield) arrived.
    pub fn add_peer_pieces(&mut self, pieces: &Bitfield) {
        for_each_one(pieces, self.num_pieces(), |p| self.add_peer_piece(p));
    }

    /// A peer with these pieces disconnected.
    pub fn remove_peer_pieces(&mut self, pieces: &Bitfield) {
        for_each_one(pieces, self.num_pieces(), |p| self.remove_peer_piece(p));
    }

    /// A peer announced `piece` (HAVE).
    pub fn add_peer_piece(&mut self, piece: u32) {
        if let Some(a) = self.avail.get_mut(piece as usize) {
            let old = *a;
            *a = old.saturating_add(1);
            self.buckets.change(piece, old, old.saturating_add(1));
        }
    }

    /// A peer no longer has `piece` (e.g. BEP 54 lt_donthave).
    pub fn remove_peer_piece(&mut self, piece: u32) {
        if let Some(a) = self.avail.get_mut(piece as usize) {
            let old = *a;
            *a = old.saturating_sub(1);
            self.buckets.change(piece, old, old.saturating_sub(1));
        }
    }

    /// Whether the peer has a wanted piece we lack.
    pub fn is_interesting(&self, peer_has: &Bitfield) -> bool {
        let need = self.need.as_bytes();
        need.iter()
            .zip(peer_has.as_bytes())
            .any(|(a, b)| a & b != 0)
    }

    /// Whether endgame is on: every missing wanted block is requested or received.
    pub fn in_endgame(&self) -> bool {
        !self.is_complete() && self.buckets.len() == 0 && self.open.is_empty()
    }

    /// A block arrived from `peer`.
    pub fn on_block(&mut self, peer: PeerKey, block: BlockRef) -> BlockOutcome {
        let Some(index) = self.geo.block_index(block) else {
            return BlockOutcome::NotRequested;
        };
        if self.have.get(block.piece as usize) {
            return BlockOutcome::Duplicate;
        }
        let Some(part) = self.part_mut(block.piece) else {
            return BlockOutcome::NotRequested;
        };
        match part.receive(index, peer) {
            Arrival::Accepted(others) => BlockOutcome::Accepted {
                piece_complete: part.is_complete(),
                cancel: others.as_slice().iter().map(|&p| (p, block)).collect(),
            },
            Arrival::Duplicate => BlockOutcome::Duplicate,
            Arrival::NotRequested => BlockOutcome::NotRequested,
        }
    }

    /// `peer` will not deliver `block` (rejected, choked, timed out, cancelled by us): it
    /// becomes pickable again unless someone else has it in flight or it was received.
    pub fn on_request_dropped(&mut self, peer: PeerKey, block: BlockRef) {
        let Some(index) = self.geo.block_index(block) else {
            return;
        };
        let Some(part) = self.part_mut(block.piece) else {
            return;
        };
        if part.drop_request(index, peer) {
            self.settle(block.piece);
        }
    }

    /// `peer` disconnected: all its requests are dropped.
    pub fn on_peer_gone(&mut self, peer: PeerKey) {
        let mut touched = std::mem::take(&mut self.scratch);
        touched.clear();
        for part in &mut self.parts {
            if part.drop_peer(peer) > 0 {
                touched.push((0, part.piece));
            }
        }
        for &(_, p) in &touched {
            self.settle(p);
        }
        self.scratch = touched;
    }

    /// The engine hashed `piece` and it is good.
    pub fn on_piece_verified(&mut self, piece: u32) {
        self.set_have(piece);
    }

    /// The engine hashed `piece` and it is bad: all its received blocks are forgotten
    /// (the piece will be downloaded again) and `(begin, sender)` is returned for each, so
    /// the caller can work out whom to blame. On a piece already had (a later recheck
    /// failed) the piece becomes missing again and nothing is returned.
    pub fn on_piece_failed(&mut self, piece: u32) -> Vec<(u32, PeerKey)> {
        if piece >= self.num_pieces() {
            return Vec::new();
        }
        let i = piece as usize;
        if self.have.clear(i) {
            if self.is_wanted(piece) {
                self.need.set(i);
                self.wanted_missing += 1;
                self.left_bytes += u64::from(self.geo.piece_len(piece));
                self.buckets.insert(piece, self.avail[i]);
            }
            return Vec::new();
        }
        let Some(part) = self.part_mut(piece) else {
            return Vec::new();
        };
        let senders = part.reset_received();
        self.settle(piece);
        senders
            .into_iter()
            .map(|(idx, p)| (idx * shoal_wire::BLOCK_SIZE, p))
            .collect()
    }

    /// The peers `block` is currently requested from (to send Cancels).
    pub fn requested_by(&self, block: BlockRef) -> impl Iterator<Item = PeerKey> {
        let r = self
            .geo
            .block_index(block)
            .and_then(|i| match self.part(block.piece)?.slots().get(i as usize)? {
                BlockSlot::Requested(r) => Some(*r),
                _ => None,
            })
            .unwrap_or_else(Requesters::empty);
        (0..r.len()).map(move |k| r.as_slice()[k])
    }

    fn part(&self, piece: u32) -> Option<&PartialPiece> {
        self.parts.get(*self.slot.get(piece as usize)? as usize)
    }

    fn part_mut(&mut self, piece: u32) -> Option<&mut PartialPiece> {
        self.parts.get_mut(*self.slot.get(piece as usize)? as usize)
    }

    /// After requests were dropped or blocks reset: an idle piece goes back to the
    /// unstarted buckets; otherwise its open-list membership is brought up to date.
    fn settle(&mut self, piece: u32) {
        if self.part(piece).is_some_and(PartialPiece::is_idle) {
            self.remove_part(piece);
            if self.is_wanted(piece) {
                self.buckets.insert(piece, self.avail[piece as usize]);
            }
        } else {
            self.refresh_open(piece);
        }
    }

    /// Puts `piece` in the open list iff it is in progress, wanted and has free blocks.
    fn refresh_open(&mut self, piece: u32) {
        let should = self.is_wanted(piece) && self.part(piece).is_some_and(|p| p.free() > 0);
        let pos = self.open_pos[piece as usize];
        if should && pos == NONE {
            self.open_pos[piece as usize] = self.open.len() as u32;
            self.open.push(piece);
        } else if !should && pos != NONE {
            self.open.swap_remove(pos as usize);
            if let Some(&moved) = self.open.get(pos as usize) {
                self.open_pos[moved as usize] = pos;
            }
            self.open_pos[piece as usize] = NONE;
        }
    }

    /// Forgets the in-progress state of `piece` (it must have some).
    fn remove_part(&mut self, piece: u32) {
        let s = self.slot[piece as usize] as usize;
        self.parts.swap_remove(s);
        if let Some(moved) = self.parts.get(s) {
            self.slot[moved.piece as usize] = s as u32;
        }
        self.slot[piece as usize] = NONE;
        self.refresh_open(piece);
    }
}

/// Calls `f` with each set bit of `bits` below `limit`, skipping zero bytes quickly.
fn for_each_one(bits: &Bitfield, limit: u32, mut f: impl FnMut(u32)) {
    for (bi, &byte) in bits.as_bytes().iter().enumerate() {
        if byte == 0 {
            continue;
        }
        for bit in 0..8 {
            let p = bi * 8 + bit;
            if byte & (0x80 >> bit) != 0 && p < limit as usize {
                f(p as u32);
            }
        }
    }
}
