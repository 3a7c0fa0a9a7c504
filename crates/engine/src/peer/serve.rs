//! Serving the peer's requests: blocks leave with `sendfile` straight from the files
//! (or through the output buffer when they touch pad files or the connection is
//! encrypted), within the output cap and the session's upload limit.

use super::logic::{Exit, PeerLogic, MAX_WRITE_BUFFER};
use crate::torrent::ControlEvent;
use shoal_wire::BlockRef;
use std::sync::atomic::Ordering;

impl PeerLogic {
    /// Answers queued requests while the output queue and rate limit allow. Blocks go
    /// out with `sendfile` straight from the files; blocks touching pad files, and all
    /// blocks of an encrypted connection, are read into the output buffer instead.
    pub(super) fn serve(&mut self) -> Result<(), Exit> {
        let now = crate::clock::now();
        while let Some(&block) = self.serve_queue.front() {
            self.outbox.sync(self.conn.output().len());
            if self.serve_wait.is_some() || self.outbox.pending() > MAX_WRITE_BUFFER {
                break;
            }
            let len = u64::from(block.length);
            if let Err(wait) = self.t.ctx().upload_limiter().try_take(len, now) {
                self.serve_wait = Some(now + wait);
                break;
            }
            if let Err(wait) = self.t.limiter.upload.try_take(len, now) {
                self.t.ctx().upload_limiter().give_back(len);
                self.serve_wait = Some(now + wait);
                break;
            }
            self.serve_queue.pop_front();
            match self.send_block(block) {
                Ok(()) => {
                    self.t
                        .counters
                        .uploaded
                        .fetch_add(u64::from(block.length), Ordering::Relaxed);
                    let piece_size = self.t.meta.info.piece_size(block.piece);
                    self.given
                        .record(block.piece, block.begin, block.length, piece_size);
                }
                Err(e) => {
                    tracing::debug!(addr = %self.addr, piece = block.piece, error = %e, "cannot read a block we have");
                    self.conn.reject(block);
                    // Truncated or deleted under us: find out what is left.
                    let _ = self.t.control_tx.send(ControlEvent::DataMissing);
                }
            }
        }
        Ok(())
    }

    fn send_block(&mut self, block: BlockRef) -> std::io::Result<()> {
        let storage = &self.t.store();
        if self.outbox.needs_buffered_blocks() {
            // The bytes must pass through the cipher, or the transport has no sendfile.
            return self.conn.send_block(block, |buf| {
                storage
                    .read_block(block.piece, block.begin, buf)
                    .map_err(std::io::Error::other)
            });
        }
        self.slices.clear();
        let slices = &mut self.slices;
        let whole_on_disk = storage
            .block_slices(
                block.piece,
                block.begin,
                block.length as usize,
                |file, offset, len| slices.push((file, offset, len)),
            )
            .map_err(std::io::Error::other)?;
        if whole_on_disk {
            self.conn.send_block_header(block);
            for (file, offset, len) in self.slices.drain(..) {
                self.outbox
                    .push_file(self.conn.output().len(), file, offset, len);
            }
            return Ok(());
        }
        self.conn.send_block(block, |buf| {
            storage
                .read_block(block.piece, block.begin, buf)
                .map_err(std::io::Error::other)
        })
    }
}
