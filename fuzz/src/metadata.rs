//! Input model of the `ut_metadata` target: one standalone payload, then operations of
//! a metadata fetch shared by up to 8 fake peers.

use crate::script::{Reader, Writer};

pub const MAX_OPS: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Size {
    /// The real size of the info dictionary.
    Right,
    Raw(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    AddPeer {
        peer: u8,
        size: Size,
    },
    NextRequest {
        peer: u8,
    },
    /// The correct bytes of a piece.
    Deliver {
        peer: u8,
        piece: u8,
    },
    /// A piece with one byte flipped.
    Corrupt {
        peer: u8,
        piece: u8,
        at: u16,
    },
    /// An arbitrary ut_metadata payload from `peer`, dispatched like the engine does.
    Payload {
        peer: u8,
        payload: Vec<u8>,
    },
    Reject {
        peer: u8,
        piece: u32,
    },
    Gone {
        peer: u8,
    },
    Advance {
        secs: u8,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub message: Vec<u8>,
    pub max_in_flight: u8,
    pub ops: Vec<Op>,
}

impl Op {
    fn read(r: &mut Reader) -> Self {
        match r.tag(8) {
            0 => {
                let peer = r.u8();
                let size = match r.tag(2) {
                    0 => Size::Right,
                    _ => Size::Raw(r.u32()),
                };
                Op::AddPeer { peer, size }
            }
            1 => Op::NextRequest { peer: r.u8() },
            2 => Op::Deliver {
                peer: r.u8(),
                piece: r.u8(),
            },
            3 => Op::Corrupt {
                peer: r.u8(),
                piece: r.u8(),
                at: r.u16(),
            },
            4 => Op::Payload {
                peer: r.u8(),
                payload: r.bytes().to_vec(),
            },
            5 => Op::Reject {
                peer: r.u8(),
                piece: r.u32(),
            },
            6 => Op::Gone { peer: r.u8() },
            _ => Op::Advance { secs: r.u8() },
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            Op::AddPeer { peer, size } => {
                w.tag(0).u8(*peer);
                match size {
                    Size::Right => w.tag(0),
                    Size::Raw(x) => w.tag(1).u32(*x),
                }
            }
            Op::NextRequest { peer } => w.tag(1).u8(*peer),
            Op::Deliver { peer, piece } => w.tag(2).u8(*peer).u8(*piece),
            Op::Corrupt { peer, piece, at } => w.tag(3).u8(*peer).u8(*piece).u16(*at),
            Op::Payload { peer, payload } => w.tag(4).u8(*peer).bytes(payload),
            Op::Reject { peer, piece } => w.tag(5).u8(*peer).u32(*piece),
            Op::Gone { peer } => w.tag(6).u8(*peer),
            Op::Advance { secs } => w.tag(7).u8(*secs),
        };
    }
}

impl Input {
    pub fn read(data: &[u8]) -> Self {
        let mut r = Reader::new(data);
        let message = r.bytes().to_vec();
        let max_in_flight = r.u8();
        let mut ops = Vec::new();
        while !r.is_empty() && ops.len() < MAX_OPS {
            ops.push(Op::read(&mut r));
        }
        Input {
            message,
            max_in_flight,
            ops,
        }
    }

    pub fn write(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes(&self.message).u8(self.max_in_flight);
        self.ops.iter().for_each(|op| op.write(&mut w));
        w.finish()
    }
}
