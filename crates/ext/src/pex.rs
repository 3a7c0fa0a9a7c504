//! BEP 11 peer exchange: the `ut_pex` message (compact IPv4 and IPv6 `added`,
//! `added.f`, `dropped` lists) and [`PexState`], which turns the current set of
//! connected peers into the next message for one connection.
//!
//! Decoding is tolerant (unknown keys, unsorted keys, wrong-typed fields and partial
//! trailing entries are ignored) but bounded: payloads above [`MAX_PEX_PAYLOAD`] are
//! refused before parsing, and at most [`MAX_PEX_ENTRIES`] added and dropped peers are
//! kept per message (IPv4 first). Addresses with port 0, or an unspecified or multicast
//! IP, are skipped. PEX must never be used for private torrents (BEP 27).
//!
//! Receiving is rate limited: a message sooner than [`MIN_RECEIVE_INTERVAL`] after the
//! last one taken is ignored, and more than [`MAX_EARLY_MESSAGES`] ignored in a row are
//! a flood ([`PexError::TooFrequent`]), which the caller answers by disconnecting. The
//! tolerance covers clients whose timers drift or that send an update right after the
//! extension handshake; a peer sending many per second reaches it at once.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use shoal_bencode::{DecodeError, DecodeOptions, OwnedValue};
use shoal_compact::is_dialable;

/// Name of the extension in the BEP 10 handshake's `m` dictionary.
pub const UT_PEX: &str = "ut_pex";
/// Most added (and, separately, dropped) peers per message, sent or accepted.
pub const MAX_PEX_ENTRIES: usize = 50;
/// Largest payload we parse at all.
pub const MAX_PEX_PAYLOAD: usize = 64 * 1024;
/// Least time between two messages on one connection.
pub const PEX_INTERVAL: Duration = Duration::from_secs(60);
/// Messages arriving sooner than this after the previous one are ignored.
pub const MIN_RECEIVE_INTERVAL: Duration = Duration::from_secs(30);
/// Early messages (see [`MIN_RECEIVE_INTERVAL`]) tolerated in a row; one more is a
/// flood.
pub const MAX_EARLY_MESSAGES: u32 = 3;

/// Per-peer flags of `added.f` / `added6.f`. Unknown bits are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PexFlags(pub u8);

impl PexFlags {
    /// Prefers encrypted connections (MSE).
    pub const PREFERS_ENCRYPTION: PexFlags = PexFlags(0x01);
    /// Seed or upload-only.
    pub const SEED: PexFlags = PexFlags(0x02);
    /// Supports uTP (BEP 29).
    pub const SUPPORTS_UTP: PexFlags = PexFlags(0x04);
    /// Supports the holepunch extension (BEP 55).
    pub const SUPPORTS_HOLEPUNCH: PexFlags = PexFlags(0x08);
    /// We reached the peer with an outgoing connection.
    pub const REACHABLE: PexFlags = PexFlags(0x10);

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: PexFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for PexFlags {
    type Output = PexFlags;
    fn bitor(self, rhs: PexFlags) -> PexFlags {
        PexFlags(self.0 | rhs.0)
    }
}

/// A peer announced in a PEX message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PexPeer {
    /// Where the peer listens.
    pub addr: SocketAddr,
    /// What the sender knows about it.
    pub flags: PexFlags,
}

/// One `ut_pex` message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PexMessage {
    /// Peers connected since the last message (`added`, `added6`).
    pub added: Vec<PexPeer>,
    /// Peers disconnected since the last message (`dropped`, `dropped6`).
    pub dropped: Vec<SocketAddr>,
}

