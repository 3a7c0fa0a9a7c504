//! Integration-style tests of `Storage` against real temporary directories.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::sync::atomic::{AtomicU32, Ordering};

use sha1::{Digest, Sha1};

use crate::{FileSpec, Layout, Storage, StorageError, StorageOptions};

/// `(path, length, pad)` files, piece length, and deterministic content.
pub(crate) struct Fixture {
    pub dir: tempfile::TempDir,
    pub storage: Storage,
    pub data: Vec<u8>,
}

pub(crate) fn spec(files: &[(&str, u64, bool)]) -> Vec<FileSpec> {
    files
        .iter()
        .map(|&(p, length, pad)| FileSpec {
            path: p.into(),
            length,
            pad,
        })
        .collect()
}

/// Content with zeros in pad regions, so pieces hash as a reader would see them.
fn content(files: &[FileSpec]) -> Vec<u8> {
    let mut data = Vec::new();
    for f in files {
        for _ in 0..f.length {
            let b = if f.pad {
                0
            } else {
                (data.len() as u32).wrapping_mul(2654435761) >> 24
            };
            data.push(b as u8);
        }
    }
    data
}

pub(crate) fn hashes(data: &[u8], pl: u32) -> Vec<[u8; 20]> {
    data.chunks(pl as usize)
        .map(|c| Sha1::digest(c).into())
        .collect()
}

fn fixture_opts(files: &[(&str, u64, bool)], pl: u32, opts: StorageOptions) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let files = spec(files);
    let data = content(&files);
    let layout = Layout {
        piece_length: pl,
        total_length: data.len() as u64,
        files,
    };
    let storage = Storage::with_options(dir.path(), layout, hashes(&data, pl), opts).unwrap();
    Fixture { dir, storage, data }
}

fn fixture(files: &[(&str, u64, bool)], pl: u32) -> Fixture {
    fixture_opts(files, pl, StorageOptions::default())
}

impl Fixture {
    fn write_all(&self, block: usize) {
        let pl = self.storage.layout().piece_length as usize;
        for (p, piece) in self.data.chunks(pl).enumerate() {
            for (b, blk) in piece.chunks(block).enumerate() {
                self.storage
                    .write_block(p as u32, (b * block) as u32, blk)
                    .unwrap();
            }
        }
    }

    fn read_piece(&self, p: u32) -> Result<Vec<u8>, StorageError> {
        let mut buf = vec![0; self.storage.layout().piece_size(p) as usize];
        self.storage.read_block(p, 0, &mut buf).map(|()| buf)
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }
}

#[test]
fn single_file_roundtrip() {
    let fx = fixture(&[("f", 100_000, false)], 32768);
    assert!(!fx.path("f").exists(), "new() must not touch the disk");
    fx.write_all(16384);
    for p in 0..fx.storage.layout().num_pieces() {
        assert!(fx.storage.verify_piece(p).unwrap());
        let off = p as usize * 32768;
        assert_eq!(
            fx.read_piece(p).unwrap(),
            fx.data[off..off + fx.read_piece(p).unwrap().len()]
        );
    }
    assert_eq!(fs::read(fx.path("f")).unwrap(), fx.data);
    fx.storage.sync_all().unwrap();
}

#[test]
fn multi_file_spanning_blocks() {
    // Tiny files so one block spans three files; zero-length files in between.
    let files = [
        ("a/x", 5, false),
        ("a/empty", 0, false),
        ("a/y", 3, false),
        ("b/c/z", 2, false),
        ("w", 40, false),
    ];
    let fx = fixture(&files, 16);
    // Block covering a/x[2..], all of a/y and b/c/z[..1].
    fx.storage.write_block(0, 2, &fx.data[2..9]).unwrap();
    let mut buf = [0u8; 7];
    fx.storage.read_block(0, 2, &mut buf).unwrap();
    assert_eq!(buf, fx.data[2..9]);
    fx.write_all(7);
    for p in 0..fx.storage.layout().num_pieces() {
        assert!(fx.storage.verify_piece(p).unwrap(), "piece {p}");
    }
    assert_eq!(fs::read(fx.path("a/y")).unwrap(), fx.data[5..8]);
    assert_eq!(fs::read(fx.path("b/c/z")).unwrap(), fx.data[8..10]);
    // Empty files appear only when asked for.
    assert!(!fx.path("a/empty").exists());
    fx.storage.create_empty_files().unwrap();
    assert_eq!(fs::metadata(fx.path("a/empty")).unwrap().len(), 0);
    fx.storage.create_empty_files().unwrap();
}

