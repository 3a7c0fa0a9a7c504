//! Request guard: the Host check (DNS-rebinding defence) on every route, the bearer
//! token on `/api/*` and `/stream/*`, and CORS only for configured origins.
//!
//! A web page on another site can make a browser send requests to 127.0.0.1, but with
//! its own host name in `Host` (DNS rebinding): only our listen address, loopback names
//! and the configured `allowed_hosts` are answered. The token is compared in constant
//! time; GET requests may carry it as `?access_token=` because EventSource and media
//! elements cannot set headers.

use super::{ApiError, AppState};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

/// What the guard checks against.
pub struct Guard {
    token: String,
    allowed_hosts: Vec<String>,
    cors_origins: Vec<String>,
}

impl Guard {
    /// `api_addr` is the address the API actually listens on.
    pub fn new(
        token: String,
        api_addr: SocketAddr,
        extra_hosts: &[String],
        cors_origins: &[String],
    ) -> Guard {
        let port = api_addr.port();
        let mut allowed_hosts = vec![
            api_addr.to_string(),
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
        ];
        allowed_hosts.extend(extra_hosts.iter().map(|h| h.to_ascii_lowercase()));
        Guard {
            token,
            allowed_hosts,
            cors_origins: cors_origins.to_vec(),
        }
    }

    /// Whether the `Host` header names us: exactly an allowed `host:port`, or a
    /// configured name (with any port).
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        if self.allowed_hosts.contains(&host) {
            return true;
        }
        let name = match host.rsplit_once(':') {
            Some((name, port))
                if !port.is_empty()
                    && port.bytes().all(|b| b.is_ascii_digit())
                    && (!host.starts_with('[') || name.ends_with(']')) =>
            {
                name
            }
            _ => host.as_str(),
        };
        self.allowed_hosts[4..].iter().any(|h| h == name)
    }

    /// Constant-time comparison with the token.
    pub fn token_ok(&self, given: &str) -> bool {
        given.len() == self.token.len() && bool::from(given.as_bytes().ct_eq(self.token.as_bytes()))
    }

    fn cors_origin(&self, req: &Request) -> Option<HeaderValue> {
        let origin = req.headers().get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.cors_origins
            .iter()
            .any(|o| o == text || o == "*")
            .then(|| origin.clone())
    }
}

fn needs_token(path: &str) -> bool {
    path.starts_with("/api/") || path == "/api" || path.starts_with("/stream/")
}

/// The token of a request: `Authorization: Bearer …`, or for GET `?access_token=…`.
fn given_token(req: &Request) -> Option<String> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let text = value.to_str().ok()?;
        let (scheme, token) = text.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return None;
    }
    req.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "access_token").then(|| v.to_string())
    })
}

/// The middleware: refuses foreign `Host` headers, and requests to `/api/*` and
/// `/stream/*` without the token; answers CORS preflights for configured origins.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let g = &state.guard;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    if !host.is_some_and(|h| g.host_allowed(&h)) {
        return ApiError::new(StatusCode::FORBIDDEN, "host not allowed").into_response();
    }
    let cors = g.cors_origin(&req);
    if req.method() == Method::OPTIONS {
        if let Some(origin) = cors {
            let mut resp = StatusCode::NO_CONTENT.into_response();
            let h = resp.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, PATCH, DELETE"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type, range"),
            );
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
            return resp;
        }
    }
    if needs_token(req.uri().path()) && !given_token(&req).is_some_and(|t| g.token_ok(&t)) {
        let mut resp =
            ApiError::new(StatusCode::UNAUTHORIZED, "missing or wrong token").into_response();
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return resp;
    }
    let mut resp = next.run(req).await;
    if let Some(origin) = cors {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard::new(
            "ab".repeat(32),
            "127.0.0.1:9091".parse().unwrap(),
            &["box.lan".to_string()],
            &[],
        )
    }

    #[test]
    fn hosts() {
        let g = guard();
        for ok in [
            "127.0.0.1:9091",
            "localhost:9091",
            "[::1]:9091",
            "box.lan",
            "box.lan:9091",
            "LOCALHOST:9091",
        ] {
            assert!(g.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.com",
            "evil.com:9091",
            "localhost:9092",
            "127.0.0.1",
            "localhost",
            "",
        ] {
            assert!(!g.host_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn tokens() {
        let g = guard();
        assert!(g.token_ok(&"ab".repeat(32)));
        assert!(!g.token_ok(&"ac".repeat(32)));
        assert!(!g.token_ok("ab"));
    }
}
