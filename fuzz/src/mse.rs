//! Input model of the `mse` target: how byte streams are cut into reads, and either a
//! lone side fed arbitrary bytes or a real exchange with corruptions.

use crate::script::{Reader, Writer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Prefer,
    Require,
    Disable,
}

/// One side's fixed choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub key: [u8; 20],
    /// Clear pad length (modulo 513).
    pub pad: u16,
    /// Encrypted pad length (modulo 513).
    pub encrypted_pad: u16,
    pub policy: Policy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Arbitrary bytes to a responder.
    Responder { side: Side, data: Vec<u8> },
    /// Arbitrary bytes to an initiator (after it sent its key).
    Initiator { side: Side, data: Vec<u8> },
    /// A real exchange with corruptions (direction: responder→initiator if true,
    /// offset in that direction's stream, xor mask) and payload sent after it.
    Pair {
        init: Side,
        resp: Side,
        ia: Vec<u8>,
        corrupt: Vec<(bool, u16, u8)>,
        after: Vec<u8>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Read sizes (cycled; each modulo 700, at least 1); empty = whole writes.
    pub chunks: Vec<u16>,
    pub mode: Mode,
}

impl Side {
    fn read(r: &mut Reader) -> Self {
        Side {
            key: r.array(),
            pad: r.u16(),
            encrypted_pad: r.u16(),
            policy: match r.tag(3) {
                0 => Policy::Prefer,
                1 => Policy::Require,
                _ => Policy::Disable,
            },
        }
    }

    fn write(&self, w: &mut Writer) {
        w.array(&self.key).u16(self.pad).u16(self.encrypted_pad);
        w.tag(match self.policy {
            Policy::Prefer => 0,
            Policy::Require => 1,
            Policy::Disable => 2,
        });
    }
}

impl Input {
    pub fn read(data: &[u8]) -> Self {
        let mut r = Reader::new(data);
        let n = r.u8() % 65;
        let chunks = (0..n).map(|_| r.u16()).collect();
        let mode = match r.tag(3) {
            0 => Mode::Responder {
                side: Side::read(&mut r),
                data: r.rest().to_vec(),
            },
            1 => Mode::Initiator {
                side: Side::read(&mut r),
                data: r.rest().to_vec(),
            },
            _ => {
                let init = Side::read(&mut r);
                let resp = Side::read(&mut r);
                let ia = r.bytes().to_vec();
                let n = r.u8() % 17;
                let corrupt = (0..n).map(|_| (r.bool(), r.u16(), r.u8())).collect();
                Mode::Pair {
                    init,
                    resp,
                    ia,
                    corrupt,
                    after: r.rest().to_vec(),
                }
            }
        };
        Input { chunks, mode }
    }

    pub fn write(&self) -> Vec<u8> {
        let mut w = Writer::new();
        assert!(self.chunks.len() <= 64);
        w.u8(self.chunks.len() as u8);
        self.chunks.iter().for_each(|c| {
            w.u16(*c);
        });
        match &self.mode {
            Mode::Responder { side, data } => {
                w.tag(0);
                side.write(&mut w);
                w.array(data);
            }
            Mode::Initiator { side, data } => {
                w.tag(1);
                side.write(&mut w);
                w.array(data);
            }
            Mode::Pair {
                init,
                resp,
                ia,
                corrupt,
                after,
            } => {
                w.tag(2);
                init.write(&mut w);
                resp.write(&mut w);
                w.bytes(ia);
                assert!(corrupt.len() <= 16);
                w.u8(corrupt.len() as u8);
                for (dir, at, x) in corrupt {
                    w.bool(*dir).u16(*at).u8(*x);
                }
                w.array(after);
            }
        }
        w.finish()
    }
}
