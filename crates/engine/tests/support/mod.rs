//! Shared helpers for the engine's loopback swarm tests.
#![allow(dead_code, clippy::unwrap_used)]

use rand::{RngCore, SeedableRng};
use shoal_engine::{AddTorrentOptions, Session, SessionConfig, TorrentHandle};
use shoal_metainfo::{create_torrent, CreateOptions, Metainfo};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Writes `len` deterministic pseudo-random bytes to `path`.
pub fn random_file(path: &Path, len: usize, seed: u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut data = vec![0u8; len];
    rng.fill_bytes(&mut data);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// A torrent of `path` with the given piece length.
pub fn make_torrent(path: &Path, piece_length: u32) -> Metainfo {
    let opts = CreateOptions {
        piece_length: Some(piece_length),
        ..CreateOptions::default()
    };
    let meta = create_torrent(path, &opts).unwrap();
    // Round-trip through the file format like a real user would.
    Metainfo::from_bytes(&meta.to_bytes()).unwrap()
}

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

pub fn same_bytes(a: &Path, b: &Path) -> bool {
    std::fs::read(a).unwrap() == std::fs::read(b).unwrap()
}

pub fn path_in(dir: &tempfile::TempDir, rel: &str) -> PathBuf {
    dir.path().join(rel)
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

/// Logs to the test's output when `RUST_LOG` is set.
pub fn init_logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
    }
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
