//! An in-memory network: sessions listen on and dial made-up socket addresses, and
//! their connections are pairs of bounded pipes inside the process. No sockets, no
//! kernel: with tokio's paused clock (and the disk pool inline) a swarm runs entirely
//! in virtual time, deterministically. Tests use it; so will the simulator.
//!
//! Each direction is a pipe of [`PIPE_CAPACITY`] bytes, so a slow reader pushes back
//! on the writer as a socket buffer would. Dropping one end closes both directions
//! for the other: its reads see the end of the stream once the pipe is drained, its
//! writes fail.

use super::peer_stream::PeerStream;
use bytes::BufMut;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::fs::File;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;

/// Bytes buffered per direction of a connection (about a socket buffer's worth).
pub const PIPE_CAPACITY: usize = 256 * 1024;

/// Connections queued for a listener that has not accepted them yet.
const ACCEPT_BACKLOG: usize = 1024;

/// First port handed out for port 0 (listeners and the dialling side).
const FIRST_EPHEMERAL_PORT: u16 = 40_000;

/// One direction of a connection.
#[derive(Default)]
struct Pipe {
    bytes: VecDeque<u8>,
    /// The writing end shut down or is gone: the reader sees the end once drained.
    write_closed: bool,
    /// The reading end is gone: writes fail.
    read_closed: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

impl Pipe {
    fn wake_reader(&mut self) {
        if let Some(w) = self.reader.take() {
            w.wake();
        }
    }

    fn wake_writer(&mut self) {
        if let Some(w) = self.writer.take() {
            w.wake();
        }
    }
}

/// One end of an in-memory connection.
pub struct MemoryStream {
    incoming: Arc<Mutex<Pipe>>,
    outgoing: Arc<Mutex<Pipe>>,
    local: SocketAddr,
    peer: SocketAddr,
}

impl fmt::Debug for MemoryStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStream")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .finish()
    }
}

impl MemoryStream {
    /// A connected pair: what one end writes, the other reads.
    fn pair(a: SocketAddr, b: SocketAddr) -> (MemoryStream, MemoryStream) {
        let ab = Arc::new(Mutex::new(Pipe::default()));
        let ba = Arc::new(Mutex::new(Pipe::default()));
        let at_a = MemoryStream {
            incoming: ba.clone(),
            outgoing: ab.clone(),
            local: a,
            peer: b,
        };
        let at_b = MemoryStream {
            incoming: ab,
            outgoing: ba,
            local: b,
            peer: a,
        };
        (at_a, at_b)
    }

    /// This end's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The other end's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    fn read_into(&self, buf: &mut dyn BufMut) -> io::Result<usize> {
        let mut pipe = self.incoming.lock();
        if pipe.bytes.is_empty() {
            return match pipe.write_closed {
                true => Ok(0),
                false => Err(io::ErrorKind::WouldBlock.into()),
            };
        }
        let n = pipe.bytes.len().min(buf.remaining_mut());
        let (front, back) = pipe.bytes.as_slices();
        let from_front = n.min(front.len());
        buf.put_slice(&front[..from_front]);
        buf.put_slice(&back[..n - from_front]);
        pipe.bytes.drain(..n);
        pipe.wake_writer();
        Ok(n)
    }

    fn write_from(&self, buf: &[u8]) -> io::Result<usize> {
        let mut pipe = self.outgoing.lock();
        if pipe.read_closed || pipe.write_closed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let room = PIPE_CAPACITY - pipe.bytes.len();
        if room == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = room.min(buf.len());
        pipe.bytes.extend(&buf[..n]);
        pipe.wake_reader();
        Ok(n)
    }

    fn read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut pipe = self.incoming.lock();
        if !pipe.bytes.is_empty() || pipe.write_closed {
            return Poll::Ready(Ok(()));
        }
        pipe.reader = Some(cx.waker().clone());
        Poll::Pending
    }

    fn write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut pipe = self.outgoing.lock();
        if pipe.bytes.len() < PIPE_CAPACITY || pipe.read_closed || pipe.write_closed {
            return Poll::Ready(Ok(()));
        }
        pipe.writer = Some(cx.waker().clone());
        Poll::Pending
    }

    fn close_write(&self) {
        let mut pipe = self.outgoing.lock();
        pipe.write_closed = true;
        pipe.wake_reader();
    }
}

impl Drop for MemoryStream {
    fn drop(&mut self) {
        self.close_write();
        let mut pipe = self.incoming.lock();
        pipe.read_closed = true;
        pipe.bytes.clear();
        pipe.wake_writer();
    }
}

impl PeerStream for MemoryStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.read_ready(cx)
    }

    fn try_read_buf(&self, buf: &mut dyn BufMut) -> io::Result<usize> {
        self.read_into(buf)
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.write_ready(cx)
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.write_from(buf)
    }

    fn try_sendfile(&self, _: &File, _: u64, _: usize) -> Option<io::Result<usize>> {
        None
    }

    fn supports_sendfile(&self) -> bool {
        false
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.close_write();
        Ok(())
    }
}

