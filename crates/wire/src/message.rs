//! Peer wire messages: BEP 3 core, BEP 5 `port`, BEP 6 fast extension and the BEP 10
//! `extended` envelope. Encoding appends a length-prefixed frame to a `BytesMut`;
//! decoding takes one frame body (without its length prefix) and slices payloads out
//! of it without copying.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::{BlockRef, WireError};

/// Message ids on the wire.
pub mod id {
    /// `choke`.
    pub const CHOKE: u8 = 0;
    /// `unchoke`.
    pub const UNCHOKE: u8 = 1;
    /// `interested`.
    pub const INTERESTED: u8 = 2;
    /// `not interested`.
    pub const NOT_INTERESTED: u8 = 3;
    /// `have`.
    pub const HAVE: u8 = 4;
    /// `bitfield`.
    pub const BITFIELD: u8 = 5;
    /// `request`.
    pub const REQUEST: u8 = 6;
    /// `piece`.
    pub const PIECE: u8 = 7;
    /// `cancel`.
    pub const CANCEL: u8 = 8;
    /// `port` (BEP 5).
    pub const PORT: u8 = 9;
    /// `suggest` (BEP 6).
    pub const SUGGEST: u8 = 0x0d;
    /// `have all` (BEP 6).
    pub const HAVE_ALL: u8 = 0x0e;
    /// `have none` (BEP 6).
    pub const HAVE_NONE: u8 = 0x0f;
    /// `reject request` (BEP 6).
    pub const REJECT: u8 = 0x10;
    /// `allowed fast` (BEP 6).
    pub const ALLOWED_FAST: u8 = 0x11;
    /// `extended` (BEP 10).
    pub const EXTENDED: u8 = 20;
}

/// Bytes before the block data in a `piece` frame: length prefix, id, index, begin.
pub const PIECE_HEADER_LEN: usize = 4 + 1 + 4 + 4;

/// One peer wire message.
#[derive(Clone, PartialEq, Eq)]
pub enum Message {
    /// A zero-length frame: keeps the connection open.
    KeepAlive,
    /// We will not serve the receiver's requests.
    Choke,
    /// We will serve the receiver's requests.
    Unchoke,
    /// We want pieces the receiver has.
    Interested,
    /// We no longer want pieces the receiver has.
    NotInterested,
    /// We have this piece now.
    Have(u32),
    /// Raw bitfield payload; validate it with [`crate::Bitfield::from_payload`].
    Bitfield(Bytes),
    /// Asks for a block.
    Request(BlockRef),
    /// A block's data.
    Piece {
        /// Index of the piece.
        piece: u32,
        /// Offset of the block within the piece.
        begin: u32,
        /// The block's bytes.
        data: Bytes,
    },
    /// Withdraws a request.
    Cancel(BlockRef),
    /// Our DHT port (BEP 5).
    Port(u16),
    /// Suggests the receiver request this piece (BEP 6).
    Suggest(u32),
    /// We have every piece (BEP 6).
    HaveAll,
    /// We have no piece (BEP 6).
    HaveNone,
    /// We will not serve this request (BEP 6).
    Reject(BlockRef),
    /// The receiver may request this piece while choked (BEP 6).
    AllowedFast(u32),
    /// BEP 10: `id` 0 is the extension handshake, others are the receiver's local ids.
    Extended {
        /// The id: 0 for the handshake, else the receiver's id of the extension.
        id: u8,
        /// The extension's payload.
        payload: Bytes,
    },
}

impl Message {
    /// The message id, or `None` for a keep-alive.
    pub fn id(&self) -> Option<u8> {
        Some(match self {
            Message::KeepAlive => return None,
            Message::Choke => id::CHOKE,
            Message::Unchoke => id::UNCHOKE,
            Message::Interested => id::INTERESTED,
            Message::NotInterested => id::NOT_INTERESTED,
            Message::Have(_) => id::HAVE,
            Message::Bitfield(_) => id::BITFIELD,
            Message::Request(_) => id::REQUEST,
            Message::Piece { .. } => id::PIECE,
            Message::Cancel(_) => id::CANCEL,
            Message::Port(_) => id::PORT,
            Message::Suggest(_) => id::SUGGEST,
            Message::HaveAll => id::HAVE_ALL,
            Message::HaveNone => id::HAVE_NONE,
            Message::Reject(_) => id::REJECT,
            Message::AllowedFast(_) => id::ALLOWED_FAST,
            Message::Extended { .. } => id::EXTENDED,
        })
    }

