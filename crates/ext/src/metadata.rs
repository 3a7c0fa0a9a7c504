//! BEP 9 `ut_metadata` messages: the bencoded dictionary exchanged under the
//! `ut_metadata` extension id to fetch an info dictionary in 16 KiB pieces.
//!
//! A data message is a dictionary immediately followed by the raw piece bytes. Decoding
//! checks `total_size` against a caller-supplied cap, the piece index against the number
//! of pieces, and the length of the trailing bytes against the size that piece must have.
//! Every decode error means the sender misbehaved (or speaks an unknown `msg_type`, which
//! BEP 9 says to ignore).

use shoal_bencode::{DecodeError, DecodeOptions, OwnedValue};

/// Name of the extension in the BEP 10 handshake's `m` dictionary.
pub const UT_METADATA: &str = "ut_metadata";

/// Size of every metadata piece except possibly the last.
pub const METADATA_PIECE_LEN: usize = 16 * 1024;

/// Default cap on the size of an info dictionary we are willing to fetch or believe.
pub const DEFAULT_MAX_METADATA_SIZE: u64 = 32 * 1024 * 1024;

const MSG_REQUEST: i64 = 0;
const MSG_DATA: i64 = 1;
const MSG_REJECT: i64 = 2;

/// One `ut_metadata` message. `Data` borrows the piece bytes from the decoded payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataMessage<'a> {
    /// Asks for piece `piece` of the info dictionary.
    Request {
        /// Index of the 16 KiB piece.
        piece: u32,
    },
    /// Carries piece `piece` of an info dictionary of `total_size` bytes.
    Data {
        /// Index of the 16 KiB piece.
        piece: u32,
        /// Length of the whole info dictionary.
        total_size: u64,
        /// The piece's bytes.
        data: &'a [u8],
    },
    /// The sender will not send piece `piece` (it lacks the metadata or is rate limiting).
    Reject {
        /// Index of the 16 KiB piece.
        piece: u32,
    },
}

