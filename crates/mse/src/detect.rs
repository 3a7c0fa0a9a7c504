//! Telling a plain BitTorrent handshake from the start of an MSE handshake.

/// The first 20 bytes of a plain BitTorrent handshake: length 19, then the name.
const PLAIN_PREFIX: &[u8; 20] = b"\x13BitTorrent protocol";

/// Whether an incoming stream starts with a plain BitTorrent handshake.
///
/// Returns `None` while `first_bytes` is a proper prefix of that handshake's first
/// 20 bytes (read more), `Some(true)` when those 20 bytes match and `Some(false)` as
/// soon as any byte differs (treat the stream as MSE). A random MSE public key
/// begins with these 20 bytes with probability 2^-160.
pub fn is_plaintext_handshake(first_bytes: &[u8]) -> Option<bool> {
    let n = first_bytes.len().min(PLAIN_PREFIX.len());
    if first_bytes.get(..n) != PLAIN_PREFIX.get(..n) {
        Some(false)
    } else if n == PLAIN_PREFIX.len() {
        Some(true)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        assert_eq!(is_plaintext_handshake(b""), None);
        assert_eq!(is_plaintext_handshake(b"\x13Bit"), None);
        assert_eq!(is_plaintext_handshake(b"\x13Bax"), Some(false));
        assert_eq!(is_plaintext_handshake(b"\x14"), Some(false));
        assert_eq!(
            is_plaintext_handshake(b"\x13BitTorrent protocol"),
            Some(true)
        );
        assert_eq!(
            is_plaintext_handshake(b"\x13BitTorrent protocol\0\0\0\0\0\0\0\0"),
            Some(true)
        );
        assert_eq!(
            is_plaintext_handshake(b"\x13BitTorrent protocoX"),
            Some(false)
        );
    }
}
