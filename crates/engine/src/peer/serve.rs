//! Serving the peer's requests within the output cap and the upload limits. A block
//! leaves by `sendfile` straight from its files when it can (plaintext connection,
//! transport with `sendfile`, no pad files, a plain store); every other block is read
//! by the disk pool and sent from memory once the read comes back, so no peer task
//! reads files (or decrypts a private link's content) on an async thread.

use super::logic::{Exit, PeerLogic, MAX_WRITE_BUFFER};
use crate::disk::BlockRead;
use crate::torrent::ControlEvent;
use shoal_wire::BlockRef;
use std::sync::atomic::Ordering;

/// How a block taken from the serve queue goes on its way.
enum Serving {
    /// Queued for `sendfile` behind its header.
    Queued,
    /// Asked of the disk pool; sent when [`PeerLogic::on_block_read`] gets it.
    Reading,
}

impl PeerLogic {
    /// Answers queued requests while the output queue (counting reads under way) and
    /// the rate limits allow.
    pub(super) fn serve(&mut self) -> Result<(), Exit> {
        let now = crate::clock::now();
        while let Some(&block) = self.serve_queue.front() {
            self.outbox.sync(self.conn.output().len());
            if self.serve_wait.is_some() || self.outbox.pending() + self.reading > MAX_WRITE_BUFFER
            {
                break;
            }
            let len = u64::from(block.length);
            if let Err(wait) = self.t.ctx().upload_limiter().try_take(len, now) {
                self.serve_wait = Some(now + wait);
                break;
            }
            if let Err(wait) = self.t.limiter().upload.try_take(len, now) {
                self.t.ctx().upload_limiter().give_back(len);
                self.serve_wait = Some(now + wait);
                break;
            }
            self.serve_queue.pop_front();
            match self.start_block(block) {
                Ok(Serving::Queued) => self.record_sent(block),
                Ok(Serving::Reading) => self.reading += block.length as usize,
                Err(e) => self.unreadable(block, &e),
            }
        }
        Ok(())
    }

    /// A read the disk pool did for us: the block goes out unless the peer no longer
    /// wants it (cancelled, or dropped by a choke meanwhile).
    pub(super) fn on_block_read(&mut self, read: BlockRead) {
        let BlockRead { block, data } = read;
        self.reading = self.reading.saturating_sub(block.length as usize);
        let data = match data {
            Ok(data) => data,
            Err(e) => return self.unreadable(block, &e),
        };
        if !self.conn.peer_request_pending(&block) {
            let len = u64::from(block.length);
            self.t.ctx().upload_limiter().give_back(len);
            self.t.limiter().upload.give_back(len);
            return;
        }
        match self.conn.send_block_data(block, &data) {
            Ok(()) => self.record_sent(block),
            Err(e) => self.unreadable(block, &e),
        }
    }

    fn record_sent(&mut self, block: BlockRef) {
        self.t
            .counters()
            .uploaded
            .fetch_add(u64::from(block.length), Ordering::Relaxed);
        let piece_size = self.t.meta().info.piece_size(block.piece);
        self.given
            .record(block.piece, block.begin, block.length, piece_size);
    }

    /// A block we have could not be read: refuse it and find out what is left on disk.
    fn unreadable(&mut self, block: BlockRef, error: &dyn std::fmt::Display) {
        tracing::debug!(addr = %self.addr, piece = block.piece, %error, "cannot read a block we have");
        self.conn.reject(block);
        // Truncated or deleted under us: find out what is left.
        self.t.send_control(ControlEvent::DataMissing);
    }

    fn start_block(&mut self, block: BlockRef) -> Result<Serving, crate::StoreError> {
        let store = self.t.store();
        if !self.outbox.needs_buffered_blocks() {
            self.slices.clear();
            let slices = &mut self.slices;
            let whole_on_disk = store.block_slices(
                block.piece,
                block.begin,
                block.length as usize,
                |file, offset, len| slices.push((file, offset, len)),
            )?;
            if whole_on_disk {
                self.conn.send_block_header(block);
                for (file, offset, len) in self.slices.drain(..) {
                    self.outbox
                        .push_file(self.conn.output().len(), file, offset, len);
                }
                return Ok(Serving::Queued);
            }
        }
        self.t.ctx().disk().read(&store, block, &self.reads);
        Ok(Serving::Reading)
    }
}
