//! Tests of [`PrivateStore`] with real files and torrents made by
//! `shoal_metainfo::create_torrent_from_stream`: the sender serves the torrent's bytes,
//! receivers rebuild the files from pieces in any order, a wrong key or a corrupt piece
//! never creates files or opens the header, and hostile writes never panic.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use shoal_metainfo::{create_torrent_from_stream, CreateOptions};

use super::{PrivateStore, PrivateStoreError, HEADER_CACHE_PREFIX, SPOOL_PREFIX};
use crate::{scan_path, ContentKey, PrivateLayout, PrivateSource};

const PL: u32 = 16 * 1024;

/// A shared tree, its ciphertext stream and torrent.
struct Share {
    tmp: tempfile::TempDir,
    root: PathBuf,
    files: Vec<(String, u32)>,
    key: ContentKey,
    stream: Vec<u8>,
    hashes: Vec<[u8; 20]>,
    layout: PrivateLayout,
}

impl Share {
    fn new(files: &[(String, Vec<u8>, u32)], align: usize) -> Share {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("share");
        fs::create_dir(&root).unwrap();
        for (rel, data, mode) in files {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, data).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
        }
        let key = ContentKey::generate();
        let manifest = scan_path(&root).unwrap().manifest;
        let layout = PrivateLayout::seal_aligned(manifest, &key, align).unwrap();
        let source = PrivateSource::from_layout(&root, layout.clone(), &key);
        let len = layout.stream_len();
        let opts = CreateOptions {
            piece_length: Some(PL),
            ..CreateOptions::default()
        };
        let torrent = create_torrent_from_stream(&layout.stream_name(), len, &opts, &|at, buf| {
            source.read_stream(at, buf)
        })
        .unwrap();
        assert_eq!(torrent.info.name, layout.stream_name());
        assert_eq!(torrent.info.total_length, len);
        let mut stream = vec![0u8; len as usize];
        source.read_stream(0, &mut stream).unwrap();
        Share {
            files: files.iter().map(|(r, _, m)| (r.clone(), *m)).collect(),
            tmp,
            root,
            key,
            stream,
            hashes: torrent.info.pieces,
            layout,
        }
    }

    fn source(&self) -> PrivateSource {
        PrivateSource::from_layout(&self.root, self.layout.clone(), &self.key)
    }

    fn sender(&self) -> PrivateStore {
        PrivateStore::sender(self.source(), PL, self.hashes.clone()).unwrap()
    }

    fn receiver(&self, out: &Path, key: &ContentKey) -> PrivateStore {
        let len = self.stream.len() as u64;
        PrivateStore::receiver(out, len, PL, self.hashes.clone(), key.clone()).unwrap()
    }

    fn piece(&self, p: u32) -> &[u8] {
        let start = p as usize * PL as usize;
        &self.stream[start..(start + PL as usize).min(self.stream.len())]
    }

    fn num_pieces(&self) -> u32 {
        self.hashes.len() as u32
    }

    fn assert_reproduced(&self, out: &Path) {
        for (rel, mode) in &self.files {
            let got = out.join("share").join(rel);
            assert_eq!(
                fs::read(&got).unwrap(),
                fs::read(self.root.join(rel)).unwrap()
            );
            let applied = fs::metadata(&got).unwrap().permissions().mode() & 0o7777;
            assert_eq!(applied, *mode, "{rel}");
        }
    }
}

fn tree(rng: &mut StdRng) -> Vec<(String, Vec<u8>, u32)> {
    let mut big = vec![0u8; 150_000];
    rng.fill(&mut big[..]);
    vec![
        ("big.bin".into(), big, 0o644),
        (
            "a/b/secret-name.txt".into(),
            b"hello there".repeat(900),
            0o600,
        ),
        ("a/empty".into(), Vec::new(), 0o644),
        ("c/tool".into(), vec![7; 40_000], 0o755),
    ]
}

/// A tree whose manifest needs several 16 KiB pieces.
fn many_names() -> Vec<(String, Vec<u8>, u32)> {
    (0..800)
        .map(|i| {
            let name = format!("dir-{}/file-with-a-rather-long-name-{i:04}.dat", i % 7);
            (name, vec![i as u8; 100 + i % 500], 0o644)
        })
        .collect()
}

