//! Input model of the `dht_node` target: an optional snapshot to restore from, then
//! datagrams, well-formed queries and replies from up to 12 addresses, commands and
//! time passing.

use crate::script::{Reader, Writer};

pub const MAX_OPS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id {
    /// A spread-out id derived from one byte.
    Seed(u8),
    Raw([u8; 20]),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// The token the node last gave this address.
    Real,
    Raw(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Ping,
    FindNode(Id),
    GetPeers(Id),
    Announce {
        hash: Id,
        port: u16,
        implied: bool,
        token: Token,
    },
    Unknown(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Raw bytes from address `from % 12`.
    Datagram {
        from: u8,
        bytes: Vec<u8>,
    },
    Query {
        from: u8,
        tid: Vec<u8>,
        id: Id,
        kind: Kind,
        /// BEP 32 `want` (v4, v6).
        want: Option<(bool, bool)>,
        read_only: bool,
    },
    /// Answer one of the node's outstanding queries from the address it went to.
    Reply {
        which: u8,
        id: Id,
        /// Node infos: id and address index (at most 16).
        nodes: Vec<(Id, u8)>,
        /// Peer address indexes (at most 32).
        values: Vec<u8>,
        token: Option<Vec<u8>>,
        error: bool,
    },
    AdvanceMs(u16),
    /// Time passes in units of 8 s.
    AdvanceSecs(u8),
    /// Jump to the node's next timer.
    ToTimeout,
    GetPeers(Id),
    Announce(Id, Option<u16>),
    AddNode(u8),
    SnapshotRestore,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub snapshot: Option<Vec<u8>>,
    pub read_only: bool,
    pub ops: Vec<Op>,
}

impl Id {
    fn read(r: &mut Reader) -> Self {
        match r.tag(2) {
            0 => Id::Seed(r.u8()),
            _ => Id::Raw(r.array()),
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            Id::Seed(s) => w.tag(0).u8(*s),
            Id::Raw(b) => w.tag(1).array(b),
        };
    }
}

fn read_opt_bytes(r: &mut Reader) -> Option<Vec<u8>> {
    r.bool().then(|| r.bytes().to_vec())
}

fn write_opt_bytes(w: &mut Writer, b: &Option<Vec<u8>>) {
    match b {
        None => w.bool(false),
        Some(b) => w.bool(true).bytes(b),
    };
}

impl Kind {
    fn read(r: &mut Reader) -> Self {
        match r.tag(5) {
            0 => Kind::Ping,
            1 => Kind::FindNode(Id::read(r)),
            2 => Kind::GetPeers(Id::read(r)),
            3 => Kind::Announce {
                hash: Id::read(r),
                port: r.u16(),
                implied: r.bool(),
                token: match r.tag(2) {
                    0 => Token::Real,
                    _ => Token::Raw(r.bytes().to_vec()),
                },
            },
            _ => Kind::Unknown(r.bytes().to_vec()),
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            Kind::Ping => {
                w.tag(0);
            }
            Kind::FindNode(t) => {
                w.tag(1);
                t.write(w);
            }
            Kind::GetPeers(t) => {
                w.tag(2);
                t.write(w);
            }
            Kind::Announce {
                hash,
                port,
                implied,
                token,
            } => {
                w.tag(3);
                hash.write(w);
                w.u16(*port).bool(*implied);
                match token {
                    Token::Real => w.tag(0),
                    Token::Raw(t) => w.tag(1).bytes(t),
                };
            }
            Kind::Unknown(m) => {
                w.tag(4).bytes(m);
            }
        }
    }
}

impl Op {
    fn read(r: &mut Reader) -> Self {
        match r.tag(10) {
            0 => Op::Datagram {
                from: r.u8(),
                bytes: r.bytes().to_vec(),
            },
            1 => Op::Query {
                from: r.u8(),
                tid: r.bytes().to_vec(),
                id: Id::read(r),
                kind: Kind::read(r),
                want: match r.tag(2) {
                    0 => None,
                    _ => Some((r.bool(), r.bool())),
                },
                read_only: r.bool(),
            },
            2 => {
                let which = r.u8();
                let id = Id::read(r);
                let n = r.u8() % 17;
                let nodes = (0..n).map(|_| (Id::read(r), r.u8())).collect();
                let n = r.u8() % 33;
                let values = (0..n).map(|_| r.u8()).collect();
                Op::Reply {
                    which,
                    id,
                    nodes,
                    values,
                    token: read_opt_bytes(r),
                    error: r.bool(),
                }
            }
            3 => Op::AdvanceMs(r.u16()),
            4 => Op::AdvanceSecs(r.u8()),
            5 => Op::ToTimeout,
            6 => Op::GetPeers(Id::read(r)),
            7 => Op::Announce(Id::read(r), r.bool().then(|| r.u16())),
            8 => Op::AddNode(r.u8()),
            _ => Op::SnapshotRestore,
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            Op::Datagram { from, bytes } => {
                w.tag(0).u8(*from).bytes(bytes);
            }
            Op::Query {
                from,
                tid,
                id,
                kind,
                want,
                read_only,
            } => {
                w.tag(1).u8(*from).bytes(tid);
                id.write(w);
                kind.write(w);
                match want {
                    None => w.tag(0),
                    Some((v4, v6)) => w.tag(1).bool(*v4).bool(*v6),
                };
                w.bool(*read_only);
            }
            Op::Reply {
                which,
                id,
                nodes,
                values,
                token,
                error,
            } => {
                w.tag(2).u8(*which);
                id.write(w);
                assert!(nodes.len() <= 16 && values.len() <= 32);
                w.u8(nodes.len() as u8);
                for (nid, a) in nodes {
                    nid.write(w);
                    w.u8(*a);
                }
                w.u8(values.len() as u8);
                values.iter().for_each(|v| {
                    w.u8(*v);
                });
                write_opt_bytes(w, token);
                w.bool(*error);
            }
            Op::AdvanceMs(ms) => {
                w.tag(3).u16(*ms);
            }
            Op::AdvanceSecs(s) => {
                w.tag(4).u8(*s);
            }
            Op::ToTimeout => {
                w.tag(5);
            }
            Op::GetPeers(t) => {
                w.tag(6);
                t.write(w);
            }
            Op::Announce(t, port) => {
                w.tag(7);
                t.write(w);
                match port {
                    None => w.bool(false),
                    Some(p) => w.bool(true).u16(*p),
                };
            }
            Op::AddNode(a) => {
                w.tag(8).u8(*a);
            }
            Op::SnapshotRestore => {
                w.tag(9);
            }
        }
    }
}

impl Input {
    pub fn read(data: &[u8]) -> Self {
        let mut r = Reader::new(data);
        let snapshot = read_opt_bytes(&mut r);
        let read_only = r.bool();
        let mut ops = Vec::new();
        while !r.is_empty() && ops.len() < MAX_OPS {
            ops.push(Op::read(&mut r));
        }
        Input {
            snapshot,
            read_only,
            ops,
        }
    }

    pub fn write(&self) -> Vec<u8> {
        let mut w = Writer::new();
        write_opt_bytes(&mut w, &self.snapshot);
        w.bool(self.read_only);
        self.ops.iter().for_each(|op| op.write(&mut w));
        w.finish()
    }
}
