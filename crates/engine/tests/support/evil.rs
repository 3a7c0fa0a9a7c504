//! A scripted hostile peer for the `evil_*` tests: it speaks just enough of the
//! BitTorrent wire protocol (handshake, length-prefixed messages via shoal-wire's codec)
//! to get a connection going, and can then send raw bytes that break the protocol. It
//! also observes how the engine reacts (EOF or reset on its socket).
// The five `evil_*` binaries include this module and each uses only part of it.
#![allow(dead_code, clippy::unwrap_used)]

use bytes::BytesMut;
use shoal_engine::{
    EncryptionPolicy, MemoryListener, MemoryNetwork, MemoryStream, Network, Session, SessionConfig,
};
use shoal_wire::{FrameReader, Handshake, Message};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// What an evil peer talks over: a TCP stream, or one of the memory network.
pub trait Link: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Link for T {}

/// A session on `ip` that speaks plaintext only, so the evil peer needs no MSE.
pub async fn plain_session(ip: &str) -> Session {
    let config = SessionConfig {
        listen_addr: format!("{ip}:0").parse().unwrap(),
        use_trackers: false,
        encryption: EncryptionPolicy::Disable,
        ..SessionConfig::default()
    };
    Session::new(config).await.unwrap()
}

/// Resident memory of this test process in KiB (Linux `/proc/self/status`).
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// One hostile connection with the handshake done.
pub struct Evil<S = TcpStream> {
    pub stream: S,
    /// The engine's handshake.
    pub theirs: Handshake,
    rbuf: BytesMut,
}

/// Our handshake: extension protocol and fast extension, a recognisable peer id.
pub fn evil_handshake(info_hash: [u8; 20], tag: u8) -> Handshake {
    let mut id = *b"-EV0001-000000000000";
    id[19] = tag;
    Handshake::new(info_hash, id)
}

impl Evil<TcpStream> {
    /// Dials `to` from `from_ip` (a 127.x address) and exchanges handshakes.
    pub async fn connect(from_ip: &str, to: SocketAddr, info_hash: [u8; 20]) -> Evil {
        Self::connect_as(from_ip, to, info_hash, 1).await
    }

    /// Accepts one connection on `listener` (the engine dialled us) and answers its
    /// handshake.
    pub async fn accept(listener: &TcpListener, info_hash: [u8; 20]) -> Evil {
        let (mut stream, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .unwrap()
            .unwrap();
        let mut hs = [0u8; 68];
        stream.read_exact(&mut hs).await.unwrap();
        let theirs = Handshake::decode(&hs).unwrap();
        stream
            .write_all(&evil_handshake(info_hash, 2).encode())
            .await
            .unwrap();
        Evil {
            stream,
            theirs,
            rbuf: BytesMut::new(),
        }
    }
}

impl Evil<MemoryStream> {
    /// Dials `to` on `net` from `from_ip` with peer id tag `tag` and exchanges
    /// handshakes.
    pub async fn connect_in(
        net: &MemoryNetwork,
        from_ip: &str,
        to: SocketAddr,
        info_hash: [u8; 20],
        tag: u8,
    ) -> Self {
        let stream = greet_in(net, from_ip, to, info_hash, tag).await;
        Evil::answered(stream).await
    }
}

impl Evil<MemoryStream> {
    /// Accepts one connection on `listener` (the engine dialled us) and answers its
    /// handshake.
    pub async fn accept_in(listener: &mut MemoryListener, info_hash: [u8; 20]) -> Self {
        let (mut stream, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .unwrap()
            .unwrap();
        let mut hs = [0u8; 68];
        stream.read_exact(&mut hs).await.unwrap();
        let theirs = Handshake::decode(&hs).unwrap();
        stream
            .write_all(&evil_handshake(info_hash, 2).encode())
            .await
            .unwrap();
        Evil {
            stream,
            theirs,
            rbuf: BytesMut::new(),
        }
    }
}

impl<S: Link> Evil<S> {
    /// Reads the engine's answer to the handshake we sent on `stream`.
    pub async fn answered(mut stream: S) -> Self {
        let mut hs = [0u8; 68];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut hs))
            .await
            .unwrap()
            .unwrap();
        let theirs = Handshake::decode(&hs).unwrap();
        Evil {
            stream,
            theirs,
            rbuf: BytesMut::new(),
        }
    }

