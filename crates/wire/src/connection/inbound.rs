//! Handling of each message received from the peer: validation against the torrent
//! layout and negotiated extensions, state updates and events.

use bytes::Bytes;

use super::{
    PeerConnection, PeerError, PeerEvent, MAX_ALLOWED_FAST, MAX_PENDING_HAVES, MAX_REJECT_BACKLOG,
    SLOW_START, UNREQUESTED_LIMIT,
};
use crate::message::id;
use crate::{Bitfield, BlockRef, ExtensionHandshake, Message, MAX_REQUEST_LEN};

impl PeerConnection {
    pub(super) fn on_message(&mut self, msg: Message) -> Result<(), PeerError> {
        // Only these may precede the bitfield (BEP 10 allows the extension handshake
        // first; `port` is harmless).
        if !matches!(
            msg,
            Message::KeepAlive | Message::Extended { .. } | Message::Port(_)
        ) {
            let first = !self.peer_started;
            self.peer_started = true;
            if !first {
                // Some clients (aria2) send a fresh bitfield later instead of a run of
                // `have`s: take it as an update that can only add pieces.
                match msg {
                    Message::Bitfield(raw) if self.layout_known() => {
                        return self.on_late_bitfield(&raw)
                    }
                    Message::HaveAll if self.layout_known() => {
                        self.require_fast("have all")?;
                        let all = Bitfield::full(self.cfg.num_pieces as usize);
                        return self.on_late_bitfield(all.as_bytes());
                    }
                    Message::HaveNone => return self.require_fast("have none"),
                    _ => {}
                }
            }
        }
        match msg {
            Message::KeepAlive => {}
            Message::Choke => self.on_choke(),
            Message::Unchoke => {
                if self.peer_choking {
                    self.peer_choking = false;
                    // Restart slow start after an idle spell, like TCP.
                    if self.outstanding.len() == 0 {
                        self.slow_start = true;
                        self.slow_start_depth = self.slow_start_depth.max(self.request_depth());
                        self.slow_start_end = None;
                    }
                    self.events.push_back(PeerEvent::Unchoked);
                }
            }
            Message::Interested => {
                if !self.peer_interested {
                    self.peer_interested = true;
                    self.note_interest();
                    self.events.push_back(PeerEvent::Interested);
                }
            }
            Message::NotInterested => {
                if self.peer_interested {
                    self.peer_interested = false;
                    self.note_interest();
                    self.events.push_back(PeerEvent::NotInterested);
                }
            }
            Message::Have(i) => self.on_have(i)?,
            Message::Bitfield(raw) => self.on_bitfield(raw)?,
            Message::HaveAll => {
                self.require_fast("have all")?;
                if self.layout_known() {
                    self.peer_pieces.set_all();
                } else {
                    self.pending.have_all = true;
                }
                self.events.push_back(PeerEvent::HaveAll);
            }
            Message::HaveNone => {
                self.require_fast("have none")?;
                self.events.push_back(PeerEvent::HaveNone);
            }
            Message::Request(b) => self.on_request(b)?,
            Message::Piece { piece, begin, data } => self.on_piece(piece, begin, data)?,
            Message::Cancel(b) => {
                if self.peer_requests.remove(&b) {
                    // BEP 6: every request gets exactly one answer, even when cancelled.
                    if self.cfg.fast {
                        self.write(&Message::Reject(b));
                    }
                    self.events.push_back(PeerEvent::Cancel(b));
                }
            }
            Message::Reject(b) => {
                self.require_fast("reject")?;
                if self.outstanding.remove(&b) {
                    self.events.push_back(PeerEvent::Rejected(b));
                }
            }
            Message::AllowedFast(i) => {
                self.require_fast("allowed fast")?;
                if self.layout_known() {
                    self.check_index(i)?;
                    if !self.peer_allowed_fast.contains(&i)
                        && self.peer_allowed_fast.len() < MAX_ALLOWED_FAST
                    {
                        self.peer_allowed_fast.push(i);
                        self.events.push_back(PeerEvent::AllowedFast(i));
                    }
                }
            }
            Message::Suggest(i) => {
                self.require_fast("suggest")?;
                if self.layout_known() {
                    self.check_index(i)?;
                    self.events.push_back(PeerEvent::Suggest(i));
                }
            }
            Message::Port(p) => self.events.push_back(PeerEvent::Port(p)),
            Message::Extended { id, payload } => self.on_extended(id, payload)?,
        }
        Ok(())
    }

    fn require_fast(&self, what: &'static str) -> Result<(), PeerError> {
        if self.cfg.fast {
            Ok(())
        } else {
            Err(PeerError::FastMessageWithoutFast(what))
        }
    }

    fn check_index(&self, i: u32) -> Result<(), PeerError> {
        if i < self.cfg.num_pieces {
            Ok(())
        } else {
            Err(PeerError::InvalidPieceIndex(i))
        }
    }

