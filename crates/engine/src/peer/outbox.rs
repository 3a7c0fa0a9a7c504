//! The order in which bytes leave for a peer: runs of the connection's buffered output
//! interleaved with block payloads sent straight from files with `sendfile`, so serving
//! a block costs no copy through user space.

use bytes::{Buf, BytesMut};
use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::sync::Arc;
use tokio::io::Interest;
use tokio::net::TcpStream;

enum Segment {
    /// The next `n` bytes of the connection's output buffer.
    Buffered(usize),
    /// `len` bytes of `file` from `offset`.
    File {
        file: Arc<File>,
        offset: u64,
        len: usize,
    },
}

/// Segments waiting to be written, in stream order.
#[derive(Default)]
pub(crate) struct Outbox {
    segments: VecDeque<Segment>,
    /// Bytes of the connection's output covered by `Buffered` segments.
    buffered: usize,
    file_bytes: usize,
}

impl Outbox {
    /// Accounts output the connection appended since the last call.
    pub fn sync(&mut self, output_len: usize) {
        if output_len <= self.buffered {
            return;
        }
        let added = output_len - self.buffered;
        self.buffered = output_len;
        match self.segments.back_mut() {
            Some(Segment::Buffered(n)) => *n += added,
            _ => self.segments.push_back(Segment::Buffered(added)),
        }
    }

    /// Queues a file range after everything buffered so far.
    pub fn push_file(&mut self, output_len: usize, file: Arc<File>, offset: u64, len: usize) {
        self.sync(output_len);
        self.file_bytes += len;
        self.segments.push_back(Segment::File { file, offset, len });
    }

    /// Bytes queued in total.
    pub fn pending(&self) -> usize {
        self.buffered + self.file_bytes
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Writes as much as the socket takes without blocking. `output` is the
    /// connection's output buffer; written bytes are consumed from it.
    pub fn write_ready(&mut self, stream: &TcpStream, output: &mut BytesMut) -> io::Result<()> {
        self.sync(output.len());
        while let Some(front) = self.segments.front_mut() {
            let result = match front {
                Segment::Buffered(n) => stream.try_write(&output[..*n]).map(|k| {
                    output.advance(k);
                    self.buffered -= k;
                    *n -= k;
                    *n == 0
                }),
                Segment::File { file, offset, len } => stream
                    .try_io(Interest::WRITABLE, || {
                        let mut off = *offset;
                        rustix::fs::sendfile(stream, &**file, Some(&mut off), *len)
                            .map_err(io::Error::from)
                    })
                    .and_then(|k| {
                        if k == 0 {
                            return Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "file shorter than the torrent says",
                            ));
                        }
                        *offset += k as u64;
                        *len -= k;
                        self.file_bytes -= k;
                        Ok(*len == 0)
                    }),
            };
            match result {
                Ok(true) => {
                    self.segments.pop_front();
                }
                Ok(false) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
