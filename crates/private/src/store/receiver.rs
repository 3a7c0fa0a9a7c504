//! The receiving side of [`crate::PrivateStore`]: ciphertext pieces in, plaintext files
//! out, with the header opened only from verified bytes.
//!
//! Until the header is open (`Pending`), the pieces holding the stream's first `need`
//! bytes (what [`open_header`] asked for so far: the fixed header, then the whole
//! region) live in memory, up to [`MAX_MEM`] bytes, and everything after them in the
//! spool. Each time a piece covering those bytes
//! is complete it is hashed: a match freezes it (later writes to it are ignored), a
//! mismatch forgets its bytes (the engine re-requests them). The verified prefix is then
//! offered to `open_header`; a larger `need` pulls spooled bytes into memory, `Ready`
//! creates the [`PrivateSink`] and moves the spooled data into it, an error ends the
//! receiver for good (`Failed`) and removes the spool, before any output file exists.

use std::ops::Range;
use std::path::{Path, PathBuf};

use parking_lot::RwLock;
use shoal_wire::Bitfield;
use std::collections::HashMap;

use super::error::{Failure, PrivateStoreError};
use super::geometry::Geometry;
use super::header_cache::HeaderCache;
use super::ranges::RangeSet;
use super::spool::{Spool, SPOOL_PREFIX};
use crate::header::{open_header, Opened, HEADER_LEN, MAX_SEALED_LEN};
use crate::key::ContentKey;
use crate::layout::PrivateLayout;
use crate::sink::PrivateSink;

/// Bytes moved per step from the spool into the sink.
const MOVE_CHUNK: usize = 1 << 20;

/// Most stream bytes held in memory before the header opens: the largest region.
const MAX_MEM: u64 = HEADER_LEN as u64 + MAX_SEALED_LEN as u64;

pub(crate) struct Receiver {
    out_dir: PathBuf,
    spool_path: PathBuf,
    header_cache: HeaderCache,
    key: ContentKey,
    phase: RwLock<Phase>,
}

enum Phase {
    Pending(Pending),
    Open(PrivateSink),
    Failed(Failure),
}

/// What a write in the pending phase led to.
enum Step {
    Wait,
    Open(PrivateLayout),
    Fail(Failure),
}

struct Pending {
    /// Stream bytes `open_header` needs (the header, then the whole region).
    need: u64,
    /// Stream bytes `[0, mem_end)` are kept in memory: the pieces covering `need`, at
    /// most [`MAX_MEM`] bytes.
    mem_end: u64,
    /// Empty until the first byte below `mem_end` arrives, then `mem_end` bytes long.
    mem: Vec<u8>,
    /// Bytes written and not discarded by a failed hash, in memory or in the spool.
    written: RangeSet,
    /// Per piece covering `[0, need)`: verified (frozen) or not.
    verified: Vec<bool>,
    spool: Option<Spool>,
}

