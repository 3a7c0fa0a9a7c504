//! Parsing HTTP tracker replies: announce (dictionary peers of BEP 3, compact `peers` of
//! BEP 23, compact `peers6` of BEP 7) and scrape.
//!
//! Parsing is tolerant where it costs nothing: dictionary keys may be unsorted, data after
//! the top-level dictionary is ignored, unusable peer entries are skipped. Intervals are
//! reported as sent (negative ones are refused); applying sane bounds is the caller's job.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use shoal_bencode::{decode_with, DecodeOptions, Dict, Value};

use crate::compact;
use crate::types::{AnnounceResponse, ScrapeStats};
use crate::TrackerError;

/// Used when a reply carries no `interval` (the key is required, but some trackers omit it).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);

fn malformed(what: &str) -> TrackerError {
    TrackerError::Malformed(what.to_owned())
}

/// Decodes the top-level dictionary and turns `failure reason` into an error.
fn top_dict(body: &[u8]) -> Result<Dict<'_>, TrackerError> {
    let opts = DecodeOptions {
        require_sorted_keys: false,
        ..DecodeOptions::default()
    };
    let (value, _used) =
        decode_with(body, &opts).map_err(|e| TrackerError::Malformed(e.to_string()))?;
    let Value::Dict(dict) = value else {
        return Err(malformed("reply is not a dictionary"));
    };
    if let Some(reason) = dict.get(b"failure reason") {
        let text = match reason {
            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            _ => "(unreadable failure reason)".to_owned(),
        };
        return Err(TrackerError::Failure(text));
    }
    Ok(dict)
}

fn seconds(dict: &Dict<'_>, key: &[u8]) -> Result<Option<Duration>, TrackerError> {
    match dict.get(key) {
        None => Ok(None),
        Some(Value::Int(n)) => u64::try_from(*n)
            .map(|s| Some(Duration::from_secs(s)))
            .map_err(|_| malformed("negative interval")),
        Some(_) => Err(malformed("interval is not an integer")),
    }
}

fn count(dict: &Dict<'_>, key: &[u8]) -> Option<u32> {
    dict.get_int(key).and_then(|n| u32::try_from(n).ok())
}

/// One BEP 3 dictionary peer (`ip` as text, `port`); hostnames and bad ports are skipped.
fn dict_peer(v: &Value<'_>) -> Option<SocketAddr> {
    let d = v.as_dict()?;
    let ip_text = d.get_str(b"ip")?;
    let ip: IpAddr = ip_text
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let port = u16::try_from(d.get_int(b"port")?)
        .ok()
        .filter(|p| *p != 0)?;
    Some(SocketAddr::new(ip, port))
}

/// Parses an announce reply. `failure reason` becomes [`TrackerError::Failure`].
pub fn parse_announce(body: &[u8]) -> Result<AnnounceResponse, TrackerError> {
    let dict = top_dict(body)?;
    let interval = seconds(&dict, b"interval")?.unwrap_or(DEFAULT_INTERVAL);
    let min_interval = seconds(&dict, b"min interval")?;
    let mut peers = Vec::new();
    match dict.get(b"peers") {
        Some(Value::Bytes(b)) => peers.extend(compact::parse_v4(b)),
        Some(Value::List(list)) => peers.extend(list.iter().filter_map(dict_peer)),
        // A reply without peers is an empty answer; peers of another type are a broken
        // one (taken as empty, it would keep the next tier from being asked).
        None => {}
        Some(_) => return Err(malformed("`peers` is neither a string nor a list")),
    }
    match dict.get(b"peers6") {
        Some(Value::Bytes(b)) => peers.extend(compact::parse_v6(b)),
        None => {}
        Some(_) => return Err(malformed("`peers6` is not a string")),
    }
    Ok(AnnounceResponse {
        interval,
        min_interval,
        peers,
        complete: count(&dict, b"complete"),
        incomplete: count(&dict, b"incomplete"),
        warning: dict
            .get_bytes(b"warning message")
            .map(|b| String::from_utf8_lossy(b).into_owned()),
        tracker_id: dict.get_bytes(b"tracker id").map(<[u8]>::to_vec),
    })
}

/// Parses a scrape reply into per-info-hash counters. Entries whose key is not a 20-byte
/// hash are skipped; missing or out-of-range counters read as 0 / saturate.
pub fn parse_scrape(body: &[u8]) -> Result<HashMap<[u8; 20], ScrapeStats>, TrackerError> {
    let dict = top_dict(body)?;
    let files = dict
        .get_dict(b"files")
        .ok_or_else(|| malformed("scrape reply without `files`"))?;
    let mut out = HashMap::with_capacity(files.len());
    for (key, value) in files.iter() {
        let (Ok(hash), Some(stats)) = (<[u8; 20]>::try_from(key), value.as_dict()) else {
            continue;
        };
        let field = |k: &[u8]| {
            stats
                .get_int(k)
                .map_or(0, |n| u32::try_from(n.max(0)).unwrap_or(u32::MAX))
        };
        out.insert(
            hash,
            ScrapeStats {
                complete: field(b"complete"),
                downloaded: field(b"downloaded"),
                incomplete: field(b"incomplete"),
            },
        );
    }
    Ok(out)
}
