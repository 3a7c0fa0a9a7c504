//! What `seed`, `get` and `send` share: loading a torrent, starting a session with the
//! peer sources the flags allow, resolving peers.

use crate::args::NetArgs;
use crate::state_dir;
use anyhow::Context;
use shoal_engine::{DhtSettings, Session, SessionConfig};
use shoal_metainfo::Metainfo;
use std::net::SocketAddr;
use std::path::Path;

pub fn load_torrent(path: &Path) -> anyhow::Result<Metainfo> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if size > shoal_metainfo::MAX_METAINFO_BYTES as u64 {
        anyhow::bail!(
            "{} is {size} bytes, over the {} byte limit for a torrent file",
            path.display(),
            shoal_metainfo::MAX_METAINFO_BYTES
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Metainfo::from_bytes(&bytes)
        .with_context(|| format!("{} is not a valid torrent", path.display()))
}

/// The session settings the flags ask for.
fn session_config(net: &NetArgs) -> anyhow::Result<SessionConfig> {
    let dht = if net.no_dht {
        None
    } else {
        let bootstrap = if net.dht_bootstrap.is_empty() {
            shoal_dht_net::DEFAULT_BOOTSTRAP
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            net.dht_bootstrap.clone()
        };
        Some(DhtSettings {
            bootstrap,
            state_file: state_dir::dht_state_file(net.state_dir.as_deref())?,
        })
    };
    Ok(SessionConfig {
        listen_addr: SocketAddr::new(net.bind, net.port),
        interface: net.interface.clone(),
        upload_rate_limit: net.upload_limit,
        use_trackers: !net.no_trackers,
        pex: !net.no_pex,
        lsd: !net.no_lsd,
        dht,
        encryption: net.encryption,
        ..SessionConfig::default()
    })
}

/// Starts a session as the flags say and prints `listening on ADDR` on stdout.
pub async fn start_session(net: &NetArgs) -> anyhow::Result<Session> {
    let session = Session::new(session_config(net)?).await?;
    println!("listening on {}", session.local_addr());
    if let Some(dht) = session.dht_addr() {
        tracing::info!(%dht, "DHT node listening");
    }
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
