//! The per-connection peer wire state machine (`PeerConnection`) after a valid
//! handshake, driven by a fake clock: arbitrary received bytes and well-formed
//! messages interleaved with the engine's commands and timer ticks. Checks that events
//! only report what the protocol allows (blocks we asked for, requests inside the
//! torrent for pieces we announced) and that queues stay within their caps.
#![no_main]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use shoal_fuzz::peer::{Begin, Blk, Input, Layout, Length, Op, PeerMsg, PieceLength};
use shoal_wire::{
    Bitfield, BlockRef, ConnectionConfig, Message, PeerConnection, PeerEvent, BLOCK_SIZE,
    MAX_REQUEST_LEN,
};

fn resolve(layout: Layout) -> (u32, u32, u64) {
    let n = u32::from(layout.pieces % 4096);
    let pl = match layout.piece_length {
        PieceLength::Block => BLOCK_SIZE,
        PieceLength::TwoBlocks => 2 * BLOCK_SIZE,
        PieceLength::Mib => 1 << 20,
        PieceLength::Odd(x) => u32::from(x).max(1),
    };
    let last = 1 + u64::from(layout.last_piece_extra % pl);
    let total = u64::from(n.saturating_sub(1)) * u64::from(pl) + last;
    (n, pl, if n == 0 { 0 } else { total })
}

fn begin(b: Begin) -> u32 {
    match b {
        Begin::Block(i) => u32::from(i) * BLOCK_SIZE,
        Begin::Raw(x) => x,
    }
}

fn block(b: Blk) -> BlockRef {
    BlockRef {
        piece: u32::from(b.piece),
        begin: begin(b.begin),
        length: match b.length {
            Length::Block => BLOCK_SIZE,
            Length::Small(x) => u32::from(x),
            Length::Raw(x) => x,
        },
    }
}

fn message(m: &PeerMsg) -> Message {
    match m {
        PeerMsg::KeepAlive => Message::KeepAlive,
        PeerMsg::Choke => Message::Choke,
        PeerMsg::Unchoke => Message::Unchoke,
        PeerMsg::Interested => Message::Interested,
        PeerMsg::NotInterested => Message::NotInterested,
        PeerMsg::Have(i) => Message::Have(u32::from(*i)),
        PeerMsg::Bitfield(b) => Message::Bitfield(Bytes::copy_from_slice(b)),
        PeerMsg::Request(b) => Message::Request(block(*b)),
        PeerMsg::Piece {
            piece,
            begin: b,
            len,
        } => Message::Piece {
            piece: u32::from(*piece),
            begin: begin(*b),
            data: Bytes::from(vec![0u8; usize::from(*len)]),
        },
        PeerMsg::Cancel(b) => Message::Cancel(block(*b)),
        PeerMsg::Port(p) => Message::Port(*p),
        PeerMsg::Suggest(i) => Message::Suggest(u32::from(*i)),
        PeerMsg::HaveAll => Message::HaveAll,
        PeerMsg::HaveNone => Message::HaveNone,
        PeerMsg::Reject(b) => Message::Reject(block(*b)),
        PeerMsg::AllowedFast(i) => Message::AllowedFast(u32::from(*i)),
        PeerMsg::Extended { id, payload } => Message::Extended {
            id: *id,
            payload: Bytes::copy_from_slice(payload),
        },
    }
}

struct Harness {
    conn: PeerConnection,
    now: Instant,
    buf: BytesMut,
    /// Peer requests reported and not yet answered by us.
    peer_requests: Vec<BlockRef>,
}

