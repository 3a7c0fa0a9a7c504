//! Splitting a byte stream into length-prefixed frames, with a size limit checked on
//! the 4-byte prefix alone so a hostile length never causes an allocation or a wait.

use bytes::{Buf, Bytes, BytesMut};

use crate::{Message, WireError, MAX_REQUEST_LEN};

/// Default frame limit: a `piece` frame carrying the largest block we accept, with
/// room to spare. Enough for `bitfield` up to ~1M pieces and ut_metadata pieces.
pub const DEFAULT_MAX_FRAME_LEN: u32 = MAX_REQUEST_LEN + 13;

/// Stateless frame splitter; all buffering lives in the caller's `BytesMut`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameReader {
    max_frame_len: u32,
}

impl Default for FrameReader {
    fn default() -> Self {
        FrameReader {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
        }
    }
}

impl FrameReader {
    /// A reader refusing frames whose body (after the prefix) exceeds `max_frame_len`.
    pub fn new(max_frame_len: u32) -> Self {
        FrameReader { max_frame_len }
    }

    /// The limit on frame bodies, in bytes.
    pub fn max_frame_len(&self) -> u32 {
        self.max_frame_len
    }

    /// Splits one complete frame body (without its prefix) off the front of `buf`, or
    /// returns `None` if `buf` does not hold a whole frame yet. Zero-copy: the body
    /// shares `buf`'s allocation.
    pub fn next_frame(&self, buf: &mut BytesMut) -> Result<Option<Bytes>, WireError> {
        let Some(prefix) = buf.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*prefix);
        if len > self.max_frame_len {
            return Err(WireError::FrameTooLarge {
                len,
                max: self.max_frame_len,
            });
        }
        let total = 4 + len as usize;
        if buf.len() < total {
            return Ok(None);
        }
        buf.advance(4);
        Ok(Some(buf.split_to(len as usize).freeze()))
    }

    /// Splits and decodes one complete message off the front of `buf`.
    pub fn next(&self, buf: &mut BytesMut) -> Result<Option<Message>, WireError> {
        match self.next_frame(buf)? {
            Some(frame) => Message::decode(frame).map(Some),
            None => Ok(None),
        }
    }

    /// How many more bytes `buf` needs before the next frame is complete (at least 4
    /// for an empty buffer); 0 if a whole frame is ready. Useful to size reads.
    pub fn bytes_needed(&self, buf: &[u8]) -> usize {
        match buf.first_chunk::<4>() {
            None => 4 - buf.len(),
            Some(p) => {
                let len = u32::from_be_bytes(*p).min(self.max_frame_len) as usize;
                (4 + len).saturating_sub(buf.len())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;
    use proptest::prelude::*;

    #[test]
    fn waits_for_partial_frames_then_splits() {
        let mut wire = BytesMut::new();
        Message::Have(7).encode(&mut wire);
        Message::KeepAlive.encode(&mut wire);
        Message::Unchoke.encode(&mut wire);
        let r = FrameReader::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for byte in wire.iter() {
            buf.put_u8(*byte);
            while let Some(m) = r.next(&mut buf).unwrap() {
                got.push(m);
            }
        }
        assert_eq!(
            got,
            vec![Message::Have(7), Message::KeepAlive, Message::Unchoke]
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn huge_length_refused_before_body_arrives() {
        let r = FrameReader::default();
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert_eq!(
            r.next(&mut buf),
            Err(WireError::FrameTooLarge {
                len: u32::MAX,
                max: DEFAULT_MAX_FRAME_LEN
            })
        );
        // Nothing was consumed or reserved for the body.
        assert_eq!(buf.len(), 4);
        assert!(buf.capacity() < 1 << 20);
    }

    #[test]
    fn limit_is_configurable_and_inclusive() {
        let r = FrameReader::new(3);
        let mut buf = BytesMut::from(&[0, 0, 0, 3, 5, 1, 2][..]);
        assert_eq!(
            r.next(&mut buf),
            Ok(Some(Message::Bitfield(Bytes::from_static(&[1, 2]))))
        );
        let mut buf = BytesMut::from(&[0, 0, 0, 4, 5, 1, 2, 3][..]);
        assert_eq!(
            r.next(&mut buf),
            Err(WireError::FrameTooLarge { len: 4, max: 3 })
        );
    }

    #[test]
    fn bytes_needed_counts_down() {
        let r = FrameReader::default();
        assert_eq!(r.bytes_needed(&[]), 4);
        assert_eq!(r.bytes_needed(&[0, 0]), 2);
        assert_eq!(r.bytes_needed(&[0, 0, 0, 5, 4]), 4);
        assert_eq!(r.bytes_needed(&[0, 0, 0, 1, 1]), 0);
        assert_eq!(r.bytes_needed(&[0, 0, 0, 0]), 0);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), max in 0u32..200) {
            let r = FrameReader::new(max);
            let mut buf = BytesMut::from(&bytes[..]);
            let before = buf.len();
            while let Ok(Some(_)) | Err(WireError::UnknownMessage(_) | WireError::BadPayloadLength { .. }) = r.next(&mut buf) {
                if buf.is_empty() { break; }
            }
            prop_assert!(buf.len() <= before);
        }
    }
}
