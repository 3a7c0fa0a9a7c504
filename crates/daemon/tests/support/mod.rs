//! Shared helpers of the daemon's integration tests: an in-process daemon on loopback
//! with its own temporary state directory (DHT, LSD and trackers off), an API client,
//! in-process engine seeders and polling of a torrent's state. Payloads and torrents
//! come from `shoal-testkit`.
// Five test binaries include this module and each uses only part of it.
#![allow(dead_code, clippy::unwrap_used)]

pub mod http;

use base64::Engine as _;
use serde_json::{json, Value};
use shoal_daemon::config::{ConfigLayer, DaemonConfig};
use shoal_daemon::state::StateDir;
use shoal_daemon::Daemon;
use shoal_engine::{AddTorrentOptions, Session, SessionConfig, TorrentHandle};
use shoal_metainfo::Metainfo;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A local engine session seeding torrents, for the daemon to download from.
pub struct Seeder {
    pub session: Session,
    pub handles: Vec<TorrentHandle>,
}

impl Seeder {
    /// Seeds `meta` from `data_dir` with an optional upload limit (bytes/s).
    pub async fn start(metas: &[(&Metainfo, &Path)], upload_limit: Option<u64>) -> Seeder {
        let session = Session::new(SessionConfig {
            listen_addr: "127.0.0.1:0".parse().unwrap(),
            use_trackers: false,
            upload_rate_limit: upload_limit,
            lsd: false,
            dht: None,
            ..SessionConfig::default()
        })
        .await
        .unwrap();
        let mut handles = Vec::new();
        for (meta, dir) in metas {
            let h = session
                .add_torrent(
                    (*meta).clone(),
                    AddTorrentOptions {
                        download_dir: dir.to_path_buf(),
                        ..AddTorrentOptions::default()
                    },
                    |_| {},
                )
                .await
                .unwrap();
            assert!(h.is_complete(), "seeder data incomplete");
            handles.push(h);
        }
        Seeder { session, handles }
    }

    pub fn addr(&self) -> SocketAddr {
        self.session.local_addr()
    }
}

/// A daemon running in this process.
pub struct TestDaemon {
    pub daemon: Option<Daemon>,
    pub state: tempfile::TempDir,
    pub downloads: PathBuf,
    pub api: Api,
}

/// Settings for tests: loopback only, no DHT/LSD/trackers, ports picked by the OS.
pub fn test_config(state: &Path, extra: ConfigLayer) -> DaemonConfig {
    let base = ConfigLayer {
        listen_port: Some(0),
        listen_bind: Some("127.0.0.1".parse().unwrap()),
        api_addr: Some("127.0.0.1:0".parse().unwrap()),
        dht: Some(false),
        lsd: Some(false),
        trackers: Some(false),
        ..ConfigLayer::default()
    };
    extra.over(base).resolve(state).unwrap()
}

impl TestDaemon {
    pub async fn start() -> TestDaemon {
        Self::start_with(ConfigLayer::default()).await
    }

    pub async fn start_with(extra: ConfigLayer) -> TestDaemon {
        let state = tempfile::tempdir().unwrap();
        let config = test_config(state.path(), extra);
        let downloads = config.download_dir.clone();
        let dir = StateDir::open(state.path()).unwrap();
        let daemon = Daemon::start(config, dir, None).await.unwrap();
        let token = std::fs::read_to_string(&daemon.token_path).unwrap();
        let api = Api::new(daemon.api_addr, token.trim().to_string());
        TestDaemon {
            daemon: Some(daemon),
            state,
            downloads,
            api,
        }
    }

    pub fn listen_addr(&self) -> SocketAddr {
        self.daemon.as_ref().unwrap().manager.listen_addr()
    }

    pub async fn stop(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.shutdown().await;
        }
    }
}

/// A JSON client of the API.
#[derive(Clone)]
pub struct Api {
    pub addr: SocketAddr,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(addr: SocketAddr, token: String) -> Api {
        Api {
            addr,
            token,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Any request; returns status and JSON (Null when empty or not JSON).
    pub async fn req(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, v) = self.req("GET", path, None).await;
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }

    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>, want: u16) -> Value {
        let (status, v) = self.req(method, path, body).await;
        assert_eq!(status, want, "{method} {path}: {v}");
        v
    }

    /// Adds a .torrent with peers; returns the id.
    pub async fn add_torrent(&self, meta: &Metainfo, peers: &[SocketAddr], extra: Value) -> String {
        let mut body = json!({
            "torrent": base64::engine::general_purpose::STANDARD.encode(meta.to_bytes()),
            "peers": peers.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        });
        merge(&mut body, extra);
        let v = self.ok("POST", "/api/v1/torrents", Some(body), 201).await;
        v["id"].as_str().unwrap().to_string()
    }

    pub async fn torrent(&self, id: &str) -> Value {
        self.get(&format!("/api/v1/torrents/{id}")).await
    }

    /// Polls the torrent until `pred` holds (panics with the last state after `secs`).
    pub async fn wait_torrent(&self, id: &str, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.torrent(id).await;
            if pred(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out; last state {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_state(&self, id: &str, state: &str, secs: u64) -> Value {
        self.wait_torrent(id, secs, |v| v["state"] == state).await
    }
}

/// Adds the keys of `extra` (an object) to `body`.
pub fn merge(body: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
}