impl Harness {
    fn drain(&mut self, requested_before: &HashSet<BlockRef>) {
        let cfg = self.conn.config().clone();
        while let Some(ev) = self.conn.poll_event() {
            match ev {
                PeerEvent::Block { block, data } => {
                    assert_eq!(block.length as usize, data.len());
                    assert!(
                        requested_before.contains(&block),
                        "unrequested block reported: {block:?}"
                    );
                    assert!(!self.conn.is_outstanding(&block));
                }
                PeerEvent::Request(b) => {
                    if cfg.num_pieces != 0 {
                        let size = cfg.piece_size(b.piece).expect("request in range");
                        assert!(b.length > 0 && b.length <= MAX_REQUEST_LEN);
                        assert!(u64::from(b.begin) + u64::from(b.length) <= u64::from(size));
                        assert!(self.conn.our_pieces().get(b.piece as usize));
                    }
                    // (A cancel in the same read may already have withdrawn it.)
                    self.peer_requests.push(b);
                }
                PeerEvent::Have(i) | PeerEvent::AllowedFast(i) | PeerEvent::Suggest(i) => {
                    assert!(i < cfg.num_pieces, "piece index {i} out of range");
                }
                PeerEvent::Cancel(b) => {
                    assert!(
                        self.peer_requests.contains(&b),
                        "cancel of {b:?} not reported"
                    );
                    self.peer_requests.retain(|r| *r != b);
                }
                _ => {}
            }
        }
        let np = cfg.num_pieces as usize;
        assert_eq!(self.conn.peer_pieces().len(), np);
        assert!(self.conn.outstanding() <= cfg.max_request_depth);
        assert!(self.conn.peer_requests_pending() <= cfg.max_peer_requests);
        assert!(self.conn.request_depth() >= 1);
        let _ = self.conn.request_capacity();
        let _ = self.conn.poll_timeout();
        // The engine writes everything out between steps.
        let out = self.conn.output().split();
        let mut out = out;
        // Our own output must be well-formed frames.
        let reader = shoal_wire::FrameReader::new(u32::MAX);
        while let Some(frame) = reader.next_frame(&mut out).expect("own output frames") {
            assert!(Message::decode(frame).is_ok(), "own output decodes");
        }
        assert!(out.is_empty(), "own output ends on a frame boundary");
    }

    fn input(&mut self, bytes: &[u8]) -> bool {
        let before: HashSet<BlockRef> = self.conn.outstanding_blocks().collect();
        self.buf.extend_from_slice(bytes);
        let ok = self.conn.handle_input(&mut self.buf, self.now).is_ok();
        // After an error the engine closes the connection: nothing more to check.
        if ok {
            self.drain(&before);
        }
        ok
    }

    fn advance(&mut self, d: Duration) -> bool {
        self.now += d;
        let before: HashSet<BlockRef> = self.conn.outstanding_blocks().collect();
        let ok = self.conn.handle_timeout(self.now).is_ok();
        if ok {
            self.drain(&before);
        }
        ok
    }

    fn pick<T: Copy>(list: &[T], i: u16) -> Option<T> {
        (!list.is_empty()).then(|| list[usize::from(i) % list.len()])
    }
}

