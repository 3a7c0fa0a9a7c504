//! Disk worker threads: received blocks are written, pieces hashed and blocks for
//! uploads read here, off the async threads, so a peer task only moves bytes between
//! its socket and the protocol. (Blocks that leave by `sendfile` are read by the
//! kernel straight from the page cache and never pass through here.)
//!
//! The pool knows stores and piece verifiers, never torrents: a job carries the
//! torrent's [`TorrentDisk`] (its store, how its pieces are verified, and where to
//! report), and results go back as [`DiskEvent`]s on the torrent's channel, which its
//! piece owner applies on the runtime (`torrent/verify.rs`). Nothing here calls up.
//!
//! Every block of a piece goes to the same worker (piece index modulo workers), in the
//! order the peer tasks submitted them, and so does the piece's hash check. A worker
//! keeps a running hash per piece while blocks arrive in order, so a piece received in
//! order is verified from memory; any other piece is read back from disk. Submitted but
//! unwritten bytes are counted, and peer tasks stop reading from their sockets while
//! that count is over [`DiskPool::QUEUE_LIMIT`], which pushes back on the senders
//! through TCP.

use crate::error::StoreError;
use crate::hasher::PieceHasher;
use crate::store::Store;
use crate::verifier::PieceVerifier;
use bytes::{Bytes, BytesMut};
use parking_lot::{Mutex, RwLock};
use shoal_wire::BlockRef;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use tokio::sync::mpsc as async_mpsc;

/// What a torrent gives the disk pool with each job.
/// Fields are public: a record the torrent fills for every job and a worker reads.
#[derive(Clone)]
pub(crate) struct TorrentDisk {
    /// Tells the torrents' running hashes apart inside a worker.
    pub info_hash: [u8; 20],
    /// The store in use when the job was made (a move replaces it for later jobs).
    pub store: Arc<Store>,
    pub verifier: Arc<PieceVerifier>,
    /// Where the results go.
    pub events: async_mpsc::UnboundedSender<DiskEvent>,
}

/// A block read for an upload, handed back to the peer task that asked for it.
/// Fields are public: a plain reply, taken apart by its receiver.
#[derive(Debug)]
pub(crate) struct BlockRead {
    pub block: BlockRef,
    pub data: Result<Bytes, StoreError>,
}

/// What the disk pool reports back to a torrent.
#[derive(Debug)]
pub(crate) enum DiskEvent {
    /// `blocks` accepted blocks of `piece` are on disk.
    Written { piece: u32, blocks: u32 },
    /// `piece` was hashed after [`DiskPool::verify`]: `ok` when it matched.
    Verified { piece: u32, ok: bool },
    /// Writing or hashing `piece` failed for a local reason (or the private content
    /// could not be opened).
    Fault { piece: u32, error: StoreError },
}

enum DiskJob {
    /// Accepted blocks of one torrent to write, in the order they arrived.
    Write {
        torrent: TorrentDisk,
        blocks: Vec<(BlockRef, Bytes)>,
    },
    /// Every block of `piece` is written: check its hash.
    Verify { torrent: TorrentDisk, piece: u32 },
    /// Read `block` (for an upload) and hand it to `reply`.
    Read {
        store: Arc<Store>,
        block: BlockRef,
        reply: async_mpsc::UnboundedSender<BlockRead>,
    },
}

impl DiskJob {
    /// Payload bytes the job holds (counted against the queue limit).
    fn bytes(&self) -> usize {
        match self {
            DiskJob::Write { blocks, .. } => blocks.iter().map(|(_, d)| d.len()).sum(),
            DiskJob::Verify { .. } | DiskJob::Read { .. } => 0,
        }
    }
}

/// The session's disk workers.
pub(crate) struct DiskPool {
    /// One queue per worker; emptied by [`DiskPool::close`].
    shards: RwLock<Vec<mpsc::Sender<DiskJob>>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    queued: Arc<AtomicUsize>,
}

impl DiskPool {
    /// Bytes submitted but not yet written above which peers stop reading.
    pub(crate) const QUEUE_LIMIT: usize = 4 * 1024 * 1024;

    /// Starts `threads` workers; with 0, every job runs on the thread submitting it.
    pub(crate) fn new(threads: usize) -> std::io::Result<Self> {
        let queued = Arc::new(AtomicUsize::new(0));
        let mut shards = Vec::new();
        let mut handles = Vec::new();
        for i in 0..threads {
            let (tx, rx) = mpsc::channel::<DiskJob>();
            let queued = queued.clone();
            let handle = std::thread::Builder::new()
                .name(format!("shoal-disk-{i}"))
                .spawn(move || worker(rx, queued))?;
            shards.push(tx);
            handles.push(handle);
        }
        Ok(DiskPool {
            shards: RwLock::new(shards),
            threads: Mutex::new(handles),
            queued,
        })
    }

    /// Lets the workers finish the jobs queued so far, then waits for their threads to
    /// end. Jobs submitted afterwards are run by the submitter. Blocks: call it off the
    /// async threads.
    pub(crate) fn close(&self) {
        self.shards.write().clear();
        let threads = std::mem::take(&mut *self.threads.lock());
        for thread in threads {
            if thread.join().is_err() {
                tracing::error!("a disk worker panicked");
            }
        }
    }

