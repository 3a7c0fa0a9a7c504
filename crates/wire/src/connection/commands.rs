//! Commands from the engine: each appends the corresponding message to the output and
//! updates state. Commands that would change nothing send nothing.

use std::time::Instant;

use bytes::BufMut;

use super::PeerConnection;
use crate::message::{id, put_header, PIECE_HEADER_LEN};
use crate::{Bitfield, BlockRef, ExtensionHandshake, Message};

impl PeerConnection {
    /// Announces our pieces; must be our first message (an extension handshake may
    /// precede it). With the fast extension, all/none become `have all`/`have none`;
    /// without it, an empty set sends nothing. Only the first call counts. If other
    /// messages were already sent, falls back to `have` messages.
    pub fn send_bitfield(&mut self, have: &Bitfield) {
        if self.sent_bitfield {
            return;
        }
        self.sent_bitfield = true;
        let n = self.cfg.num_pieces as usize;
        let mut ours = if have.len() == n {
            have.clone()
        } else {
            Bitfield::new(n)
        };
        if have.len() != n {
            have.iter_ones().filter(|&i| i < n).for_each(|i| {
                ours.set(i);
            });
        }
        if self.we_started {
            for i in ours.iter_ones() {
                self.send_have(i as u32);
            }
            return;
        }
        self.our_pieces = ours;
        if self.cfg.fast && self.our_pieces.count_ones() == 0 {
            self.write(&Message::HaveNone);
        } else if self.cfg.fast && self.our_pieces.is_full() {
            self.write(&Message::HaveAll);
        } else if self.our_pieces.count_ones() > 0 {
            let bytes = self.our_pieces.as_bytes();
            put_header(&mut self.out, id::BITFIELD, bytes.len());
            self.out.put_slice(bytes);
            self.last_sent = self.now;
            self.we_started = true;
        }
    }

    /// Announces a newly verified piece (ignored if out of range or already announced).
    pub fn send_have(&mut self, piece: u32) {
        if piece < self.cfg.num_pieces && self.our_pieces.set(piece as usize) {
            self.write(&Message::Have(piece));
        }
    }

    /// Chokes the peer. Its pending requests are dropped (with the fast extension,
    /// rejected, except for our allowed-fast pieces); drop your queue of them too
    /// (check [`PeerConnection::peer_request_pending`]).
    pub fn choke(&mut self) {
        if self.am_choking {
            return;
        }
        self.am_choking = true;
        self.write(&Message::Choke);
        if self.cfg.fast {
            let allowed = std::mem::take(&mut self.our_allowed_fast);
            let mut keep = std::mem::take(&mut self.peer_requests);
            for b in keep.iter().filter(|b| !allowed.contains(&b.piece)) {
                Message::Reject(*b).encode(&mut self.out);
            }
            keep.retain(|b| allowed.contains(&b.piece));
            self.peer_requests = keep;
            self.our_allowed_fast = allowed;
        } else {
            self.peer_requests.clear();
        }
    }

    /// Unchokes the peer (sends `unchoke` unless it is unchoked already).
    pub fn unchoke(&mut self) {
        if self.am_choking {
            self.am_choking = false;
            self.write(&Message::Unchoke);
        }
    }

    /// Tells the peer whether we are interested (sends the message on a change only).
    pub fn set_interested(&mut self, yes: bool) {
        if self.am_interested != yes {
            self.am_interested = yes;
            self.note_interest();
            self.write(if yes {
                &Message::Interested
            } else {
                &Message::NotInterested
            });
        }
    }

    /// Requests a block and tracks it as outstanding. Returns false (sending nothing)
    /// if it is already outstanding, `max_request_depth` is reached, or the peer
    /// chokes us and the piece is not allowed-fast. Size the batch with
    /// [`PeerConnection::request_capacity`].
    pub fn request(&mut self, block: BlockRef, now: Instant) -> bool {
        self.tick(now);
        let allowed =
            !self.peer_choking || (self.cfg.fast && self.peer_allowed_fast.contains(&block.piece));
        if !allowed || self.outstanding.len() >= self.cfg.max_request_depth {
            return false;
        }
        if !self.outstanding.insert(block, self.now) {
            return false;
        }
        self.write(&Message::Request(block));
        true
    }