    /// Payload bytes after the id.
    fn payload_len(&self) -> usize {
        match self {
            Message::KeepAlive
            | Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested
            | Message::HaveAll
            | Message::HaveNone => 0,
            Message::Have(_) | Message::Suggest(_) | Message::AllowedFast(_) => 4,
            Message::Bitfield(b) => b.len(),
            Message::Request(_) | Message::Cancel(_) | Message::Reject(_) => 12,
            Message::Piece { data, .. } => 8 + data.len(),
            Message::Port(_) => 2,
            Message::Extended { payload, .. } => 1 + payload.len(),
        }
    }

    /// Size of the whole frame including the 4-byte length prefix.
    pub fn encoded_len(&self) -> usize {
        match self {
            Message::KeepAlive => 4,
            _ => 4 + 1 + self.payload_len(),
        }
    }

    /// Appends the length-prefixed frame to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        let Some(id) = self.id() else {
            out.put_u32(0);
            return;
        };
        put_header(out, id, self.payload_len());
        match self {
            Message::Have(i) | Message::Suggest(i) | Message::AllowedFast(i) => out.put_u32(*i),
            Message::Bitfield(b) => out.put_slice(b),
            Message::Request(b) | Message::Cancel(b) | Message::Reject(b) => put_block(out, b),
            Message::Piece { piece, begin, data } => {
                out.put_u32(*piece);
                out.put_u32(*begin);
                out.put_slice(data);
            }
            Message::Port(p) => out.put_u16(*p),
            Message::Extended { id, payload } => {
                out.put_u8(*id);
                out.put_slice(payload);
            }
            _ => {}
        }
    }

    /// Parses one frame body (the bytes after the length prefix); an empty frame is a
    /// keep-alive. Fixed-size messages must have exactly their payload size.
    pub fn decode(frame: Bytes) -> Result<Message, WireError> {
        let Some((&id, p)) = frame.split_first() else {
            return Ok(Message::KeepAlive);
        };
        let exact = |n: usize| {
            if p.len() == n {
                Ok(())
            } else {
                Err(WireError::BadPayloadLength { id, len: p.len() })
            }
        };
        Ok(match id {
            id::CHOKE => exact(0).map(|_| Message::Choke)?,
            id::UNCHOKE => exact(0).map(|_| Message::Unchoke)?,
            id::INTERESTED => exact(0).map(|_| Message::Interested)?,
            id::NOT_INTERESTED => exact(0).map(|_| Message::NotInterested)?,
            id::HAVE_ALL => exact(0).map(|_| Message::HaveAll)?,
            id::HAVE_NONE => exact(0).map(|_| Message::HaveNone)?,
            id::HAVE => exact(4).map(|_| Message::Have(be32(p, 0)))?,
            id::SUGGEST => exact(4).map(|_| Message::Suggest(be32(p, 0)))?,
            id::ALLOWED_FAST => exact(4).map(|_| Message::AllowedFast(be32(p, 0)))?,
            id::REQUEST => exact(12).map(|_| Message::Request(block(p)))?,
            id::CANCEL => exact(12).map(|_| Message::Cancel(block(p)))?,
            id::REJECT => exact(12).map(|_| Message::Reject(block(p)))?,
            id::PORT => exact(2).map(|_| Message::Port(u16::from_be_bytes([p[0], p[1]])))?,
            id::BITFIELD => Message::Bitfield(frame.slice(1..)),
            id::PIECE => {
                if p.len() < 8 {
                    return Err(WireError::BadPayloadLength { id, len: p.len() });
                }
                Message::Piece {
                    piece: be32(p, 0),
                    begin: be32(p, 4),
                    data: frame.slice(9..),
                }
            }
            id::EXTENDED => {
                let Some(&ext) = p.first() else {
                    return Err(WireError::BadPayloadLength { id, len: 0 });
                };
                Message::Extended {
                    id: ext,
                    payload: frame.slice(2..),
                }
            }
            other => return Err(WireError::UnknownMessage(other)),
        })
    }
}

/// Appends a length prefix covering the id plus `payload_len` bytes, then the id.
pub(crate) fn put_header(out: &mut BytesMut, id: u8, payload_len: usize) {
    debug_assert!(payload_len < u32::MAX as usize);
    out.put_u32((payload_len + 1) as u32);
    out.put_u8(id);
}

pub(crate) fn put_block(out: &mut BytesMut, b: &BlockRef) {
    out.put_u32(b.piece);
    out.put_u32(b.begin);
    out.put_u32(b.length);
}

/// Reads a big-endian u32 at `at`; callers have checked the length.
fn be32(p: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]])
}

fn block(p: &[u8]) -> BlockRef {
    BlockRef {
        piece: be32(p, 0),
        begin: be32(p, 4),
        length: be32(p, 8),
    }
}

