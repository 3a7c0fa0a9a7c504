//! The 68-byte BitTorrent handshake over a TCP stream, both directions, with a deadline.

use crate::session::SessionShared;
use shoal_wire::Handshake;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Our handshake for `info_hash`: extension protocol and fast extension supported, and
/// the DHT bit when the session runs a DHT node.
pub(crate) fn ours(session: &SessionShared, info_hash: [u8; 20]) -> Handshake {
    let mut hs = Handshake::new(info_hash, session.config.peer_id);
    hs.set_dht(session.discovery.dht().is_some());
    hs
}

/// Reads the peer's handshake within `timeout`.
pub async fn read(stream: &mut TcpStream, timeout: Duration) -> io::Result<Handshake> {
    let mut buf = [0u8; Handshake::LEN];
    tokio::time::timeout(timeout, stream.read_exact(&mut buf))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "handshake timed out"))??;
    Handshake::decode(&buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
}

/// Writes our handshake.
pub async fn write(stream: &mut TcpStream, hs: &Handshake) -> io::Result<()> {
    stream.write_all(&hs.encode()).await
}

/// Outgoing side: send ours, then read theirs and check the info-hash matches.
pub async fn initiate(
    stream: &mut TcpStream,
    hs: &Handshake,
    timeout: Duration,
) -> io::Result<Handshake> {
    write(stream, hs).await?;
    let theirs = read(stream, timeout).await?;
    if theirs.info_hash != hs.info_hash {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "peer answered with another info-hash",
        ));
    }
    Ok(theirs)
}