    /// Cancels an outstanding request (no-op if it is not outstanding). Its data may
    /// still arrive; it is then ignored.
    pub fn cancel(&mut self, block: BlockRef) {
        if self.outstanding.remove(&block) {
            self.excuse(block.length);
            self.write(&Message::Cancel(block));
        }
    }

    /// Refuses a request of the peer's: forgets it, and sends `reject` if the fast
    /// extension is on.
    pub fn reject(&mut self, block: BlockRef) {
        self.peer_requests.remove(&block);
        if self.cfg.fast {
            self.write(&Message::Reject(block));
        }
    }

    /// Sends a block: reserves the frame in the output and lets `fill` write the
    /// `block.length` data bytes in place (e.g. a `pread`). On `Err` nothing is sent.
    pub fn send_block(
        &mut self,
        block: BlockRef,
        fill: impl FnOnce(&mut [u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let start = self.out.len();
        let len = block.length as usize;
        self.out.reserve(PIECE_HEADER_LEN + len);
        put_header(&mut self.out, id::PIECE, 8 + len);
        self.out.put_u32(block.piece);
        self.out.put_u32(block.begin);
        self.out.resize(start + PIECE_HEADER_LEN + len, 0);
        if let Err(e) = fill(&mut self.out[start + PIECE_HEADER_LEN..]) {
            self.out.truncate(start);
            return Err(e);
        }
        self.peer_requests.remove(&block);
        self.up.add(u64::from(block.length), self.now);
        self.last_sent = self.now;
        self.we_started = true;
        Ok(())
    }

    /// Sends only the 13-byte header of a `piece` message for `block` and accounts the
    /// upload as if the block were sent. The caller must put exactly `block.length`
    /// payload bytes on the stream right after these output bytes (e.g. with
    /// `sendfile`), before any later output.
    pub fn send_block_header(&mut self, block: BlockRef) {
        put_header(&mut self.out, id::PIECE, 8 + block.length as usize);
        self.out.put_u32(block.piece);
        self.out.put_u32(block.begin);
        self.peer_requests.remove(&block);
        self.up.add(u64::from(block.length), self.now);
        self.last_sent = self.now;
        self.we_started = true;
    }

    /// [`PeerConnection::send_block`] from a buffer; `data.len()` must equal
    /// `block.length` (otherwise `InvalidInput` and nothing is sent).
    pub fn send_block_data(&mut self, block: BlockRef, data: &[u8]) -> std::io::Result<()> {
        self.send_block(block, |buf| {
            if buf.len() != data.len() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "block data length differs from the block's length",
                ));
            }
            buf.copy_from_slice(data);
            Ok(())
        })
    }

    /// Lets the peer request `piece` while choked (fast extension only; once per piece).
    pub fn send_allowed_fast(&mut self, piece: u32) {
        if self.cfg.fast && piece < self.cfg.num_pieces && !self.our_allowed_fast.contains(&piece) {
            self.our_allowed_fast.push(piece);
            self.write(&Message::AllowedFast(piece));
        }
    }

    /// Suggests a piece (fast extension only).
    pub fn send_suggest(&mut self, piece: u32) {
        if self.cfg.fast && piece < self.cfg.num_pieces {
            self.write(&Message::Suggest(piece));
        }
    }

    /// Sends our BEP 10 handshake (extension protocol only).
    pub fn send_extension_handshake(&mut self, hs: &ExtensionHandshake) {
        if self.cfg.extensions {
            let payload = hs.encode();
            self.send_extended(0, &payload);
        }
    }

    /// Sends an extension message under the PEER's id for it (from
    /// `peer_extensions().m`); extension protocol only.
    pub fn send_extended(&mut self, ext_id: u8, payload: &[u8]) {
        if self.cfg.extensions {
            put_header(&mut self.out, id::EXTENDED, 1 + payload.len());
            self.out.put_u8(ext_id);
            self.out.put_slice(payload);
            self.last_sent = self.now;
        }
    }

    /// Sends our DHT port (BEP 5).
    pub fn send_port(&mut self, port: u16) {
        self.write(&Message::Port(port));
    }
}
