//! A JSON body extractor whose failures are the API's JSON errors (400 with a message)
//! rather than axum's plain-text rejections; it does not insist on a Content-Type.

use super::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

/// Largest request body accepted (a base64 .torrent of a few MiB).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Largest .torrent file an add request can carry (base64 grows it by a third; the
/// rest of the body is a few fields).
pub const MAX_TORRENT_FILE: usize = MAX_BODY / 4 * 3 - 64 * 1024;

pub(crate) struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
        if bytes.len() > MAX_BODY {
            return Err(ApiError::bad_request("body too large"));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}
