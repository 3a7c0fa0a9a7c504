//! The daemon's JSON API with arbitrary requests: every request body type decoded
//! straight from the input, and whole requests (a route from the daemon's own table,
//! a path id, headers, a body) sent through the real axum router of a real daemon
//! (manager and engine session, loopback only, no DHT/LSD/PEX/trackers, in a temporary
//! directory). A response must come, and no malformed input may earn a 5xx.
//!
//! What could reach beyond the sandbox is kept out: `move` and adds naming a local
//! path, a download directory or peers are only decoded, never sent; magnet links are
//! sent only in the bare `xt` (+`dn`) form, so nothing is dialled.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use shoal_daemon::api::types::{AddRequest, FilesPatch, MoveRequest, SessionPatch, TorrentPatch};
use shoal_daemon::api::{guard::Guard, route_table, router, AppState};
use shoal_daemon::config::ConfigLayer;
use shoal_daemon::manager::Manager;
use shoal_daemon::state::StateDir;
use tower::ServiceExt;

/// The address the guard believes the API listens on (requests never travel).
const API_ADDR: &str = "127.0.0.1:7";
const TOKEN: &str = "fuzz-token-0123456789abcdef";
/// Torrents kept before the daemon is emptied again.
const MAX_TORRENTS: usize = 8;

struct Harness {
    rt: tokio::runtime::Runtime,
    app: axum::Router,
    manager: std::sync::Arc<Manager>,
    _dir: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let layer = ConfigLayer {
            listen_port: Some(0),
            listen_bind: Some("127.0.0.1".parse().expect("ip")),
            api_addr: Some(API_ADDR.parse().expect("addr")),
            dht: Some(false),
            lsd: Some(false),
            pex: Some(false),
            trackers: Some(false),
            ..ConfigLayer::default()
        };
        let config = layer.resolve(dir.path()).expect("config");
        let state = StateDir::open(dir.path()).expect("state dir");
        let manager = rt
            .block_on(Manager::start(config, state, None))
            .expect("manager");
        let guard = Guard::new(TOKEN.into(), API_ADDR.parse().expect("addr"), &[], &[]);
        let app = router(AppState {
            manager: manager.clone(),
            guard: std::sync::Arc::new(guard),
        });
        Harness {
            rt,
            app,
            manager,
            _dir: dir,
        }
    })
}

/// Whether a magnet may be sent: `magnet:?xt=urn:btih:<40 hex>` with at most a `dn`.
fn bare_magnet(m: &str) -> bool {
    let Some(rest) = m.strip_prefix("magnet:?xt=urn:btih:") else {
        return false;
    };
    let (hash, tail) = rest.split_at(rest.len().min(40));
    hash.len() == 40
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && (tail.is_empty()
            || tail
                .strip_prefix("&dn=")
                .is_some_and(|dn| !dn.contains('&') && !dn.contains('%')))
}

/// Whether a request body may go through the router for `route`.
fn safe_to_send(path: &str, method: &Method, body: &[u8]) -> bool {
    if path.ends_with("/move") {
        return false;
    }
    if path == "/api/v1/torrents" && method == Method::POST {
        // Bodies that do not decode are refused by the handler the same way.
        let Ok(req) = serde_json::from_slice::<AddRequest>(body) else {
            return true;
        };
        return req.path.is_none()
            && req.download_dir.is_none()
            && req.peers.is_empty()
            && req.magnet.as_deref().is_none_or(bare_magnet);
    }
    true
}

fuzz_target!(|data: &[u8]| {
    // Every body type, decoded directly.
    let _ = serde_json::from_slice::<AddRequest>(data);
    let _ = serde_json::from_slice::<SessionPatch>(data);
    let _ = serde_json::from_slice::<TorrentPatch>(data);
    let _ = serde_json::from_slice::<FilesPatch>(data);
    let _ = serde_json::from_slice::<MoveRequest>(data);

    let [route_byte, id_byte, flags, body @ ..] = data else {
        return;
    };
    let h = harness();
    let routes = route_table();
    let (method, template) = routes[usize::from(*route_byte) % routes.len()].clone();
    let ids: Vec<String> = h.manager.list().into_iter().map(|t| t.id).collect();
    let id = match ids.get(usize::from(*id_byte) % (ids.len() + 2)) {
        Some(id) if flags & 1 == 0 => id.clone(),
        Some(id) => id[..usize::from(*id_byte) % 40 + 1].to_string(),
        None if id_byte % 2 == 0 => "0".repeat(40),
        None => {
            String::from_utf8_lossy(&body[..body.len().min(12)]).replace(['/', '?', '#', ' '], "_")
        }
    };
    let mut path = template
        .replace("{id}", &id)
        .replace("{file_index}", &(id_byte % 4).to_string());
    if flags & 2 != 0 {
        path.push_str(if flags & 4 != 0 {
            "?delete_data=true"
        } else {
            "?delete_data=maybe"
        });
    }
    if !safe_to_send(template, &method, body) {
        return;
    }
    let mut req = Request::builder().method(method).uri(path.as_str()).header(
        "host",
        if flags & 8 != 0 {
            "evil.example:7"
        } else {
            API_ADDR
        },
    );
    if flags & 16 == 0 {
        req = req.header("authorization", format!("Bearer {TOKEN}"));
    }
    if flags & 32 != 0 {
        req = req.header(
            "range",
            String::from_utf8_lossy(&body[..body.len().min(24)]).into_owned(),
        );
    }
    let Ok(req) = req.body(Body::from(body.to_vec())) else {
        return;
    };
    let status = h.rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), h.app.clone().oneshot(req))
            .await
            .expect("the API did not answer within 5 s")
            .expect("infallible")
            .status()
    });
    assert!(
        !status.is_server_error(),
        "{path}: {status} for a request body of {} bytes",
        body.len()
    );
    if ids.len() > MAX_TORRENTS {
        h.rt.block_on(async {
            for id in &ids {
                if let Some(ih) = hex20(id) {
                    let _ = h.manager.remove(&ih, true).await;
                }
            }
        });
    }
});

fn hex20(s: &str) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