#[test]
fn pad_files_never_created_and_read_zero() {
    let files = [
        ("a", 10, false),
        (".pad/6", 6, true),
        ("b", 20, false),
        (".pad/12", 12, true),
    ];
    let fx = fixture(&files, 16);
    let junk = [0xAAu8; 48];
    // Write garbage over everything in one go: pad bytes are discarded.
    for p in 0..3u32 {
        fx.storage.write_block(p, 0, &junk[..16]).unwrap();
    }
    assert!(!fx.path(".pad").exists());
    let piece0 = fx.read_piece(0).unwrap();
    assert_eq!(&piece0[..10], &junk[..10]);
    assert_eq!(&piece0[10..], &[0; 6]);
    fx.write_all(16);
    assert!((0..3).all(|p| fx.storage.verify_piece(p).unwrap()));
    let check = fx.storage.check_existing(2, &|_| {}).unwrap();
    assert!(check.is_full());
    fx.storage.create_empty_files().unwrap();
    assert!(!fx.path(".pad").exists());
}

#[test]
fn sparse_creation() {
    let len = 64 << 20;
    let fx = fixture(&[("big", len, false)], 1 << 20);
    fx.storage.write_block(63, 0, &[1u8; 16384]).unwrap();
    let m = fs::metadata(fx.path("big")).unwrap();
    assert_eq!(m.len(), len);
    assert!(
        m.blocks() * 512 < 4 << 20,
        "file not sparse: {} blocks",
        m.blocks()
    );
    // Unwritten regions of a created file read as zeros and fail verification.
    let mut buf = [9u8; 4];
    fx.storage.read_block(0, 0, &mut buf).unwrap();
    assert_eq!(buf, [0; 4]);
    assert!(!fx.storage.verify_piece(0).unwrap());
}

#[test]
fn missing_and_short_files_error_on_read() {
    let fx = fixture(&[("a", 10, false), ("b", 10, false)], 8);
    let mut buf = [0u8; 8];
    assert!(matches!(
        fx.storage.read_block(0, 0, &mut buf),
        Err(StorageError::Missing { .. })
    ));
    assert!(!fx.path("a").exists(), "reads must not create files");
    fs::write(fx.path("a"), [1u8; 4]).unwrap();
    assert!(matches!(
        fx.storage.read_block(0, 0, &mut buf),
        Err(StorageError::Missing { .. })
    ));
    fx.storage.read_block(0, 0, &mut buf[..4]).unwrap();
    assert!(!fx.storage.verify_piece(0).unwrap());
    assert!(matches!(
        fx.storage.hash_piece(0),
        Err(StorageError::Missing { .. })
    ));
}

#[test]
fn verify_detects_corruption() {
    let fx = fixture(&[("a", 50, false)], 16);
    fx.write_all(16);
    assert!(fx.storage.verify_piece(1).unwrap());
    fx.storage.write_block(1, 3, &[fx.data[19] ^ 1]).unwrap();
    assert!(!fx.storage.verify_piece(1).unwrap());
    assert!(fx.storage.verify_piece(0).unwrap());
    assert_eq!(
        fx.storage.hash_piece(3).unwrap(),
        fx.storage.piece_hash(3).unwrap()
    );
    assert_eq!(fx.storage.piece_hash(4), None);
}

#[test]
fn out_of_range_refused() {
    let fx = fixture(&[("a", 40, false)], 16);
    let s = &fx.storage;
    let oor = |r: Result<(), StorageError>| matches!(r, Err(StorageError::OutOfRange { .. }));
    assert!(oor(s.write_block(3, 0, &[0])));
    assert!(oor(s.write_block(2, 0, &[0; 9])));
    assert!(oor(s.write_block(0, 10, &[0; 7])));
    assert!(oor(s.write_block(0, u32::MAX, &[0; 2])));
    assert!(oor(s.read_block(u32::MAX, 0, &mut [0; 1])));
    assert!(oor(s.read_block(2, 8, &mut [0; 1])));
    assert!(matches!(
        s.hash_piece(3),
        Err(StorageError::OutOfRange { .. })
    ));
    assert!(matches!(
        s.verify_piece(3),
        Err(StorageError::OutOfRange { .. })
    ));
    assert!(!fx.path("a").exists());
    // Exact bounds are fine.
    s.write_block(2, 0, &[0; 8]).unwrap();
    s.write_block(1, 16, &[]).unwrap();
}

