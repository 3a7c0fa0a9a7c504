//! Peer wire framing and message codec: arbitrary bytes through `FrameReader` (with a
//! small and the default frame cap) and `Message::decode`; every decoded message
//! re-encodes to exactly its frame. Also the 68-byte handshake codec.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use shoal_wire::{FrameReader, Handshake, Message, WireError};

fn split_all(reader: FrameReader, data: &[u8]) {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        let needed = reader.bytes_needed(&buf);
        match reader.next_frame(&mut buf) {
            Ok(Some(frame)) => {
                assert_eq!(needed, 0, "a whole frame was ready");
                assert!(frame.len() <= reader.max_frame_len() as usize);
                assert_eq!(buf.len(), before - 4 - frame.len());
                check_frame(frame);
            }
            Ok(None) => {
                assert!(needed > 0 && before + needed <= 4 + reader.max_frame_len() as usize);
                break;
            }
            Err(WireError::FrameTooLarge { len, max }) => {
                assert!(len > max);
                assert_eq!(buf.len(), before, "nothing consumed on error");
                break;
            }
            Err(e) => panic!("unexpected frame error {e:?}"),
        }
    }
}

fn check_frame(frame: Bytes) {
    let Ok(msg) = Message::decode(frame.clone()) else {
        return;
    };
    let mut out = BytesMut::new();
    msg.encode(&mut out);
    assert_eq!(out.len(), msg.encoded_len());
    assert_eq!(&out[4..], &frame[..], "message re-encodes to its frame");
    assert_eq!(&out[..4], &(frame.len() as u32).to_be_bytes());
    // And decoding through a reader gives the same message.
    let reader = FrameReader::new(u32::MAX);
    let again = reader.next(&mut out).expect("re-encoded frame decodes");
    assert_eq!(again, Some(msg));
    assert!(out.is_empty());
}

fuzz_target!(|data: &[u8]| {
    split_all(FrameReader::new(64), data);
    split_all(FrameReader::default(), data);
    // Each input also as one bare frame body.
    check_frame(Bytes::copy_from_slice(data));

    if let Ok(hs) = Handshake::decode(data) {
        assert_eq!(&hs.encode()[..], data);
    }
});