    /// Queues `blocks` (all of one torrent), one job per worker involved, so a burst
    /// of blocks read in one go costs one wake-up per worker rather than one per block.
    pub(crate) fn submit(&self, torrent: &TorrentDisk, blocks: &mut Vec<(BlockRef, Bytes)>) {
        if blocks.is_empty() {
            return;
        }
        let shards = self.shards.read();
        let n = shards.len().max(1);
        let first = blocks[0].0.piece as usize % n;
        if blocks.iter().all(|(b, _)| b.piece as usize % n == first) {
            let blocks = std::mem::take(blocks);
            self.send(shards.get(first), write_job(torrent, blocks));
            return;
        }
        for shard in 0..n {
            let part: Vec<_> = blocks
                .iter()
                .filter(|(b, _)| b.piece as usize % n == shard)
                .cloned()
                .collect();
            if !part.is_empty() {
                self.send(shards.get(shard), write_job(torrent, part));
            }
        }
        blocks.clear();
    }

    /// Queues the hash check of `piece`, behind its writes.
    pub(crate) fn verify(&self, torrent: &TorrentDisk, piece: u32) {
        let shards = self.shards.read();
        let job = DiskJob::Verify {
            torrent: torrent.clone(),
            piece,
        };
        self.send(shards.get(piece as usize % shards.len().max(1)), job);
    }

    /// Queues a read of `block` from `store`; the result goes to `reply`. Reads queue
    /// behind the writes of the same piece, so a block just written reads back whole.
    pub(crate) fn read(
        &self,
        store: &Arc<Store>,
        block: BlockRef,
        reply: &async_mpsc::UnboundedSender<BlockRead>,
    ) {
        let shards = self.shards.read();
        let job = DiskJob::Read {
            store: store.clone(),
            block,
            reply: reply.clone(),
        };
        self.send(shards.get(block.piece as usize % shards.len().max(1)), job);
    }

    fn send(&self, shard: Option<&mpsc::Sender<DiskJob>>, job: DiskJob) {
        let bytes = job.bytes();
        self.queued.fetch_add(bytes, Ordering::Relaxed);
        let job = match shard {
            Some(shard) => match shard.send(job) {
                Ok(()) => return,
                Err(mpsc::SendError(job)) => job,
            },
            None => job,
        };
        // Closed: the session is ending; work in place rather than lose the data.
        run_inline(job, &self.queued, bytes);
    }

    /// Whether peer tasks should pause reading until the workers catch up.
    pub(crate) fn is_congested(&self) -> bool {
        self.queued.load(Ordering::Relaxed) > Self::QUEUE_LIMIT
    }
}

fn write_job(torrent: &TorrentDisk, blocks: Vec<(BlockRef, Bytes)>) -> DiskJob {
    DiskJob::Write {
        torrent: torrent.clone(),
        blocks,
    }
}

/// Runs a job on the caller's thread (the workers are gone).
fn run_inline(job: DiskJob, queued: &AtomicUsize, bytes: usize) {
    run_job(&mut Hashers::new(), job);
    queued.fetch_sub(bytes, Ordering::Relaxed);
}

type Hashers = HashMap<([u8; 20], u32), PieceHasher>;

fn worker(rx: mpsc::Receiver<DiskJob>, queued: Arc<AtomicUsize>) {
    let mut hashers = Hashers::new();
    while let Ok(job) = rx.recv() {
        let bytes = job.bytes();
        run_job(&mut hashers, job);
        queued.fetch_sub(bytes, Ordering::Relaxed);
    }
}

fn run_job(hashers: &mut Hashers, job: DiskJob) {
    match job {
        DiskJob::Write { torrent, blocks } => write_blocks(hashers, &torrent, &blocks),
        DiskJob::Verify { torrent, piece } => {
            let running = hashers.remove(&(torrent.info_hash, piece));
            let event = match torrent.verifier.check(piece, running, &torrent.store) {
                Ok(ok) => DiskEvent::Verified { piece, ok },
                Err(error) => DiskEvent::Fault { piece, error },
            };
            let _ = torrent.events.send(event);
        }
        DiskJob::Read {
            store,
            block,
            reply,
        } => {
            let mut buf = BytesMut::zeroed(block.length as usize);
            let data = store
                .read_block(block.piece, block.begin, &mut buf)
                .map(|()| buf.freeze());
            let _ = reply.send(BlockRead { block, data });
        }
    }
}

/// Writes a job's blocks (runs of consecutive blocks of a piece in one vectored
/// write), feeds the running hashes and reports each run as written.
fn write_blocks(hashers: &mut Hashers, t: &TorrentDisk, blocks: &[(BlockRef, Bytes)]) {
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
        i = end;
        let bufs: Vec<&[u8]> = run.iter().map(|(_, d)| d.as_ref()).collect();
        let key = (t.info_hash, first.piece);
        if let Err(error) = t.store.write_run(first.piece, first.begin, &bufs) {
            hashers.remove(&key);
            let piece = first.piece;
            let _ = t.events.send(DiskEvent::Fault { piece, error });
            continue;
        }
        for (block, data) in run {
            if block.begin == 0 {
                hashers.insert(key, t.verifier.start());
            }
            if let Some(h) = hashers.get_mut(&key) {
                if !h.feed(block.begin, data) {
                    hashers.remove(&key);
                }
            }
        }
        let _ = t.events.send(DiskEvent::Written {
            piece: first.piece,
            blocks: run.len() as u32,
        });
    }
}
