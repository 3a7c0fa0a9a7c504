//! Disk worker threads: received blocks are written and pieces hashed here, off the
//! async threads, so a peer task only moves bytes between its socket and the protocol.
//!
//! Every block of a piece goes to the same worker (piece index modulo workers), in the
//! order the peer tasks submitted them. A worker keeps a running SHA-1 per piece while
//! blocks arrive in order, so a piece received in order is verified from memory; any
//! other piece is read back from disk and hashed. Submitted but unwritten bytes are
//! counted, and peer tasks stop reading from their sockets while that count is over
//! [`DiskPool::QUEUE_LIMIT`], which pushes back on the senders through TCP.

use crate::torrent::{block_written, piece_checked, PieceHasher, Torrent};
use crate::TorrentError;
use bytes::Bytes;
use shoal_wire::BlockRef;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

/// One accepted block to write.
pub(crate) struct DiskJob {
    pub torrent: Arc<Torrent>,
    pub block: BlockRef,
    pub data: Bytes,
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

    pub fn submit(&self, job: DiskJob) {
        let shard = job.block.piece as usize % self.shards.len();
        let len = job.data.len();
        self.queued.fetch_add(len, Ordering::Relaxed);
        if let Err(mpsc::SendError(job)) = self.shards[shard].send(job) {
            // Workers only stop when the pool is dropped; write inline as a last resort.
            self.queued.fetch_sub(len, Ordering::Relaxed);
            write_job(&mut HashMap::new(), job, &tokio::runtime::Handle::current());
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
        let len = job.data.len();
        write_job(&mut hashers, job, &runtime);
        queued.fetch_sub(len, Ordering::Relaxed);
    }
}

fn write_job(hashers: &mut Hashers, job: DiskJob, runtime: &tokio::runtime::Handle) {
    let DiskJob {
        torrent: t,
        block,
        data,
    } = job;
    let key = (t.info_hash, block.piece);
    let written = t.storage.write_block(block.piece, block.begin, &data);
    if block.begin == 0 {
        hashers.insert(key, PieceHasher::new());
    }
    if let Some(h) = hashers.get_mut(&key) {
        if written.is_err() || !h.feed(block.begin, &data) {
            hashers.remove(&key);
        }
    }
    drop(data);
    let ready = block_written(&t, block.piece);
    if let Err(e) = written {
        hashers.remove(&key);
        t.fail(TorrentError::Disk(e.to_string()));
        return;
    }
    if !ready {
        return;
    }
    let size = t.meta.info.piece_size(block.piece);
    let digest = match hashers.remove(&key).and_then(|h| h.finish(size)) {
        Some(d) => Ok(d),
        None => t.storage.hash_piece(block.piece),
    };
    match digest {
        Ok(d) => {
            let ok = t.meta.info.pieces.get(block.piece as usize) == Some(&d);
            runtime.spawn(piece_checked(t, block.piece, ok));
        }
        Err(e) => t.fail(TorrentError::Disk(e.to_string())),
    }
}
