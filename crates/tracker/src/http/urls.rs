//! Building announce and scrape URLs (BEP 3 query parameters, BEP 23 `compact=1`, the
//! BEP 48 announce → scrape URL rule).

use std::fmt::Write;

use crate::types::AnnounceRequest;

/// Percent-encodes every byte except RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`),
/// using upper-case hex. Suitable for binary values such as info hashes.
pub fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `base` without any `#fragment`, followed by the right separator for appending one more
/// query parameter: `?` when there is no query yet, `&` when there is one, nothing when the
/// URL already ends in `?` or `&`.
fn with_separator(base: &str) -> String {
    let base = base.split_once('#').map_or(base, |(b, _)| b);
    let sep = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with('?') || base.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{base}{sep}")
}

/// The full announce URL for `req`: `base` plus `info_hash`, `peer_id`, `port`, `uploaded`,
/// `downloaded`, `left`, `compact=1`, `no_peer_id=1`, then `event` (omitted for
/// [`AnnounceEvent::None`](crate::AnnounceEvent::None)), `numwant` (if set), `key` (8 hex
/// digits) and `trackerid` (if set). Existing query parameters such as passkeys are kept.
pub fn announce_url(base: &str, req: &AnnounceRequest) -> String {
    let mut url = with_separator(base);
    let _ = write!(
        url,
        "info_hash={}&peer_id={}&port={}&uploaded={}&downloaded={}&left={}&compact=1&no_peer_id=1",
        percent_encode(&req.info_hash),
        percent_encode(&req.peer_id),
        req.port,
        req.uploaded,
        req.downloaded,
        req.left,
    );
    if let Some(event) = req.event.as_http_str() {
        let _ = write!(url, "&event={event}");
    }
    if let Some(n) = req.numwant {
        let _ = write!(url, "&numwant={n}");
    }
    let _ = write!(url, "&key={:08x}", req.key);
    if let Some(id) = &req.tracker_id {
        let _ = write!(url, "&trackerid={}", percent_encode(id));
    }
    url
}

/// The scrape URL for an announce URL, by the convention of BEP 48: the last path segment
/// must start with `announce`, which is replaced by `scrape` (`/x/announce.php?k=v` →
/// `/x/scrape.php?k=v`). `None` when the tracker has no conventional scrape URL.
pub fn scrape_url(announce_url: &str) -> Option<String> {
    let no_fragment = announce_url
        .split_once('#')
        .map_or(announce_url, |(b, _)| b);
    let (path_part, query) = match no_fragment.find('?') {
        Some(i) => no_fragment.split_at(i),
        None => (no_fragment, ""),
    };
    let authority_start = path_part.find("://")? + 3;
    // The path must exist: a bare `http://announce` names a host, not a segment.
    path_part[authority_start..].find('/')?;
    let last_slash = path_part.rfind('/')?;
    let (dir, segment) = path_part.split_at(last_slash + 1);
    let rest = segment.strip_prefix("announce")?;
    Some(format!("{dir}scrape{rest}{query}"))
}

/// `base_scrape` plus one `info_hash` parameter per hash.
pub fn scrape_query(base_scrape: &str, info_hashes: &[[u8; 20]]) -> String {
    let mut url = with_separator(base_scrape);
    for (i, h) in info_hashes.iter().enumerate() {
        if i > 0 {
            url.push('&');
        }
        let _ = write!(url, "info_hash={}", percent_encode(h));
    }
    url
}