// Hand-written so that logging a `piece` or `bitfield` does not dump its payload.
impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::KeepAlive => f.write_str("KeepAlive"),
            Message::Choke => f.write_str("Choke"),
            Message::Unchoke => f.write_str("Unchoke"),
            Message::Interested => f.write_str("Interested"),
            Message::NotInterested => f.write_str("NotInterested"),
            Message::HaveAll => f.write_str("HaveAll"),
            Message::HaveNone => f.write_str("HaveNone"),
            Message::Have(i) => write!(f, "Have({i})"),
            Message::Suggest(i) => write!(f, "Suggest({i})"),
            Message::AllowedFast(i) => write!(f, "AllowedFast({i})"),
            Message::Bitfield(b) => write!(f, "Bitfield({} bytes)", b.len()),
            Message::Request(b) => write!(f, "Request({b:?})"),
            Message::Cancel(b) => write!(f, "Cancel({b:?})"),
            Message::Reject(b) => write!(f, "Reject({b:?})"),
            Message::Piece { piece, begin, data } => {
                write!(
                    f,
                    "Piece {{ piece: {piece}, begin: {begin}, len: {} }}",
                    data.len()
                )
            }
            Message::Port(p) => write!(f, "Port({p})"),
            Message::Extended { id, payload } => {
                write!(f, "Extended {{ id: {id}, len: {} }}", payload.len())
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_block() -> impl Strategy<Value = BlockRef> {
        (
            0u32..12,
            0u32..8,
            prop_oneof![Just(crate::BLOCK_SIZE), 0u32..200_000],
        )
            .prop_map(|(piece, i, length)| BlockRef {
                piece,
                begin: i * crate::BLOCK_SIZE,
                length,
            })
    }

    fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
    }

    /// Arbitrary messages with small piece indices, so they are often valid for a
    /// 10-piece torrent.
    pub(crate) fn arb_message() -> impl Strategy<Value = Message> {
        let idx = || prop_oneof![4 => 0u32..12, 1 => any::<u32>()];
        prop_oneof![
            Just(Message::KeepAlive),
            Just(Message::Choke),
            Just(Message::Unchoke),
            Just(Message::Interested),
            Just(Message::NotInterested),
            Just(Message::HaveAll),
            Just(Message::HaveNone),
            idx().prop_map(Message::Have),
            idx().prop_map(Message::Suggest),
            idx().prop_map(Message::AllowedFast),
            arb_bytes(4).prop_map(Message::Bitfield),
            arb_block().prop_map(Message::Request),
            arb_block().prop_map(Message::Cancel),
            arb_block().prop_map(Message::Reject),
            (idx(), 0u32..4, arb_bytes(64)).prop_map(|(piece, i, data)| Message::Piece {
                piece,
                begin: i * crate::BLOCK_SIZE,
                data
            }),
            any::<u16>().prop_map(Message::Port),
            (any::<u8>(), arb_bytes(32))
                .prop_map(|(id, payload)| Message::Extended { id, payload }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(m in arb_message()) {
            let mut out = BytesMut::new();
            m.encode(&mut out);
            prop_assert_eq!(out.len(), m.encoded_len());
            let r = crate::FrameReader::new(u32::MAX);
            prop_assert_eq!(r.next(&mut out), Ok(Some(m)));
            prop_assert!(out.is_empty());
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = Message::decode(Bytes::from(bytes));
        }

        #[test]
        fn decode_of_known_ids_never_panics(id in 0u8..22, rest in proptest::collection::vec(any::<u8>(), 0..16)) {
            let mut frame = vec![id];
            frame.extend(rest);
            if let Ok(m) = Message::decode(Bytes::from(frame.clone())) {
                // Anything accepted re-encodes to the same bytes.
                let mut out = BytesMut::new();
                m.encode(&mut out);
                prop_assert_eq!(&out[4..], &frame[..]);
            }
        }
    }

    fn enc(m: &Message) -> Vec<u8> {
        let mut out = BytesMut::new();
        m.encode(&mut out);
        assert_eq!(out.len(), m.encoded_len());
        out.to_vec()
    }

    fn dec(frame: &[u8]) -> Result<Message, WireError> {
        Message::decode(Bytes::copy_from_slice(frame))
    }

    const B: BlockRef = BlockRef {
        piece: 1,
        begin: 0x4000,
        length: 0x4000,
    };

    #[test]
    fn encodes_every_message_exactly() {
        let cases: Vec<(Message, Vec<u8>)> = vec![
            (Message::KeepAlive, vec![0, 0, 0, 0]),
            (Message::Choke, vec![0, 0, 0, 1, 0]),
            (Message::Unchoke, vec![0, 0, 0, 1, 1]),
            (Message::Interested, vec![0, 0, 0, 1, 2]),
            (Message::NotInterested, vec![0, 0, 0, 1, 3]),
            (Message::Have(0x01020304), vec![0, 0, 0, 5, 4, 1, 2, 3, 4]),
            (
                Message::Bitfield(Bytes::from_static(&[0xa0, 0x01])),
                vec![0, 0, 0, 3, 5, 0xa0, 1],
            ),
            (
                Message::Request(B),
                vec![0, 0, 0, 13, 6, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0],
            ),
            (
                Message::Piece {
                    piece: 2,
                    begin: 3,
                    data: Bytes::from_static(b"xy"),
                },
                vec![0, 0, 0, 11, 7, 0, 0, 0, 2, 0, 0, 0, 3, b'x', b'y'],
            ),
            (
                Message::Cancel(B),
                vec![0, 0, 0, 13, 8, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0],
            ),
            (Message::Port(6881), vec![0, 0, 0, 3, 9, 0x1a, 0xe1]),
            (Message::Suggest(7), vec![0, 0, 0, 5, 13, 0, 0, 0, 7]),
            (Message::HaveAll, vec![0, 0, 0, 1, 14]),
            (Message::HaveNone, vec![0, 0, 0, 1, 15]),
            (
                Message::Reject(B),
                vec![0, 0, 0, 13, 16, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0],
            ),
            (Message::AllowedFast(9), vec![0, 0, 0, 5, 17, 0, 0, 0, 9]),
            (
                Message::Extended {
                    id: 3,
                    payload: Bytes::from_static(b"de"),
                },
                vec![0, 0, 0, 4, 20, 3, b'd', b'e'],
            ),
        ];
        for (msg, bytes) in cases {
            assert_eq!(enc(&msg), bytes, "{msg:?}");
            assert_eq!(dec(&bytes[4..]), Ok(msg.clone()), "{msg:?}");
        }
    }

    #[test]
    fn empty_frame_is_keepalive_and_empty_payloads_allowed() {
        assert_eq!(dec(&[]), Ok(Message::KeepAlive));
        assert_eq!(dec(&[5]), Ok(Message::Bitfield(Bytes::new())));
        assert_eq!(
            dec(&[7, 0, 0, 0, 1, 0, 0, 0, 2]),
            Ok(Message::Piece {
                piece: 1,
                begin: 2,
                data: Bytes::new()
            })
        );
        assert_eq!(
            dec(&[20, 0]),
            Ok(Message::Extended {
                id: 0,
                payload: Bytes::new()
            })
        );
    }

    #[test]
    fn refuses_wrong_payload_lengths_and_unknown_ids() {
        let bad = |f: &[u8]| {
            assert_eq!(
                dec(f),
                Err(WireError::BadPayloadLength {
                    id: f[0],
                    len: f.len() - 1
                }),
                "{f:?}"
            )
        };
        bad(&[0, 0]);
        bad(&[1, 0]);
        bad(&[2, 0]);
        bad(&[3, 0]);
        bad(&[4, 0, 0, 0]);
        bad(&[4, 0, 0, 0, 0, 0]);
        bad(&[6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        bad(&[7, 0, 0, 0, 0, 0, 0, 0]);
        bad(&[8; 14]);
        bad(&[9, 0]);
        bad(&[9, 0, 0, 0]);
        bad(&[13]);
        bad(&[14, 0]);
        bad(&[15, 0]);
        bad(&[16, 0]);
        bad(&[17, 0, 0]);
        bad(&[20]);
        assert_eq!(dec(&[10]), Err(WireError::UnknownMessage(10)));
        assert_eq!(dec(&[255, 1, 2]), Err(WireError::UnknownMessage(255)));
    }

    #[test]
    fn payloads_are_zero_copy_slices() {
        let frame = Bytes::from(vec![7, 0, 0, 0, 1, 0, 0, 0, 2, 9, 9, 9]);
        let base = frame.as_ptr() as usize;
        let Ok(Message::Piece { data, .. }) = Message::decode(frame) else {
            panic!()
        };
        assert_eq!(data.as_ptr() as usize, base + 9);
    }

    #[test]
    fn debug_hides_payloads() {
        let m = Message::Piece {
            piece: 1,
            begin: 2,
            data: Bytes::from(vec![0; 100]),
        };
        assert_eq!(format!("{m:?}"), "Piece { piece: 1, begin: 2, len: 100 }");
    }
}
