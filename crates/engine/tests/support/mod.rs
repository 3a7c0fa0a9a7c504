//! Engine helpers for the loopback swarm tests: sessions on 127.0.0.1 without
//! trackers, adding torrents, waiting for them. Generic helpers (payloads, torrents,
//! logs, polling) come from `shoal-testkit`.
// Every engine test binary includes this module and each uses only part of it.
#![allow(dead_code, clippy::unwrap_used)]

use shoal_engine::{AddTorrentOptions, Session, SessionConfig, TorrentHandle};
use shoal_metainfo::Metainfo;
use shoal_testkit::Poll;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// A session on 127.0.0.1 with a free port and no trackers.
pub async fn session(upload_limit: Option<u64>) -> Session {
    let config = SessionConfig {
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        use_trackers: false,
        upload_rate_limit: upload_limit,
        ..SessionConfig::default()
    };
    Session::new(config).await.unwrap()
}

/// Adds `meta` to `session` with its data in `dir`, dialling `peers`.
pub async fn add(
    session: &Session,
    meta: &Metainfo,
    dir: &Path,
    peers: Vec<SocketAddr>,
) -> TorrentHandle {
    let opts = AddTorrentOptions {
        download_dir: dir.to_path_buf(),
        peers,
        ..AddTorrentOptions::default()
    };
    session
        .add_torrent(meta.clone(), opts, |_| {})
        .await
        .unwrap()
}

/// Waits for completion, failing the test after `limit`.
pub async fn wait_complete(handle: &TorrentHandle, limit: Duration) {
    tokio::time::timeout(limit, handle.wait_complete())
        .await
        .unwrap_or_else(|_| panic!("timed out: {:?}", handle.stats()))
        .unwrap();
}

/// A session listening on `ip` (any 127.x address works on Linux loopback), so tests
/// can tell peers apart by address.
pub async fn session_on(ip: &str, upload_limit: Option<u64>) -> Session {
    let config = SessionConfig {
        listen_addr: format!("{ip}:0").parse().unwrap(),
        use_trackers: false,
        upload_rate_limit: upload_limit,
        ..SessionConfig::default()
    };
    Session::new(config).await.unwrap()
}

/// How the tests wait for a torrent's state: every 20 ms, up to `limit`.
pub fn poll(limit: Duration) -> Poll {
    Poll::up_to(limit).every(Duration::from_millis(20))
}

/// A session at `ip` on the memory network `net`, with no trackers and the disk work
/// done inline: no socket and no thread beside the runtime, so a test in tokio's
/// paused time is deterministic.
pub async fn memory_session(net: &shoal_engine::MemoryNetwork, ip: &str) -> Session {
    let config = SessionConfig {
        listen_addr: format!("{ip}:0").parse().unwrap(),
        use_trackers: false,
        network: shoal_engine::Network::Memory(net.clone()),
        disk_threads: Some(0),
        ..SessionConfig::default()
    };
    Session::new(config).await.unwrap()
}

/// `config` on the memory network `net`, with the disk work done inline (see
/// [`memory_session`]).
pub async fn session_in(net: &shoal_engine::MemoryNetwork, config: SessionConfig) -> Session {
    let config = SessionConfig {
        network: shoal_engine::Network::Memory(net.clone()),
        disk_threads: Some(0),
        ..config
    };
    Session::new(config).await.unwrap()
}

/// Like [`session`] (127.0.0.1, no trackers, an optional upload limit) on the memory
/// network `net`.
pub async fn limited_session_in(
    net: &shoal_engine::MemoryNetwork,
    upload_limit: Option<u64>,
) -> Session {
    let config = SessionConfig {
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        use_trackers: false,
        upload_rate_limit: upload_limit,
        ..SessionConfig::default()
    };
    session_in(net, config).await
}