/// Why a `ut_pex` payload was refused. All variants are the sender's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PexError {
    /// Longer than any message we accept.
    #[error("ut_pex payload of {len} bytes exceeds {max}")]
    TooLarge {
        /// Length of the payload.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The payload is not valid bencode.
    #[error("ut_pex payload is not valid bencode: {0}")]
    Bencode(#[from] DecodeError),
    /// The payload's bencode is not a dictionary.
    #[error("ut_pex payload is not a dictionary")]
    NotADict,
    /// More than [`MAX_EARLY_MESSAGES`] messages in a row came sooner than
    /// [`MIN_RECEIVE_INTERVAL`] after the last one taken.
    #[error("ut_pex messages sent too often (more than {0} early in a row)")]
    TooFrequent(u32),
}

impl PexError {
    /// Whether the peer should be disconnected: a flood is deliberate; a malformed
    /// message alone is no reason to lose a peer that may be sending data.
    pub fn is_flood(&self) -> bool {
        matches!(self, PexError::TooFrequent(_))
    }
}

/// Parses whole compact entries of `width` bytes (6 or 18); a partial tail is ignored.
fn parse_compact(bytes: &[u8], width: usize) -> impl Iterator<Item = SocketAddr> + '_ {
    bytes.chunks_exact(width).filter_map(shoal_compact::decode)
}

impl PexMessage {
    /// Whether the message announces nothing.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.dropped.is_empty()
    }

    /// Encodes the extended-message payload (without the BEP 10 id byte). Entries are
    /// split by address family; caps are the caller's business ([`PexState`] keeps them).
    pub fn encode(&self) -> Vec<u8> {
        let mut lists: [Vec<u8>; 6] = Default::default();
        let [added, added_f, dropped, added6, added6_f, dropped6] = &mut lists;
        for peer in &self.added {
            let (list, flags) = if peer.addr.is_ipv4() {
                (&mut *added, &mut *added_f)
            } else {
                (&mut *added6, &mut *added6_f)
            };
            shoal_compact::encode_into(&peer.addr, list);
            flags.push(peer.flags.0);
        }
        for addr in &self.dropped {
            shoal_compact::encode_into(addr, if addr.is_ipv4() { dropped } else { dropped6 });
        }
        let mut d = OwnedValue::dict();
        let keys = [
            "added", "added.f", "dropped", "added6", "added6.f", "dropped6",
        ];
        for (key, list) in keys.into_iter().zip(lists) {
            d.insert(key, list);
        }
        d.encode()
    }

    /// Decodes a payload, keeping at most [`MAX_PEX_ENTRIES`] usable added and dropped
    /// peers (IPv4 before IPv6). Missing flags count as none.
    pub fn decode(payload: &[u8]) -> Result<Self, PexError> {
        if payload.len() > MAX_PEX_PAYLOAD {
            return Err(PexError::TooLarge {
                len: payload.len(),
                max: MAX_PEX_PAYLOAD,
            });
        }
        let opts = DecodeOptions {
            require_sorted_keys: false,
            ..DecodeOptions::default()
        };
        let (value, _) = shoal_bencode::decode_with(payload, &opts)?;
        let d = value.as_dict().ok_or(PexError::NotADict)?;
        let list = |key: &[u8]| d.get_bytes(key).unwrap_or_default();
        let mut msg = PexMessage::default();
        for (key, flags_key, width) in [
            (&b"added"[..], &b"added.f"[..], 6),
            (b"added6", b"added6.f", 18),
        ] {
            let flags = list(flags_key);
            let peers = parse_compact(list(key), width)
                .enumerate()
                .map(|(i, addr)| PexPeer {
                    addr,
                    flags: PexFlags(flags.get(i).copied().unwrap_or(0)),
                })
                .filter(|p| is_dialable(&p.addr));
            let room = MAX_PEX_ENTRIES - msg.added.len();
            msg.added.extend(peers.take(room));
        }
        for (key, width) in [(&b"dropped"[..], 6), (b"dropped6", 18)] {
            let room = MAX_PEX_ENTRIES - msg.dropped.len();
            let addrs = parse_compact(list(key), width).filter(is_dialable);
            msg.dropped.extend(addrs.take(room));
        }
        Ok(msg)
    }
}