impl Receiver {
    pub(crate) fn new(
        out_dir: &Path,
        geo: &Geometry,
        key: ContentKey,
    ) -> Result<Self, PrivateStoreError> {
        let need = match open_header(&[], geo.stream_len, &key) {
            Ok(Opened::NeedBytes(n)) => n.min(geo.stream_len),
            Ok(Opened::Ready(_)) => {
                return Err(PrivateStoreError::Content(
                    crate::OpenError::NotPrivateContent,
                ))
            }
            Err(e) => return Err(PrivateStoreError::Content(e)),
        };
        let tag: String = geo.hashes[0][..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let pending = Pending {
            need,
            mem_end: mem_end(geo, need),
            mem: Vec::new(),
            written: RangeSet::default(),
            verified: vec![false; geo.pieces_covering(need).len()],
            spool: None,
        };
        Ok(Receiver {
            out_dir: out_dir.to_path_buf(),
            spool_path: out_dir.join(format!("{SPOOL_PREFIX}{tag}")),
            header_cache: HeaderCache::new(out_dir, &tag),
            key,
            phase: RwLock::new(Phase::Pending(pending)),
        })
    }

    pub(crate) fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    pub(crate) fn header_cache_path(&self) -> &Path {
        self.header_cache.path()
    }

    /// Writes consecutive buffers at stream `offset`, all inside `piece`.
    pub(crate) fn write(
        &self,
        geo: &Geometry,
        piece: u32,
        offset: u64,
        bufs: &[&[u8]],
    ) -> Result<(), PrivateStoreError> {
        match &*self.phase.read() {
            Phase::Open(sink) => return write_sink(sink, offset, bufs),
            Phase::Failed(f) => return Err(f.to_error()),
            Phase::Pending(_) => {}
        }
        let mut phase = self.phase.write();
        let step = match &mut *phase {
            Phase::Open(sink) => return write_sink(sink, offset, bufs),
            Phase::Failed(f) => return Err(f.to_error()),
            Phase::Pending(p) => p.write(self, geo, piece, offset, bufs)?,
        };
        match step {
            Step::Wait => Ok(()),
            Step::Fail(failure) => {
                // Dropping the pending state removes the spool.
                *phase = Phase::Failed(failure.clone());
                Err(failure.to_error())
            }
            Step::Open(layout) => {
                let placeholder = Phase::Failed(Failure::Io {
                    kind: std::io::ErrorKind::Other,
                    message: "interrupted while opening the content".into(),
                });
                let Phase::Pending(pending) = std::mem::replace(&mut *phase, placeholder) else {
                    return Err(PrivateStoreError::NotOpen);
                };
                let sink = PrivateSink::new(&self.out_dir, layout, &self.key);
                match pending.move_into(geo, &sink) {
                    Ok(()) => {
                        // Best effort: without it a later run starts over.
                        let _ = self.header_cache.store(sink.layout().region());
                        *phase = Phase::Open(sink);
                        Ok(())
                    }
                    Err(e) => {
                        let failure = match &e {
                            PrivateStoreError::Io(io) => Failure::from_io(io),
                            _ => Failure::Io {
                                kind: std::io::ErrorKind::Other,
                                message: e.to_string(),
                            },
                        };
                        *phase = Phase::Failed(failure);
                        Err(e)
                    }
                }
            }
        }
    }

    /// Fills `buf` with stream bytes at `offset` (from memory, the spool or the files).
    pub(crate) fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), PrivateStoreError> {
        match &*self.phase.read() {
            Phase::Open(sink) => Ok(sink.read_stream(offset, buf)?),
            Phase::Pending(p) => p.read(offset, buf),
            Phase::Failed(f) => Err(f.to_error()),
        }
    }

    pub(crate) fn priority_pieces(&self, geo: &Geometry) -> Range<u32> {
        match &*self.phase.read() {
            Phase::Pending(p) => geo.pieces_covering(p.need),
            _ => 0..0,
        }
    }

    pub(crate) fn layout(&self) -> Option<PrivateLayout> {
        match &*self.phase.read() {
            Phase::Open(sink) => Some(sink.layout().clone()),
            _ => None,
        }
    }

    pub(crate) fn failure(&self) -> Option<PrivateStoreError> {
        match &*self.phase.read() {
            Phase::Failed(f) => Some(f.to_error()),
            _ => None,
        }
    }

    /// Ends a receiver whose header never opened (its spool goes).
    pub(crate) fn close(&self) {
        let mut phase = self.phase.write();
        if matches!(*phase, Phase::Pending(_)) {
            *phase = Phase::Failed(Failure::Io {
                kind: std::io::ErrorKind::Other,
                message: "the transfer stopped before the content was opened".into(),
            });
        }
    }

    pub(crate) fn sync(&self) -> Result<(), PrivateStoreError> {
        match &*self.phase.read() {
            Phase::Open(sink) => Ok(sink.sync()?),
            _ => Ok(()),
        }
    }

