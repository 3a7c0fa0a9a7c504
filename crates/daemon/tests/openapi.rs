//! The router and crates/daemon/openapi.json describe the same API: the same paths
//! and methods, and every documented operation is served (probed against a running
//! daemon with a real torrent: never 404 "no such route" or 405).
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{json, Value};
use shoal_testkit::random_file;
use std::collections::BTreeSet;
use support::TestDaemon;

fn documented() -> BTreeSet<(String, String)> {
    let doc: Value = serde_json::from_str(shoal_daemon::api::OPENAPI_JSON).unwrap();
    assert_eq!(
        doc["openapi"].as_str().unwrap().split('.').next(),
        Some("3")
    );
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "patch", "head", "options"]
                .contains(&method.as_str())
            {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

fn routed() -> BTreeSet<(String, String)> {
    shoal_daemon::api::route_table()
        .into_iter()
        .filter(|(_, p)| p.starts_with("/api/") || p.starts_with("/stream/"))
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

#[test]
fn routes_match_the_document() {
    let doc = documented();
    let routes = routed();
    let missing: Vec<_> = doc.difference(&routes).collect();
    let undocumented: Vec<_> = routes.difference(&doc).collect();
    assert!(missing.is_empty(), "documented but not routed: {missing:?}");
    assert!(
        undocumented.is_empty(),
        "routed but not documented: {undocumented:?}"
    );
    assert!(doc.len() >= 19, "{doc:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served() {
    let mut d = TestDaemon::start().await;
    let share = d.state.path().join("share.bin");
    random_file(&share, 100_000, 1);
    let added = d
        .api
        .ok(
            "POST",
            "/api/v1/torrents",
            Some(json!({"path": share.display().to_string(), "private": false})),
            201,
        )
        .await;
    let id = added["id"].as_str().unwrap().to_string();
    d.api.wait_state(&id, "seeding", 30).await;
    let mut ops: Vec<(String, String)> = documented().into_iter().collect();
    // Removal last.
    ops.sort_by_key(|(m, _)| m == "DELETE");
    for (method, path) in ops {
        let concrete = path.replace("{id}", &id).replace("{file_index}", "0");
        let body = matches!(method.as_str(), "POST" | "PATCH").then(|| json!({}));
        let resp = d
            .api
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                d.api.url(&concrete),
            )
            .bearer_auth(&d.api.token)
            .json(&body.unwrap_or(Value::Null))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert_ne!(status, 405, "{method} {path}");
        if status == 404 {
            let text = resp.text().await.unwrap();
            assert!(!text.contains("no such route"), "{method} {path}: {text}");
        }
        assert!(status < 500, "{method} {path}: {status}");
    }
    // Unknown routes and methods are told apart.
    let (status, v) = d.api.req("GET", "/api/v1/nothing", None).await;
    assert_eq!(status, 404);
    assert_eq!(v["error"], "no such route");
    let (status, _) = d.api.req("PUT", "/api/v1/session", None).await;
    assert_eq!(status, 405);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_served() {
    let mut d = TestDaemon::start().await;
    let v = d.api.get("/api/v1/openapi.json").await;
    assert_eq!(
        v,
        serde_json::from_str::<Value>(shoal_daemon::api::OPENAPI_JSON).unwrap()
    );
    d.stop().await;
}
