//! Open file handles stay bounded: a torrent of 5,000 small files is written, re-checked
//! and read back by several threads while a sampler counts this process's open file
//! descriptors in `/proc/self/fd`; the peak stays within the handle cache's cap plus one
//! handle in use per I/O thread, whatever the number of files.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha1::{Digest, Sha1};
use shoal_storage::{FileSpec, Layout, Storage, StorageOptions};

const FILES: usize = 5_000;
const PIECE: u32 = 16 * 1024;
const THREADS: usize = 4;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Samples the fd count every 200 µs until dropped; `peak` holds the maximum seen.
struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start() -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicUsize::new(0));
        let (s, p) = (Arc::clone(&stop), Arc::clone(&peak));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(open_fds(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(200));
            }
        });
        Sampler {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// 5,000 files of 700..1,700 bytes in 50 directories, and their content.
fn layout() -> (Layout, Vec<u8>) {
    let files: Vec<FileSpec> = (0..FILES)
        .map(|i| FileSpec {
            path: PathBuf::from(format!("many/d{:02}/f{i:04}", i % 50)),
            length: 700 + (i as u64 * 37) % 1000,
            pad: false,
        })
        .collect();
    let total: u64 = files.iter().map(|f| f.length).sum();
    let data = (0..total).map(|i| (i * 31 + i / 4093) as u8).collect();
    (
        Layout {
            piece_length: PIECE,
            total_length: total,
            files,
        },
        data,
    )
}

/// Runs `work(piece)` for every piece on `THREADS` threads.
fn on_all_pieces(n: u32, work: impl Fn(u32) + Sync) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| loop {
                let p = next.fetch_add(1, Ordering::Relaxed);
                if p >= n as usize {
                    break;
                }
                work(p as u32);
            });
        }
    });
}

fn run_with_cap(cap: usize) -> (usize, usize, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let (layout, data) = layout();
    let hashes: Vec<[u8; 20]> = data
        .chunks(PIECE as usize)
        .map(|c| Sha1::digest(c).into())
        .collect();
    let n = hashes.len() as u32;
    let mut opts = StorageOptions::default();
    opts.max_open_files = cap;
    let storage = Storage::with_options(dir.path(), layout, hashes, opts).unwrap();

    let baseline = open_fds();
    let sampler = Sampler::start();
    let start = Instant::now();
    // Write every piece in blocks of 4 KiB (a piece spans about 13 files).
    on_all_pieces(n, |p| {
        let off = p as usize * PIECE as usize;
        let piece = &data[off..(off + PIECE as usize).min(data.len())];
        for (i, block) in piece.chunks(4096).enumerate() {
            storage.write_block(p, (i * 4096) as u32, block).unwrap();
        }
    });
    storage.sync_all().unwrap();
    // Verify each piece, read it back block by block, and re-check everything.
    on_all_pieces(n, |p| {
        assert!(storage.verify_piece(p).unwrap(), "piece {p}");
        let size = storage.layout().piece_size(p) as usize;
        let mut buf = vec![0u8; size];
        storage.read_block(p, 0, &mut buf).unwrap();
        let off = p as usize * PIECE as usize;
        assert!(buf == data[off..off + size], "piece {p} reads back wrong");
    });
    let have = storage.check_existing(THREADS, &|_| {}).unwrap();
    assert_eq!(have.count_ones(), n as usize);
    let took = start.elapsed();
    let peak = sampler.finish();
    drop(storage);

    // Every file exists with its exact bytes.
    let mut off = 0usize;
    for i in 0..FILES {
        let p = dir.path().join(format!("many/d{:02}/f{i:04}", i % 50));
        let got = std::fs::read(&p).unwrap();
        assert!(got == data[off..off + got.len()], "{}", p.display());
        off += got.len();
    }
    assert_eq!(off, data.len());
    (baseline, peak, took)
}

/// Both caps in one test: the fd table is shared by every test of a binary.
#[test]
fn five_thousand_files_keep_open_handles_under_the_cap() {
    for cap in [StorageOptions::default().max_open_files, 16] {
        let (baseline, peak, took) = run_with_cap(cap);
        // The cache holds at most `cap`; each I/O thread may hold one evicted handle
        // while it reads or writes; the check and the sampler's own read_dir add a few.
        let bound = baseline + cap + 2 * THREADS + 4;
        println!(
            "{FILES} files, cap {cap}: open fds {baseline} before, peak {peak} (bound {bound}), \
             write+verify+read+recheck in {took:?}"
        );
        assert!(peak > baseline, "the sampler saw no file open");
        assert!(
            peak <= bound,
            "peak {peak} fds > bound {bound} with cap {cap}"
        );
    }
}
