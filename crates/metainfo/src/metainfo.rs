//! A whole `.torrent` file: the `info` dictionary plus trackers and descriptive fields.

use shoal_bencode::{Dict, OwnedValue, Value};

use crate::error::MetainfoError;
use crate::{info_hash_of, parse, Info, InfoHash, Magnet};

/// A parsed `.torrent` file (BitTorrent v1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metainfo {
    /// SHA-1 of `info_bytes`.
    pub info_hash: InfoHash,
    /// The validated `info` dictionary.
    pub info: Info,
    /// Exact raw bytes of the `info` dictionary as found in the file.
    pub info_bytes: Vec<u8>,
    /// `announce`: the primary tracker.
    pub announce: Option<String>,
    /// BEP 12 tiers; `[[announce]]` when the file has only `announce`. Empty entries and
    /// empty tiers are dropped, and a URL appears only once.
    pub announce_list: Vec<Vec<String>>,
    /// BEP 19 web seeds.
    pub url_list: Vec<String>,
    /// `creation date`, seconds since the Unix epoch.
    pub creation_date: Option<i64>,
    /// `comment` (`comment.utf-8` preferred).
    pub comment: Option<String>,
    /// `created by`.
    pub created_by: Option<String>,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A tracker/web-seed URL: valid UTF-8, trimmed, non-empty.
fn url(v: &Value<'_>) -> Option<String> {
    let s = v.as_str()?.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn parse_announce_list(root: &Dict<'_>) -> Vec<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut tiers = Vec::new();
    for tier in root.get_list(b"announce-list").unwrap_or_default() {
        let Some(items) = tier.as_list() else {
            continue;
        };
        let urls: Vec<String> = items
            .iter()
            .filter_map(url)
            .filter(|u| seen.insert(u.clone()))
            .collect();
        if !urls.is_empty() {
            tiers.push(urls);
        }
    }
    tiers
}

fn parse_url_list(root: &Dict<'_>) -> Vec<String> {
    match root.get(b"url-list") {
        Some(Value::List(items)) => items.iter().filter_map(url).collect(),
        Some(v) => url(v).into_iter().collect(),
        None => Vec::new(),
    }
}

impl Metainfo {
    /// Parses a `.torrent` file. The outer dictionaries may have unsorted keys; the
    /// info-hash is computed over the exact bytes of `info`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Metainfo, MetainfoError> {
        crate::limits::check(bytes)?;
        let value = shoal_bencode::decode_lenient(bytes)?;
        let root = value.as_dict().ok_or(MetainfoError::Invalid {
            field: "torrent",
            reason: "not a dictionary",
        })?;
        let info_dict = root
            .get(b"info")
            .ok_or(MetainfoError::Missing { field: "info" })?
            .as_dict()
            .ok_or(MetainfoError::Invalid {
                field: "info",
                reason: "not a dictionary",
            })?;
        let info_bytes = info_dict.raw().to_vec();
        let info_hash = info_hash_of(&info_bytes);
        let info = parse::parse_info(info_dict, info_hash)?;

        let announce = root.get(b"announce").and_then(url);
        let mut announce_list = parse_announce_list(root);
        if announce_list.is_empty() {
            if let Some(a) = &announce {
                announce_list = vec![vec![a.clone()]];
            }
        }
        let comment = root
            .get_str(b"comment.utf-8")
            .map(str::to_owned)
            .or_else(|| root.get_bytes(b"comment").map(text));
        Ok(Metainfo {
            info_hash,
            info,
            info_bytes,
            announce,
            announce_list,
            url_list: parse_url_list(root),
            creation_date: root.get_int(b"creation date"),
            comment,
            created_by: root.get_bytes(b"created by").map(text),
        })
    }

    /// Builds a `Metainfo` from metadata fetched for a magnet link (BEP 9), checking that
    /// it hashes to the magnet's info-hash. Trackers come from the magnet link.
    pub fn from_magnet_metadata(
        info_bytes: Vec<u8>,
        magnet: &Magnet,
    ) -> Result<Metainfo, MetainfoError> {
        let actual = info_hash_of(&info_bytes);
        if actual != magnet.info_hash {
            return Err(MetainfoError::InfoHashMismatch {
                expected: magnet.info_hash,
                actual,
            });
        }
        let info = Info::from_bytes(&info_bytes)?;
        Ok(Metainfo {
            info_hash: actual,
            info,
            info_bytes,
            announce: magnet.trackers.first().cloned(),
            announce_list: magnet.trackers.iter().map(|t| vec![t.clone()]).collect(),
            url_list: Vec::new(),
            creation_date: None,
            comment: None,
            created_by: None,
        })
    }

    /// Encodes a canonical `.torrent` file (sorted keys) embedding `info_bytes` verbatim,
    /// so the info-hash is unchanged.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut root = OwnedValue::dict();
        if let Some(a) = &self.announce {
            root.insert("announce", a.as_str());
        }
        let trivial = match &self.announce {
            Some(a) => self.announce_list.len() == 1 && self.announce_list[0] == [a.clone()],
            None => false,
        };
        if !self.announce_list.is_empty() && !trivial {
            let tiers: Vec<OwnedValue> = self
                .announce_list
                .iter()
                .map(|tier| {
                    OwnedValue::List(tier.iter().map(|t| OwnedValue::from(t.as_str())).collect())
                })
                .collect();
            root.insert("announce-list", tiers);
        }
        if let Some(c) = &self.comment {
            root.insert("comment", c.as_str());
        }
        if let Some(c) = &self.created_by {
            root.insert("created by", c.as_str());
        }
        if let Some(d) = self.creation_date {
            root.insert("creation date", d);
        }
        root.insert("info", OwnedValue::Raw(self.info_bytes.clone()));
        if !self.url_list.is_empty() {
            let urls: Vec<OwnedValue> = self
                .url_list
                .iter()
                .map(|u| OwnedValue::from(u.as_str()))
                .collect();
            root.insert("url-list", urls);
        }
        root.encode()
    }

    /// Every tracker URL, tier by tier, without duplicates.
    pub fn trackers(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.announce_list
            .iter()
            .flatten()
            .chain(self.announce.iter())
            .filter(|t| seen.insert(t.as_str()))
            .cloned()
            .collect()
    }

    /// A magnet link with `xt`, `dn` (the name) and a `tr` for every tracker.
    pub fn magnet(&self) -> Magnet {
        let mut m = Magnet::new(self.info_hash);
        m.display_name = Some(self.info.name.clone());
        m.trackers = self.trackers();
        m
    }
}