/// Writes piece `p` as shuffled runs of random blocks.
fn feed_piece(store: &PrivateStore, share: &Share, p: u32, rng: &mut StdRng) {
    feed_bytes(store, p, share.piece(p), rng).unwrap();
}

fn feed_bytes(
    store: &PrivateStore,
    p: u32,
    data: &[u8],
    rng: &mut StdRng,
) -> Result<(), PrivateStoreError> {
    let mut runs = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let n = rng.gen_range(1..=6000).min(data.len() - at);
        runs.push(at..at + n);
        at += n;
    }
    runs.shuffle(rng);
    for run in runs {
        let mid = run.start + (run.end - run.start) / 2;
        let bufs = [&data[run.start..mid], &data[mid..run.end]];
        store.write_run(p, run.start as u32, &bufs)?;
    }
    Ok(())
}

fn entries(dir: &Path) -> Vec<String> {
    match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn sender_serves_the_torrent_bytes() {
    let mut rng = StdRng::seed_from_u64(1);
    let share = Share::new(&tree(&mut rng), PL as usize);
    assert_eq!(share.layout.data_offset(), u64::from(PL));
    let store = share.sender();
    assert!(store.is_sender());
    assert_eq!(store.num_pieces(), share.num_pieces());
    for p in 0..share.num_pieces() {
        let want = share.piece(p);
        let mut got = vec![0u8; want.len()];
        for (i, block) in got.chunks_mut(5000).enumerate() {
            store.read_block(p, (i * 5000) as u32, block).unwrap();
        }
        assert_eq!(got, want);
        assert_eq!(store.hash_piece(p).unwrap(), share.hashes[p as usize]);
        assert!(store.verify_piece(p).unwrap());
    }
    assert!(store.check_existing(2, &|_| {}).unwrap().is_full());
    assert!(matches!(
        store.write_block(0, 0, &[0; 10]),
        Err(PrivateStoreError::ReadOnly)
    ));
    let last = share.num_pieces() - 1;
    let mut buf = vec![0u8; PL as usize];
    assert!(matches!(
        store.read_block(last, 0, &mut buf),
        Err(PrivateStoreError::OutOfRange { .. })
    ));
    assert!(store.read_block(u32::MAX, u32::MAX, &mut buf).is_err());
    assert_eq!(store.priority_pieces(), 0..0);
    assert!(store.layout().is_some());
    store.sync_all().unwrap();
    store.finish().unwrap();
}

/// Receives `share` with data pieces first (spooled), then the region, then the rest.
fn receive(share: &Share, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let out = share.tmp.path().join(format!("out-{seed}"));
    let store = share.receiver(&out, &share.key);
    assert_eq!(store.priority_pieces(), 0..1);
    let region: Vec<u32> = (0..share.num_pieces())
        .filter(|p| u64::from(*p) * u64::from(PL) < share.layout.data_offset())
        .collect();
    let mut data: Vec<u32> = (region.len() as u32..share.num_pieces()).collect();
    data.shuffle(&mut rng);
    let later = data.split_off(data.len() / 2);

    for &p in &data {
        feed_piece(&store, share, p, &mut rng);
        assert_eq!(store.hash_piece(p).unwrap(), share.hashes[p as usize]);
    }
    let names = entries(&out);
    assert!(
        names.iter().all(|n| n.starts_with(SPOOL_PREFIX)),
        "{names:?}"
    );
    assert!(store.layout().is_none());

    let mut region_order = region.clone();
    region_order.shuffle(&mut rng);
    for &p in &region_order {
        feed_piece(&store, share, p, &mut rng);
    }
    assert!(store.layout().is_some(), "region complete: header opened");
    assert_eq!(store.priority_pieces(), 0..0);
    assert!(
        entries(&out).iter().all(|n| !n.starts_with(SPOOL_PREFIX)),
        "spool removed"
    );
    for &p in &later {
        feed_piece(&store, share, p, &mut rng);
    }
    for p in 0..share.num_pieces() {
        assert_eq!(
            store.hash_piece(p).unwrap(),
            share.hashes[p as usize],
            "piece {p}"
        );
    }
    store.sync_all().unwrap();
    store.finish().unwrap();
    assert_eq!(store.target_path(), Some(out.join("share")));
    share.assert_reproduced(&out);
    assert_eq!(entries(&out), vec!["share".to_string()]);
    // Re-seeding reads give the torrent's bytes.
    let mut buf = vec![0u8; 7000];
    store.read_block(1, 100, &mut buf).unwrap();
    assert_eq!(buf, share.piece(1)[100..7100]);
}

#[test]
fn receiver_rebuilds_the_tree_from_any_order() {
    let mut rng = StdRng::seed_from_u64(2);
    let files = tree(&mut rng);
    // Region filling whole pieces, and a region sharing piece 0 with file data.
    receive(&Share::new(&files, PL as usize), 10);
    receive(&Share::new(&files, 4096), 11);
    receive(&Share::new(&many_names(), PL as usize), 12);
    receive(&Share::new(&many_names(), 4096), 13);
}

#[test]
fn priority_grows_to_the_whole_region() {
    let share = Share::new(&many_names(), PL as usize);
    let region_pieces = (share.layout.data_offset() / u64::from(PL)) as u32;
    assert!(region_pieces > 2);
    let out = share.tmp.path().join("out");
    let store = share.receiver(&out, &share.key);
    let mut rng = StdRng::seed_from_u64(3);
    assert_eq!(store.priority_pieces(), 0..1);
    feed_piece(&store, &share, 0, &mut rng);
    assert_eq!(store.priority_pieces(), 0..region_pieces);
    assert!(!out.exists(), "nothing spooled, nothing created");
}

#[test]
fn wrong_key_fails_and_leaves_nothing() {
    let mut rng = StdRng::seed_from_u64(4);
    let share = Share::new(&tree(&mut rng), PL as usize);
    let out = share.tmp.path().join("out");
    let store = share.receiver(&out, &ContentKey::generate());
    feed_piece(&store, &share, 3, &mut rng);
    assert_eq!(entries(&out).len(), 1, "spool exists");
    let err = feed_bytes(&store, 0, share.piece(0), &mut rng).unwrap_err();
    assert!(matches!(err, PrivateStoreError::WrongKey), "{err}");
    assert!(err.is_content());
    assert_eq!(err.to_string(), "wrong key for this link");
    assert!(entries(&out).is_empty(), "{:?}", entries(&out));
    assert!(matches!(
        store.write_block(5, 0, &[1; 10]),
        Err(PrivateStoreError::WrongKey)
    ));
    let mut buf = [0u8; 10];
    assert!(matches!(
        store.read_block(3, 0, &mut buf),
        Err(PrivateStoreError::WrongKey)
    ));
    assert!(matches!(store.finish(), Err(PrivateStoreError::WrongKey)));
    assert!(matches!(store.failure(), Some(PrivateStoreError::WrongKey)));
    assert_eq!(store.priority_pieces(), 0..0);
    assert!(entries(&out).is_empty());
}

#[test]
fn corrupt_region_pieces_are_never_trusted() {
    let share = Share::new(&many_names(), PL as usize);
    let out = share.tmp.path().join("out");
    let store = share.receiver(&out, &share.key);
    let mut rng = StdRng::seed_from_u64(5);

    // A bad peer's piece 0 with a forged key check would read as "wrong key".
    let mut bad = share.piece(0).to_vec();
    bad[20] ^= 0xff;
    feed_bytes(&store, 0, &bad, &mut rng).unwrap();
    assert!(store.failure().is_none());
    assert_eq!(store.priority_pieces(), 0..1);
    assert_ne!(store.hash_piece(0).unwrap(), share.hashes[0]);

    // The good piece replaces it; a corrupt manifest piece is ignored the same way.
    feed_piece(&store, &share, 0, &mut rng);
    let region = store.priority_pieces();
    assert!(region.len() > 2);
    let mut bad = share.piece(1).to_vec();
    bad[100] ^= 1;
    feed_bytes(&store, 1, &bad, &mut rng).unwrap();
    for p in 2..region.end {
        feed_piece(&store, &share, p, &mut rng);
    }
    assert!(store.failure().is_none());
    assert!(store.layout().is_none());
    feed_piece(&store, &share, 1, &mut rng);
    assert!(store.layout().is_some());
    // Late duplicates of a verified region piece change nothing.
    feed_bytes(&store, 0, &vec![0; PL as usize], &mut rng).unwrap();
    for p in region.end..share.num_pieces() {
        feed_piece(&store, &share, p, &mut rng);
    }
    for p in 0..share.num_pieces() {
        assert_eq!(store.hash_piece(p).unwrap(), share.hashes[p as usize]);
    }
    store.finish().unwrap();
    share.assert_reproduced(&out);
}

#[test]
fn single_empty_file_share() {
    let share = Share::new(&[("e".into(), Vec::new(), 0o640)], PL as usize);
    assert_eq!(share.num_pieces(), 1);
    let out = share.tmp.path().join("out");
    let store = share.receiver(&out, &share.key);
    store.write_block(0, 0, share.piece(0)).unwrap();
    assert!(store.layout().is_some());
    store.finish().unwrap();
    share.assert_reproduced(&out);
}

#[test]
fn dropping_a_pending_receiver_removes_the_spool() {
    let mut rng = StdRng::seed_from_u64(6);
    let share = Share::new(&tree(&mut rng), PL as usize);
    let out = share.tmp.path().join("out");
    let store = share.receiver(&out, &share.key);
    feed_piece(&store, &share, 4, &mut rng);
    assert_eq!(entries(&out).len(), 1);
    assert!(matches!(store.finish(), Err(PrivateStoreError::NotOpen)));
    drop(store);
    assert!(entries(&out).is_empty());

    let store = share.receiver(&out, &share.key);
    feed_piece(&store, &share, 4, &mut rng);
    assert_eq!(entries(&out).len(), 1);
    store.close();
    assert!(entries(&out).is_empty());
    assert!(store.write_block(4, 0, &[0; 10]).is_err());
    assert!(store.failure().is_some());
}

#[test]
fn bad_torrents_are_refused() {
    let out = Path::new("/nonexistent/never-created");
    let key = ContentKey::generate();
    let tiny = PrivateStore::receiver(out, 40, PL, vec![[0; 20]], key.clone());
    assert!(matches!(tiny, Err(PrivateStoreError::Content(_))));
    let counts = PrivateStore::receiver(out, 100_000, PL, vec![[0; 20]], key.clone());
    assert!(matches!(counts, Err(PrivateStoreError::BadTorrent(_))));
    let zero = PrivateStore::receiver(out, 100_000, 0, vec![], key);
    assert!(matches!(zero, Err(PrivateStoreError::BadTorrent(_))));
}

#[test]
fn tiny_pieces_and_concurrent_writers() {
    use sha1::{Digest, Sha1};
    let mut rng = StdRng::seed_from_u64(7);
    let share = Share::new(&tree(&mut rng), 4096);
    // 40-byte pieces: the fixed header alone spans two of them.
    let pl = 40u32;
    let hashes: Vec<[u8; 20]> = share
        .stream
        .chunks(pl as usize)
        .map(|c| Sha1::digest(c).into())
        .collect();
    let out = share.tmp.path().join("out");
    let len = share.stream.len() as u64;
    let store = PrivateStore::receiver(&out, len, pl, hashes.clone(), share.key.clone()).unwrap();
    assert_eq!(store.priority_pieces(), 0..2);
    let mut order: Vec<u32> = (0..hashes.len() as u32).collect();
    order.shuffle(&mut rng);
    let stream = &share.stream;
    std::thread::scope(|s| {
        for part in order.chunks(order.len().div_ceil(4)) {
            let store = &store;
            s.spawn(move || {
                for &p in part {
                    let start = p as usize * pl as usize;
                    let end = (start + pl as usize).min(stream.len());
                    store.write_block(p, 0, &stream[start..end]).unwrap();
                }
            });
        }
    });
    assert!(store.layout().is_some());
    for (p, h) in hashes.iter().enumerate() {
        assert_eq!(&store.hash_piece(p as u32).unwrap(), h);
    }
    store.finish().unwrap();
    share.assert_reproduced(&out);
}

#[test]
fn store_is_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PrivateStore>();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary writes and reads (bad ranges, garbage bytes) never panic and never
    /// open the header or create anything but the spool.
    #[test]
    fn hostile_writes_never_panic(
        ops in proptest::collection::vec(
            (0u32..8, 0u32..20_000, proptest::collection::vec(any::<u8>(), 0..3000)),
            0..30,
        ),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let len = 100_000u64;
        let pieces = len.div_ceil(u64::from(PL)) as usize;
        let store = PrivateStore::receiver(
            &out, len, PL, vec![[0x5a; 20]; pieces], ContentKey::from_bytes([1; 32]),
        ).unwrap();
        for (piece, begin, data) in ops {
            let _ = store.write_block(piece, begin, &data);
            let mut buf = vec![0u8; data.len()];
            let _ = store.read_block(piece, begin, &mut buf);
            let _ = store.hash_piece(piece);
        }
        prop_assert!(store.layout().is_none());
        prop_assert!(entries(&out).iter().all(|n| n.starts_with(SPOOL_PREFIX)));
    }
}

