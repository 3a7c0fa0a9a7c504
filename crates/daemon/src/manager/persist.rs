//! Saving torrent state: settings when the user changes them, resume data every few
//! seconds for torrents that changed and for all at shutdown. File stamps (size and
//! mtime of each file) are recorded with the bitfield so the next start can tell
//! whether the files are still what the bitfield describes.

use super::{Entry, Manager};
use crate::state::records::{ContentKind, FileStamp, ResumeRecord, TorrentSettings};
use base64::Engine as _;
use std::path::PathBuf;

/// The files whose stamps guard a torrent's resume bitfield (metainfo order; pad
/// files too, as `None`-stamped placeholders keep the indices aligned).
pub(crate) fn stamped_files(entry: &Entry) -> Vec<Option<PathBuf>> {
    let Some(meta) = &entry.meta else {
        return Vec::new();
    };
    if entry.settings.kind != ContentKind::Files {
        return Vec::new();
    }
    meta.info
        .files
        .iter()
        .map(|f| (!f.pad).then(|| entry.settings.download_dir.join(&f.path)))
        .collect()
}

pub(crate) fn stamps(paths: &[Option<PathBuf>]) -> Vec<Option<FileStamp>> {
    paths
        .iter()
        .map(|p| p.as_deref().and_then(FileStamp::of))
        .collect()
}

impl Manager {
    /// Writes one torrent's settings (errors are logged: the torrent runs on).
    pub(crate) fn save_settings(&self, ih: &[u8; 20], settings: &TorrentSettings) {
        if let Err(e) = self.state.torrent_dir(ih).save_settings(settings) {
            tracing::warn!("cannot save torrent settings: {e}");
        }
    }

    /// Saves the resume data of running torrents that changed since their last save
    /// (every one with `all`). Returns whether every save succeeded.
    pub(crate) async fn save_changed_resume(&self, all: bool) -> bool {
        let mut jobs = Vec::new();
        {
            let mut reg = self.registry.lock();
            for e in reg.entries.values_mut() {
                let Some(h) = e.running() else { continue };
                if e.settings.kind == ContentKind::PrivateReceive {
                    // Its header lives in memory only: a restart downloads it again.
                    continue;
                }
                let s = h.stats();
                let mark = (s.have_pieces, s.uploaded, s.downloaded);
                if !all && e.last_saved == Some(mark) {
                    continue;
                }
                let data = h.resume_data();
                let record = ResumeRecord {
                    pieces: base64::engine::general_purpose::STANDARD.encode(&data.pieces),
                    uploaded: data.uploaded,
                    downloaded: data.downloaded,
                    seeding_secs: e.carried_seeding_secs + s.seeding_secs,
                    files: Vec::new(),
                };
                jobs.push((
                    self.state.torrent_dir(&e.info_hash),
                    record,
                    stamped_files(e),
                ));
                e.last_saved = Some(mark);
            }
        }
        if jobs.is_empty() {
            return true;
        }
        let result = tokio::task::spawn_blocking(move || {
            let mut ok = true;
            for (dir, mut record, files) in jobs {
                record.files = stamps(&files);
                if let Err(e) = dir.save_resume(&record) {
                    tracing::warn!("cannot save resume data: {e}");
                    ok = false;
                }
            }
            ok
        })
        .await;
        result.unwrap_or(false)
    }
}