/// Why a `ut_metadata` payload was refused. All variants are the sender's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The payload does not start with valid bencode.
    #[error("ut_metadata message is not valid bencode: {0}")]
    Bencode(#[from] DecodeError),
    /// The payload's bencode is not a dictionary.
    #[error("ut_metadata message is not a dictionary")]
    NotADict,
    /// A field (named) is missing or out of range.
    #[error("ut_metadata field `{0}` is missing or malformed")]
    BadField(&'static str),
    /// BEP 9: unknown message types must be ignored, so callers usually drop these.
    #[error("unknown ut_metadata msg_type {0}")]
    UnknownType(i64),
    /// A `total_size` that is zero or too large.
    #[error("metadata size {size} is zero or above the limit of {max} bytes")]
    BadTotalSize {
        /// The size given.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A data message for a piece past the end of the dictionary.
    #[error("metadata piece {piece} is out of range ({pieces} pieces)")]
    PieceOutOfRange {
        /// The piece given.
        piece: u32,
        /// Pieces of a dictionary of the given size.
        pieces: u32,
    },
    /// A data message whose bytes are not the piece's length.
    #[error("metadata piece {piece} carries {got} bytes, expected {expected}")]
    WrongPieceLength {
        /// The piece given.
        piece: u32,
        /// The piece's length (16 KiB, or less for the last).
        expected: usize,
        /// Bytes carried.
        got: usize,
    },
}

/// Number of 16 KiB pieces in an info dictionary of `total_size` bytes (saturating).
pub fn piece_count(total_size: u64) -> u32 {
    u32::try_from(total_size.div_ceil(METADATA_PIECE_LEN as u64)).unwrap_or(u32::MAX)
}

/// Length of piece `piece` of an info dictionary of `total_size` bytes, or `None` if the
/// piece lies beyond the end.
pub fn piece_len(total_size: u64, piece: u32) -> Option<usize> {
    let start = u64::from(piece) * METADATA_PIECE_LEN as u64;
    let rest = total_size.checked_sub(start).filter(|&r| r > 0)?;
    usize::try_from(rest.min(METADATA_PIECE_LEN as u64)).ok()
}

/// Checks `total_size` against `max_size` and that `data` is exactly piece `piece`.
pub(crate) fn check_piece(
    piece: u32,
    total_size: u64,
    data_len: usize,
    max_size: u64,
) -> Result<(), MetadataError> {
    if total_size == 0 || total_size > max_size {
        return Err(MetadataError::BadTotalSize {
            size: total_size,
            max: max_size,
        });
    }
    let pieces = piece_count(total_size);
    let expected =
        piece_len(total_size, piece).ok_or(MetadataError::PieceOutOfRange { piece, pieces })?;
    if data_len != expected {
        return Err(MetadataError::WrongPieceLength {
            piece,
            expected,
            got: data_len,
        });
    }
    Ok(())
}

impl<'a> MetadataMessage<'a> {
    /// The piece index the message is about.
    pub fn piece(&self) -> u32 {
        match *self {
            MetadataMessage::Request { piece }
            | MetadataMessage::Data { piece, .. }
            | MetadataMessage::Reject { piece } => piece,
        }
    }

    /// Encodes the extended-message payload (without the BEP 10 id byte).
    pub fn encode(&self) -> Vec<u8> {
        let mut d = OwnedValue::dict();
        let (msg_type, data) = match *self {
            MetadataMessage::Request { .. } => (MSG_REQUEST, &[][..]),
            MetadataMessage::Reject { .. } => (MSG_REJECT, &[][..]),
            MetadataMessage::Data {
                total_size, data, ..
            } => {
                d.insert("total_size", total_size);
                (MSG_DATA, data)
            }
        };
        d.insert("msg_type", msg_type);
        d.insert("piece", self.piece());
        let mut out = d.encode();
        out.extend_from_slice(data);
        out
    }

    /// Decodes a payload. `max_size` caps the `total_size` a data message may claim.
    /// Dictionary keys may be unsorted; bytes trailing a request or reject are ignored.
    pub fn decode(payload: &'a [u8], max_size: u64) -> Result<Self, MetadataError> {
        let opts = DecodeOptions {
            require_sorted_keys: false,
            ..DecodeOptions::default()
        };
        let (value, used) = shoal_bencode::decode_with(payload, &opts)?;
        let d = value.as_dict().ok_or(MetadataError::NotADict)?;
        let msg_type = d
            .get_int(b"msg_type")
            .ok_or(MetadataError::BadField("msg_type"))?;
        let piece = d
            .get_int(b"piece")
            .and_then(|p| u32::try_from(p).ok())
            .ok_or(MetadataError::BadField("piece"))?;
        match msg_type {
            MSG_REQUEST => Ok(MetadataMessage::Request { piece }),
            MSG_REJECT => Ok(MetadataMessage::Reject { piece }),
            MSG_DATA => {
                let total_size = d
                    .get_int(b"total_size")
                    .and_then(|s| u64::try_from(s).ok())
                    .ok_or(MetadataError::BadField("total_size"))?;
                let data = payload.get(used..).unwrap_or_default();
                check_piece(piece, total_size, data.len(), max_size)?;
                Ok(MetadataMessage::Data {
                    piece,
                    total_size,
                    data,
                })
            }
            other => Err(MetadataError::UnknownType(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: u64 = DEFAULT_MAX_METADATA_SIZE;

    #[test]
    fn encodes_like_bep9() {
        assert_eq!(
            MetadataMessage::Request { piece: 0 }.encode(),
            b"d8:msg_typei0e5:piecei0ee"
        );
        assert_eq!(
            MetadataMessage::Reject { piece: 3 }.encode(),
            b"d8:msg_typei2e5:piecei3ee"
        );
        let data = MetadataMessage::Data {
            piece: 0,
            total_size: 3,
            data: b"abc",
        };
        assert_eq!(
            data.encode(),
            b"d8:msg_typei1e5:piecei0e10:total_sizei3eeabc"
        );
    }

    #[test]
    fn decodes_data_and_splits_trailing_bytes() {
        let payload = b"d8:msg_typei1e5:piecei0e10:total_sizei3eeabc";
        assert_eq!(
            MetadataMessage::decode(payload, MAX),
            Ok(MetadataMessage::Data {
                piece: 0,
                total_size: 3,
                data: b"abc"
            })
        );
        // Unsorted keys are tolerated.
        let payload = b"d5:piecei0e8:msg_typei1e10:total_sizei3eeabc";
        assert!(MetadataMessage::decode(payload, MAX).is_ok());
        // Trailing bytes after a request are ignored.
        let payload = b"d8:msg_typei0e5:piecei7eejunk";
        assert_eq!(
            MetadataMessage::decode(payload, MAX),
            Ok(MetadataMessage::Request { piece: 7 })
        );
    }

    #[test]
    fn validates_sizes_and_indices() {
        fn msg(piece: u32, total_size: u64, data: &[u8]) -> Vec<u8> {
            MetadataMessage::Data {
                piece,
                total_size,
                data,
            }
            .encode()
        }
        let big = vec![7u8; METADATA_PIECE_LEN];
        // Piece 0 of a 20000-byte dictionary must be a full 16 KiB.
        assert!(MetadataMessage::decode(&msg(0, 20_000, &big), MAX).is_ok());
        assert_eq!(
            MetadataMessage::decode(&msg(0, 20_000, b"abc"), MAX),
            Err(MetadataError::WrongPieceLength {
                piece: 0,
                expected: METADATA_PIECE_LEN,
                got: 3
            })
        );
        // Last piece carries the remainder.
        let rest = &big[..20_000 - METADATA_PIECE_LEN];
        assert!(MetadataMessage::decode(&msg(1, 20_000, rest), MAX).is_ok());
        assert_eq!(
            MetadataMessage::decode(&msg(2, 20_000, b""), MAX),
            Err(MetadataError::PieceOutOfRange {
                piece: 2,
                pieces: 2
            })
        );
        assert_eq!(
            MetadataMessage::decode(&msg(0, MAX + 1, b""), MAX),
            Err(MetadataError::BadTotalSize {
                size: MAX + 1,
                max: MAX
            })
        );
        assert!(matches!(
            MetadataMessage::decode(&msg(0, 0, b""), MAX),
            Err(MetadataError::BadTotalSize { .. })
        ));
    }

    #[test]
    fn refuses_malformed() {
        fn dec(b: &[u8]) -> Result<MetadataMessage<'_>, MetadataError> {
            MetadataMessage::decode(b, MAX)
        }
        assert_eq!(dec(b"le"), Err(MetadataError::NotADict));
        assert_eq!(
            dec(b"d5:piecei0ee"),
            Err(MetadataError::BadField("msg_type"))
        );
        assert_eq!(
            dec(b"d8:msg_typei0ee"),
            Err(MetadataError::BadField("piece"))
        );
        assert_eq!(
            dec(b"d8:msg_typei0e5:piecei-1ee"),
            Err(MetadataError::BadField("piece"))
        );
        assert_eq!(
            dec(b"d8:msg_typei1e5:piecei0ee"),
            Err(MetadataError::BadField("total_size"))
        );
        assert_eq!(
            dec(b"d8:msg_typei9e5:piecei0ee"),
            Err(MetadataError::UnknownType(9))
        );
        assert!(matches!(dec(b"d8:msg_"), Err(MetadataError::Bencode(_))));
    }

    #[test]
    fn piece_arithmetic() {
        assert_eq!(piece_count(0), 0);
        assert_eq!(piece_count(1), 1);
        assert_eq!(piece_count(16_384), 1);
        assert_eq!(piece_count(16_385), 2);
        assert_eq!(piece_count(u64::MAX), u32::MAX);
        assert_eq!(piece_len(16_385, 1), Some(1));
        assert_eq!(piece_len(16_384, 1), None);
        assert_eq!(piece_len(0, 0), None);
        assert_eq!(piece_len(u64::MAX, u32::MAX), Some(METADATA_PIECE_LEN));
    }

    fn arb_message() -> impl Strategy<Value = (u32, u64, u8, u8)> {
        // (piece, total_size, kind, fill byte) — Data messages are built to be valid.
        (any::<u32>(), 1u64..200_000, 0u8..3, any::<u8>())
    }

    proptest! {
        #[test]
        fn round_trip((piece, total_size, kind, fill) in arb_message()) {
            let data_piece = piece % piece_count(total_size);
            let buf = vec![fill; piece_len(total_size, data_piece).unwrap()];
            let msg = match kind {
                0 => MetadataMessage::Request { piece },
                1 => MetadataMessage::Reject { piece },
                _ => MetadataMessage::Data { piece: data_piece, total_size, data: &buf },
            };
            let bytes = msg.encode();
            prop_assert_eq!(MetadataMessage::decode(&bytes, MAX), Ok(msg));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = MetadataMessage::decode(&bytes, MAX);
        }

        #[test]
        fn bencode_like_bytes_never_panic(s in "(d|e|i|l|[0-9]|:|-|msg_type|piece|total_size){0,40}") {
            let _ = MetadataMessage::decode(s.as_bytes(), MAX);
        }
    }
}