/// A receiver stopped half-way leaves its header cache; the next receiver of the same
/// share opens at once and finds exactly the pieces that were written, then finishes
/// with the rest. A receiver with another key finds nothing and leaves the cache alone.
#[test]
fn a_later_receiver_resumes_from_the_files_on_disk() {
    let mut rng = StdRng::seed_from_u64(30);
    for align in [PL as usize, 4096] {
        let share = Share::new(&tree(&mut rng), align);
        let out = share.tmp.path().join(format!("out-resume-{align}"));
        let n = share.num_pieces();
        let mut fed: Vec<u32> = (0..n).filter(|p| p % 3 != 1).collect();
        fed.shuffle(&mut rng);
        {
            let first = share.receiver(&out, &share.key);
            for &p in &fed {
                feed_piece(&first, &share, p, &mut rng);
            }
            assert!(first.layout().is_some());
            first.sync_all().unwrap();
            first.close();
        }
        let names = entries(&out);
        assert!(
            names.iter().any(|n| n.starts_with(HEADER_CACHE_PREFIX)),
            "{names:?}"
        );

        let stranger = share.receiver(&out, &ContentKey::generate());
        let have = stranger.check_existing(1, &|_| {}).unwrap();
        assert_eq!(have.count_ones(), 0);
        assert!(stranger.layout().is_none());
        drop(stranger);

        let second = share.receiver(&out, &share.key);
        let have = second.check_existing(1, &|_| {}).unwrap();
        let held: Vec<u32> = (0..n).filter(|p| have.get(*p as usize)).collect();
        let mut want = fed.clone();
        want.sort_unstable();
        assert_eq!(held, want);
        assert!(second.layout().is_some(), "opened from the cache");
        for p in (0..n).filter(|p| !have.get(*p as usize)) {
            feed_piece(&second, &share, p, &mut rng);
        }
        second.sync_all().unwrap();
        second.finish().unwrap();
        share.assert_reproduced(&out);
        assert_eq!(entries(&out), vec!["share".to_string()], "cache removed");
    }
}

/// Everything was written but the run stopped before finishing: the next receiver
/// holds every piece and finishes at once (modes applied, cache gone).
#[test]
fn a_complete_but_unfinished_download_is_finished_on_resume() {
    let mut rng = StdRng::seed_from_u64(31);
    let share = Share::new(&tree(&mut rng), PL as usize);
    let out = share.tmp.path().join("out-unfinished");
    {
        let first = share.receiver(&out, &share.key);
        for p in 0..share.num_pieces() {
            feed_piece(&first, &share, p, &mut rng);
        }
        first.sync_all().unwrap();
    }
    let second = share.receiver(&out, &share.key);
    let have = second.check_existing(1, &|_| {}).unwrap();
    assert!(have.is_full());
    share.assert_reproduced(&out);
    assert_eq!(entries(&out), vec!["share".to_string()]);
}