    fn on_choke(&mut self) {
        if self.peer_choking {
            return;
        }
        self.peer_choking = true;
        // With the fast extension the peer rejects pending requests explicitly.
        let dropped = if self.cfg.fast {
            Vec::new()
        } else {
            self.take_outstanding()
        };
        self.events.push_back(PeerEvent::Choked { dropped });
    }

    fn on_have(&mut self, i: u32) -> Result<(), PeerError> {
        if !self.layout_known() {
            if self.pending.haves.len() < MAX_PENDING_HAVES {
                self.pending.haves.push(i);
            }
            return Ok(());
        }
        self.check_index(i)?;
        if self.peer_pieces.set(i as usize) {
            self.events.push_back(PeerEvent::Have(i));
        }
        Ok(())
    }

    fn on_bitfield(&mut self, raw: Bytes) -> Result<(), PeerError> {
        if !self.layout_known() {
            self.pending.bitfield = Some(raw);
            return Ok(());
        }
        self.peer_pieces = Bitfield::from_payload(&raw, self.cfg.num_pieces as usize)?;
        self.events.push_back(PeerEvent::Bitfield);
        Ok(())
    }

    /// A bitfield after the first message: every newly set piece counts as a `have`;
    /// pieces are never taken away.
    fn on_late_bitfield(&mut self, raw: &[u8]) -> Result<(), PeerError> {
        let update = Bitfield::from_payload(raw, self.cfg.num_pieces as usize)?;
        for i in update.iter_ones() {
            if self.peer_pieces.set(i) {
                self.events.push_back(PeerEvent::Have(i as u32));
            }
        }
        Ok(())
    }

    fn on_request(&mut self, b: BlockRef) -> Result<(), PeerError> {
        if self.layout_known() {
            let size = self
                .cfg
                .piece_size(b.piece)
                .ok_or(PeerError::InvalidRequest(b))?;
            let end = u64::from(b.begin) + u64::from(b.length);
            if b.length == 0 || b.length > MAX_REQUEST_LEN || end > u64::from(size) {
                return Err(PeerError::InvalidRequest(b));
            }
        }
        let allowed = self.our_pieces.get(b.piece as usize)
            && (!self.am_choking || self.our_allowed_fast.contains(&b.piece));
        if !allowed {
            if self.cfg.fast {
                // A peer that keeps asking while refused and never reads our rejects
                // would grow the output without bound.
                if self.out.len() >= MAX_REJECT_BACKLOG {
                    return Err(PeerError::RequestFlood {
                        limit: self.cfg.max_peer_requests,
                    });
                }
                self.write(&Message::Reject(b));
            }
            return Ok(());
        }
        if self.peer_requests.contains(&b) {
            return Ok(());
        }
        if self.peer_requests.len() >= self.cfg.max_peer_requests {
            return Err(PeerError::RequestFlood {
                limit: self.cfg.max_peer_requests,
            });
        }
        self.peer_requests.insert(b);
        self.events.push_back(PeerEvent::Request(b));
        Ok(())
    }

    fn on_piece(&mut self, piece: u32, begin: u32, data: Bytes) -> Result<(), PeerError> {
        // The frame limit keeps `data` far below 4 GiB.
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let block = BlockRef {
            piece,
            begin,
            length: len,
        };
        if !self.outstanding.remove(&block) {
            let excused = self.unrequested_allowance.min(u64::from(len));
            self.unrequested_allowance -= excused;
            self.unrequested_excess += u64::from(len) - excused;
            if self.unrequested_excess > UNREQUESTED_LIMIT {
                return Err(PeerError::TooManyUnrequested {
                    bytes: self.unrequested_excess,
                });
            }
            return Ok(());
        }
        let now = self.now;
        self.down.add(u64::from(len), now);
        self.last_block = now;
        self.snubbed = false;
        if self.slow_start {
            let end = *self.slow_start_end.get_or_insert(now + SLOW_START);
            if now >= end {
                self.slow_start = false;
            } else {
                self.slow_start_depth =
                    (self.slow_start_depth + 1).min(self.cfg.max_request_depth.max(1));
            }
        }
        self.events.push_back(PeerEvent::Block { block, data });
        Ok(())
    }

    fn on_extended(&mut self, ext_id: u8, payload: Bytes) -> Result<(), PeerError> {
        if !self.cfg.extensions {
            return Err(PeerError::ExtendedWithoutExtensions);
        }
        if ext_id != 0 {
            self.events.push_back(PeerEvent::Extended {
                id: ext_id,
                payload,
            });
            return Ok(());
        }
        let (hs, disabled) = ExtensionHandshake::decode_update(&payload)?;
        match &mut self.peer_ext {
            Some(old) => old.merge(hs, &disabled),
            None => self.peer_ext = Some(hs),
        }
        self.events.push_back(PeerEvent::ExtensionHandshake);
        Ok(())
    }

    /// Appends a message to the output and notes the time for keep-alives.
    pub(super) fn write(&mut self, msg: &Message) {
        msg.encode(&mut self.out);
        self.last_sent = self.now;
        if !matches!(msg.id(), None | Some(id::EXTENDED) | Some(id::PORT)) {
            self.we_started = true;
        }
    }
}
