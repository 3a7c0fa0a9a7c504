//! The one transport abstraction: a connected, reliable, ordered byte stream to a peer.
//! TCP implements it today, an in-memory pipe does in tests (`memory.rs`), and uTP will
//! tomorrow. Everything above (handshakes, the peer driver, the outbox) sees only
//! [`PeerStream`].
//!
//! The surface is readiness-based, like tokio's `TcpStream`: wait until readable or
//! writable, then try a non-blocking read or write, which may answer `WouldBlock`.
//! Sending a file range without copying it through user space (`sendfile`) is an
//! optional capability, asked for with [`PeerStream::try_sendfile`], never assumed.

use bytes::BufMut;
use std::fs::File;
use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};
use tokio::io::Interest;
use tokio::net::TcpStream;

/// A byte stream to a peer, usable from one task through `&self`.
pub(crate) trait PeerStream: Send + Sync + 'static {
    /// Ready when a read would not block (data, end of stream, or an error waits).
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Reads what is there into `buf` without blocking; `Ok(0)` is the end of the
    /// stream, `WouldBlock` means nothing yet.
    fn try_read_buf(&self, buf: &mut dyn BufMut) -> io::Result<usize>;

    /// Ready when a write would not block.
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Writes a prefix of `buf` without blocking (`WouldBlock` when full).
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;

    /// Sends up to `len` bytes of `file` from `offset` without copying them through
    /// user space, without blocking. `None`: this transport cannot (the caller reads
    /// the bytes and writes them instead).
    fn try_sendfile(&self, file: &File, offset: u64, len: usize) -> Option<io::Result<usize>>;

    /// Whether [`Self::try_sendfile`] works here.
    fn supports_sendfile(&self) -> bool;

    /// Ends our direction of the stream after what was written (TCP: FIN); the peer's
    /// direction stays open to be drained.
    fn shutdown_write(&self) -> io::Result<()>;
}

/// A boxed transport, as connections hold it.
pub(crate) type BoxStream = Box<dyn PeerStream>;

/// Waits until `stream` is readable.
pub(crate) async fn readable(stream: &dyn PeerStream) -> io::Result<()> {
    poll_fn(|cx| stream.poll_read_ready(cx)).await
}

/// Waits until `stream` is writable.
pub(crate) async fn writable(stream: &dyn PeerStream) -> io::Result<()> {
    poll_fn(|cx| stream.poll_write_ready(cx)).await
}

/// Reads at least one byte into `buf` (`Ok(0)`: end of stream).
pub(crate) async fn read(stream: &dyn PeerStream, buf: &mut impl BufMut) -> io::Result<usize> {
    loop {
        readable(stream).await?;
        match stream.try_read_buf(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
}

/// Writes all of `bytes`.
pub(crate) async fn write_all(stream: &dyn PeerStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        writable(stream).await?;
        match stream.try_write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl PeerStream for TcpStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        TcpStream::poll_read_ready(self, cx)
    }

    fn try_read_buf(&self, mut buf: &mut dyn BufMut) -> io::Result<usize> {
        TcpStream::try_read_buf(self, &mut buf)
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        TcpStream::poll_write_ready(self, cx)
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        TcpStream::try_write(self, buf)
    }

    fn try_sendfile(&self, file: &File, offset: u64, len: usize) -> Option<io::Result<usize>> {
        Some(self.try_io(Interest::WRITABLE, || {
            let mut off = offset;
            rustix::fs::sendfile(self, file, Some(&mut off), len).map_err(io::Error::from)
        }))
    }

    fn supports_sendfile(&self) -> bool {
        true
    }

    fn shutdown_write(&self) -> io::Result<()> {
        socket2::SockRef::from(self).shutdown(std::net::Shutdown::Write)
    }
}
