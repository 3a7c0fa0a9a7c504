//! The order in which bytes leave for a peer: runs of the connection's buffered output
//! interleaved with block payloads sent straight from files with `sendfile`, so serving
//! a block costs no copy through user space.
//!
//! On an encrypted connection (MSE with RC4) there are no file ranges: everything goes
//! through the output buffer, and the bytes appended since the last write are
//! encrypted in place just before they are handed to the socket. A count of the
//! buffer's already-encrypted prefix makes sure each byte is encrypted exactly once,
//! in stream order, however the writes are split.

use crate::transport::PeerStream;
use bytes::{Buf, BytesMut};
use shoal_mse::Rc4Stream;
use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::sync::Arc;

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
pub(crate) struct Outbox {
    /// The transport can send file ranges (`sendfile`); else blocks are buffered.
    sendfile: bool,
    segments: VecDeque<Segment>,
    /// Bytes of the connection's output covered by `Buffered` segments.
    buffered: usize,
    file_bytes: usize,
    /// The keystream of an encrypted connection.
    cipher: Option<Rc4Stream>,
    /// Leading bytes of the output buffer that are already encrypted (not yet written).
    encrypted: usize,
}

impl Outbox {
    /// An outbox for a plaintext connection (`None`) or an RC4-encrypted one, over a
    /// transport that can send file ranges (`sendfile`) or not.
    pub(super) fn new(cipher: Option<Rc4Stream>, sendfile: bool) -> Self {
        Outbox {
            sendfile,
            segments: VecDeque::new(),
            buffered: 0,
            file_bytes: 0,
            cipher,
            encrypted: 0,
        }
    }

    /// Whether blocks must be served through the buffer: the output is encrypted, or
    /// the transport cannot send file ranges.
    pub(super) fn needs_buffered_blocks(&self) -> bool {
        self.cipher.is_some() || !self.sendfile
    }

    /// Accounts output the connection appended since the last call.
    pub(super) fn sync(&mut self, output_len: usize) {
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
    pub(super) fn push_file(
        &mut self,
        output_len: usize,
        file: Arc<File>,
        offset: u64,
        len: usize,
    ) {
        self.sync(output_len);
        self.file_bytes += len;
        self.segments.push_back(Segment::File { file, offset, len });
    }

    /// Bytes queued in total.
    pub(super) fn pending(&self) -> usize {
        self.buffered + self.file_bytes
    }

    pub(super) fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Writes as much as the socket takes without blocking. `output` is the
    /// connection's output buffer; written bytes are consumed from it.
    pub(super) fn write_ready(
        &mut self,
        stream: &dyn PeerStream,
        output: &mut BytesMut,
    ) -> io::Result<()> {
        self.sync(output.len());
        if let Some(cipher) = self.cipher.as_mut() {
            if let Some(fresh) = output.get_mut(self.encrypted..) {
                cipher.apply(fresh);
            }
            self.encrypted = output.len();
        }
        let encrypting = self.cipher.is_some();
        while let Some(front) = self.segments.front_mut() {
            let result = match front {
                Segment::Buffered(n) => stream.try_write(&output[..*n]).map(|k| {
                    output.advance(k);
                    self.buffered -= k;
                    self.encrypted = self.encrypted.saturating_sub(k);
                    *n -= k;
                    *n == 0
                }),
                // Never reached: `serve` buffers blocks on encrypted connections. Refuse
                // rather than leak plaintext.
                Segment::File { .. } if encrypting => Err(io::Error::other(
                    "file range queued on an encrypted connection",
                )),
                Segment::File { file, offset, len } => stream
                    .try_sendfile(file, *offset, *len)
                    .unwrap_or_else(|| {
                        // Never reached: `serve` buffers blocks when the transport
                        // cannot send files.
                        Err(io::Error::other(
                            "file range queued on a stream without sendfile",
                        ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_mse::{EncryptionPolicy, Initiator, Responder};
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpStream;

    /// The two ends' keystreams of an RC4 connection, from an in-memory handshake.
    fn keystreams() -> (Rc4Stream, Rc4Stream) {
        let info_hash = [7u8; 20];
        let mut rng = rand::thread_rng();
        let policy = EncryptionPolicy::Require;
        let mut a = Initiator::new(info_hash, policy, Vec::new(), &mut rng).unwrap();
        let mut b = Responder::new([info_hash], policy, &mut rng).unwrap();
        while !(a.is_done() && b.is_done()) {
            while let Some(x) = a.poll_transmit() {
                b.handle_input(&x).unwrap();
            }
            while let Some(y) = b.poll_transmit() {
                a.handle_input(&y).unwrap();
            }
        }
        let (encrypt, _) = a.poll_outcome().unwrap().cipher.unwrap().split();
        let (_, decrypt) = b.poll_outcome().unwrap().cipher.unwrap().split();
        (encrypt, decrypt)
    }

    /// Output appended between partial writes (a tiny send buffer forces them) is
    /// encrypted exactly once and in order: the peer decrypts the exact plaintext.
    #[tokio::test]
    async fn encrypts_each_byte_once_across_partial_writes() {
        let (encrypt, mut decrypt) = keystreams();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        socket2::SockRef::from(&client)
            .set_send_buffer_size(4096)
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let plaintext: Vec<u8> = (0..600_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let total = plaintext.len();
        let reader = tokio::spawn(async move {
            // Start late so the writer meets a full socket.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let mut got = Vec::with_capacity(total);
            while got.len() < total {
                let mut buf = [0u8; 3000];
                let n = server.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed early");
                got.extend_from_slice(&buf[..n]);
            }
            got
        });
        let mut outbox = Outbox::new(Some(encrypt), true);
        assert!(outbox.needs_buffered_blocks());
        let mut output = BytesMut::new();
        // Rounds that ended with encrypted bytes still queued, new ones appended next.
        let mut carried = 0;
        let mut chunks = plaintext.chunks(7_919);
        loop {
            if let Some(chunk) = chunks.next() {
                output.extend_from_slice(chunk);
            } else if output.is_empty() {
                break;
            }
            outbox.write_ready(&client, &mut output).unwrap();
            if !output.is_empty() {
                carried += 1;
                client.writable().await.unwrap();
            }
        }
        let mut got = reader.await.unwrap();
        decrypt.apply(&mut got);
        assert!(got == plaintext, "decrypted stream differs");
        assert!(
            carried > 0,
            "the socket never pushed back; the test proves little"
        );
    }
}
