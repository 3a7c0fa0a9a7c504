//! The manager's reports ([`super::info`]): summaries, details, files, peers, pieces,
//! trackers, the session, built from the registry and the engine's snapshots.

use super::info::{
    FileInfo, PeerInfo, PiecesInfo, SessionInfo, TorrentDetail, TorrentStatus, TorrentSummary,
    TrackerInfo,
};
use super::{Entry, Manager, Phase};
use crate::error::ManagerError;
use crate::link::{magnet_with_peers, reachable_addrs};
use crate::state::hex;
use crate::state::records::ContentKind;
use base64::Engine as _;
use shoal_engine::{TorrentLimits, TorrentState};

/// A file's place in its torrent's byte stream.
pub struct FileSpan {
    pub handle: shoal_engine::TorrentHandle,
    pub offset: u64,
    pub length: u64,
    pub path: String,
}

/// Upload ratio: uploaded over downloaded, or over the torrent's size when nothing
/// was downloaded (a torrent we created or seeded from the start).
pub(crate) fn ratio(uploaded: u64, downloaded: u64, total: u64) -> f64 {
    let base = if downloaded > 0 { downloaded } else { total };
    if base == 0 {
        0.0
    } else {
        uploaded as f64 / base as f64
    }
}

impl Manager {
    fn summary_of(&self, e: &Entry) -> TorrentSummary {
        let id = hex(&e.info_hash);
        let total = e.meta.as_ref().map_or(0, |m| m.info.total_length);
        let mut s = TorrentSummary {
            id,
            name: e.settings.name.clone(),
            state: TorrentStatus::Checking,
            progress: 0.0,
            total_length: total,
            verified_bytes: 0,
            download_rate: 0,
            upload_rate: 0,
            uploaded: 0,
            downloaded: 0,
            peers: 0,
            refused_peers: Default::default(),
            eta_secs: None,
            ratio: 0.0,
            error: None,
            added_unix: e.settings.added_unix,
            sequential: e.settings.sequential,
        };
        match &e.phase {
            Phase::Metadata(_) | Phase::Checking => {
                if e.settings.paused {
                    s.state = TorrentStatus::Paused;
                }
            }
            Phase::Failed(err) => {
                s.state = TorrentStatus::Error;
                s.error = Some(err.to_string());
            }
            Phase::Running(h) => {
                let st = h.stats();
                s.state = if st.error.is_some() {
                    TorrentStatus::Error
                } else if e.settings.paused {
                    TorrentStatus::Paused
                } else if e.queued {
                    TorrentStatus::Queued
                } else {
                    match st.state {
                        TorrentState::Checking => TorrentStatus::Checking,
                        TorrentState::Seeding => TorrentStatus::Seeding,
                        TorrentState::Error => TorrentStatus::Error,
                        TorrentState::Faulted => TorrentStatus::Faulted,
                        TorrentState::Paused => TorrentStatus::Queued,
                        _ if st.complete => TorrentStatus::Seeding,
                        _ => TorrentStatus::Downloading,
                    }
                };
                s.progress = if st.total_length == 0 {
                    1.0
                } else {
                    st.verified_bytes as f64 / st.total_length as f64
                };
                s.total_length = st.total_length;
                s.verified_bytes = st.verified_bytes;
                s.download_rate = st.download_rate;
                s.upload_rate = st.upload_rate;
                s.uploaded = st.uploaded;
                s.downloaded = st.downloaded;
                s.peers = st.peers;
                s.refused_peers = st.encryption_refusals;
                s.eta_secs = st.eta_secs;
                s.ratio = ratio(st.uploaded, st.downloaded, st.total_length);
                s.error = st.error.or(st.fault);
                s.sequential = st.sequential;
            }
        }
        s
    }

    /// Every torrent, in add order.
    pub fn list(&self) -> Vec<TorrentSummary> {
        let reg = self.registry.lock();
        let mut entries: Vec<&Entry> = reg.entries.values().collect();
        entries.sort_by_key(|e| e.settings.queue_order);
        entries.into_iter().map(|e| self.summary_of(e)).collect()
    }

    /// One torrent with its settings.
    pub fn detail(&self, ih: &[u8; 20]) -> Result<TorrentDetail, ManagerError> {
        let link = self.link_of(ih)?;
        let reg = self.registry.lock();
        let e = reg.get(ih)?;
        let summary = self.summary_of(e);
        let (num_pieces, piece_length, private) = e.meta.as_ref().map_or((0, 0, false), |m| {
            (m.info.num_pieces(), m.info.piece_length, m.info.private)
        });
        let have_pieces = e.running().map_or(0, |h| h.stats().have_pieces);
        let queue_position = if e.queued {
            let mut waiting: Vec<u64> = reg
                .entries
                .values()
                .filter(|o| o.queued)
                .map(|o| o.settings.queue_order)
                .collect();
            waiting.sort_unstable();
            waiting.iter().position(|&o| o == e.settings.queue_order)
        } else {
            None
        };
        let limits = e.settings.limits;
        Ok(TorrentDetail {
            summary,
            info_hash: hex(ih),
            link,
            download_dir: e.settings.download_dir.display().to_string(),
            num_pieces,
            piece_length,
            have_pieces,
            private,
            upload_limit: limits.upload_rate,
            download_limit: limits.download_rate,
            max_peers: limits.max_peers,
            seed_ratio: e.settings.seed_ratio,
            seed_time_secs: e.settings.seed_time_secs,
            queue_position,
        })
    }

