//! Reading a torrent while it downloads (HTTP streaming of a video, say): ask for the
//! pieces around the bytes a reader wants first, wait for them, read verified bytes.
//! Each reader's request lasts as long as its [`StreamPriority`]; several readers (a
//! player fetching a file's start and its index at the end) are served in turn.

use super::handle::TorrentHandle;
use super::priority::{byte_pieces, refresh_priority};
use super::state::{PeerCommand, Torrent};
use crate::TorrentError;
use bytes::Bytes;
use std::ops::Range;
use std::sync::Arc;

/// Bytes past the requested range fetched early too (a player reads on).
const READ_AHEAD: u64 = 8 * 1024 * 1024;
/// Most pieces a streaming request puts first.
const MAX_STREAM_PIECES: usize = 512;
/// Most streaming requests with priority at once; past it the oldest gives way.
const MAX_STREAMS: usize = 16;

/// One reader's claim on the front of the download order; dropping it withdraws it.
#[must_use = "the priority lasts only as long as this value"]
pub struct StreamPriority {
    torrent: Arc<Torrent>,
    id: u64,
}

impl std::fmt::Debug for StreamPriority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamPriority")
            .field("id", &self.id)
            .finish()
    }
}

impl Drop for StreamPriority {
    fn drop(&mut self) {
        let t = &self.torrent;
        let mut st = t.swarm();
        let st = &mut *st;
        if st.wishes.streams.remove(&self.id).is_some() {
            refresh_priority(
                &t.meta,
                &mut st.picker,
                &mut st.wishes,
                t.store().priority_pieces(),
            );
        }
    }
}

impl TorrentHandle {
    /// Puts the pieces covering `range` of the torrent's byte stream (and some read-ahead)
    /// before every other piece, next to other readers' requests, until the returned
    /// value is dropped.
    pub fn prioritize_bytes(&self, range: Range<u64>) -> StreamPriority {
        let t = &self.torrent;
        let end = range.end.saturating_add(READ_AHEAD);
        let pieces: Vec<u32> = byte_pieces(&t.meta, range.start..end)
            .take(MAX_STREAM_PIECES)
            .collect();
        let mut st = t.swarm();
        let st = &mut *st;
        let id = st.wishes.next_stream;
        st.wishes.next_stream += 1;
        while st.wishes.streams.len() >= MAX_STREAMS {
            st.wishes.streams.pop_first();
        }
        st.wishes.streams.insert(id, pieces);
        refresh_priority(
            &t.meta,
            &mut st.picker,
            &mut st.wishes,
            t.store().priority_pieces(),
        );
        t.broadcast(st, PeerCommand::Wake);
        StreamPriority {
            torrent: t.clone(),
            id,
        }
    }

    /// Waits until every piece covering `range` is verified, or the torrent fails or
    /// stops first.
    pub async fn wait_bytes(&self, range: Range<u64>) -> Result<(), TorrentError> {
        let t = &self.torrent;
        if range.end > t.meta.info.total_length || range.start > range.end {
            return Err(TorrentError::OutOfRange);
        }
        let pieces = byte_pieces(&t.meta, range);
        let mut ticks = t.verified_tick.subscribe();
        let mut status = t.status.subscribe();
        loop {
            {
                let st = t.swarm();
                if pieces.clone().all(|p| st.picker.have().get(p as usize)) {
                    return Ok(());
                }
            }
            {
                let s = status.borrow_and_update();
                if let Some(e) = &s.error {
                    return Err(e.clone());
                }
                if s.stopped {
                    return Err(TorrentError::Stopped);
                }
            }
            tokio::select! {
                changed = ticks.changed() => if changed.is_err() { return Err(TorrentError::Stopped) },
                changed = status.changed() => if changed.is_err() { return Err(TorrentError::Stopped) },
            }
        }
    }

    /// Reads `len` bytes at `offset` of the torrent's byte stream; every piece they touch
    /// must be verified ([`TorrentError::NotAvailable`] otherwise).
    pub async fn read_bytes(&self, offset: u64, len: usize) -> Result<Bytes, TorrentError> {
        let t = &self.torrent;
        let end = offset
            .checked_add(len as u64)
            .filter(|end| *end <= t.meta.info.total_length)
            .ok_or(TorrentError::OutOfRange)?;
        if len == 0 {
            return Ok(Bytes::new());
        }
        {
            let st = t.swarm();
            if !byte_pieces(&t.meta, offset..end).all(|p| st.picker.have().get(p as usize)) {
                return Err(TorrentError::NotAvailable);
            }
        }
        let store = t.store();
        let piece_length = u64::from(t.meta.info.piece_length);
        tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; len];
            let mut done = 0usize;
            while done < len {
                let at = offset + done as u64;
                let piece =
                    u32::try_from(at / piece_length).map_err(|_| TorrentError::OutOfRange)?;
                let begin = (at % piece_length) as u32;
                let room = (piece_length - u64::from(begin)) as usize;
                let n = room.min(len - done);
                store
                    .read_block(piece, begin, &mut buf[done..done + n])
                    .map_err(|e| e.into_torrent_error())?;
                done += n;
            }
            Ok(Bytes::from(buf))
        })
        .await
        .map_err(|e| TorrentError::Job(Arc::new(e)))?
    }
}
