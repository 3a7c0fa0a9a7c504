//! Resource limits on hostile metainfo: a torrent listing millions of files, a `pieces`
//! string for a hundred million pieces, or a total length that disagrees with the piece
//! count is refused with a clear error, quickly, and without a large allocation.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use shoal_metainfo::{
    Metainfo, MetainfoError, MAX_FILES, MAX_METAINFO_BYTES, MAX_PIECES, MAX_PIECE_LENGTH,
};

/// Peak resident memory of this process in KiB (`VmHWM`), after resetting the peak.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A raw multi-file torrent with `count` one-byte files named `0`, `1`, …, 16 KiB pieces.
fn many_files_torrent(count: usize) -> Vec<u8> {
    let mut files = Vec::with_capacity(count * 32);
    for i in 0..count {
        let name = i.to_string();
        files.extend_from_slice(b"d6:lengthi1e4:pathl");
        files.extend_from_slice(format!("{}:{}", name.len(), name).as_bytes());
        files.extend_from_slice(b"ee");
    }
    let pieces = (count as u64).div_ceil(16384) as usize;
    let mut out = Vec::with_capacity(files.len() + pieces * 20 + 128);
    out.extend_from_slice(b"d4:infod5:filesl");
    out.extend_from_slice(&files);
    out.extend_from_slice(b"e4:name4:many12:piece lengthi16384e6:pieces");
    out.extend_from_slice(format!("{}:", pieces * 20).as_bytes());
    out.extend(std::iter::repeat_n(7u8, pieces * 20));
    out.extend_from_slice(b"ee");
    out
}

fn parse_measured(bytes: &[u8]) -> (Result<Metainfo, MetainfoError>, std::time::Duration, u64) {
    reset_peak();
    let before = peak_kib();
    let start = Instant::now();
    let res = Metainfo::from_bytes(bytes);
    (res, start.elapsed(), peak_kib().saturating_sub(before))
}

/// Both memory-measuring cases live in one test so that nothing else allocates meanwhile.
#[test]
fn millions_of_files_refused_before_decoding_and_the_limit_is_affordable() {
    let bytes = many_files_torrent(2_000_000);
    let (res, took, grew) = parse_measured(&bytes);
    let err = res.unwrap_err();
    println!(
        "2,000,000 files ({} MiB of metainfo): `{err}` in {took:?}, peak grew by {} KiB",
        bytes.len() >> 20,
        grew
    );
    assert!(matches!(err, MetainfoError::TooLarge { .. }), "{err:?}");
    assert!(grew < 16 * 1024, "refusing took {grew} KiB");
    assert!(took.as_secs() < 5);
    drop(bytes);

    // MAX_FILES minimal entries: accepted, at a bounded cost.
    let bytes = many_files_torrent(MAX_FILES);
    let (res, took, grew) = parse_measured(&bytes);
    let m = res.unwrap();
    println!(
        "{MAX_FILES} files ({} MiB of metainfo): parsed in {took:?}, peak grew by {} MiB",
        bytes.len() >> 20,
        grew >> 10
    );
    assert_eq!(m.info.files.len(), MAX_FILES);
    assert!(grew < 768 * 1024, "parsing took {grew} KiB");
    drop(m);

    // One more file than the limit: refused by the file count.
    let err = Metainfo::from_bytes(&many_files_torrent(MAX_FILES + 1)).unwrap_err();
    assert!(matches!(err, MetainfoError::TooManyFiles { .. }), "{err:?}");
}

/// A single-file info dict with a `pieces` string of `pieces` hashes.
fn with_pieces(pieces: usize, length: u64, piece_length: u64) -> Vec<u8> {
    let mut out = b"d4:infod6:lengthi".to_vec();
    out.extend_from_slice(
        format!("{length}e4:name1:x12:piece lengthi{piece_length}e6:pieces").as_bytes(),
    );
    out.extend_from_slice(format!("{}:", pieces * 20).as_bytes());
    out.extend(std::iter::repeat_n(3u8, pieces * 20));
    out.extend_from_slice(b"ee");
    out
}

#[test]
fn huge_piece_counts_refused() {
    // 10^8 pieces would be a 2 GB `pieces` string: anything over the byte cap is refused
    // before decoding (here the string is announced but cut short, as a peer would).
    let mut claim =
        b"d4:infod6:lengthi1600000000000e4:name1:x12:piece lengthi16384e6:pieces2000000000:"
            .to_vec();
    claim.resize(MAX_METAINFO_BYTES + 1, 0);
    let err = Metainfo::from_bytes(&claim).unwrap_err();
    assert!(
        matches!(err, MetainfoError::TooLarge { what: "bytes", .. }),
        "{err:?}"
    );
    claim.truncate(1 << 20);
    assert!(matches!(
        Metainfo::from_bytes(&claim).unwrap_err(),
        MetainfoError::Bencode(_)
    ));

    // Within the byte cap but over MAX_PIECES.
    let n = MAX_PIECES + 1;
    let err = Metainfo::from_bytes(&with_pieces(n, n as u64 * 16384, 16384)).unwrap_err();
    assert!(
        matches!(err, MetainfoError::TooManyPieces { .. }),
        "{err:?}"
    );
    // Exactly MAX_PIECES is fine.
    let n = MAX_PIECES;
    let m = Metainfo::from_bytes(&with_pieces(n, n as u64 * 16384, 16384)).unwrap();
    assert_eq!(m.info.num_pieces() as usize, MAX_PIECES);
}

#[test]
fn length_and_piece_count_must_agree() {
    for (pieces, length, piece_length) in [
        (10, 16384 * 10 + 1, 16384), // one hash short
        (10, 16384 * 9, 16384),      // one hash too many
        (1, 1 << 40, 1 << 20),       // a terabyte with one hash
        (1000, 1, 16384),            // one byte with 1000 hashes
    ] {
        let err = Metainfo::from_bytes(&with_pieces(pieces, length, piece_length)).unwrap_err();
        assert!(
            matches!(err, MetainfoError::PieceCountMismatch { .. }),
            "{err:?}"
        );
    }
}

#[test]
fn piece_length_rules() {
    // Zero, negative and over 256 MiB are refused.
    for bad in [0i64, -16384, (MAX_PIECE_LENGTH as i64) + 1] {
        let bytes = with_pieces(1, 100, 1).to_vec();
        let text = String::from_utf8_lossy(&bytes).replace("lengthi1e", &format!("lengthi{bad}e"));
        let err = Metainfo::from_bytes(text.as_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                MetainfoError::Invalid {
                    field: "info.piece length",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
    }
    // Any other length is accepted, power of two or not (BEP 3 does not require one; v1
    // torrents with e.g. 1000-byte or 3 MB pieces exist and libtorrent loads them).
    for ok in [1u64, 1000, 20_000, 3_000_000, 16384] {
        let m = Metainfo::from_bytes(&with_pieces(3, ok * 3, ok)).unwrap();
        assert_eq!(u64::from(m.info.piece_length), ok);
    }
}
