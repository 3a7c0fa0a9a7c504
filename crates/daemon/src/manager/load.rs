//! Bringing torrents into the engine: at start from the state directory, after an
//! add, and when a magnet's metadata arrives. Fast resume: a torrent's saved bitfield
//! is trusted without hashing (`trust_only`) only after a clean shutdown and when every
//! file's size and mtime are what was recorded; otherwise the engine trusts the
//! bitfield and hashes the other pieces that may be on disk (finding pieces verified
//! after the last save, e.g. before a `kill -9`).

use super::persist::{stamped_files, stamps};
use super::{Entry, Manager, Phase};
use crate::error::StartError;
use crate::share::reopen_share;
use crate::state::hex;
use crate::state::records::{ContentKind, ResumeRecord};
use base64::Engine as _;
use shoal_engine::{AddTorrentError, AddTorrentOptions, Content, ResumeData};
use shoal_metainfo::{Magnet, Metainfo};
use shoal_private::ContentKey;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long one metadata attempt lasts before it is retried.
const METADATA_ATTEMPT: Duration = Duration::from_secs(120);

impl Manager {
    /// Registers every torrent of the state directory, then starts them in add order
    /// in the background.
    pub(super) fn load_all(self: &Arc<Self>) -> Result<(), crate::state::StateError> {
        let mut to_start = Vec::new();
        let mut to_fetch = Vec::new();
        let mut loaded: Vec<(Entry, Option<ResumeRecord>)> = Vec::new();
        for ih in self.state.list_torrents()? {
            let dir = self.state.torrent_dir(&ih);
            let settings = match dir.load_settings() {
                Ok(Some(s)) => s,
                Ok(None) => {
                    tracing::warn!(dir = %dir.path().display(), "no settings.json; ignored");
                    continue;
                }
                Err(e) => {
                    tracing::warn!("{e}; torrent ignored");
                    continue;
                }
            };
            let mut entry = Entry {
                info_hash: ih,
                settings,
                phase: Phase::Checking,
                meta: None,
                key: None,
                carried_seeding_secs: 0,
                queued: false,
                last_saved: None,
            };
            let mut resume = None;
            let problem = (|| -> Result<(), StartError> {
                if let Some(secret) = dir.load_secret()? {
                    entry.key = Some(ContentKey::parse(&secret.key)?);
                }
                if let Some(bytes) = dir.load_meta()? {
                    let meta = Metainfo::from_bytes(&bytes)?;
                    if meta.info_hash.0 != ih {
                        return Err(StartError::MetaMismatch);
                    }
                    entry.meta = Some(Arc::new(meta));
                }
                resume = dir.load_resume()?;
                Ok(())
            })();
            if let Some(r) = &resume {
                entry.carried_seeding_secs = r.seeding_secs;
            }
            match problem {
                Err(e) => {
                    tracing::warn!(id = %hex(&ih), "cannot load torrent: {e}");
                    entry.phase = Phase::Failed(Arc::new(e));
                }
                Ok(()) if entry.meta.is_some() => to_start.push(ih),
                Ok(()) => to_fetch.push(ih),
            }
            loaded.push((entry, resume));
        }
        let mut resumes = std::collections::HashMap::new();
        {
            let mut reg = self.registry.lock();
            for (entry, resume) in loaded {
                reg.next_order = reg.next_order.max(entry.settings.queue_order + 1);
                if let Some(r) = resume {
                    resumes.insert(entry.info_hash, r);
                }
                reg.entries.insert(entry.info_hash, entry);
            }
            to_start.sort_by_key(|ih| reg.entries.get(ih).map(|e| e.settings.queue_order));
        }
        for ih in to_fetch {
            self.fetch_metadata_later(ih);
        }
        let me = self.clone();
        self.spawn_task(async move {
            let started = std::time::Instant::now();
            let n = to_start.len();
            for ih in to_start {
                let resume = resumes.remove(&ih);
                me.start_torrent(ih, resume, false).await;
            }
            if n > 0 {
                tracing::info!(
                    torrents = n,
                    secs = started.elapsed().as_secs_f64(),
                    "torrents loaded"
                );
            }
        });
        Ok(())
    }