fuzz_target!(|data: &[u8]| {
    let input = Input::read(data);
    let (n, pl, total) = resolve(input.layout);
    let mut cfg = ConnectionConfig::new(n, pl, total);
    cfg.fast = input.fast;
    cfg.extensions = input.extensions;
    if input.short_timers {
        cfg.keepalive_interval = Duration::from_millis(500);
        cfg.idle_timeout = Duration::from_secs(5);
        cfg.request_timeout = Duration::from_secs(1);
        cfg.max_request_depth = 16;
        cfg.max_peer_requests = 8;
    }
    let now = Instant::now();
    let mut h = Harness {
        conn: PeerConnection::new(cfg, now),
        now,
        buf: BytesMut::new(),
        peer_requests: Vec::new(),
    };
    let empty = HashSet::new();
    for op in &input.ops {
        let alive = match op {
            Op::Bytes(b) => h.input(b),
            Op::Messages(msgs) => {
                let mut bytes = BytesMut::new();
                for m in msgs {
                    message(m).encode(&mut bytes);
                }
                h.input(&bytes)
            }
            Op::Serve(i) => {
                let out: Vec<BlockRef> = h.conn.outstanding_blocks().collect();
                match Harness::pick(&out, *i) {
                    Some(b) if b.length <= MAX_REQUEST_LEN => {
                        let mut bytes = BytesMut::new();
                        Message::Piece {
                            piece: b.piece,
                            begin: b.begin,
                            data: Bytes::from(vec![7u8; b.length as usize]),
                        }
                        .encode(&mut bytes);
                        h.input(&bytes)
                    }
                    _ => true,
                }
            }
            Op::Advance(ms) => h.advance(Duration::from_millis(u64::from(*ms))),
            Op::AdvanceSecs(s) => h.advance(Duration::from_secs(u64::from(*s) * 4)),
            Op::Request(b) => {
                h.conn.request(block(*b), h.now);
                h.drain(&empty);
                true
            }
            Op::RequestValid { piece, block } => {
                let cfg = h.conn.config().clone();
                if cfg.num_pieces > 0 {
                    let piece = u32::from(*piece) % cfg.num_pieces;
                    let size = cfg.piece_size(piece).unwrap_or(0);
                    let begin = (u32::from(*block) * BLOCK_SIZE) % size.max(1);
                    let length = (size - begin).min(BLOCK_SIZE);
                    if length > 0 {
                        h.conn.request(
                            BlockRef {
                                piece,
                                begin,
                                length,
                            },
                            h.now,
                        );
                    }
                }
                h.drain(&empty);
                true
            }
            Op::Cancel(i) => {
                let out: Vec<BlockRef> = h.conn.outstanding_blocks().collect();
                if let Some(b) = Harness::pick(&out, *i) {
                    h.conn.cancel(b);
                }
                h.drain(&empty);
                true
            }
            Op::RejectPeerRequest(i) => {
                if let Some(b) = Harness::pick(&h.peer_requests, *i) {
                    h.peer_requests.retain(|r| *r != b);
                    h.conn.reject(b);
                }
                h.drain(&empty);
                true
            }
            Op::ServePeerRequest(i) => {
                if let Some(b) = Harness::pick(&h.peer_requests, *i) {
                    h.peer_requests.retain(|r| *r != b);
                    if h.conn.peer_request_pending(&b) {
                        h.conn
                            .send_block_data(b, &vec![1u8; b.length as usize])
                            .expect("matching length");
                    }
                }
                h.drain(&empty);
                true
            }
            Op::Choke => {
                h.conn.choke();
                h.peer_requests.retain(|b| h.conn.peer_request_pending(b));
                h.drain(&empty);
                true
            }
            Op::Unchoke => {
                h.conn.unchoke();
                h.drain(&empty);
                true
            }
            Op::Interested(yes) => {
                h.conn.set_interested(*yes);
                h.drain(&empty);
                true
            }
            Op::SendBitfield { all, bits } => {
                let np = h.conn.config().num_pieces as usize;
                let mut bf = Bitfield::new(np);
                if *all {
                    bf.set_all();
                } else {
                    for (i, byte) in bits.iter().enumerate() {
                        for bit in 0..8 {
                            if byte & (0x80 >> bit) != 0 {
                                bf.set(i * 8 + bit);
                            }
                        }
                    }
                }
                h.conn.send_bitfield(&bf);
                h.drain(&empty);
                true
            }
            Op::SendHave(p) => {
                h.conn.send_have(u32::from(*p));
                h.drain(&empty);
                true
            }
            Op::AllowFast(p) => {
                h.conn.send_allowed_fast(u32::from(*p));
                h.drain(&empty);
                true
            }
            Op::Suggest(p) => {
                h.conn.send_suggest(u32::from(*p));
                h.drain(&empty);
                true
            }
            Op::Extended { id, payload } => {
                h.conn.send_extended(*id, payload);
                h.drain(&empty);
                true
            }
            Op::Port(p) => {
                h.conn.send_port(*p);
                h.drain(&empty);
                true
            }
            Op::SetLayout(layout) => {
                let (n, pl, total) = resolve(*layout);
                let ok = h.conn.set_torrent_layout(n, pl, total).is_ok();
                if ok {
                    h.drain(&empty);
                }
                ok
            }
            Op::TakeOutstanding => {
                let before = h.conn.outstanding();
                assert_eq!(h.conn.take_outstanding().len(), before);
                assert_eq!(h.conn.outstanding(), 0);
                h.drain(&empty);
                true
            }
        };
        if !alive {
            // Any error means the engine closes the connection.
            return;
        }
    }
});
