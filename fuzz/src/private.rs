//! Input model of the `private_header` target: the bytes a receiver opens, a manifest
//! plaintext sealed with the right key the way a sender would, or a private link.

use crate::script::{Reader, Writer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Arbitrary stream bytes; the torrent is `data.len() + extra` bytes long.
    Raw { extra: u32, data: Vec<u8> },
    /// `plaintext` (a bencoded manifest plus padding) sealed under the fixed key with
    /// this nonce; the region is padded with `pad` more zero bytes of plaintext.
    Sealed {
        nonce: [u8; 24],
        pad: u16,
        plaintext: Vec<u8>,
    },
    /// A private link (`magnet:?…#k=…`), as text.
    Link(Vec<u8>),
}

impl Input {
    pub fn read(data: &[u8]) -> Self {
        let mut r = Reader::new(data);
        match r.tag(3) {
            0 => Input::Raw {
                extra: r.u32(),
                data: r.rest().to_vec(),
            },
            1 => Input::Sealed {
                nonce: r.array(),
                pad: r.u16(),
                plaintext: r.rest().to_vec(),
            },
            _ => Input::Link(r.rest().to_vec()),
        }
    }

    pub fn write(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Input::Raw { extra, data } => w.tag(0).u32(*extra).array(data),
            Input::Sealed {
                nonce,
                pad,
                plaintext,
            } => w.tag(1).array(nonce).u16(*pad).array(plaintext),
            Input::Link(text) => w.tag(2).array(text),
        };
        w.finish()
    }
}