    pub async fn send(&mut self, msg: &Message) -> std::io::Result<()> {
        let mut out = BytesMut::new();
        msg.encode(&mut out);
        self.stream.write_all(&out).await
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// The next message, or `None` on EOF, reset or after `limit`.
    pub async fn recv(&mut self, limit: Duration) -> Option<Message> {
        let reader = FrameReader::new(u32::MAX);
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Ok(Some(msg)) = reader.next(&mut self.rbuf) {
                return Some(msg);
            }
            let mut chunk = [0u8; 64 * 1024];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => self.rbuf.extend_from_slice(&chunk[..n]),
                _ => return None,
            }
        }
    }

    /// Reads and discards everything until the engine closes the connection (EOF or
    /// reset); false if it is still open after `limit`.
    pub async fn closed_within(&mut self, limit: Duration) -> bool {
        let wait = async {
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                match self.stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }
}

/// A frame with an arbitrary id and payload (for malformed messages).
pub fn raw_frame(id: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.extend_from_slice(&(payload.len() as u32 + 1).to_be_bytes());
    out.push(id);
    out.extend_from_slice(payload);
    out
}

/// A plaintext-only session on `ip` with the settings `edit` makes.
pub async fn session_with(ip: &str, edit: impl FnOnce(&mut SessionConfig)) -> Session {
    let mut config = SessionConfig {
        listen_addr: format!("{ip}:0").parse().unwrap(),
        use_trackers: false,
        encryption: EncryptionPolicy::Disable,
        ..SessionConfig::default()
    };
    edit(&mut config);
    Session::new(config).await.unwrap()
}

impl Evil<TcpStream> {
    /// Like [`Evil::connect`] with peer id tag `tag`, so several evil peers of one
    /// torrent are not taken for the same peer.
    pub async fn connect_as(from_ip: &str, to: SocketAddr, info_hash: [u8; 20], tag: u8) -> Evil {
        let stream = dial_and_greet(from_ip, to, info_hash, tag).await;
        Evil::answered(stream).await
    }
}

impl<S: Link> Evil<S> {
    /// Sends a BEP 10 extension handshake naming `m` (name → our id).
    pub async fn send_ext_handshake(
        &mut self,
        m: &[(&str, u8)],
        metadata_size: Option<u64>,
    ) -> std::io::Result<()> {
        let hs = shoal_wire::ExtensionHandshake {
            m: m.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            metadata_size,
            ..shoal_wire::ExtensionHandshake::default()
        };
        self.send(&Message::Extended {
            id: 0,
            payload: hs.encode().into(),
        })
        .await
    }

    /// Reads until the engine's extension handshake and returns the id it wants for
    /// `name`.
    pub async fn their_ext_id(&mut self, name: &str, limit: Duration) -> Option<u8> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if let Message::Extended { id: 0, payload } = self.recv(left).await? {
                let hs = shoal_wire::ExtensionHandshake::decode(&payload).ok()?;
                return hs.m.get(name).copied();
            }
        }
    }
}

/// Dials `to` from `from_ip` and sends our handshake (peer id tag `tag`); the engine's
/// answer is left unread.
pub async fn dial_and_greet(
    from_ip: &str,
    to: SocketAddr,
    info_hash: [u8; 20],
    tag: u8,
) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(format!("{from_ip}:0").parse().unwrap()).unwrap();
    let mut stream = sock.connect(to).await.unwrap();
    stream
        .write_all(&evil_handshake(info_hash, tag).encode())
        .await
        .unwrap();
    stream
}

/// Dials `to` on `net` from `from_ip` and sends our handshake (peer id tag `tag`); the
/// engine's answer is left unread.
pub async fn greet_in(
    net: &MemoryNetwork,
    from_ip: &str,
    to: SocketAddr,
    info_hash: [u8; 20],
    tag: u8,
) -> MemoryStream {
    let mut stream = net.connect(from_ip.parse().unwrap(), to).unwrap();
    stream
        .write_all(&evil_handshake(info_hash, tag).encode())
        .await
        .unwrap();
    stream
}

/// A plaintext-only session on `ip` of the memory network `net`, with the disk work
/// done inline (no threads beside the runtime: deterministic in paused time), with
/// the settings `edit` makes.
pub async fn memory_session_with(
    net: &MemoryNetwork,
    ip: &str,
    edit: impl FnOnce(&mut SessionConfig),
) -> Session {
    session_with(ip, |c| {
        c.network = Network::Memory(net.clone());
        c.disk_threads = Some(0);
        edit(c);
    })
    .await
}

/// Sends a keep-alive every 300 ms until the engine closes the connection; returns how
/// long that took, or `None` if it is still open after `limit`.
pub async fn keepalive_until_closed<S: Link>(
    evil: &mut Evil<S>,
    limit: Duration,
) -> Option<Duration> {
    let started = tokio::time::Instant::now();
    while started.elapsed() < limit {
        if evil.send_raw(&[0, 0, 0, 0]).await.is_err()
            || evil.closed_within(Duration::from_millis(300)).await
        {
            return Some(started.elapsed());
        }
    }
    None
}
