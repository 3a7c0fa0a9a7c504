//! Sans-IO assembler for fetching an info dictionary (BEP 9) from several peers.
//!
//! The caller registers each peer that advertised `ut_metadata` together with the
//! `metadata_size` from its extension handshake, asks [`MetadataFetch::next_request`]
//! which piece to request from whom, and feeds back data, rejects and departures. Once
//! every piece is in, the assembled bytes are checked against the info-hash.
//!
//! Policy:
//! - The first announced size wins; peers announcing another size are refused (the size
//!   may only change when no peer and no data remain, or when the current size is
//!   *stalled*: a request timed out while not one piece of it had arrived — a liar that
//!   announces a false size and then stays silent must not hold the fetch; its peers
//!   are dropped from the fetch and the newcomer's size is taken).
//! - Pieces are spread: a peer gets at most `ceil(missing / peers)` outstanding requests
//!   (capped by `max_in_flight`, one by default: see [`DEFAULT_MAX_IN_FLIGHT`]), and a piece is only asked of a second peer once every
//!   missing piece is already requested (endgame, at most two requesters per piece).
//! - Requests older than the timeout are forgotten, so the piece is asked again (a late
//!   answer is still taken). Data that was never asked of its sender is ignored.
//! - On a hash mismatch everything is discarded. If one peer supplied every piece it is
//!   banned; otherwise all contributors become suspect and the fetch switches to *solo*
//!   mode, where each attempt takes all pieces from a single source (preferring peers
//!   that are not suspect), so the next failure identifies the culprit.
//!
//! Memory is bounded by `max_size` plus a few words per piece and per peer.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use sha1::{Digest, Sha1};

use crate::metadata::{check_piece, piece_count, MetadataError};

/// Default time after which an unanswered request is asked again. A 16 KiB piece
/// takes 2 s even over a 64 kbit/s upload; a peer silent for longer than this is not
/// going to answer (some clients drop requests they cannot serve at once), and a
/// minute-long wait would leave a magnet link looking hung.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on outstanding requests per peer: one. Widely deployed clients answer
/// the first of several pipelined requests and then stop serving the connection
/// ("can't process a new request while still having data to send"); libtorrent asks
/// one piece at a time as well. Metadata is small, and a fetch with several peers
/// still asks them in parallel.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1;
/// Most peers a single fetch tracks at once.
pub const MAX_FETCH_PEERS: usize = 1024;
/// Most peers asked for the same piece at once (endgame only).
const MAX_REQUESTERS: usize = 2;
/// Most timed-out requesters remembered per piece.
const MAX_LATE: usize = 4;

/// Why [`MetadataFetch::add_peer`] refused a peer. The peer is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddPeerError {
    /// Peer fault: an impossible or too large `metadata_size`.
    #[error("peer announced metadata size {size}, outside 1..={max}")]
    InvalidSize {
        /// The size announced.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The peer disagrees with the size other peers announced first.
    #[error("peer announced metadata size {got}, but this fetch uses {expected}")]
    SizeMismatch {
        /// The size this fetch uses.
        expected: u64,
        /// The size the peer announced.
        got: u64,
    },
    /// The peer already served metadata that failed verification.
    #[error("peer {0} is banned from this fetch")]
    Banned(u64),
    /// Local limit: too many peers registered.
    #[error("too many peers (limit {0})")]
    TooManyPeers(usize),
}

