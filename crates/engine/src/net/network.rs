//! Which network a session's peer connections use: the host's TCP stack, or an
//! in-memory one (tests, simulation). The listener and `connect` here are the only
//! places that tell them apart; above, a connection is a [`BoxStream`].

use super::bind::SourceBinding;
use super::memory::{MemoryListener, MemoryNetwork};
use super::peer_stream::BoxStream;
use std::io;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Where peer connections go.
#[derive(Debug, Clone, Default)]
pub enum Network {
    /// TCP on the host's interfaces.
    #[default]
    Tcp,
    /// An in-memory network shared with other sessions in this process. Nothing
    /// leaves the process; UDP services (DHT, LSD) and trackers cannot run on it.
    Memory(MemoryNetwork),
}

/// A bound listener on either network.
pub(crate) enum Listener {
    Tcp(TcpListener),
    Memory(MemoryListener),
}

impl Listener {
    pub(crate) fn bind(
        network: &Network,
        addr: SocketAddr,
        source: &SourceBinding,
    ) -> io::Result<Listener> {
        match network {
            Network::Tcp => Ok(Listener::Tcp(source.tcp_listener(addr)?)),
            Network::Memory(net) => Ok(Listener::Memory(net.listen(addr)?)),
        }
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr(),
            Listener::Memory(l) => Ok(l.local_addr()),
        }
    }

    /// The next incoming connection and its address.
    pub(crate) async fn accept(&mut self) -> io::Result<(BoxStream, SocketAddr)> {
        match self {
            Listener::Tcp(l) => {
                let (stream, addr) = l.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok((Box::new(stream), addr))
            }
            Listener::Memory(l) => {
                let (stream, addr) = l.accept().await?;
                Ok((Box::new(stream), addr))
            }
        }
    }
}

/// Opens a connection to `addr` from `source`; `local` is our listening address (on
/// the memory network the connection comes from its IP).
pub(crate) async fn connect(
    network: &Network,
    source: &SourceBinding,
    local: SocketAddr,
    addr: SocketAddr,
) -> io::Result<BoxStream> {
    match network {
        Network::Tcp => {
            let stream = source.tcp_for(addr)?.connect(addr).await?;
            let _ = stream.set_nodelay(true);
            Ok(Box::new(stream))
        }
        Network::Memory(net) => Ok(Box::new(net.connect(local.ip(), addr)?)),
    }
}