    /// Adds a registered torrent whose metadata is known to the engine (paused; the
    /// queue starts it). `just_hashed`: the torrent was created from these very files
    /// a moment ago, so they are not checked again. Failures are recorded in the entry.
    pub(crate) async fn start_torrent(
        self: &Arc<Self>,
        ih: [u8; 20],
        resume: Option<ResumeRecord>,
        just_hashed: bool,
    ) {
        let prepared = {
            let mut reg = self.registry.lock();
            let Some(entry) = reg.entries.get_mut(&ih) else {
                // Removed before this task ran: nothing reached the engine.
                reg.removed_while_checking.remove(&ih);
                return;
            };
            entry.phase = Phase::Checking;
            let (Some(meta), files) = (entry.meta.clone(), stamped_files(entry)) else {
                return;
            };
            StartJob {
                meta,
                settings: entry.settings.clone(),
                key: entry.key.clone(),
                files,
                resume,
                just_hashed,
            }
        };
        let kind = prepared.settings.kind;
        #[cfg(test)]
        self.engine_add_gate.pass().await;
        let outcome = self.add_to_engine(&ih, prepared).await.map_err(Arc::new);
        let removed = {
            let mut reg = self.registry.lock();
            // Left in the map until the engine removal below is done.
            let removed = reg.removed_while_checking.get(&ih).copied();
            if removed.is_none() {
                if let Some(entry) = reg.entries.get_mut(&ih) {
                    match &outcome {
                        Ok(handle) => entry.phase = Phase::Running(handle.clone()),
                        Err(e) => {
                            tracing::warn!(id = %hex(&ih), "cannot start torrent: {e}");
                            entry.phase = Phase::Failed(Arc::clone(e));
                        }
                    }
                }
            }
            removed
        };
        if let Some(delete) = removed {
            if outcome.is_ok() {
                let delete = delete && kind != ContentKind::PrivateSend;
                if let Err(e) = self.session.remove_torrent(&ih, delete).await {
                    tracing::warn!("cannot remove torrent: {e}");
                }
            }
            self.registry.lock().removed_while_checking.remove(&ih);
            return;
        }
        self.schedule();
    }

    async fn add_to_engine(
        &self,
        ih: &[u8; 20],
        job: StartJob,
    ) -> Result<shoal_engine::TorrentHandle, StartError> {
        let StartJob {
            meta,
            settings,
            key,
            files,
            resume,
            just_hashed,
        } = job;
        let meta = &meta;
        let mut skip_check = just_hashed;
        let content = match settings.kind {
            ContentKind::Files => Content::Files,
            ContentKind::PrivateReceive => {
                Content::PrivateReceive(key.ok_or(StartError::KeyMissing)?)
            }
            ContentKind::PrivateSend => {
                let key = key.ok_or(StartError::KeyMissing)?;
                let secret = self.state.torrent_dir(ih).load_secret()?;
                let path = secret
                    .and_then(|s| s.source)
                    .ok_or(StartError::SharePathMissing)?;
                let meta = meta.clone();
                let source = tokio::task::spawn_blocking(move || reopen_share(&path, &key, &meta))
                    .await
                    .map_err(StartError::ShareTask)??;
                skip_check = true;
                Content::PrivateSend(source)
            }
        };
        let resume = match (settings.kind, resume) {
            (ContentKind::PrivateReceive, _) | (_, None) => None,
            (_, Some(r)) => {
                let now = tokio::task::spawn_blocking(move || stamps(&files))
                    .await
                    .unwrap_or_default();
                let unchanged = now == r.files;
                let mut pieces = base64::engine::general_purpose::STANDARD
                    .decode(&r.pieces)
                    .unwrap_or_default();
                if !unchanged {
                    // Files changed behind our back: their pieces are hashed again.
                    forget_changed(meta, &mut pieces, &now, &r.files);
                }
                Some(ResumeData {
                    pieces,
                    trust_only: (self.clean_start && unchanged) || skip_check,
                    uploaded: r.uploaded,
                    downloaded: r.downloaded,
                })
            }
        };
        let peers = resolve_peers(&settings.peers).await;
        let opts = AddTorrentOptions {
            download_dir: settings.download_dir.clone(),
            peers,
            skip_check,
            content,
            resume,
            paused: true,
            file_priorities: settings.file_priorities.clone(),
            sequential: settings.sequential,
            limits: self.effective_limits(&settings.limits),
        };
        let meta_owned = (**meta).clone();
        let added = match self
            .session
            .add_torrent(meta_owned.clone(), opts.clone(), |_| {})
            .await
        {
            Err(AddTorrentError::BadResume(e)) => {
                tracing::warn!(id = %hex(ih), "resume data rejected ({e}); checking all data");
                let opts = AddTorrentOptions {
                    resume: None,
                    ..opts
                };
                self.session.add_torrent(meta_owned, opts, |_| {}).await
            }
            other => other,
        };
        Ok(added?)
    }

