//! What `seed` and `get` share: loading a torrent, starting a session, resolving peers.

use crate::args::NetArgs;
use anyhow::Context;
use shoal_engine::{Session, SessionConfig};
use shoal_metainfo::Metainfo;
use std::net::SocketAddr;
use std::path::Path;

pub fn load_torrent(path: &Path) -> anyhow::Result<Metainfo> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Metainfo::from_bytes(&bytes)
        .with_context(|| format!("{} is not a valid torrent", path.display()))
}

/// Starts a session listening as the flags say and prints `listening on ADDR` on stdout.
pub async fn start_session(net: &NetArgs) -> anyhow::Result<Session> {
    let config = SessionConfig {
        listen_addr: SocketAddr::new(net.bind, net.port),
        upload_rate_limit: net.upload_limit,
        use_trackers: !net.no_trackers,
        ..SessionConfig::default()
    };
    let session = Session::new(config).await?;
    println!("listening on {}", session.local_addr());
    Ok(session)
}

/// Resolves `HOST:PORT` strings to addresses.
pub async fn resolve_peers(peers: &[String]) -> anyhow::Result<Vec<SocketAddr>> {
    let mut out = Vec::new();
    for peer in peers {
        let addrs = tokio::net::lookup_host(peer.as_str())
            .await
            .with_context(|| format!("cannot resolve peer {peer}"))?;
        out.extend(addrs);
    }
    Ok(out)
}
