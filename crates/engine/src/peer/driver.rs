//! The one loop that runs a peer connection, whatever the connection is for: it moves
//! bytes between the transport and the connection's [`Role`] (decrypting input,
//! honouring read pauses and caps, writing output when the socket takes it), delivers
//! the role's mail and timers, and closes gracefully. A metadata connection and a data
//! connection are two roles over the same [`Link`], so a connection that fetched a
//! torrent's metadata goes on to trade its pieces without reconnecting.

use super::logic::Exit;
use crate::transport::{readable, writable, BoxStream, PeerStream};
use bytes::{BufMut, BytesMut};
use shoal_mse::Rc4Stream;
use std::future::Future;
use std::time::{Duration, Instant};

/// Bytes read from the socket per call; large reads keep syscalls per block low.
pub(super) const READ_CHUNK: usize = 256 * 1024;

/// How long a closing connection tries to write out its last messages.
const FLUSH_TIME: Duration = Duration::from_millis(200);

/// How long a closing connection then waits for the peer to close its side.
const LINGER_TIME: Duration = Duration::from_millis(1500);

/// Most bytes a closing connection reads and drops while it lingers: what an honest
/// peer can still have in flight (a socket buffer and a few blocks). A peer that keeps
/// sending past this is cut off at once instead of keeping the task busy.
const LINGER_BYTES: usize = 4 * 1024 * 1024;

/// What a connection does with its bytes, events and mail. The driver calls
/// `handle_*` with input and asks `poll_timeout`/`has_output` what it waits for.
pub(super) trait Role {
    /// Messages from the rest of the engine (commands, disk reads, fetch news).
    type Mail;

    /// Work after every step of the loop (serve, request more, publish statistics).
    fn after_io(&mut self) -> Result<(), Exit>;
    /// When [`Role::handle_timeout`] is due next.
    fn poll_timeout(&self) -> Instant;
    fn handle_timeout(&mut self) -> Result<(), Exit>;
    /// Stop reading from the socket for this long (disk behind, over a download limit).
    fn read_pause(&self) -> Option<Duration>;
    /// Most bytes the next read may take.
    fn read_cap(&self) -> usize;
    /// `fresh` bytes were appended to `buf` (already decrypted).
    fn handle_input(&mut self, buf: &mut BytesMut, fresh: usize) -> Result<(), Exit>;
    fn has_output(&self) -> bool;
    /// Writes what the socket takes without blocking.
    fn write_ready(&mut self, stream: &dyn PeerStream) -> Result<(), Exit>;
    /// The next piece of mail; pending forever when none can come.
    fn next_mail(&mut self) -> impl Future<Output = Self::Mail> + Send;
    fn handle_mail(&mut self, mail: Self::Mail) -> Result<(), Exit>;
    /// Last messages to queue before the connection closes.
    fn closing(&mut self) {}
}

/// A connection's transport and its receiving side: the read buffer (starting with the
/// bytes that came with the handshake) and the RC4 keystream when it is encrypted.
/// The sending side's keystream lives in the role's outbox.
pub(super) struct Link {
    stream: BoxStream,
    buf: BytesMut,
    decrypt: Option<Rc4Stream>,
}

impl Link {
    pub(super) fn new(stream: BoxStream, leftover: &[u8], decrypt: Option<Rc4Stream>) -> Self {
        let mut buf = BytesMut::with_capacity(READ_CHUNK.max(leftover.len()));
        buf.extend_from_slice(leftover);
        Link {
            stream,
            buf,
            decrypt,
        }
    }

    pub(super) fn supports_sendfile(&self) -> bool {
        self.stream.supports_sendfile()
    }
}

/// Decrypts the `n` bytes just appended to `buf` (each byte exactly once).
fn decrypt_fresh(decrypt: &mut Option<Rc4Stream>, buf: &mut BytesMut, n: usize) {
    if let Some(d) = decrypt.as_mut() {
        let start = buf.len().saturating_sub(n);
        if let Some(fresh) = buf.get_mut(start..) {
            d.apply(fresh);
        }
    }
}

/// Runs `role` over `link` until the role or the peer ends the connection. Unless the
/// role handed the connection on ([`Exit::Promoted`]), the connection is flushed and
/// closed gracefully before this returns.
pub(super) async fn drive<R: Role>(role: &mut R, link: &mut Link) -> Exit {
    let exit = run(role, link).await;
    if !matches!(exit, Exit::Promoted) {
        role.closing();
        flush(role, &*link.stream).await;
    }
    exit
}

async fn run<R: Role>(role: &mut R, link: &mut Link) -> Exit {
    // Messages that arrived together with the handshake (or were read in an earlier
    // role) come first.
    if !link.buf.is_empty() {
        let n = link.buf.len();
        if let Err(exit) = role.handle_input(&mut link.buf, n) {
            return exit;
        }
    }
    loop {
        if let Err(exit) = role.after_io() {
            return exit;
        }
        if link.buf.capacity() - link.buf.len() < READ_CHUNK / 4 {
            link.buf.reserve(READ_CHUNK);
        }
        let deadline = role.poll_timeout();
        let pause = role.read_pause();
        let cap = role.read_cap();
        let stream = &*link.stream;
        let step = tokio::select! {
            // While paused the socket is not read, so TCP slows the sender.
            _ = tokio::time::sleep(pause.unwrap_or_default()), if pause.is_some() => Ok(()),
            ready = readable(stream), if pause.is_none() => {
                match ready.and_then(|()| stream.try_read_buf(&mut (&mut link.buf).limit(cap))) {
                    Ok(0) => Err(Exit::Closed),
                    Ok(n) => {
                        decrypt_fresh(&mut link.decrypt, &mut link.buf, n);
                        role.handle_input(&mut link.buf, n)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
                    Err(e) => Err(Exit::Io(e)),
                }
            }
            ready = writable(stream), if role.has_output() => match ready {
                Ok(()) => role.write_ready(stream),
                Err(e) => Err(Exit::Io(e)),
            },
            mail = role.next_mail() => role.handle_mail(mail),
            _ = tokio::time::sleep_until(deadline.into()) => role.handle_timeout(),
        };
        if let Err(exit) = step {
            return exit;
        }
    }
}

/// Tries briefly to get our last messages out before the connection closes, then
/// closes gracefully: our side is shut down (FIN after the data) and what the peer still
/// sends is read and dropped until it closes too. Closing with unread input would send
/// a reset, and a reset makes the peer's kernel discard data it has not read yet, such
/// as the last blocks we sent.
async fn flush<R: Role>(role: &mut R, stream: &dyn PeerStream) {
    let attempt = async {
        while role.has_output() {
            if writable(stream).await.is_err() || role.write_ready(stream).is_err() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(FLUSH_TIME, attempt).await;
    if stream.shutdown_write().is_err() {
        return;
    }
    let drain = async {
        let mut scratch = vec![0u8; 64 * 1024];
        let mut dropped = 0usize;
        while dropped < LINGER_BYTES {
            if readable(stream).await.is_err() {
                return;
            }
            match stream.try_read_buf(&mut &mut scratch[..]) {
                Ok(0) => return,
                Ok(n) => dropped += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}
