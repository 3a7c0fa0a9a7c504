//! Adding torrents: from a magnet or private link (metadata fetched in the background),
//! from .torrent bytes, or from a local path to share (a private link by default, like
//! `shoal send`; a plain torrent of the files with `private: false`).

use super::info::Added;
use super::spec::{AddSource, AddSpec};
use super::{Entry, Manager, Phase};
use crate::error::AddError;
use crate::share::build_share;
use crate::state::hex;
use crate::state::records::{ContentKind, SecretRecord, TorrentSettings};
use shoal_metainfo::{create_torrent, CreateOptions, Magnet, Metainfo};
use shoal_private::ContentKey;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What an add request turned into before it is registered.
struct Prepared {
    info_hash: [u8; 20],
    name: String,
    meta: Option<Metainfo>,
    magnet: Option<String>,
    kind: ContentKind,
    key: Option<ContentKey>,
    download_dir: PathBuf,
    /// For a private send: the shared path.
    source: Option<PathBuf>,
    /// The torrent was just created from the files on disk (no check needed).
    just_hashed: bool,
    peers: Vec<String>,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Manager {
    /// Adds a torrent as `req` says.
    pub async fn add(self: &Arc<Self>, req: AddSpec) -> Result<Added, AddError> {
        let download_dir = match &req.download_dir {
            Some(d) if !d.is_absolute() => return Err(AddError::RelativeDir { path: d.clone() }),
            Some(d) => d.clone(),
            None => self.config.download_dir.clone(),
        };
        let mut prepared = match &req.source {
            AddSource::Link(link) => prepare_magnet(link, download_dir)?,
            AddSource::TorrentFile(bytes) => {
                let meta = Metainfo::from_bytes(bytes).map_err(AddError::BadTorrentFile)?;
                Prepared {
                    info_hash: meta.info_hash.0,
                    name: meta.info.name.clone(),
                    meta: Some(meta),
                    magnet: None,
                    kind: ContentKind::Files,
                    key: None,
                    download_dir,
                    source: None,
                    peers: Vec::new(),
                    just_hashed: false,
                }
            }
            AddSource::Path { path, private } => self.prepare_path(path, *private).await?,
        };
        prepared.peers.extend(req.peers.iter().cloned());
        if let Some(meta) = &prepared.meta {
            if !req.files.is_empty() && req.files.len() != meta.info.files.len() {
                return Err(AddError::PriorityCount {
                    given: req.files.len(),
                    files: meta.info.files.len(),
                });
            }
        }
        self.register(prepared, &req).await
    }

    async fn prepare_path(&self, path: &Path, private: bool) -> Result<Prepared, AddError> {
        let path = std::fs::canonicalize(path).map_err(|source| AddError::SharePath {
            path: path.to_path_buf(),
            source,
        })?;
        let parent = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| "/".into());
        let share_path = path.clone();
        if private {
            let share = tokio::task::spawn_blocking(move || build_share(&share_path, None))
                .await
                .map_err(AddError::ShareTask)?
                .map_err(AddError::Share)?;
            for skipped in &share.skipped {
                tracing::warn!(path = %skipped.path.display(), "not shared: {:?}", skipped.reason);
            }
            let name = share.layout.manifest().root_name.clone();
            Ok(Prepared {
                info_hash: share.meta.info_hash.0,
                name,
                meta: Some(share.meta),
                magnet: None,
                kind: ContentKind::PrivateSend,
                key: Some(share.key),
                download_dir: parent,
                source: Some(path),
                peers: Vec::new(),
                just_hashed: true,
            })
        } else {
            let meta = tokio::task::spawn_blocking(move || {
                create_torrent(&share_path, &CreateOptions::default())
            })
            .await
            .map_err(AddError::ShareTask)?
            .map_err(AddError::CreateTorrent)?;
            Ok(Prepared {
                info_hash: meta.info_hash.0,
                name: meta.info.name.clone(),
                meta: Some(meta),
                magnet: None,
                kind: ContentKind::Files,
                key: None,
                download_dir: parent,
                source: None,
                peers: Vec::new(),
                just_hashed: true,
            })
        }
    }