    /// The link to give others: the magnet link with our addresses, plus the key
    /// for a private link.
    pub fn link_of(&self, ih: &[u8; 20]) -> Result<String, ManagerError> {
        let reg = self.registry.lock();
        let e = reg.get(ih)?;
        let magnet = match (&e.meta, &e.settings.magnet) {
            (Some(meta), _) => {
                magnet_with_peers(meta, &reachable_addrs(self.listen_addr())).to_string()
            }
            (None, Some(m)) => m.clone(),
            (None, None) => format!("magnet:?xt=urn:btih:{}", hex(ih)),
        };
        Ok(match &e.key {
            Some(key) if e.settings.kind != ContentKind::Files => {
                shoal_private::private_link(&magnet, key).to_string()
            }
            _ => magnet,
        })
    }

    /// Where file `index` lies in the torrent's byte stream, for streaming.
    pub fn file_span(&self, ih: &[u8; 20], index: usize) -> Result<FileSpan, ManagerError> {
        let reg = self.registry.lock();
        let e = reg.get(ih)?;
        let handle = e.running_or_err()?.clone();
        if e.settings.kind != ContentKind::Files {
            return Err(ManagerError::PrivateStream);
        }
        // A running torrent has its metadata.
        let meta = e
            .meta
            .as_ref()
            .ok_or_else(|| ManagerError::MetadataPending { id: hex(ih) })?;
        let file = meta
            .info
            .files
            .get(index)
            .ok_or_else(|| ManagerError::UnknownFile { id: hex(ih), index })?;
        Ok(FileSpan {
            handle,
            offset: file.offset,
            length: file.length,
            path: file.path.display().to_string(),
        })
    }

    /// The torrent's files; an error until it runs in the engine.
    pub fn files(&self, ih: &[u8; 20]) -> Result<Vec<FileInfo>, ManagerError> {
        let h = self.handle(ih)?;
        Ok(h.files()
            .into_iter()
            .map(|f| FileInfo {
                index: f.index,
                path: f.path.display().to_string(),
                length: f.length,
                priority: f.priority,
                progress: if f.length == 0 {
                    1.0
                } else {
                    f.verified_bytes as f64 / f.length as f64
                },
            })
            .collect())
    }

    /// The torrent's connected peers.
    pub fn peers(&self, ih: &[u8; 20]) -> Result<Vec<PeerInfo>, ManagerError> {
        let h = self.handle(ih)?;
        Ok(h.peers()
            .into_iter()
            .map(|p| PeerInfo {
                addr: p.addr.to_string(),
                client: p.client,
                download_rate: p.download_rate,
                upload_rate: p.upload_rate,
                downloaded: p.downloaded,
                uploaded: p.uploaded,
                outgoing: p.outgoing,
                encrypted: p.encrypted,
                choked: p.peer_choking,
                choking: p.am_choking,
                interested: p.am_interested,
                peer_interested: p.peer_interested,
            })
            .collect())
    }

    /// Which pieces the torrent has.
    pub fn pieces(&self, ih: &[u8; 20]) -> Result<PiecesInfo, ManagerError> {
        let h = self.handle(ih)?;
        let have = h.have_pieces();
        Ok(PiecesInfo {
            num_pieces: have.len() as u32,
            have: have.count_ones() as u32,
            bitfield: base64::engine::general_purpose::STANDARD.encode(have.as_bytes()),
        })
    }

    /// The torrent's trackers.
    pub fn trackers(&self, ih: &[u8; 20]) -> Result<Vec<TrackerInfo>, ManagerError> {
        let h = self.handle(ih)?;
        Ok(h.trackers()
            .into_iter()
            .map(|t| TrackerInfo {
                url: t.url,
                tier: t.tier as u32,
                status: t.status,
                peers: t.peers,
                last_error: t.last_error,
                next_announce_secs: t.next_announce_secs,
            })
            .collect())
    }

    /// The session: addresses, limits and totals.
    pub fn session_info(&self) -> SessionInfo {
        let limits = self.limits();
        let stats = self.session.session_stats();
        let torrents = self.registry.lock().entries.len();
        SessionInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            listen_addr: self.listen_addr().to_string(),
            api_addr: self.api_addr().map(|a| a.to_string()).unwrap_or_default(),
            download_dir: self.config.download_dir.display().to_string(),
            upload_limit: limits.upload_limit,
            download_limit: limits.download_limit,
            max_connections: limits.max_connections,
            max_peers_per_torrent: limits.max_peers_per_torrent,
            max_active_downloads: limits.max_active_downloads,
            max_active_seeds: limits.max_active_seeds,
            upload_rate: stats.upload_rate,
            download_rate: stats.download_rate,
            uploaded: stats.uploaded,
            downloaded: stats.downloaded,
            torrents,
            peers: stats.peers,
        }
    }

    /// A torrent's limits as the engine gets them: its own peer cap, or the session's.
    pub(crate) fn effective_limits(&self, own: &TorrentLimits) -> TorrentLimits {
        TorrentLimits {
            max_peers: own.max_peers.or(Some(self.limits().max_peers_per_torrent)),
            ..*own
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ratio;

    #[test]
    fn ratio_uses_size_when_nothing_was_downloaded() {
        assert_eq!(ratio(50, 100, 1000), 0.5);
        assert_eq!(ratio(500, 0, 1000), 0.5);
        assert_eq!(ratio(5, 0, 0), 0.0);
    }
}
