//! Size limits checked on raw metainfo bytes before they are decoded.
//!
//! Decoding builds a tree of values whose size is several hundred bytes per file entry
//! (a 56 MiB torrent listing 2,000,000 files took 925 MiB and 3.5 s before
//! [`MAX_FILES`](crate::MAX_FILES) could refuse it). So the raw bytes are first
//! measured ([`MAX_METAINFO_BYTES`]) and counted by a scan that allocates nothing
//! ([`MAX_BENCODE_VALUES`]); only input within both limits is decoded.

use crate::error::MetainfoError;

/// Largest `.torrent` file (or `info` dictionary) we decode: 100 MiB, room for
/// [`MAX_PIECES`] piece hashes (80 MiB) plus file lists and trackers.
pub const MAX_METAINFO_BYTES: usize = 100 * 1024 * 1024;

/// Most bencode values (integers, strings, lists, dictionaries; keys count) we decode in
/// one metainfo. A minimal file entry is 6 values, so this admits
/// [`MAX_FILES`](crate::MAX_FILES) files with paths up to three elements deep.
pub const MAX_BENCODE_VALUES: usize = 4_000_000;

/// Most pieces we accept: 2^22 (80 MiB of SHA-1 hashes; 1 TiB with 256 KiB pieces).
pub const MAX_PIECES: usize = 1 << 22;

/// Refuses `bytes` that are too long or hold too many bencode values.
pub(crate) fn check(bytes: &[u8]) -> Result<(), MetainfoError> {
    if bytes.len() > MAX_METAINFO_BYTES {
        return Err(MetainfoError::TooLarge {
            what: "bytes",
            max: MAX_METAINFO_BYTES,
        });
    }
    if count_values(bytes, MAX_BENCODE_VALUES + 1) > MAX_BENCODE_VALUES {
        return Err(MetainfoError::TooLarge {
            what: "bencode values",
            max: MAX_BENCODE_VALUES,
        });
    }
    Ok(())
}

/// Counts the values of the first bencode value in `bytes`, stopping at `stop`. Malformed
/// input ends the count early; the decoder then reports what is wrong with it.
fn count_values(bytes: &[u8], stop: usize) -> usize {
    let mut count = 0usize;
    let mut depth = 0usize;
    let mut i = 0usize;
    while i < bytes.len() && count < stop {
        match bytes[i] {
            b'i' => {
                let Some(end) = bytes[i..].iter().position(|&b| b == b'e') else {
                    break;
                };
                i += end + 1;
                count += 1;
            }
            b'l' | b'd' => {
                depth += 1;
                i += 1;
                count += 1;
            }
            b'e' => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
                i += 1;
            }
            b'0'..=b'9' => {
                let Some(colon) = bytes[i..].iter().position(|&b| b == b':') else {
                    break;
                };
                let len = std::str::from_utf8(&bytes[i..i + colon])
                    .ok()
                    .and_then(|s| s.parse::<usize>().ok());
                let Some(len) = len else { break };
                i = (i + colon + 1).saturating_add(len);
                count += 1;
            }
            _ => break,
        }
        if depth == 0 {
            break;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_values() {
        assert_eq!(count_values(b"i5e", 100), 1);
        assert_eq!(count_values(b"4:spam", 100), 1);
        assert_eq!(count_values(b"d3:cow3:moo4:spaml1:a1:bee", 100), 7);
        assert_eq!(count_values(b"ld1:ai1eeli2ee", 100), 6);
        // Stops at the limit and on garbage; trailing data after the value is ignored.
        assert_eq!(count_values(b"llllllllll", 3), 3);
        assert_eq!(count_values(b"l1:ax", 100), 2);
        assert_eq!(count_values(b"le4:junk", 100), 1);
        assert_eq!(count_values(b"99999999999999999999999:", 100), 0);
    }

    #[test]
    fn too_many_values_refused() {
        let mut b = b"l".to_vec();
        for _ in 0..MAX_BENCODE_VALUES {
            b.extend_from_slice(b"i0e");
        }
        b.push(b'e');
        assert!(matches!(check(&b), Err(MetainfoError::TooLarge { .. })));
        b.truncate(b.len() - 4);
        b.push(b'e');
        assert!(check(&b).is_ok());
    }
}