/// For tests that speak the wire protocol themselves.
impl AsyncRead for MemoryStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            match self.read_ready(cx) {
                Poll::Ready(Ok(())) => {}
                other => return other,
            }
            let mut room = buf.initialize_unfilled();
            let before = room.len();
            match self.read_into(&mut room) {
                Ok(_) => {
                    let n = before - room.len();
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for MemoryStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.write_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            match self.write_from(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return Poll::Ready(other),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.close_write();
        Poll::Ready(Ok(()))
    }
}

type Backlog = mpsc::Sender<MemoryStream>;

#[derive(Default)]
struct Hosts {
    listeners: HashMap<SocketAddr, Backlog>,
    next_port: HashMap<IpAddr, u16>,
}

impl Hosts {
    /// A free port on `ip` (for port 0).
    fn ephemeral(&mut self, ip: IpAddr) -> io::Result<u16> {
        let next = self.next_port.entry(ip).or_insert(FIRST_EPHEMERAL_PORT);
        while self.listeners.contains_key(&SocketAddr::new(ip, *next)) {
            *next = next.checked_add(1).ok_or(io::ErrorKind::AddrNotAvailable)?;
        }
        let port = *next;
        *next = next.wrapping_add(1).max(FIRST_EPHEMERAL_PORT);
        Ok(port)
    }
}

/// An in-memory network shared by the sessions that use it (cheap to clone).
#[derive(Clone, Default)]
pub struct MemoryNetwork {
    hosts: Arc<Mutex<Hosts>>,
}

impl fmt::Debug for MemoryNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listeners = self.hosts.lock().listeners.len();
        f.debug_struct("MemoryNetwork")
            .field("listeners", &listeners)
            .finish()
    }
}

impl MemoryNetwork {
    /// An empty network: no listeners yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Listens on `addr` (port 0: a free one). Fails if the address is taken.
    pub fn listen(&self, addr: SocketAddr) -> io::Result<MemoryListener> {
        let mut hosts = self.hosts.lock();
        let addr = match addr.port() {
            0 => SocketAddr::new(addr.ip(), hosts.ephemeral(addr.ip())?),
            _ => addr,
        };
        if hosts.listeners.contains_key(&addr) {
            return Err(io::ErrorKind::AddrInUse.into());
        }
        let (tx, rx) = mpsc::channel(ACCEPT_BACKLOG);
        hosts.listeners.insert(addr, tx);
        Ok(MemoryListener {
            addr,
            backlog: rx,
            hosts: self.hosts.clone(),
        })
    }

    /// Connects from `from_ip` to the listener at `to`. Refused when nobody listens
    /// there (or its backlog is full), as TCP would.
    pub fn connect(&self, from_ip: IpAddr, to: SocketAddr) -> io::Result<MemoryStream> {
        let mut hosts = self.hosts.lock();
        let Some(backlog) = hosts.listeners.get(&to).cloned() else {
            return Err(io::ErrorKind::ConnectionRefused.into());
        };
        let from = SocketAddr::new(from_ip, hosts.ephemeral(from_ip)?);
        drop(hosts);
        let (ours, theirs) = MemoryStream::pair(from, to);
        backlog
            .try_send(theirs)
            .map_err(|_| io::Error::from(io::ErrorKind::ConnectionRefused))?;
        Ok(ours)
    }
}

/// Accepts connections made to one address of a [`MemoryNetwork`].
pub struct MemoryListener {
    addr: SocketAddr,
    backlog: mpsc::Receiver<MemoryStream>,
    hosts: Arc<Mutex<Hosts>>,
}

impl MemoryListener {
    /// The address the listener accepts on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next connection and the address it came from.
    pub async fn accept(&mut self) -> io::Result<(MemoryStream, SocketAddr)> {
        match self.backlog.recv().await {
            Some(stream) => {
                let peer = stream.peer_addr();
                Ok((stream, peer))
            }
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

impl Drop for MemoryListener {
    fn drop(&mut self) {
        self.hosts.lock().listeners.remove(&self.addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn bytes_cross_in_order_and_the_end_is_seen() {
        let net = MemoryNetwork::new();
        let mut listener = net.listen(addr("10.0.0.1:0")).unwrap();
        let to = listener.local_addr();
        assert_ne!(to.port(), 0);
        let mut client = net.connect("10.0.0.2".parse().unwrap(), to).unwrap();
        let (mut server, from) = listener.accept().await.unwrap();
        assert_eq!(from, client.local_addr());
        assert_eq!(server.peer_addr(), client.local_addr());
        let data: Vec<u8> = (0..(3 * PIPE_CAPACITY) as u32).map(|i| i as u8).collect();
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            client.write_all(&sent).await.unwrap();
            client.shutdown().await.unwrap();
            client
        });
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert!(got == data, "bytes differ");
        drop(writer.await.unwrap());
    }

    #[tokio::test]
    async fn a_full_pipe_pushes_back_and_a_dropped_reader_fails_writes() {
        let net = MemoryNetwork::new();
        let mut listener = net.listen(addr("10.0.0.1:6881")).unwrap();
        let client = net.connect("10.0.0.2".parse().unwrap(), addr("10.0.0.1:6881"));
        let client = client.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let big = vec![7u8; PIPE_CAPACITY + 10];
        assert_eq!(client.try_write(&big).unwrap(), PIPE_CAPACITY);
        let err = client.try_write(&big).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(server);
        let err = client.try_write(&big).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        let mut buf = bytes::BytesMut::new();
        assert_eq!(client.try_read_buf(&mut buf).unwrap(), 0, "end of stream");
    }

    #[test]
    fn nobody_listening_is_refused_and_addresses_are_exclusive() {
        let net = MemoryNetwork::new();
        let err = net
            .connect("10.0.0.2".parse().unwrap(), addr("10.0.0.1:1"))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        let first = net.listen(addr("10.0.0.1:1")).unwrap();
        let err = net.listen(addr("10.0.0.1:1")).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        drop(first);
        assert!(net.listen(addr("10.0.0.1:1")).is_ok());
    }
}
