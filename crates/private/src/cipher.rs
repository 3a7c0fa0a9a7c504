//! The data keystream: file bytes are XORed with ChaCha20 (RFC 8439) so any range can be
//! encrypted or decrypted on its own.
//!
//! Data position `d` = stream offset − data offset. The data region is cut into
//! segments of 2^32 bytes; segment `s = d >> 32` uses ChaCha20 with the data key, the
//! 12-byte nonce `[0, 0, 0, 0] ‖ s as u64 big-endian`, and keystream position
//! `d & 0xFFFF_FFFF` (block counter `(d & 0xFFFF_FFFF) / 64`, starting at 0). Segments
//! keep the 32-bit block counter far from wrapping for shares of any size.

use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use chacha20::ChaCha20;

use crate::kdf::{Secret, Subkeys};
use crate::key::ContentKey;
use crate::layout::PrivateLayout;

/// Bytes of data keystream per ChaCha20 nonce.
pub const SEGMENT_LEN: u64 = 1 << 32;

/// Encrypts and decrypts (the same XOR) stream bytes at any offset.
#[derive(Clone)]
pub struct DataCipher {
    key: Secret,
    data_offset: u64,
}

impl DataCipher {
    /// The cipher of one share: its key is bound to the content key and to the
    /// manifest nonce in `layout`'s region.
    pub fn new(key: &ContentKey, layout: &PrivateLayout) -> Self {
        DataCipher {
            key: Subkeys::new(key).data_key(&layout.manifest_nonce()),
            data_offset: layout.data_offset(),
        }
    }

    /// XORs the keystream into `buf`, which holds stream bytes starting at
    /// `stream_offset`. Bytes before the data offset (the region) pass unchanged.
    pub fn apply(&self, stream_offset: u64, buf: &mut [u8]) {
        let skip = self.data_offset.saturating_sub(stream_offset);
        let skip = usize::try_from(skip).unwrap_or(usize::MAX).min(buf.len());
        let mut rest = &mut buf[skip..];
        // When `rest` is not empty its first byte is at or past the data offset.
        let mut d = stream_offset
            .saturating_add(skip as u64)
            .saturating_sub(self.data_offset);
        while !rest.is_empty() {
            let segment = d / SEGMENT_LEN;
            let within = d % SEGMENT_LEN;
            let room = usize::try_from(SEGMENT_LEN - within).unwrap_or(usize::MAX);
            let n = room.min(rest.len());
            let (now, later) = rest.split_at_mut(n);
            self.xor_segment(segment, within, now);
            rest = later;
            match d.checked_add(n as u64) {
                Some(next) => d = next,
                None => break,
            }
        }
    }

    fn xor_segment(&self, segment: u64, within: u64, buf: &mut [u8]) {
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&segment.to_be_bytes());
        let mut cipher = ChaCha20::new(&(*self.key).into(), &nonce.into());
        // `within + buf.len() <= 2^32` bytes is 2^26 blocks, far inside the 2^32-block
        // keystream, so neither call can fail. Never leave plaintext behind if one did.
        let ok = cipher.try_seek(within).is_ok() && cipher.try_apply_keystream(buf).is_ok();
        if !ok {
            debug_assert!(false, "keystream position out of range");
            buf.fill(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Manifest, ManifestEntry};

    fn cipher() -> DataCipher {
        let manifest = Manifest {
            root_name: "x".into(),
            entries: vec![ManifestEntry {
                path: vec![],
                length: 100,
                mode: 0o600,
            }],
        };
        let key = ContentKey::from_bytes([9; 32]);
        let layout = PrivateLayout::seal(manifest, &key).unwrap();
        DataCipher::new(&key, &layout)
    }

    #[test]
    fn region_passes_through_and_data_changes() {
        let c = cipher();
        let mut buf = vec![0u8; 8192];
        c.apply(0, &mut buf);
        assert!(buf[..4096].iter().all(|b| *b == 0));
        assert!(buf[4096..].iter().any(|b| *b != 0));
        // Applying twice restores the input.
        c.apply(0, &mut buf);
        assert!(buf.iter().all(|b| *b == 0));
    }

    #[test]
    fn segment_boundary_is_consistent() {
        let c = cipher();
        let at = c.data_offset + SEGMENT_LEN - 40;
        let mut whole = vec![0u8; 100];
        c.apply(at, &mut whole);
        let mut first = vec![0u8; 40];
        let mut second = vec![0u8; 60];
        c.apply(at, &mut first);
        c.apply(at + 40, &mut second);
        assert_eq!(&whole[..40], &first[..]);
        assert_eq!(&whole[40..], &second[..]);
        // The next segment restarts ChaCha20 with another nonce.
        let mut seg0 = vec![0u8; 64];
        c.apply(c.data_offset, &mut seg0);
        assert_ne!(seg0, second[..60].to_vec());
    }

    #[test]
    fn huge_offsets_do_not_panic() {
        let c = cipher();
        let mut buf = [0u8; 16];
        c.apply(u64::MAX - 3, &mut buf);
        c.apply(u64::MAX, &mut buf);
    }
}
