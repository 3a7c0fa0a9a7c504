//! HTTP(S) announces with reqwest: bounded redirects, whole-request timeout, reply size cap.

use shoal_tracker::{http, AnnounceRequest, AnnounceResponse, TrackerError};

use crate::{AnnounceError, AnnouncerConfig};

/// Largest reply read before giving up.
pub const MAX_REPLY: usize = 2 * 1024 * 1024;
/// Redirects followed per request.
const MAX_REDIRECTS: usize = 3;

/// Shared reqwest client (cheap to clone).
#[derive(Debug, Clone)]
pub(crate) struct HttpTransport {
    client: Result<reqwest::Client, String>,
}

impl HttpTransport {
    pub(crate) fn new(cfg: &AnnouncerConfig) -> Self {
        let mut builder = reqwest::Client::builder();
        if let Some(ip) = cfg.source.ip {
            builder = builder.local_address(ip);
        }
        if let Some(device) = &cfg.source.interface {
            builder = builder.interface(device);
        }
        let client = builder
            .user_agent(cfg.user_agent.clone())
            .timeout(cfg.request_timeout)
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            // Tracker traffic goes direct, like the peer connections it is about.
            .no_proxy()
            .build()
            .map_err(|e| e.to_string());
        if let Err(e) = &client {
            tracing::error!("cannot build HTTP client, HTTP trackers unusable: {e}");
        }
        HttpTransport { client }
    }

    pub(crate) async fn announce(
        &self,
        base: &str,
        req: &AnnounceRequest,
    ) -> Result<AnnounceResponse, AnnounceError> {
        let client = self
            .client
            .as_ref()
            .map_err(|e| AnnounceError::NoHttpClient(e.clone()))?;
        let url = http::announce_url(base, req);
        let mut resp = client
            .get(url)
            .send()
            .await
            .map_err(AnnounceError::from_http)?;
        let status = resp.status();
        if resp.content_length().is_some_and(|n| n > MAX_REPLY as u64) {
            return Err(AnnounceError::TooLarge(MAX_REPLY));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(AnnounceError::from_http)? {
            if body.len() + chunk.len() > MAX_REPLY {
                return Err(AnnounceError::TooLarge(MAX_REPLY));
            }
            body.extend_from_slice(&chunk);
        }
        match http::parse_announce(&body) {
            Ok(r) if status.is_success() => Ok(r),
            // A `failure reason` is the most useful thing to show, whatever the status.
            Err(e @ TrackerError::Failure(_)) => Err(e.into()),
            Err(e) if status.is_success() => Err(e.into()),
            _ => Err(AnnounceError::HttpStatus(status.as_u16())),
        }
    }
}
