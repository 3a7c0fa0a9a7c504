//! Input-buffer helpers: taking fixed-size fields off the front and scanning for a
//! synchronisation marker after a variable-length pad.

/// Result of one scan over the bytes received so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The marker starts at this offset.
    Found(usize),
    /// Not found yet; resume from this offset when more bytes arrive.
    Pending(usize),
    /// Every allowed offset was checked without a match.
    Exhausted,
}

/// Looks for `needle` in `hay` at offsets `from..=max_offset`.
pub(crate) fn scan(hay: &[u8], needle: &[u8], from: usize, max_offset: usize) -> Scan {
    let mut off = from;
    while off <= max_offset {
        let end = off.saturating_add(needle.len());
        match hay.get(off..end) {
            Some(window) if window == needle => return Scan::Found(off),
            Some(_) => off += 1,
            None => return Scan::Pending(off),
        }
    }
    Scan::Exhausted
}

/// Removes and returns the first `N` bytes of `input`, if there are that many.
pub(crate) fn take_array<const N: usize>(input: &mut Vec<u8>) -> Option<[u8; N]> {
    let arr: [u8; N] = input.get(..N)?.try_into().ok()?;
    input.drain(..N);
    Some(arr)
}

/// Removes and returns the first `n` bytes of `input`, if there are that many.
pub(crate) fn take_vec(input: &mut Vec<u8>, n: usize) -> Option<Vec<u8>> {
    if input.len() < n {
        return None;
    }
    let rest = input.split_off(n);
    Some(std::mem::replace(input, rest))
}

/// Drops the first `n` bytes of `input` (all of it if shorter).
pub(crate) fn discard(input: &mut Vec<u8>, n: usize) {
    input.drain(..n.min(input.len()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_at_edges_of_the_window() {
        assert_eq!(scan(b"abcXY", b"XY", 0, 3), Scan::Found(3));
        assert_eq!(scan(b"XYabc", b"XY", 0, 0), Scan::Found(0));
        assert_eq!(scan(b"abcdXY", b"XY", 0, 3), Scan::Exhausted);
        assert_eq!(scan(b"abcX", b"XY", 0, 3), Scan::Pending(3));
        assert_eq!(scan(b"", b"XY", 0, 3), Scan::Pending(0));
        assert_eq!(scan(b"aaXY", b"XY", 2, 3), Scan::Found(2));
    }

    #[test]
    fn taking() {
        let mut v = b"abcdef".to_vec();
        assert_eq!(take_array::<2>(&mut v), Some(*b"ab"));
        assert_eq!(take_array::<5>(&mut v), None);
        assert_eq!(take_vec(&mut v, 3), Some(b"cde".to_vec()));
        assert_eq!(take_vec(&mut v, 2), None);
        discard(&mut v, 9);
        assert!(v.is_empty());
    }
}