/// Why [`MetadataFetch::on_data`] refused a data message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// Local (caller) error: the peer was never added, or was removed.
    #[error("peer {0} is not part of this fetch")]
    UnknownPeer(u64),
    /// Peer fault: the message claims another total size than the fetch uses.
    #[error("data claims total size {got}, but this fetch uses {expected}")]
    SizeMismatch {
        /// The size this fetch uses.
        expected: u64,
        /// The `total_size` of the message.
        got: u64,
    },
    /// Peer fault: bad piece index or length.
    #[error(transparent)]
    Invalid(#[from] MetadataError),
    /// The assembled bytes do not hash to the info-hash; everything was discarded.
    /// `banned` peers supplied all of it; `suspect` peers were among several suppliers.
    #[error("assembled metadata does not match the info-hash")]
    HashMismatch {
        /// The peer that supplied every piece, now banned from the fetch.
        banned: Vec<u64>,
        /// The peers that shared the supplying, now suspect (see the module docs).
        suspect: Vec<u64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trust {
    Normal,
    Suspect,
}

#[derive(Debug)]
struct Peer {
    trust: Trust,
    /// Pieces this peer rejected in the current attempt; empty until its first reject.
    rejected: Vec<bool>,
}

impl Peer {
    fn rejected(&self, piece: usize) -> bool {
        self.rejected.get(piece).copied().unwrap_or(false)
    }
}

#[derive(Debug, Default)]
struct Slot {
    /// The piece bytes and the peer that sent them.
    data: Option<(u64, Box<[u8]>)>,
    /// Outstanding requests: peer and when it was asked.
    requests: Vec<(u64, Instant)>,
    /// Peers whose request for this piece timed out; their late answer is still taken.
    late: Vec<u64>,
}

impl Slot {
    fn solicited_from(&self, peer: u64) -> bool {
        self.requests.iter().any(|&(p, _)| p == peer) || self.late.contains(&peer)
    }
}

/// Fetches and verifies one info dictionary from any number of peers.
#[derive(Debug)]
pub struct MetadataFetch {
    info_hash: [u8; 20],
    max_size: u64,
    size: Option<u64>,
    slots: Vec<Slot>,
    peers: HashMap<u64, Peer>,
    banned: HashSet<u64>,
    request_timeout: Duration,
    max_in_flight: usize,
    /// After a failed verification: take every piece from one source per attempt.
    solo: bool,
    source: Option<u64>,
    /// A request of the current attempt timed out while no piece had arrived.
    stalled: bool,
    complete: bool,
}

impl MetadataFetch {
    /// A fetch for the info dictionary hashing to `info_hash`, refusing sizes above
    /// `max_size` (see [`crate::metadata::DEFAULT_MAX_METADATA_SIZE`]).
    pub fn new(info_hash: [u8; 20], max_size: u64) -> Self {
        MetadataFetch {
            info_hash,
            max_size,
            size: None,
            slots: Vec::new(),
            peers: HashMap::new(),
            banned: HashSet::new(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            solo: false,
            source: None,
            stalled: false,
            complete: false,
        }
    }

    /// Sets how long a request may stay unanswered before the piece is asked again.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the cap on outstanding requests per peer (at least 1).
    pub fn with_max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// The info-hash the metadata must hash to.
    pub fn info_hash(&self) -> [u8; 20] {
        self.info_hash
    }

    /// The size being fetched, once a peer announced one.
    pub fn metadata_size(&self) -> Option<u64> {
        self.size
    }

    /// Pieces received so far in the current attempt, and the number of pieces.
    pub fn progress(&self) -> (u32, u32) {
        let have = self.slots.iter().filter(|s| s.data.is_some()).count();
        let total = self.slots.len();
        (
            u32::try_from(have).unwrap_or(u32::MAX),
            u32::try_from(total).unwrap_or(u32::MAX),
        )
    }

    /// Peers taken into the fetch (registered with the size in use, not banned).
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Whether the metadata was assembled and verified.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Whether `peer` served metadata that failed verification on its own.
    pub fn is_banned(&self, peer: u64) -> bool {
        self.banned.contains(&peer)
    }

    /// Registers a peer with the `metadata_size` from its extension handshake.
    /// Registering a known peer again with the same size is a no-op.
    pub fn add_peer(&mut self, peer: u64, metadata_size: u64) -> Result<(), AddPeerError> {
        if self.banned.contains(&peer) {
            return Err(AddPeerError::Banned(peer));
        }
        if metadata_size == 0 || metadata_size > self.max_size {
            return Err(AddPeerError::InvalidSize {
                size: metadata_size,
                max: self.max_size,
            });
        }
        if self.complete {
            return Ok(());
        }
        if let Some(expected) = self.size.filter(|&s| s != metadata_size) {
            // An abandoned size (no peer, no data left) may be replaced, and so may a
            // stalled one (its peers leave the fetch).
            let no_data = self.slots.iter().all(|s| s.data.is_none());
            let abandoned = no_data && (self.peers.is_empty() || self.stalled);
            if !abandoned || self.peers.contains_key(&peer) {
                return Err(AddPeerError::SizeMismatch {
                    expected,
                    got: metadata_size,
                });
            }
            self.peers.clear();
            self.size = None;
            self.solo = false;
        }
        if self.peers.contains_key(&peer) {
            return Ok(());
        }
        if self.peers.len() >= MAX_FETCH_PEERS {
            return Err(AddPeerError::TooManyPeers(MAX_FETCH_PEERS));
        }
        if self.size.is_none() {
            self.size = Some(metadata_size);
            self.stalled = false;
            self.slots = (0..piece_count(metadata_size))
                .map(|_| Slot::default())
                .collect();
            self.source = None;
        }
        self.peers.insert(
            peer,
            Peer {
                trust: Trust::Normal,
                rejected: Vec::new(),
            },
        );
        Ok(())
    }

    /// The piece to request from `peer` next, if any. Call repeatedly until `None`;
    /// each returned piece is recorded as requested from `peer` at `now`.
    pub fn next_request(&mut self, peer: u64, now: Instant) -> Option<u32> {
        if self.complete {
            return None;
        }
        self.expire(now);
        let trust = self.peers.get(&peer)?.trust;
        let limit = if self.solo {
            self.max_in_flight
        } else {
            self.spread_limit()
        };
        if self.in_flight(peer) >= limit {
            return None;
        }
        if self.solo {
            match self.source {
                Some(source) if source != peer => return None,
                Some(_) => {}
                None => {
                    let better_exists = trust == Trust::Suspect
                        && self
                            .peers
                            .iter()
                            .any(|(&id, p)| id != peer && p.trust == Trust::Normal);
                    if better_exists {
                        return None;
                    }
                }
            }
        }
        let index = self.pick(peer)?;
        if self.solo {
            self.source = Some(peer);
        }
        self.slots.get_mut(index)?.requests.push((peer, now));
        u32::try_from(index).ok()
    }

    /// The earliest instant at which an outstanding request times out.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.slots
            .iter()
            .flat_map(|s| s.requests.iter())
            .filter_map(|&(_, at)| at.checked_add(self.request_timeout))
            .min()
    }

    /// Handles a data message from `peer`. Returns the verified info dictionary once
    /// the last piece is in. Data that was not asked of `peer` in the current attempt
    /// (e.g. a late answer from before a reset), data for pieces already held, and
    /// anything from a banned peer or after completion is ignored (`Ok(None)`).
    pub fn on_data(
        &mut self,
        peer: u64,
        piece: u32,
        total_size: u64,
        bytes: &[u8],
    ) -> Result<Option<Vec<u8>>, DataError> {
        if self.complete || self.banned.contains(&peer) {
            return Ok(None);
        }
        let size = match self.size {
            Some(size) if self.peers.contains_key(&peer) => size,
            _ => return Err(DataError::UnknownPeer(peer)),
        };
        if total_size != size {
            return Err(DataError::SizeMismatch {
                expected: size,
                got: total_size,
            });
        }
        check_piece(piece, total_size, bytes.len(), self.max_size)?;
        let Some(slot) = usize::try_from(piece)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
        else {
            return Ok(None);
        };
        if slot.data.is_some() || !slot.solicited_from(peer) {
            slot.requests.retain(|&(p, _)| p != peer);
            slot.late.retain(|&p| p != peer);
            return Ok(None);
        }
        slot.data = Some((peer, bytes.into()));
        self.stalled = false;
        slot.requests.clear();
        slot.late.clear();
        if self.slots.iter().all(|s| s.data.is_some()) {
            return self.finish();
        }
        Ok(None)
    }

    /// Handles a reject: `peer` is not asked for `piece` again in this attempt.
    pub fn on_reject(&mut self, peer: u64, piece: u32) {
        let count = self.slots.len();
        let (Some(p), Some(slot)) = (
            self.peers.get_mut(&peer),
            usize::try_from(piece)
                .ok()
                .and_then(|i| self.slots.get_mut(i)),
        ) else {
            return;
        };
        slot.requests.retain(|&(id, _)| id != peer);
        if p.rejected.is_empty() {
            p.rejected = vec![false; count];
        }
        if let Some(flag) = p.rejected.get_mut(piece as usize) {
            *flag = true;
        }
        if self.source == Some(peer) {
            self.source = None;
        }
    }

    /// Forgets `peer` (disconnected); its outstanding requests become available again.
    /// Pieces it already delivered are kept.
    pub fn peer_gone(&mut self, peer: u64) {
        self.peers.remove(&peer);
        for slot in &mut self.slots {
            slot.requests.retain(|&(id, _)| id != peer);
            slot.late.retain(|&id| id != peer);
        }
        if self.source == Some(peer) {
            self.source = None;
        }
    }

    /// Runs the request timers (also done by [`Self::next_request`]); call it before
    /// [`Self::add_peer`] so a stalled size is noticed even when its peers are idle.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.expire(now);
    }

    fn expire(&mut self, now: Instant) {
        let timeout = self.request_timeout;
        let mut any_expired = false;
        let mut source_expired = false;
        let source = self.source;
        for slot in &mut self.slots {
            let late = &mut slot.late;
            slot.requests.retain(|&(peer, at)| {
                let keep = now.saturating_duration_since(at) < timeout;
                if !keep {
                    any_expired = true;
                    source_expired |= source == Some(peer);
                    if !late.contains(&peer) {
                        if late.len() == MAX_LATE {
                            late.remove(0);
                        }
                        late.push(peer);
                    }
                }
                keep
            });
        }
        if source_expired {
            self.source = None;
        }
        if any_expired && self.slots.iter().all(|s| s.data.is_none()) {
            self.stalled = true;
        }
    }

    fn in_flight(&self, peer: u64) -> usize {
        self.slots
            .iter()
            .filter(|s| s.requests.iter().any(|&(p, _)| p == peer))
            .count()
    }

    /// Outstanding requests allowed per peer so the missing pieces spread over peers.
    fn spread_limit(&self) -> usize {
        let missing = self.slots.iter().filter(|s| s.data.is_none()).count();
        missing
            .div_ceil(self.peers.len().max(1))
            .clamp(1, self.max_in_flight)
    }

    /// A missing piece for `peer`: an unrequested one if any, else (endgame) the
    /// least-requested one not already asked of `peer`.
    fn pick(&self, peer: u64) -> Option<usize> {
        let info = self.peers.get(&peer)?;
        let candidates = || {
            self.slots
                .iter()
                .enumerate()
                .filter(|(i, s)| s.data.is_none() && !info.rejected(*i))
        };
        if let Some((i, _)) = candidates().find(|(_, s)| s.requests.is_empty()) {
            return Some(i);
        }
        candidates()
            .filter(|(_, s)| {
                s.requests.len() < MAX_REQUESTERS && s.requests.iter().all(|&(p, _)| p != peer)
            })
            .min_by_key(|(_, s)| s.requests.len())
            .map(|(i, _)| i)
    }

    /// Assembles and verifies; on mismatch discards everything and assigns blame.
    fn finish(&mut self) -> Result<Option<Vec<u8>>, DataError> {
        let size = self.size.and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
        let mut info = Vec::with_capacity(size);
        for (_, bytes) in self.slots.iter().filter_map(|s| s.data.as_ref()) {
            info.extend_from_slice(bytes);
        }
        let digest: [u8; 20] = Sha1::digest(&info).into();
        if digest == self.info_hash {
            self.complete = true;
            self.slots = Vec::new();
            self.source = None;
            return Ok(Some(info));
        }
        let mut contributors: Vec<u64> = self
            .slots
            .iter()
            .filter_map(|s| s.data.as_ref().map(|(p, _)| *p))
            .collect();
        contributors.sort_unstable();
        contributors.dedup();
        let (banned, suspect) = if contributors.len() == 1 {
            (contributors, Vec::new())
        } else {
            (Vec::new(), contributors)
        };
        for p in &banned {
            self.peers.remove(p);
            self.banned.insert(*p);
        }
        for p in &suspect {
            if let Some(peer) = self.peers.get_mut(p) {
                peer.trust = Trust::Suspect;
            }
        }
        self.slots.iter_mut().for_each(|s| *s = Slot::default());
        self.peers.values_mut().for_each(|p| p.rejected.clear());
        self.solo = true;
        self.source = None;
        Err(DataError::HashMismatch { banned, suspect })
    }
}

#[cfg(test)]
#[path = "metadata_fetch_tests.rs"]
mod tests;