    /// Picks up what an earlier run left: when the header cache opens with our key,
    /// the receiver opens at once and every piece its files already hold (re-encrypted
    /// and hashed) is returned. Pieces wholly inside the region must match too, or the
    /// cache is dropped. Nothing changes (and nothing is returned) without a usable
    /// cache, or once anything has been written.
    pub(crate) fn resume(&self, geo: &Geometry) -> Bitfield {
        let n = geo.num_pieces() as usize;
        let mut have = Bitfield::new(n);
        let Some(region) = self.header_cache.load(MAX_MEM) else {
            return have;
        };
        let layout = match open_header(&region, geo.stream_len, &self.key) {
            Ok(Opened::Ready(layout)) => layout,
            // Not ours to open (another key, say): left for the run that can.
            _ => return have,
        };
        let sink = PrivateSink::new(&self.out_dir, layout, &self.key);
        let mut files = HashMap::new();
        for piece in 0..geo.num_pieces() {
            let digest =
                geo.hash_piece(
                    piece,
                    |at, buf| Ok(sink.read_existing(at, buf, &mut files)?),
                );
            if digest.ok().as_ref() == geo.hashes.get(piece as usize) {
                have.set(piece as usize);
            }
        }
        let region_pieces = sink.layout().data_offset() / u64::from(geo.piece_length);
        if !(0..region_pieces).all(|p| have.get(p as usize)) {
            self.header_cache.remove();
            return Bitfield::new(n);
        }
        let mut phase = self.phase.write();
        match &*phase {
            Phase::Pending(p) if p.written.is_empty() => {
                // Everything was there (the last run stopped before finishing): finish
                // now, as the engine only does so when a download completes.
                // (A failure here shows again when the files are read to seed.)
                if have.is_full() && sink.finish().is_ok() {
                    self.header_cache.remove();
                }
                *phase = Phase::Open(sink);
                have
            }
            _ => Bitfield::new(n),
        }
    }

    pub(crate) fn finish(&self) -> Result<(), PrivateStoreError> {
        match &*self.phase.read() {
            Phase::Open(sink) => {
                sink.finish()?;
                self.header_cache.remove();
                Ok(())
            }
            Phase::Pending(_) => Err(PrivateStoreError::NotOpen),
            Phase::Failed(f) => Err(f.to_error()),
        }
    }
}

/// End of the in-memory part for `need`: the pieces covering it, capped.
fn mem_end(geo: &Geometry, need: u64) -> u64 {
    let pieces_end = u64::from(geo.pieces_covering(need).end) * u64::from(geo.piece_length);
    pieces_end.min(geo.stream_len).min(MAX_MEM).max(need)
}

fn write_sink(sink: &PrivateSink, offset: u64, bufs: &[&[u8]]) -> Result<(), PrivateStoreError> {
    let mut data = bufs.concat();
    Ok(sink.write_stream_in_place(offset, &mut data)?)
}

impl Pending {
    fn write(
        &mut self,
        rx: &Receiver,
        geo: &Geometry,
        piece: u32,
        offset: u64,
        bufs: &[&[u8]],
    ) -> Result<Step, PrivateStoreError> {
        let region_piece = self.verified.get(piece as usize).copied();
        if region_piece == Some(true) {
            // Verified bytes are final; a late duplicate must not change them.
            return Ok(Step::Wait);
        }
        let mut at = offset;
        for buf in bufs {
            self.put(rx, geo, at, buf)?;
            at += buf.len() as u64;
        }
        self.written.insert(offset..at);
        if region_piece.is_some() {
            self.check_piece(geo, piece)?;
        }
        Ok(self.advance(rx, geo))
    }

    /// Stores `buf` at `offset`: below `mem_end` in memory, the rest in the spool.
    fn put(
        &mut self,
        rx: &Receiver,
        geo: &Geometry,
        offset: u64,
        buf: &[u8],
    ) -> Result<(), PrivateStoreError> {
        let split = usize::try_from(self.mem_end.saturating_sub(offset))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let (low, high) = buf.split_at(split);
        if !low.is_empty() {
            self.ensure_mem();
            let at = offset as usize; // < mem_end, which fits in memory
            self.mem[at..at + low.len()].copy_from_slice(low);
        }
        if !high.is_empty() {
            if self.spool.is_none() {
                self.spool = Some(Spool::create(&rx.out_dir, &rx.spool_path, geo.stream_len)?);
            }
            if let Some(spool) = &self.spool {
                spool.write_at(offset + split as u64, high)?;
            }
        }
        Ok(())
    }