    /// Fetches a magnet's metadata in the background (retrying until it arrives or the
    /// torrent is removed), stores it and starts the torrent.
    pub(crate) fn fetch_metadata_later(self: &Arc<Self>, ih: [u8; 20]) {
        let me = self.clone();
        let task = tokio::spawn(async move {
            let Some((magnet, peers)) = ({
                let reg = me.registry.lock();
                reg.entries.get(&ih).and_then(|e| {
                    let magnet = Magnet::parse(e.settings.magnet.as_deref()?).ok()?;
                    Some((magnet, e.settings.peers.clone()))
                })
            }) else {
                return;
            };
            loop {
                let addrs = resolve_peers(&peers).await;
                match me
                    .session
                    .fetch_metadata(&magnet, addrs, METADATA_ATTEMPT)
                    .await
                {
                    Ok(meta) => {
                        match me.metadata_arrived(ih, meta) {
                            Ok(true) => me.start_torrent(ih, None, false).await,
                            // Removed meanwhile: nothing to start.
                            Ok(false) => {}
                            Err(e) => {
                                let mut reg = me.registry.lock();
                                if let Some(entry) = reg.entries.get_mut(&ih) {
                                    entry.phase = Phase::Failed(Arc::new(e));
                                }
                            }
                        }
                        return;
                    }
                    Err(e) => {
                        tracing::info!(id = %hex(&ih), "metadata not found yet: {e}");
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                }
            }
        });
        let mut reg = self.registry.lock();
        if let Some(entry) = reg.entries.get_mut(&ih) {
            entry.phase = Phase::Metadata(task.abort_handle());
        } else {
            // Removed since it was registered: no engine add of it can be in flight.
            reg.removed_while_checking.remove(&ih);
            task.abort();
        }
    }

    /// Stores fetched metadata and records it in the entry: `false` when the torrent
    /// was removed meanwhile.
    fn metadata_arrived(&self, ih: [u8; 20], meta: Metainfo) -> Result<bool, StartError> {
        let dir = self.state.torrent_dir(&ih);
        dir.save_meta(&meta.to_bytes())?;
        let mut reg = self.registry.lock();
        let Some(entry) = reg.entries.get_mut(&ih) else {
            return Ok(false);
        };
        if entry.settings.kind == ContentKind::PrivateReceive
            && (meta.info.multi_file || meta.info.files.len() != 1)
        {
            return Err(StartError::NotPrivateShare);
        }
        if !entry.settings.file_priorities.is_empty()
            && entry.settings.file_priorities.len() != meta.info.files.len()
        {
            tracing::warn!(id = %hex(&ih), "file priorities do not match the torrent's files; ignored");
            entry.settings.file_priorities.clear();
        }
        entry.settings.name = meta.info.name.clone();
        entry.settings.magnet = None;
        entry.meta = Some(Arc::new(meta));
        entry.phase = Phase::Checking;
        let settings = entry.settings.clone();
        drop(reg);
        self.save_settings(&ih, &settings);
        Ok(true)
    }
}

/// What adding one torrent to the engine needs.
struct StartJob {
    meta: Arc<Metainfo>,
    settings: crate::state::records::TorrentSettings,
    key: Option<ContentKey>,
    files: Vec<Option<std::path::PathBuf>>,
    resume: Option<ResumeRecord>,
    just_hashed: bool,
}

/// Resolves `HOST:PORT` strings, skipping those that do not resolve.
pub(crate) async fn resolve_peers(peers: &[String]) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for peer in peers {
        match tokio::net::lookup_host(peer.as_str()).await {
            Ok(addrs) => out.extend(addrs),
            Err(e) => tracing::warn!("skipping peer {peer}: {e}"),
        }
    }
    out
}

/// Clears the saved bits of every piece touching a file whose size or mtime is not what
/// was recorded (all of them when the lists do not even line up), so those pieces are
/// hashed again instead of trusted.
fn forget_changed<T: PartialEq>(
    meta: &shoal_metainfo::Metainfo,
    pieces: &mut [u8],
    now: &[T],
    saved: &[T],
) {
    let pl = u64::from(meta.info.piece_length.max(1));
    let all = now.len() != saved.len() || now.len() != meta.info.files.len();
    for (i, f) in meta.info.files.iter().enumerate() {
        if !all && now[i] == saved[i] {
            continue;
        }
        if f.length == 0 {
            continue;
        }
        let first = f.offset / pl;
        let last = (f.offset + f.length - 1) / pl;
        for p in first..=last {
            let (byte, bit) = ((p / 8) as usize, (p % 8) as u32);
            if let Some(b) = pieces.get_mut(byte) {
                *b &= !(0x80u8 >> bit);
            }
        }
    }
}