    /// Records the torrent (state files first, then the registry) and starts it.
    async fn register(self: &Arc<Self>, p: Prepared, req: &AddSpec) -> Result<Added, AddError> {
        let ih = p.info_hash;
        let id = hex(&ih);
        let settings = {
            let mut reg = self.registry.lock();
            if reg.entries.contains_key(&ih) {
                return Err(AddError::Duplicate { id });
            }
            if reg.removed_while_checking.contains_key(&ih) || reg.removing.contains(&ih) {
                return Err(AddError::BeingRemoved { id });
            }
            let order = reg.next_order;
            reg.next_order += 1;
            let settings = TorrentSettings {
                name: p.name.clone(),
                magnet: p.magnet.clone(),
                download_dir: p.download_dir.clone(),
                peers: p.peers.clone(),
                paused: req.paused,
                sequential: req.sequential,
                file_priorities: req.files.clone(),
                limits: Default::default(),
                seed_ratio: self.config.seed_ratio,
                seed_time_secs: self.config.seed_time_secs,
                goal_reached: false,
                added_unix: now_unix(),
                queue_order: order,
                kind: p.kind,
            };
            // Registered before the files are written so a concurrent duplicate add
            // fails; removed again if they cannot be written.
            reg.entries.insert(
                ih,
                Entry {
                    info_hash: ih,
                    settings: settings.clone(),
                    phase: Phase::Checking,
                    meta: p.meta.clone().map(Arc::new),
                    key: p.key.clone(),
                    carried_seeding_secs: 0,
                    queued: false,
                    last_saved: None,
                },
            );
            settings
        };
        let dir = self.state.torrent_dir(&ih);
        let secret = p.key.as_ref().map(|k| SecretRecord {
            key: k.to_link_string().to_string(),
            source: p.source.clone(),
        });
        let meta_bytes = p.meta.as_ref().map(|m| m.to_bytes());
        let written = (|| {
            if let Some(secret) = &secret {
                dir.save_secret(secret)?;
            }
            if let Some(bytes) = &meta_bytes {
                dir.save_meta(bytes)?;
            }
            dir.save_settings(&settings)
        })();
        if let Err(e) = written {
            self.registry.lock().entries.remove(&ih);
            let _ = dir.remove();
            return Err(AddError::State(e));
        }
        let link = self.link_of(&ih).unwrap_or_default();
        if p.meta.is_some() {
            let me = self.clone();
            let just_hashed = p.just_hashed;
            self.spawn_task(async move { me.start_torrent(ih, None, just_hashed).await });
        } else {
            self.fetch_metadata_later(ih);
        }
        Ok(Added {
            id,
            name: p.name,
            link,
        })
    }
}

/// A magnet link, or a private link (`magnet:?…#k=KEY`) whose key is kept apart.
fn prepare_magnet(link: &str, download_dir: PathBuf) -> Result<Prepared, AddError> {
    let (public, key) = match shoal_private::split_link(link) {
        (public, None) => (public, None),
        (_, Some(_)) => {
            let (public, key) =
                shoal_private::parse_link(link).map_err(AddError::BadPrivateLink)?;
            (public, Some(key))
        }
    };
    let magnet = Magnet::parse(public).map_err(AddError::BadMagnet)?;
    let name = magnet
        .display_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| magnet.info_hash.to_hex());
    Ok(Prepared {
        info_hash: magnet.info_hash.0,
        name,
        meta: None,
        magnet: Some(public.to_string()),
        kind: if key.is_some() {
            ContentKind::PrivateReceive
        } else {
            ContentKind::Files
        },
        key,
        download_dir,
        source: None,
        peers: magnet.peers.clone(),
        just_hashed: false,
    })
}