    fn ensure_mem(&mut self) {
        if self.mem.is_empty() {
            self.mem = vec![0; self.mem_end as usize];
        }
    }

    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), PrivateStoreError> {
        let split = usize::try_from(self.mem_end.saturating_sub(offset))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let (low, high) = buf.split_at_mut(split);
        if !low.is_empty() {
            let at = offset as usize;
            let src = self
                .mem
                .get(at..at + low.len())
                .ok_or(PrivateStoreError::Missing { offset })?;
            low.copy_from_slice(src);
        }
        if !high.is_empty() {
            let at = offset + split as u64;
            let spool = self
                .spool
                .as_ref()
                .ok_or(PrivateStoreError::Missing { offset: at })?;
            spool.read_at(at, high)?;
        }
        Ok(())
    }

    /// Hashes region piece `piece` if all its bytes are present and it is not verified
    /// yet: a match freezes it, a mismatch discards its bytes.
    fn check_piece(&mut self, geo: &Geometry, piece: u32) -> Result<(), PrivateStoreError> {
        let Some(range) = geo.piece_range(piece) else {
            return Ok(());
        };
        let done = self.verified.get(piece as usize).copied().unwrap_or(true);
        if done || !self.written.contains(range.clone()) {
            return Ok(());
        }
        let digest = geo.hash_piece(piece, |at, buf| self.read(at, buf))?;
        if Some(&digest) == geo.hashes.get(piece as usize) {
            self.verified[piece as usize] = true;
        } else {
            self.written.remove(range);
        }
        Ok(())
    }

    /// Offers the verified prefix to `open_header` until it needs bytes we lack.
    fn advance(&mut self, rx: &Receiver, geo: &Geometry) -> Step {
        loop {
            let verified = self.verified.iter().take_while(|v| **v).count() as u64;
            // Whole verified pieces, as far as they are in memory.
            let prefix =
                (verified * u64::from(geo.piece_length)).min(self.mem.len() as u64) as usize;
            match open_header(&self.mem[..prefix], geo.stream_len, &rx.key) {
                Err(e) => return Step::Fail(Failure::from_open(e)),
                Ok(Opened::Ready(layout)) => return Step::Open(layout),
                Ok(Opened::NeedBytes(n)) => {
                    let n = n.min(geo.stream_len);
                    if n <= self.need {
                        return Step::Wait;
                    }
                    if let Err(e) = self.grow(geo, n) {
                        return Step::Fail(Failure::from_io(&e));
                    }
                }
            }
        }
    }

    /// Raises `need` to `n`: spooled bytes of the pieces now kept in memory move there
    /// and pieces that became region pieces are checked.
    fn grow(&mut self, geo: &Geometry, n: u64) -> std::io::Result<()> {
        let old = self.mem_end;
        let old_pieces = self.verified.len() as u32;
        self.need = n;
        self.mem_end = mem_end(geo, n).max(old);
        let moved: Vec<Range<u64>> = self.written.intersecting(old..self.mem_end).collect();
        if !self.mem.is_empty() || !moved.is_empty() {
            self.mem.resize(self.mem_end as usize, 0);
        }
        for r in moved {
            match &self.spool {
                Some(spool) => {
                    spool.read_at(r.start, &mut self.mem[r.start as usize..r.end as usize])?
                }
                None => self.written.remove(r),
            }
        }
        let pieces = geo.pieces_covering(n);
        self.verified.resize(pieces.len(), false);
        for piece in old_pieces..pieces.end {
            self.check_piece(geo, piece).map_err(|e| match e {
                PrivateStoreError::Io(io) => io,
                other => std::io::Error::other(other.to_string()),
            })?;
        }
        Ok(())
    }

    /// Writes every stored byte past the region into the sink (decrypting), consuming
    /// the pending state; the spool is removed when it drops.
    fn move_into(self, geo: &Geometry, sink: &PrivateSink) -> Result<(), PrivateStoreError> {
        let data_offset = sink.layout().data_offset();
        let mut buf = Vec::new();
        for range in self.written.intersecting(data_offset..geo.stream_len) {
            let mut at = range.start;
            while at < range.end {
                let n = usize::try_from(range.end - at)
                    .unwrap_or(usize::MAX)
                    .min(MOVE_CHUNK);
                buf.resize(n, 0);
                self.read(at, &mut buf)?;
                sink.write_stream_in_place(at, &mut buf)?;
                at += n as u64;
            }
        }
        Ok(())
    }
}
