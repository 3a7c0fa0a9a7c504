//! `GET /stream/{id}/{file_index}`: a file's bytes while it downloads, with `Range`
//! (206 + `Content-Range`, 416 outside the file). The requested range is prioritised
//! in the engine (newest request first); the body is sent in chunks, each after its
//! pieces are verified. Served with `CSP: sandbox` and `nosniff`, and active content
//! types (HTML, SVG, …) as `application/octet-stream`, so a torrent's file can never
//! run script in the UI's origin.

use super::{ApiError, AppState};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use std::ops::Range;

/// Bytes read and sent at a time.
const CHUNK: u64 = 256 * 1024;

/// A parsed `Range` header against a file of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RangeSpec {
    /// No (usable) Range header: the whole file, 200.
    Whole,
    /// One satisfiable range, 206.
    Part(Range<u64>),
    /// Outside the file, 416.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-`, `bytes=-n` (the first range of a list).
pub(crate) fn parse_range(value: Option<&str>, len: u64) -> RangeSpec {
    let Some(value) = value else {
        return RangeSpec::Whole;
    };
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeSpec::Whole;
    };
    let first = spec.split(',').next().unwrap_or("").trim();
    let Some((a, b)) = first.split_once('-') else {
        return RangeSpec::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let Ok(n) = b.parse::<u64>() else {
            return RangeSpec::Whole;
        };
        if n == 0 || len == 0 {
            return RangeSpec::Unsatisfiable;
        }
        len.saturating_sub(n)..len
    } else {
        let Ok(start) = a.parse::<u64>() else {
            return RangeSpec::Whole;
        };
        let end = if b.is_empty() {
            len
        } else {
            match b.parse::<u64>() {
                Ok(e) if e >= start => e.saturating_add(1).min(len),
                _ => return RangeSpec::Whole,
            }
        };
        if start >= len {
            return RangeSpec::Unsatisfiable;
        }
        start..end
    };
    RangeSpec::Part(range)
}

/// A content type from the file name; active content is never labelled as such.
pub(crate) fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "ogv" => "video/ogg",
        "mov" => "video/quicktime",
        "avi" => "video/x-msvideo",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "flac" => "audio/flac",
        "wav" => "audio/wav",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "txt" | "srt" | "vtt" | "nfo" | "md" => "text/plain; charset=utf-8",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

pub(crate) async fn stream(
    State(s): State<AppState>,
    Path((id, index)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ih = s.manager.resolve(&id)?;
    let index: usize = index
        .parse()
        .map_err(|_| ApiError::bad_request(format!("file index must be a number, not {index}")))?;
    let span = s.manager.file_span(&ih, index)?;
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, range) = match parse_range(range_header, span.length) {
        RangeSpec::Whole => (StatusCode::OK, 0..span.length),
        RangeSpec::Part(r) => (StatusCode::PARTIAL_CONTENT, r),
        RangeSpec::Unsatisfiable => {
            let mut resp =
                ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "range outside the file")
                    .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", span.length)) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(resp);
        }
    };
    let handle = span.handle;
    let absolute = span.offset + range.start..span.offset + range.end;
    // Held by the body: the priority ends when the response does (or the client leaves).
    let priority = (!absolute.is_empty()).then(|| handle.prioritize_bytes(absolute.clone()));
    let shutdown = s.manager.shutdown_signal();
    let body = stream::unfold(
        (handle, absolute.start, absolute.end, shutdown, priority),
        |(handle, pos, end, mut shutdown, priority)| async move {
            if pos >= end {
                return None;
            }
            let len = CHUNK.min(end - pos);
            let waited = tokio::select! {
                r = handle.wait_bytes(pos..pos + len) => r.map_err(|e| e.to_string()),
                _ = shutdown.changed() => Err("the daemon is shutting down".to_string()),
            };
            let read = match waited {
                Ok(()) => handle
                    .read_bytes(pos, len as usize)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            match read {
                Ok(bytes) => {
                    let next = pos + bytes.len() as u64;
                    if bytes.is_empty() {
                        return None;
                    }
                    Some((
                        Ok::<Bytes, std::io::Error>(bytes),
                        (handle, next, end, shutdown, priority),
                    ))
                }
                Err(e) => Some((
                    Err(std::io::Error::other(e)),
                    (handle, end, end, shutdown, priority),
                )),
            }
        },
    );
    let mut resp = Response::new(Body::from_stream(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&span.path)),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&(range.end - range.start).to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!(
            "bytes {}-{}/{}",
            range.start,
            range.end.saturating_sub(1),
            span.length
        );
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 100), RangeSpec::Whole);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), RangeSpec::Part(0..10));
        assert_eq!(
            parse_range(Some("bytes=90-"), 100),
            RangeSpec::Part(90..100)
        );
        assert_eq!(
            parse_range(Some("bytes=90-500"), 100),
            RangeSpec::Part(90..100)
        );
        assert_eq!(
            parse_range(Some("bytes=-10"), 100),
            RangeSpec::Part(90..100)
        );
        assert_eq!(
            parse_range(Some("bytes=-500"), 100),
            RangeSpec::Part(0..100)
        );
        assert_eq!(
            parse_range(Some("bytes=100-"), 100),
            RangeSpec::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=-0"), 100), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-2"), 100), RangeSpec::Whole);
        assert_eq!(parse_range(Some("items=1-2"), 100), RangeSpec::Whole);
        assert_eq!(
            parse_range(Some("bytes=0-0,5-6"), 100),
            RangeSpec::Part(0..1)
        );
    }

    #[test]
    fn active_content_is_not_labelled() {
        assert_eq!(content_type("a/b.MP4"), "video/mp4");
        assert_eq!(content_type("x.html"), "application/octet-stream");
        assert_eq!(content_type("x.svg"), "application/octet-stream");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}