/// PEX bookkeeping for one peer connection: what we told the peer so far and when.
#[derive(Debug, Clone)]
pub struct PexState {
    private: bool,
    exclude: Option<SocketAddr>,
    /// Peers the remote side currently believes we are connected to.
    advertised: BTreeSet<SocketAddr>,
    last_sent: Option<Instant>,
    last_received: Option<Instant>,
    /// Messages ignored since the last one taken because they came too soon.
    early: u32,
}

impl PexState {
    /// State for a connection of a torrent; `private` torrents never exchange peers.
    pub fn new(private: bool) -> Self {
        PexState {
            private,
            exclude: None,
            advertised: BTreeSet::new(),
            last_sent: None,
            last_received: None,
            early: 0,
        }
    }

    /// Never announces `addr` (the peer this connection is with) to itself.
    pub fn excluding(mut self, addr: SocketAddr) -> Self {
        self.exclude = Some(addr);
        self
    }

    /// The earliest instant (not before `now`) a message may be sent; `None` for a
    /// private torrent.
    pub fn next_due(&self, now: Instant) -> Option<Instant> {
        if self.private {
            return None;
        }
        let due = self
            .last_sent
            .and_then(|last| last.checked_add(PEX_INTERVAL));
        Some(due.map_or(now, |due| due.max(now)))
    }

    /// The next message for this connection given every peer we are connected to now,
    /// or `None` if the torrent is private, the last message was less than
    /// [`PEX_INTERVAL`] ago, or nothing changed. Peers beyond the per-message caps are
    /// left for later messages.
    pub fn poll_message(
        &mut self,
        now: Instant,
        connected: impl IntoIterator<Item = PexPeer>,
    ) -> Option<PexMessage> {
        if self.private {
            return None;
        }
        if let Some(last) = self.last_sent {
            if now.saturating_duration_since(last) < PEX_INTERVAL {
                return None;
            }
        }
        let current: BTreeMap<SocketAddr, PexFlags> = connected
            .into_iter()
            .filter(|p| is_dialable(&p.addr) && Some(p.addr) != self.exclude)
            .map(|p| (p.addr, p.flags))
            .collect();
        let added: Vec<PexPeer> = current
            .iter()
            .filter(|(addr, _)| !self.advertised.contains(addr))
            .take(MAX_PEX_ENTRIES)
            .map(|(&addr, &flags)| PexPeer { addr, flags })
            .collect();
        let dropped: Vec<SocketAddr> = self
            .advertised
            .iter()
            .filter(|addr| !current.contains_key(addr))
            .take(MAX_PEX_ENTRIES)
            .copied()
            .collect();
        let msg = PexMessage { added, dropped };
        if msg.is_empty() {
            return None;
        }
        for peer in &msg.added {
            self.advertised.insert(peer.addr);
        }
        for addr in &msg.dropped {
            self.advertised.remove(addr);
        }
        self.last_sent = Some(now);
        Some(msg)
    }

    /// Decodes a message received on this connection. `Ok(None)` if it must be ignored:
    /// the torrent is private or the peer sends faster than BEP 11 allows;
    /// [`PexError::TooFrequent`] once it keeps doing so (see the module docs).
    pub fn handle_message(
        &mut self,
        payload: &[u8],
        now: Instant,
    ) -> Result<Option<PexMessage>, PexError> {
        if self.private {
            return Ok(None);
        }
        if let Some(last) = self.last_received {
            if now.saturating_duration_since(last) < MIN_RECEIVE_INTERVAL {
                self.early += 1;
                if self.early > MAX_EARLY_MESSAGES {
                    return Err(PexError::TooFrequent(MAX_EARLY_MESSAGES));
                }
                return Ok(None);
            }
        }
        self.early = 0;
        self.last_received = Some(now);
        Ok(Some(PexMessage::decode(payload)?))
    }
}

#[cfg(test)]
#[path = "pex_tests.rs"]
mod tests;
