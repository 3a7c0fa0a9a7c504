//! Input model of the `tracker_udp` target: one standalone packet, then operations on a
//! `UdpTracker` (queueing, time passing, answers from the tracker).

use crate::script::{Reader, Writer};

pub const MAX_OPS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Connect,
    Announce,
    Scrape,
    Error,
    Raw(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Announce,
    /// A scrape of `n % 80` hashes (0 and more than 74 are refused at once).
    Scrape(u8),
    Abort,
    AdvanceMs(u16),
    AdvanceSecs(u8),
    ToTimeout,
    /// A packet answering the last request sent: `action`, the request's transaction id
    /// (plus one if `wrong_tid`), then `body`.
    Reply {
        action: Action,
        wrong_tid: bool,
        body: Vec<u8>,
    },
    Raw(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub packet: Vec<u8>,
    pub ipv6: bool,
    pub ops: Vec<Op>,
}

impl Op {
    fn read(r: &mut Reader) -> Self {
        match r.tag(8) {
            0 => Op::Announce,
            1 => Op::Scrape(r.u8()),
            2 => Op::Abort,
            3 => Op::AdvanceMs(r.u16()),
            4 => Op::AdvanceSecs(r.u8()),
            5 => Op::ToTimeout,
            6 => {
                let action = match r.tag(5) {
                    0 => Action::Connect,
                    1 => Action::Announce,
                    2 => Action::Scrape,
                    3 => Action::Error,
                    _ => Action::Raw(r.u32()),
                };
                Op::Reply {
                    action,
                    wrong_tid: r.bool(),
                    body: r.bytes().to_vec(),
                }
            }
            _ => Op::Raw(r.bytes().to_vec()),
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            Op::Announce => w.tag(0),
            Op::Scrape(n) => w.tag(1).u8(*n),
            Op::Abort => w.tag(2),
            Op::AdvanceMs(ms) => w.tag(3).u16(*ms),
            Op::AdvanceSecs(s) => w.tag(4).u8(*s),
            Op::ToTimeout => w.tag(5),
            Op::Reply {
                action,
                wrong_tid,
                body,
            } => {
                w.tag(6);
                match action {
                    Action::Connect => w.tag(0),
                    Action::Announce => w.tag(1),
                    Action::Scrape => w.tag(2),
                    Action::Error => w.tag(3),
                    Action::Raw(x) => w.tag(4).u32(*x),
                };
                w.bool(*wrong_tid).bytes(body)
            }
            Op::Raw(b) => w.tag(7).bytes(b),
        };
    }
}

impl Input {
    pub fn read(data: &[u8]) -> Self {
        let mut r = Reader::new(data);
        let packet = r.bytes().to_vec();
        let ipv6 = r.bool();
        let mut ops = Vec::new();
        while !r.is_empty() && ops.len() < MAX_OPS {
            ops.push(Op::read(&mut r));
        }
        Input { packet, ipv6, ops }
    }

    pub fn write(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes(&self.packet).bool(self.ipv6);
        self.ops.iter().for_each(|op| op.write(&mut w));
        w.finish()
    }
}
