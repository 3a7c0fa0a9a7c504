//! Input model of the `peer_connection` target: the connection's setup and a list of
//! operations (bytes or messages from the peer, engine commands, time passing).

use crate::script::{Reader, Writer};

/// Most operations run per input.
pub const MAX_OPS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceLength {
    Block,
    TwoBlocks,
    Mib,
    Odd(u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// `pieces % 4096`; 0 means the metadata is not known yet (magnet).
    pub pieces: u16,
    pub piece_length: PieceLength,
    pub last_piece_extra: u32,
}

impl Layout {
    fn read(r: &mut Reader) -> Self {
        let pieces = r.u16();
        let piece_length = match r.tag(4) {
            0 => PieceLength::Block,
            1 => PieceLength::TwoBlocks,
            2 => PieceLength::Mib,
            _ => PieceLength::Odd(r.u16()),
        };
        Layout {
            pieces,
            piece_length,
            last_piece_extra: r.u32(),
        }
    }

    fn write(&self, w: &mut Writer) {
        w.u16(self.pieces);
        match self.piece_length {
            PieceLength::Block => w.tag(0),
            PieceLength::TwoBlocks => w.tag(1),
            PieceLength::Mib => w.tag(2),
            PieceLength::Odd(x) => w.tag(3).u16(x),
        };
        w.u32(self.last_piece_extra);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Block index × 16 KiB.
    Block(u8),
    Raw(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Block,
    Small(u16),
    Raw(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blk {
    pub piece: u16,
    pub begin: Begin,
    pub length: Length,
}

impl Begin {
    fn read(r: &mut Reader) -> Self {
        match r.tag(2) {
            0 => Begin::Block(r.u8()),
            _ => Begin::Raw(r.u32()),
        }
    }

    fn write(&self, w: &mut Writer) {
        match *self {
            Begin::Block(i) => w.tag(0).u8(i),
            Begin::Raw(x) => w.tag(1).u32(x),
        };
    }
}

impl Blk {
    fn read(r: &mut Reader) -> Self {
        let piece = r.u16();
        let begin = Begin::read(r);
        let length = match r.tag(3) {
            0 => Length::Block,
            1 => Length::Small(r.u16()),
            _ => Length::Raw(r.u32()),
        };
        Blk {
            piece,
            begin,
            length,
        }
    }

    fn write(&self, w: &mut Writer) {
        w.u16(self.piece);
        self.begin.write(w);
        match self.length {
            Length::Block => w.tag(0),
            Length::Small(x) => w.tag(1).u16(x),
            Length::Raw(x) => w.tag(2).u32(x),
        };
    }
}

/// A well-formed message from the peer (its fields may still be out of range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerMsg {
    KeepAlive,
    Choke,
    Unchoke,
    Interested,
    NotInterested,
    Have(u16),
    Bitfield(Vec<u8>),
    Request(Blk),
    /// `len` zero bytes of data for a block that may not have been requested.
    Piece {
        piece: u16,
        begin: Begin,
        len: u16,
    },
    Cancel(Blk),
    Port(u16),
    Suggest(u16),
    HaveAll,
    HaveNone,
    Reject(Blk),
    AllowedFast(u16),
    Extended {
        id: u8,
        payload: Vec<u8>,
    },
}

impl PeerMsg {
    fn read(r: &mut Reader) -> Self {
        match r.tag(17) {
            0 => PeerMsg::KeepAlive,
            1 => PeerMsg::Choke,
            2 => PeerMsg::Unchoke,
            3 => PeerMsg::Interested,
            4 => PeerMsg::NotInterested,
            5 => PeerMsg::Have(r.u16()),
            6 => PeerMsg::Bitfield(r.bytes().to_vec()),
            7 => PeerMsg::Request(Blk::read(r)),
            8 => PeerMsg::Piece {
                piece: r.u16(),
                begin: Begin::read(r),
                len: r.u16(),
            },
            9 => PeerMsg::Cancel(Blk::read(r)),
            10 => PeerMsg::Port(r.u16()),
            11 => PeerMsg::Suggest(r.u16()),
            12 => PeerMsg::HaveAll,
            13 => PeerMsg::HaveNone,
            14 => PeerMsg::Reject(Blk::read(r)),
            15 => PeerMsg::AllowedFast(r.u16()),
            _ => PeerMsg::Extended {
                id: r.u8(),
                payload: r.bytes().to_vec(),
            },
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            PeerMsg::KeepAlive => w.tag(0),
            PeerMsg::Choke => w.tag(1),
            PeerMsg::Unchoke => w.tag(2),
            PeerMsg::Interested => w.tag(3),
            PeerMsg::NotInterested => w.tag(4),
            PeerMsg::Have(i) => w.tag(5).u16(*i),
            PeerMsg::Bitfield(b) => w.tag(6).bytes(b),
            PeerMsg::Request(b) => {
                w.tag(7);
                b.write(w);
                w
            }
            PeerMsg::Piece { piece, begin, len } => {
                w.tag(8).u16(*piece);
                begin.write(w);
                w.u16(*len)
            }
            PeerMsg::Cancel(b) => {
                w.tag(9);
                b.write(w);
                w
            }
            PeerMsg::Port(p) => w.tag(10).u16(*p),
            PeerMsg::Suggest(i) => w.tag(11).u16(*i),
            PeerMsg::HaveAll => w.tag(12),
            PeerMsg::HaveNone => w.tag(13),
            PeerMsg::Reject(b) => {
                w.tag(14);
                b.write(w);
                w
            }
            PeerMsg::AllowedFast(i) => w.tag(15).u16(*i),
            PeerMsg::Extended { id, payload } => w.tag(16).u8(*id).bytes(payload),
        };
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Raw bytes from the socket.
    Bytes(Vec<u8>),
    /// Encoded messages from the socket, delivered in one read (at most 16).
    Messages(Vec<PeerMsg>),
    /// The peer answers our `n`-th outstanding request with exactly that block.
    Serve(u16),
    /// Time passes (milliseconds); the timer fires.
    Advance(u16),
    /// Time passes (units of 4 s); the timer fires.
    AdvanceSecs(u8),
    Request(Blk),
    /// Request a block inside the torrent.
    RequestValid {
        piece: u16,
        block: u8,
    },
    Cancel(u16),
    RejectPeerRequest(u16),
    ServePeerRequest(u16),
    Choke,
    Unchoke,
    Interested(bool),
    SendBitfield {
        all: bool,
        bits: Vec<u8>,
    },
    SendHave(u16),
    AllowFast(u16),
    Suggest(u16),
    Extended {
        id: u8,
        payload: Vec<u8>,
    },
    Port(u16),
    SetLayout(Layout),
    TakeOutstanding,
}

impl Op {
    fn read(r: &mut Reader) -> Self {
        match r.tag(21) {
            0 => Op::Bytes(r.bytes().to_vec()),
            1 => {
                let n = r.u8() % 17;
                Op::Messages((0..n).map(|_| PeerMsg::read(r)).collect())
            }
            2 => Op::Serve(r.u16()),
            3 => Op::Advance(r.u16()),
            4 => Op::AdvanceSecs(r.u8()),
            5 => Op::Request(Blk::read(r)),
            6 => Op::RequestValid {
                piece: r.u16(),
                block: r.u8(),
            },
            7 => Op::Cancel(r.u16()),
            8 => Op::RejectPeerRequest(r.u16()),
            9 => Op::ServePeerRequest(r.u16()),
            10 => Op::Choke,
            11 => Op::Unchoke,
            12 => Op::Interested(r.bool()),
            13 => Op::SendBitfield {
                all: r.bool(),
                bits: r.bytes().to_vec(),
            },
            14 => Op::SendHave(r.u16()),
            15 => Op::AllowFast(r.u16()),
            16 => Op::Suggest(r.u16()),
            17 => Op::Extended {
                id: r.u8(),
                payload: r.bytes().to_vec(),
            },
            18 => Op::Port(r.u16()),
            19 => Op::SetLayout(Layout::read(r)),
            _ => Op::TakeOutstanding,
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            Op::Bytes(b) => w.tag(0).bytes(b),
            Op::Messages(msgs) => {
                let n = u8::try_from(msgs.len()).expect("at most 16 messages");
                assert!(n <= 16);
                w.tag(1).u8(n);
                msgs.iter().for_each(|m| m.write(w));
                w
            }
            Op::Serve(i) => w.tag(2).u16(*i),
            Op::Advance(ms) => w.tag(3).u16(*ms),
            Op::AdvanceSecs(s) => w.tag(4).u8(*s),
            Op::Request(b) => {
                w.tag(5);
                b.write(w);
                w
            }
            Op::RequestValid { piece, block } => w.tag(6).u16(*piece).u8(*block),
            Op::Cancel(i) => w.tag(7).u16(*i),
            Op::RejectPeerRequest(i) => w.tag(8).u16(*i),
            Op::ServePeerRequest(i) => w.tag(9).u16(*i),
            Op::Choke => w.tag(10),
            Op::Unchoke => w.tag(11),
            Op::Interested(y) => w.tag(12).bool(*y),
            Op::SendBitfield { all, bits } => w.tag(13).bool(*all).bytes(bits),
            Op::SendHave(p) => w.tag(14).u16(*p),
            Op::AllowFast(p) => w.tag(15).u16(*p),
            Op::Suggest(p) => w.tag(16).u16(*p),
            Op::Extended { id, payload } => w.tag(17).u8(*id).bytes(payload),
            Op::Port(p) => w.tag(18).u16(*p),
            Op::SetLayout(l) => {
                w.tag(19);
                l.write(w);
                w
            }
            Op::TakeOutstanding => w.tag(20),
        };
    }
}

/// One whole input: the connection's setup, then operations until the input ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub layout: Layout,
    pub fast: bool,
    pub extensions: bool,
    pub short_timers: bool,
    pub ops: Vec<Op>,
}

impl Input {
    pub fn read(data: &[u8]) -> Self {
        let mut r = Reader::new(data);
        let layout = Layout::read(&mut r);
        let fast = r.bool();
        let extensions = r.bool();
        let short_timers = r.bool();
        let mut ops = Vec::new();
        while !r.is_empty() && ops.len() < MAX_OPS {
            ops.push(Op::read(&mut r));
        }
        Input {
            layout,
            fast,
            extensions,
            short_timers,
            ops,
        }
    }

    pub fn write(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.layout.write(&mut w);
        w.bool(self.fast)
            .bool(self.extensions)
            .bool(self.short_timers);
        self.ops.iter().for_each(|op| op.write(&mut w));
        w.finish()
    }
}
