//! Creating a single-file torrent over bytes that are not a file on disk: a caller
//! supplies `read(offset, buf)` (e.g. the ciphertext of a private link, produced on the
//! fly from plaintext files), and pieces are hashed in parallel like [`create_torrent`].
//!
//! [`create_torrent`]: crate::create_torrent

use crate::create::{auto_piece_length, build_info, build_torrent, CreateError, Source};
use crate::{CreateOptions, Metainfo, MAX_PIECE_LENGTH};
use sha1::{Digest, Sha1};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// The reader of a stream: fills `buf` with the bytes at `offset`.
pub type StreamReader<'a> = dyn Fn(u64, &mut [u8]) -> io::Result<()> + Sync + 'a;

/// Digests one hashing thread produced, by piece index.
type Digests = Vec<(u32, [u8; 20])>;

/// A torrent of one file named `name` holding `total_length` bytes read through `read`.
/// `opts.piece_length` may be given (it must match a layout that was aligned to it);
/// otherwise it is chosen from the length.
pub fn create_torrent_from_stream(
    name: &str,
    total_length: u64,
    opts: &CreateOptions,
    read: &StreamReader<'_>,
) -> Result<Metainfo, CreateError> {
    let path = PathBuf::from(name);
    if total_length == 0 {
        return Err(CreateError::Empty { path });
    }
    if !crate::sanitize::is_safe_component(name) {
        return Err(CreateError::UnsafeName { path });
    }
    let piece_length = match opts.piece_length {
        None => auto_piece_length(total_length),
        Some(pl) if pl.is_power_of_two() && (16 * 1024..=MAX_PIECE_LENGTH).contains(&pl) => pl,
        Some(pl) => return Err(CreateError::BadPieceLength(pl)),
    };
    let num_pieces = total_length.div_ceil(u64::from(piece_length));
    let num_pieces =
        u32::try_from(num_pieces).map_err(|_| CreateError::BadPieceLength(piece_length))?;
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 64);
    let next = AtomicU32::new(0);
    // Each worker takes the next unhashed piece and keeps its digests; merged at the end.
    let hashed: io::Result<Vec<Digests>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> io::Result<Digests> {
                    let mut buf = vec![0u8; piece_length as usize];
                    let mut done = Vec::new();
                    loop {
                        let piece = next.fetch_add(1, Ordering::Relaxed);
                        if piece >= num_pieces {
                            return Ok(done);
                        }
                        let offset = u64::from(piece) * u64::from(piece_length);
                        let len = (total_length - offset).min(u64::from(piece_length)) as usize;
                        let chunk = &mut buf[..len];
                        read(offset, chunk)?;
                        done.push((piece, Sha1::digest(&*chunk).into()));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| io::Error::other("hashing thread panicked"))?
            })
            .collect()
    });
    let hashed = hashed.map_err(|source| CreateError::Io {
        path: path.clone(),
        source,
    })?;
    let mut pieces = vec![[0u8; 20]; num_pieces as usize];
    for (piece, digest) in hashed.into_iter().flatten() {
        pieces[piece as usize] = digest;
    }
    let single = Source {
        abs: path,
        rel: Vec::new(),
        length: total_length,
        executable: false,
    };
    let info = build_info(
        name,
        piece_length,
        &pieces,
        std::slice::from_ref(&single),
        false,
        opts.private,
    );
    let torrent = build_torrent(info.encode(), opts);
    Ok(Metainfo::from_bytes(&torrent)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_torrent_matches_file_torrent() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, &data).unwrap();
        let opts = CreateOptions {
            piece_length: Some(32 * 1024),
            creation_date: Some(1),
            ..CreateOptions::default()
        };
        let from_file = crate::create_torrent(&path, &opts).unwrap();
        let read = |off: u64, buf: &mut [u8]| {
            let off = off as usize;
            buf.copy_from_slice(&data[off..off + buf.len()]);
            Ok(())
        };
        let from_stream =
            create_torrent_from_stream("blob", data.len() as u64, &opts, &read).unwrap();
        assert_eq!(from_file.info_hash, from_stream.info_hash);
    }

    #[test]
    fn read_errors_and_bad_input_are_reported() {
        let opts = CreateOptions::default();
        let fail = |_: u64, _: &mut [u8]| Err(io::Error::other("boom"));
        assert!(matches!(
            create_torrent_from_stream("x", 10, &opts, &fail),
            Err(CreateError::Io { .. })
        ));
        let ok = |_: u64, _: &mut [u8]| Ok(());
        assert!(create_torrent_from_stream("x", 0, &opts, &ok).is_err());
        assert!(create_torrent_from_stream("../x", 10, &opts, &ok).is_err());
    }
}
