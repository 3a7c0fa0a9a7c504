//! Private links (`shoal_private`): `open_header` with a fixed key on arbitrary stream
//! bytes, on manifests sealed with the right key the way a sender would (so the
//! manifest decoder and its validation see arbitrary plaintext), and `parse_link` on
//! arbitrary text. An opened layout must be self-consistent and survive a re-seal.
#![no_main]

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use hkdf::Hkdf;
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use shoal_fuzz::private::Input;
use shoal_private::{
    open_header, parse_link, private_link, ContentKey, Opened, PrivateLayout, Segment, MAGIC,
    MAX_SEALED_LEN,
};

const KEY: [u8; 32] = [7; 32];

/// HKDF-Expand of the content key (salt and labels from the format description).
fn subkey<const N: usize>(info: &[u8]) -> [u8; N] {
    let hk = Hkdf::<Sha256>::new(Some(b"shoal-private/v1"), &KEY);
    let mut out = [0u8; N];
    hk.expand(info, &mut out).expect("short output");
    out
}

/// The region a sender would produce for `plaintext` (already padded) and `nonce`.
fn seal(plaintext: &[u8], nonce: [u8; 24]) -> Option<Vec<u8>> {
    let sealed_len = u32::try_from(plaintext.len() + 16)
        .ok()
        .filter(|n| *n <= MAX_SEALED_LEN)?;
    let mut region = Vec::with_capacity(56 + plaintext.len() + 16);
    region.extend_from_slice(&MAGIC);
    region.extend_from_slice(&1u32.to_be_bytes());
    region.extend_from_slice(&sealed_len.to_be_bytes());
    region.extend_from_slice(&subkey::<16>(b"shoal-private/v1 key check"));
    region.extend_from_slice(&nonce);
    let key: [u8; 32] = subkey(b"shoal-private/v1 manifest key");
    let aead = XChaCha20Poly1305::new(&key.into());
    let payload = Payload {
        msg: plaintext,
        aad: &region[..32],
    };
    let sealed = aead.encrypt(&nonce.into(), payload).ok()?;
    region.extend_from_slice(&sealed);
    Some(region)
}

fn check_layout(layout: &PrivateLayout, region: &[u8], stream_len: u64) {
    let key = ContentKey::from_bytes(KEY);
    assert_eq!(layout.region(), region);
    assert_eq!(layout.data_offset(), region.len() as u64);
    assert_eq!(layout.stream_len(), stream_len);
    let manifest = layout.manifest();
    assert!(manifest.validate().is_ok());
    // Files follow the region back to back.
    let mut end = layout.data_offset();
    for (i, e) in manifest.entries.iter().enumerate() {
        let range = layout.file_range(i).expect("file range");
        assert_eq!(range.start, end);
        assert_eq!(range.end - range.start, e.length);
        end = range.end;
    }
    assert_eq!(end, stream_len);
    // Mapping a range covers it exactly, in order.
    for start in [0, layout.data_offset().saturating_sub(3), stream_len / 2] {
        let len = 1 << 20;
        let mut pos = start;
        for seg in layout.map(start, len) {
            assert!(!seg.is_empty());
            match &seg {
                Segment::Header { range } => assert_eq!(range.start as u64, pos),
                Segment::File {
                    index, file_offset, ..
                } => {
                    let r = layout.file_range(*index).expect("mapped file exists");
                    assert_eq!(r.start + file_offset, pos);
                }
            }
            pos += seg.len() as u64;
        }
        assert_eq!(pos, (start + len as u64).min(stream_len).max(start));
    }
    // Re-sealing the manifest gives a stream that opens to the same manifest.
    let resealed = PrivateLayout::seal(manifest.clone(), &key).expect("valid manifest seals");
    match open_header(resealed.region(), resealed.stream_len(), &key) {
        Ok(Opened::Ready(again)) => assert_eq!(again.manifest(), manifest),
        other => panic!("re-sealed manifest does not open: {other:?}"),
    }
}

/// Opens `stream` as a receiver would: prefixes first, then the whole thing.
fn open(stream: &[u8], stream_len: u64) {
    let key = ContentKey::from_bytes(KEY);
    for cut in [0, 7, 31, 32, 55, 56] {
        if cut < stream.len() {
            if let Ok(Opened::NeedBytes(n)) = open_header(&stream[..cut], stream_len, &key) {
                assert!(n > cut as u64, "asks for {n} bytes having {cut}");
            }
        }
    }
    if let Ok(Opened::Ready(layout)) = open_header(stream, stream_len, &key) {
        let region = layout.region().to_vec();
        assert!(stream.starts_with(&region));
        check_layout(&layout, &region, stream_len);
    }
}

fuzz_target!(|data: &[u8]| {
    match Input::read(data) {
        Input::Raw { extra, data } => {
            open(&data, data.len() as u64 + u64::from(extra));
        }
        Input::Sealed {
            nonce,
            pad,
            mut plaintext,
        } => {
            plaintext.resize(plaintext.len() + usize::from(pad), 0);
            let Some(region) = seal(&plaintext, nonce) else {
                return;
            };
            let key = ContentKey::from_bytes(KEY);
            // The torrent's length is unknown to the fuzzer: learn it from the manifest.
            let stream_len = match open_header(&region, u64::MAX, &key) {
                Err(shoal_private::OpenError::LengthMismatch { manifest, .. }) => manifest,
                Ok(Opened::Ready(_)) => u64::MAX,
                _ => return,
            };
            open(&region, stream_len);
            match open_header(&region, stream_len, &key) {
                Ok(Opened::Ready(layout)) => check_layout(&layout, &region, stream_len),
                other => panic!("sealed manifest of length {stream_len} fails: {other:?}"),
            }
        }
        Input::Link(text) => {
            let Ok(text) = std::str::from_utf8(&text) else {
                return;
            };
            if let Ok((public, key)) = parse_link(text) {
                assert!(!public.contains('#'));
                let link = private_link(public, &key);
                let (public2, key2) = parse_link(&link).expect("own link parses");
                assert_eq!(public2, public);
                assert_eq!(key2.as_bytes(), key.as_bytes());
            }
        }
    }
});