#[test]
fn invalid_layouts_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mk = |files: &[(&str, u64, bool)], total: u64, n: usize| {
        let layout = Layout {
            piece_length: 16,
            total_length: total,
            files: spec(files),
        };
        Storage::new(dir.path(), layout, vec![[0; 20]; n])
    };
    assert!(mk(&[("a", 20, false)], 20, 2).is_ok());
    assert!(matches!(
        mk(&[("a", 20, false)], 20, 1),
        Err(StorageError::InvalidLayout(_))
    ));
    assert!(matches!(
        mk(&[("a", 20, false)], 21, 2),
        Err(StorageError::InvalidLayout(_))
    ));
    for bad in ["../evil", "/etc/passwd", "a/../../b", ""] {
        assert!(
            matches!(
                mk(&[(bad, 20, false)], 20, 2),
                Err(StorageError::UnsafePath(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn symlink_escape_refused() {
    let outside = tempfile::tempdir().unwrap();
    let fx = fixture(&[("name/file", 16, false), ("other", 16, false)], 16);
    symlink(outside.path(), fx.path("name")).unwrap();
    let r = fx.storage.write_block(0, 0, &fx.data[..16]);
    assert!(matches!(r, Err(StorageError::UnsafePath(_))), "{r:?}");
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    assert!(matches!(
        fx.storage.check_existing(1, &|_| {}),
        Err(StorageError::UnsafePath(_))
    ));

    // Single-file case: `root/other -> outside/secret` is neither written nor read.
    let secret = outside.path().join("secret");
    fs::write(&secret, b"do not leak this").unwrap();
    symlink(&secret, fx.path("other")).unwrap();
    assert!(fx.storage.write_block(1, 0, &fx.data[16..]).is_err());
    assert!(fx.storage.read_block(1, 0, &mut [0; 16]).is_err());
    assert_eq!(fs::read(&secret).unwrap(), b"do not leak this");
}

#[test]
fn check_existing_marks_missing_short_corrupt() {
    // 8 files of 3 pieces each (piece length 16).
    let names: Vec<String> = (0..8).map(|i| format!("d{}/f{i}", i % 3)).collect();
    let files: Vec<_> = names.iter().map(|n| (n.as_str(), 48, false)).collect();
    let fx = fixture(&files, 16);
    fx.write_all(16);
    fx.storage.sync_all().unwrap();
    fx.storage.close_files();
    fs::remove_file(fx.path(&names[1])).unwrap(); // pieces 3..6 missing
    fs::OpenOptions::new()
        .write(true)
        .open(fx.path(&names[4]))
        .unwrap()
        .set_len(40)
        .unwrap(); // piece 14 loses its tail; 12 and 13 stay intact
    let mut bytes = fs::read(fx.path(&names[6])).unwrap();
    bytes[20] ^= 0xFF; // piece 19
    fs::write(fx.path(&names[6]), bytes).unwrap();

    let seen = AtomicU32::new(0);
    let calls = AtomicU32::new(0);
    let have = fx
        .storage
        .check_existing(4, &|n| {
            seen.fetch_max(n, Ordering::Relaxed);
            calls.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
    assert_eq!(seen.into_inner(), 24);
    assert_eq!(calls.into_inner(), 24);
    let missing: Vec<usize> = (0..24).filter(|&i| !have.get(i)).collect();
    assert_eq!(missing, vec![3, 4, 5, 14, 19]);
    // Reading must not have recreated the deleted file.
    assert!(!fx.path(&names[1]).exists());

    // Nothing on disk at all.
    let empty = fixture(&files, 16);
    let have = empty.storage.check_existing(0, &|_| {}).unwrap();
    assert_eq!(have.count_ones(), 0);
    assert_eq!(have.len(), 24);
}

#[test]
fn handle_cache_is_bounded() {
    let names: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
    let files: Vec<_> = names.iter().map(|n| (n.as_str(), 10, false)).collect();
    let opts = StorageOptions {
        max_open_files: 3,
        pool: None,
    };
    let fx = fixture_opts(&files, 16, opts);
    fx.write_all(5);
    assert!(fx.storage.open_handles() <= 3);
    assert!(fx.storage.check_existing(3, &|_| {}).unwrap().is_full());
    assert!(fx.storage.open_handles() <= 3);
    // Evicted files are still synced.
    fx.storage.sync_all().unwrap();
}

#[test]
fn concurrent_writers() {
    let names: Vec<String> = (0..5).map(|i| format!("dir/f{i}")).collect();
    let files: Vec<_> = names.iter().map(|n| (n.as_str(), 100_003, false)).collect();
    let fx = fixture(&files, 65536);
    let n = fx.storage.layout().num_pieces();
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let fx = &fx;
            s.spawn(move || {
                for p in (t..n).step_by(4) {
                    let off = p as usize * 65536;
                    let size = fx.storage.layout().piece_size(p) as usize;
                    for b in (0..size).step_by(16384) {
                        let end = (b + 16384).min(size);
                        fx.storage
                            .write_block(p, b as u32, &fx.data[off + b..off + end])
                            .unwrap();
                    }
                }
            });
        }
    });
    assert!(fx.storage.check_existing(2, &|_| {}).unwrap().is_full());
}

#[test]
fn refuses_non_file_in_place() {
    let fx = fixture(&[("a", 16, false)], 16);
    fs::create_dir(fx.path("a")).unwrap();
    let r = fx.storage.write_block(0, 0, &[0; 16]);
    assert!(matches!(r, Err(StorageError::NotAFile { .. })), "{r:?}");
    assert!(matches!(
        fx.storage.check_existing(1, &|_| {}),
        Err(StorageError::NotAFile { .. })
    ));
}

#[test]
fn read_only_dir_maps_permission() {
    // Root may bypass permissions; only assert when the OS actually refuses.
    let fx = fixture(&[("sub/a", 16, false)], 16);
    fs::create_dir(fx.path("sub")).unwrap();
    let mut perm = fs::metadata(fx.path("sub")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o500);
    fs::set_permissions(fx.path("sub"), perm).unwrap();
    if let Err(e) = fx.storage.write_block(0, 0, &[0; 16]) {
        assert!(matches!(e, StorageError::PermissionDenied { .. }), "{e:?}");
    }
}

#[test]
fn accessors() {
    let fx = fixture(&[("a", 10, false), ("e", 0, false), ("b", 30, false)], 16);
    let s = &fx.storage;
    assert_eq!(s.file_pieces(0), Some(0..1));
    assert_eq!(s.file_pieces(1), Some(0..0));
    assert_eq!(s.file_pieces(2), Some(0..3));
    assert_eq!(s.file_pieces(3), None);
    assert_eq!(s.file_path(2), Some(fx.dir.path().join("b")));
    assert_eq!(s.root(), fx.dir.path());
}

/// Rough throughput check: `cargo test -p shoal-storage --release -- --ignored --nocapture`.
/// Uses `SHOAL_BENCH_DIR` (e.g. /dev/shm) if set.
#[test]
#[ignore]
fn throughput() {
    let base = std::env::var_os("SHOAL_BENCH_DIR").map(std::path::PathBuf::from);
    let dir = match &base {
        Some(b) => tempfile::tempdir_in(b).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let pl = 1u32 << 20;
    let total = 512u64 << 20;
    let files: Vec<FileSpec> = (0..4)
        .map(|i| FileSpec {
            path: format!("f{i}").into(),
            length: total / 4,
            pad: false,
        })
        .collect();
    let layout = Layout {
        piece_length: pl,
        total_length: total,
        files,
    };
    let n = layout.num_pieces();
    let s = Storage::new(dir.path(), layout, vec![[0; 20]; n as usize]).unwrap();
    let block = [0x5Au8; 16384];
    let t = std::time::Instant::now();
    for p in 0..n {
        for b in (0..pl).step_by(16384) {
            s.write_block(p, b, &block).unwrap();
        }
    }
    let w = t.elapsed();
    let t = std::time::Instant::now();
    for p in 0..n {
        for b in (0..pl).step_by(16384) {
            s.write_block(p, b, &block).unwrap();
        }
    }
    let w2 = t.elapsed();
    let t = std::time::Instant::now();
    let mut buf = [0u8; 16384];
    for p in 0..n {
        for b in (0..pl).step_by(16384) {
            s.read_block(p, b, &mut buf).unwrap();
        }
    }
    let r = t.elapsed();
    let t = std::time::Instant::now();
    for p in 0..n {
        s.hash_piece(p).unwrap();
    }
    let h = t.elapsed();
    let t = std::time::Instant::now();
    s.check_existing(2, &|_| {}).unwrap();
    let c = t.elapsed();
    let mbps = |d: std::time::Duration| (total >> 20) as f64 / d.as_secs_f64();
    println!(
        "write {:.0} MiB/s, rewrite {:.0} MiB/s, read {:.0} MiB/s, hash {:.0} MiB/s, check(2 threads) {:.0} MiB/s",
        mbps(w),
        mbps(w2),
        mbps(r),
        mbps(h),
        mbps(c)
    );
}

#[test]
fn write_run_spans_files_like_single_writes() {
    let fx = fixture(&[("a", 10, false), ("pad", 6, true), ("b", 30, false)], 64);
    let data: Vec<u8> = (0..46u8).collect();
    // Three "blocks" of the 46-byte stream written as one run from piece 0.
    let bufs: Vec<&[u8]> = vec![&data[..7], &data[7..20], &data[20..46]];
    fx.storage.write_run(0, 0, &bufs).unwrap();
    let mut back = vec![0u8; 46];
    fx.storage.read_range(0, &mut back).unwrap();
    let mut expected = data.clone();
    expected[10..16].fill(0); // pad bytes read as zeros
    assert_eq!(back, expected);
    assert!(!fx.path("pad").exists());
    assert!(
        fx.storage.write_run(2, 0, &bufs).is_err(),
        "past the end is refused"
    );
}
