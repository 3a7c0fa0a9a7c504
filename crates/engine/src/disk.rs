//! Disk worker threads: received blocks are written and pieces hashed here, off the
//! async threads, so a peer task only moves bytes between its socket and the protocol.
//!
//! Every block of a piece goes to the same worker (piece index modulo workers), in the
//! order the peer tasks submitted them. A worker keeps a running SHA-1 per piece while
//! blocks arrive in order, so a piece received in order is verified from memory; any
//! other piece is read back from disk and hashed. Submitted but unwritten bytes are
//! counted, and peer tasks stop reading from their sockets while that count is over
//! [`DiskPool::QUEUE_LIMIT`], which pushes back on the senders through TCP.

use crate::hasher::PieceHasher;
use crate::torrent::{block_written, piece_checked, Torrent};
use bytes::Bytes;
use shoal_wire::BlockRef;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

/// Accepted blocks of one torrent to write, in the order they arrived.
pub(crate) struct DiskJob {
    pub torrent: Arc<Torrent>,
    pub blocks: Vec<(BlockRef, Bytes)>,
}

/// The session's disk workers.
pub(crate) struct DiskPool {
    shards: Vec<mpsc::Sender<DiskJob>>,
    queued: Arc<AtomicUsize>,
}

impl DiskPool {
    /// Bytes submitted but not yet written above which peers stop reading.
    pub const QUEUE_LIMIT: usize = 4 * 1024 * 1024;

    /// Starts `threads` workers; verification results are handled on `runtime`.
    pub fn new(threads: usize, runtime: tokio::runtime::Handle) -> std::io::Result<Self> {
        let queued = Arc::new(AtomicUsize::new(0));
        let mut shards = Vec::new();
        for i in 0..threads.max(1) {
            let (tx, rx) = mpsc::channel::<DiskJob>();
            let queued = queued.clone();
            let runtime = runtime.clone();
            std::thread::Builder::new()
                .name(format!("shoal-disk-{i}"))
                .spawn(move || worker(rx, queued, runtime))?;
            shards.push(tx);
        }
        Ok(DiskPool { shards, queued })
    }

    /// Queues `blocks` (all of `torrent`), one job per worker involved, so a burst of
    /// blocks read in one go costs one wake-up per worker rather than one per block.
    pub fn submit(&self, torrent: &Arc<Torrent>, blocks: &mut Vec<(BlockRef, Bytes)>) {
        if blocks.is_empty() {
            return;
        }
        let n = self.shards.len();
        let bytes: usize = blocks.iter().map(|(_, d)| d.len()).sum();
        self.queued.fetch_add(bytes, Ordering::Relaxed);
        let first = blocks[0].0.piece as usize % n;
        if blocks.iter().all(|(b, _)| b.piece as usize % n == first) {
            self.send(
                first,
                DiskJob {
                    torrent: torrent.clone(),
                    blocks: std::mem::take(blocks),
                },
            );
            return;
        }
        for shard in 0..n {
            let part: Vec<_> = blocks
                .iter()
                .filter(|(b, _)| b.piece as usize % n == shard)
                .cloned()
                .collect();
            if !part.is_empty() {
                self.send(
                    shard,
                    DiskJob {
                        torrent: torrent.clone(),
                        blocks: part,
                    },
                );
            }
        }
        blocks.clear();
    }

    fn send(&self, shard: usize, job: DiskJob) {
        if let Err(mpsc::SendError(job)) = self.shards[shard].send(job) {
            // Workers only stop when the pool is dropped; write inline as a last resort.
            let bytes: usize = job.blocks.iter().map(|(_, d)| d.len()).sum();
            self.queued.fetch_sub(bytes, Ordering::Relaxed);
            run_job(&mut HashMap::new(), job, &tokio::runtime::Handle::current());
        }
    }

    /// Whether peer tasks should pause reading until the workers catch up.
    pub fn is_congested(&self) -> bool {
        self.queued.load(Ordering::Relaxed) > Self::QUEUE_LIMIT
    }
}

type Hashers = HashMap<([u8; 20], u32), PieceHasher>;

fn worker(rx: mpsc::Receiver<DiskJob>, queued: Arc<AtomicUsize>, runtime: tokio::runtime::Handle) {
    let mut hashers = Hashers::new();
    while let Ok(job) = rx.recv() {
        let bytes: usize = job.blocks.iter().map(|(_, d)| d.len()).sum();
        run_job(&mut hashers, job, &runtime);
        queued.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// Writes a job's blocks (runs of consecutive blocks of a piece in one vectored
/// write), feeds the running hashes, and verifies the pieces they completed.
fn run_job(hashers: &mut Hashers, job: DiskJob, runtime: &tokio::runtime::Handle) {
    let DiskJob { torrent: t, blocks } = job;
    let mut checked = Vec::new();
    let mut i = 0;
    while i < blocks.len() {
        let (first, _) = blocks[i];
        let mut end = i + 1;
        let mut next = first.begin + first.length;
        while end < blocks.len()
            && blocks[end].0.piece == first.piece
            && blocks[end].0.begin == next
        {
            next += blocks[end].0.length;
            end += 1;
        }
        let run = &blocks[i..end];
        let bufs: Vec<&[u8]> = run.iter().map(|(_, d)| d.as_ref()).collect();
        let written = t.store().write_run(first.piece, first.begin, &bufs);
        let key = (t.info_hash, first.piece);
        let mut ready = false;
        for (block, data) in run {
            if block.begin == 0 {
                hashers.insert(key, PieceHasher::new());
            }
            if let Some(h) = hashers.get_mut(&key) {
                if written.is_err() || !h.feed(block.begin, data) {
                    hashers.remove(&key);
                }
            }
            ready |= block_written(&t, block.piece);
        }
        i = end;
        if let Err(e) = written {
            hashers.remove(&key);
            t.disk_fault(Some(first.piece), e.into_torrent_error());
            continue;
        }
        if ready {
            let size = t.meta.info.piece_size(first.piece);
            let digest = match hashers.remove(&key).and_then(|h| h.finish(size)) {
                Some(d) => Ok(d),
                None => t.store().hash_piece(first.piece),
            };
            match digest {
                Ok(d) => checked.push((
                    first.piece,
                    t.meta.info.pieces.get(first.piece as usize) == Some(&d),
                )),
                Err(e) => t.disk_fault(Some(first.piece), e.into_torrent_error()),
            }
        }
    }
    drop(blocks);
    if !checked.is_empty() {
        runtime.spawn(async move {
            for (piece, ok) in checked {
                piece_checked(t.clone(), piece, ok).await;
            }
        });
    }
}
