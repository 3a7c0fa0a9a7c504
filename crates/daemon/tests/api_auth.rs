//! API safety: bearer token (header, or `?access_token` for GET only), the Host check
//! against DNS rebinding, no CORS headers unless configured, the UI's CSP.
#![allow(clippy::unwrap_used)]

mod support;

use support::http::raw;
use support::TestDaemon;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_required_and_checked() {
    let mut d = TestDaemon::start().await;
    let api = &d.api;
    let http = &api.http;
    // Missing token.
    let r = http.get(api.url("/api/v1/session")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
    // Wrong token, same length and other lengths.
    for wrong in ["0".repeat(64), "abc".into(), String::new()] {
        let r = http
            .get(api.url("/api/v1/torrents"))
            .bearer_auth(&wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "token {wrong:?}");
    }
    // The stream and the OpenAPI document need it too.
    for path in [
        "/stream/0123456789/0",
        "/api/v1/openapi.json",
        "/api/v1/events",
    ] {
        let r = http.get(api.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    // Right token in the header.
    let r = http
        .get(api.url("/api/v1/session"))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // ?access_token works for GET ...
    let r = http
        .get(api.url(&format!("/api/v1/torrents?access_token={}", api.token)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(api.url("/api/v1/torrents?access_token=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // ... and only for GET.
    let r = http
        .patch(api.url(&format!("/api/v1/session?access_token={}", api.token)))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The UI's static files are public (they hold no data) and locked down by CSP.
    for (path, ct) in [
        ("/", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/style.css", "text/css"),
    ] {
        let r = http.get(api.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let got = r.headers()["content-type"].to_str().unwrap();
        assert!(got.starts_with(ct), "{path}: {got}");
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("img-src 'self' data: blob:"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_host_is_refused() {
    let mut d = TestDaemon::start().await;
    let addr = d.api.addr;
    let token = d.api.token.clone();
    let port = addr.port();
    let ok_hosts = [
        addr.to_string(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
    ];
    for host in &ok_hosts {
        let (status, text) = raw(
            addr,
            &format!("GET /api/v1/session HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert_eq!(status, 200, "{host}: {text}");
    }
    let bad_hosts = [
        "evil.example".to_string(),
        format!("evil.example:{port}"),
        format!("localhost:{}", port.wrapping_add(1)),
        "127.0.0.1".to_string(),
    ];
    for host in &bad_hosts {
        for path in ["/api/v1/session", "/", "/ui/app.js"] {
            let (status, text) = raw(
                addr,
                &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"),
            )
            .await;
            assert_eq!(status, 403, "{host} {path}: {text}");
            assert!(text.contains("host not allowed"), "{text}");
        }
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cors_headers_by_default() {
    let mut d = TestDaemon::start().await;
    let api = &d.api;
    let r = api
        .http
        .get(api.url("/api/v1/session"))
        .bearer_auth(&api.token)
        .header("Origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for (name, _) in r.headers() {
        assert!(
            !name.as_str().starts_with("access-control-"),
            "unexpected CORS header {name}"
        );
    }
    // A preflight gets no permission either.
    let r = api
        .http
        .request(reqwest::Method::OPTIONS, api.url("/api/v1/session"))
        .header("Origin", "http://evil.example")
        .header("Access-Control-Request-Method", "PATCH")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_cors_origin_is_allowed() {
    let mut d = TestDaemon::start_with(shoal_daemon::config::ConfigLayer {
        cors_origins: Some(vec!["http://ui.example".into()]),
        ..Default::default()
    })
    .await;
    let api = &d.api;
    let r = api
        .http
        .get(api.url("/api/v1/session"))
        .bearer_auth(&api.token)
        .header("Origin", "http://ui.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://ui.example"
    );
    let r = api
        .http
        .get(api.url("/api/v1/session"))
        .bearer_auth(&api.token)
        .header("Origin", "http://other.example")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    d.stop().await;
}
