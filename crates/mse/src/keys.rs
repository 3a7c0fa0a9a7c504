//! Key derivation (the req1/req2/req3 hashes and the RC4 keys) and the RC4
//! keystreams that carry on past the handshake.

use std::fmt;

use rc4::consts::U20;
use rc4::{KeyInit, Rc4, StreamCipher};
use sha1::{Digest, Sha1};

use crate::dh::SharedSecret;

/// Bytes of each RC4 keystream thrown away before use.
const DISCARD: usize = 1024;

fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `HASH('req1', S)`: the responder's synchronisation marker.
pub(crate) fn req1(s: &SharedSecret) -> [u8; 20] {
    sha1(&[b"req1", s])
}

/// `HASH('req2', SKEY)`: the obfuscated info-hash.
pub fn obfuscated_info_hash(info_hash: &[u8; 20]) -> [u8; 20] {
    sha1(&[b"req2", info_hash])
}

/// `HASH('req3', S)`, which masks `HASH('req2', SKEY)` on the wire.
pub(crate) fn req3(s: &SharedSecret) -> [u8; 20] {
    sha1(&[b"req3", s])
}

/// Which end of the connection we are; decides which key encrypts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Initiator,
    Responder,
}

/// One RC4 keystream (1024 bytes already discarded), applied by XOR.
pub struct Rc4Stream(Rc4<U20>);

impl Rc4Stream {
    fn new(label: &[u8; 4], s: &SharedSecret, skey: &[u8; 20]) -> Self {
        let key = sha1(&[label, s, skey]);
        let mut cipher = Rc4::<U20>::new(&key.into());
        let mut discard = [0u8; DISCARD];
        cipher.apply_keystream(&mut discard);
        Self(cipher)
    }

    /// XORs the next `buf.len()` keystream bytes into `buf` (encrypts or decrypts).
    pub fn apply(&mut self, buf: &mut [u8]) {
        self.0.apply_keystream(buf);
    }
}

impl fmt::Debug for Rc4Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Rc4Stream { .. }")
    }
}

/// The two directions of an RC4-encrypted connection, positioned just after the
/// handshake bytes each side has already processed.
#[derive(Debug)]
pub struct Rc4Streams {
    encryptor: Rc4Stream,
    decryptor: Rc4Stream,
}

impl Rc4Streams {
    /// Keys for `role`: the initiator encrypts with keyA and decrypts with keyB,
    /// the responder the reverse.
    pub(crate) fn new(role: Role, s: &SharedSecret, skey: &[u8; 20]) -> Self {
        let a = Rc4Stream::new(b"keyA", s, skey);
        let b = Rc4Stream::new(b"keyB", s, skey);
        match role {
            Role::Initiator => Self {
                encryptor: a,
                decryptor: b,
            },
            Role::Responder => Self {
                encryptor: b,
                decryptor: a,
            },
        }
    }

    /// Encrypts outgoing bytes in place.
    pub fn encrypt(&mut self, buf: &mut [u8]) {
        self.encryptor.apply(buf);
    }

    /// Decrypts incoming bytes in place.
    pub fn decrypt(&mut self, buf: &mut [u8]) {
        self.decryptor.apply(buf);
    }

    /// Separates the directions, e.g. for the read and write halves of a socket.
    /// Returns `(encryptor, decryptor)`.
    pub fn split(self) -> (Rc4Stream, Rc4Stream) {
        (self.encryptor, self.decryptor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_mirror_each_other() {
        let s = [9u8; 96];
        let skey = [3u8; 20];
        let mut a = Rc4Streams::new(Role::Initiator, &s, &skey);
        let mut b = Rc4Streams::new(Role::Responder, &s, &skey);
        let mut msg = *b"attack at dawn";
        a.encrypt(&mut msg);
        assert_ne!(&msg, b"attack at dawn");
        b.decrypt(&mut msg);
        assert_eq!(&msg, b"attack at dawn");
        let mut back = *b"retreat";
        b.encrypt(&mut back);
        a.decrypt(&mut back);
        assert_eq!(&back, b"retreat");
    }
}
