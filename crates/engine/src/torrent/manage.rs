//! Managing a running torrent: pause and resume, re-check, moving the data, file
//! priorities and sequential mode, and the views a user interface shows (files,
//! trackers, resume data).

use super::handle::{FileSnapshot, TorrentHandle, TrackerSnapshot};
use super::priority::{apply_wanted, file_pieces, refresh_priority};
use super::state::{ControlEvent, PeerCommand, Torrent};
use crate::config::{FilePriority, ResumeData};
use crate::TorrentError;
use shoal_metainfo::Metainfo;
use shoal_swarm::Picker;
use shoal_wire::Bitfield;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl TorrentHandle {
    /// The torrent's metainfo.
    pub fn metainfo(&self) -> Arc<Metainfo> {
        self.torrent.meta.clone()
    }

    /// The directory the torrent's files live in.
    pub fn download_dir(&self) -> PathBuf {
        self.torrent.download_dir.read().clone()
    }

    /// Disconnects every peer, tells the trackers `stopped`, flushes and closes the
    /// files, and refuses peers until [`Self::resume`]. Verified pieces and counters are
    /// kept. Returns at once; idempotent.
    pub fn pause(&self) {
        self.torrent.pause.send_replace(true);
    }

    /// Undoes [`Self::pause`]: trackers are told `started` again and peers are dialled.
    pub fn resume(&self) {
        self.torrent.pause.send_replace(false);
    }

    /// Whether a pause was asked for.
    pub fn is_paused(&self) -> bool {
        self.torrent.is_paused()
    }

    /// Waits until the control loop has applied a pause (peers gone, files closed).
    async fn wait_paused(&self) -> Result<(), TorrentError> {
        let mut rx = self.torrent.status.subscribe();
        loop {
            {
                let s = rx.borrow_and_update();
                if s.stopped {
                    return Err(TorrentError::Stopped);
                }
                if s.paused {
                    return Ok(());
                }
            }
            if rx.changed().await.is_err() {
                return Err(TorrentError::Stopped);
            }
        }
    }

    /// Runs `job` with the torrent paused and marked busy, then restores the pause state
    /// the user had asked for.
    async fn while_paused<T>(
        &self,
        job: impl std::future::Future<Output = Result<T, TorrentError>>,
    ) -> Result<T, TorrentError> {
        let t = &self.torrent;
        let mut busy = false;
        t.status.send_modify(|s| {
            busy = s.checking;
            s.checking = true;
        });
        if busy {
            return Err(TorrentError::Busy);
        }
        let was_paused = t.is_paused();
        self.pause();
        let result = match self.wait_paused().await {
            Ok(()) => job.await,
            Err(e) => Err(e),
        };
        t.status.send_modify(|s| s.checking = false);
        if !was_paused {
            self.resume();
        }
        result
    }

    /// Hashes all the data again (the torrent is paused meanwhile): pieces that no longer
    /// match are downloaded again afterwards, pieces found intact count as had.
    pub async fn recheck(&self) -> Result<(), TorrentError> {
        self.while_paused(async {
            let t = &self.torrent;
            let store = t.store();
            let threads = t.ctx().config().hash_threads.max(1);
            let have = tokio::task::spawn_blocking(move || store.check_existing(threads, &|_| {}))
                .await
                .map_err(|e| TorrentError::Job(Arc::new(e)))?
                .map_err(|e| e.into_torrent_error())?;
            reset_have(t, &have);
            Ok(())
        })
        .await
    }

    /// Moves the files to `new_dir` (a rename where possible, else copy, sync and
    /// delete), then continues from there. On failure the torrent stays where it was;
    /// files already moved are moved back.
    pub async fn move_storage(&self, new_dir: PathBuf) -> Result<(), TorrentError> {
        self.while_paused(async {
            let t = &self.torrent;
            let old_dir = self.download_dir();
            if old_dir == new_dir {
                return Ok(());
            }
            let store = t.store();
            let Some(files) = store.as_files() else {
                return Err(TorrentError::PrivateNotMovable);
            };
            let rel: Vec<PathBuf> = (0..files.layout().files.len())
                .filter(|i| !files.layout().files[*i].pad)
                .filter_map(|i| files.file_path(i))
                .filter_map(|p| p.strip_prefix(&old_dir).ok().map(PathBuf::from))
                .collect();
            let (from, to) = (old_dir.clone(), new_dir.clone());
            tokio::task::spawn_blocking(move || super::relocate::move_files(&from, &to, &rel))
                .await
                .map_err(|e| TorrentError::Job(Arc::new(e)))?
                .map_err(|e| TorrentError::Move(Arc::new(e)))?;
            let opts = crate::config::AddTorrentOptions {
                download_dir: new_dir.clone(),
                ..Default::default()
            };
            let moved = crate::store::Store::open(&t.meta, &opts, t.ctx().file_pool())
                .map_err(|e| TorrentError::Reopen(Arc::new(e)))?;
            *t.storage.write() = Arc::new(moved);
            *t.download_dir.write() = new_dir;
            Ok(())
        })
        .await
    }

    /// Sets each file's priority (one per file, metainfo order). Skipped files are not
    /// downloaded unless a piece they share with a wanted file needs them.
    pub fn set_file_priorities(&self, priorities: &[FilePriority]) -> Result<(), TorrentError> {
        let t = &self.torrent;
        let expected = t.meta.info.files.len();
        if priorities.len() != expected {
            return Err(TorrentError::BadPriorities {
                expected,
                got: priorities.len(),
            });
        }
        let complete = {
            let mut st = t.swarm();
            let st = &mut *st;
            st.wishes.files = priorities.to_vec();
            apply_wanted(&t.meta, &mut st.picker, &mut st.wishes);
            refresh_priority(
                &t.meta,
                &mut st.picker,
                &mut st.wishes,
                t.store().priority_pieces(),
            );
            t.broadcast(st, PeerCommand::Wake);
            st.picker.is_complete()
        };
        update_complete(t, complete);
        Ok(())
    }

    /// Picks pieces in order (lowest missing first) when on, rarest first when off.
    pub fn set_sequential(&self, on: bool) {
        let t = &self.torrent;
        let mut st = t.swarm();
        let st = &mut *st;
        st.wishes.sequential = on;
        st.wishes.cursor = 0;
        refresh_priority(
            &t.meta,
            &mut st.picker,
            &mut st.wishes,
            t.store().priority_pieces(),
        );
        t.broadcast(st, PeerCommand::Wake);
    }

    /// Every file with its priority and verified bytes.
    pub fn files(&self) -> Vec<FileSnapshot> {
        let t = &self.torrent;
        let st = t.swarm();
        let have = st.picker.have();
        let pl = u64::from(t.meta.info.piece_length);
        t.meta
            .info
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let end = f.offset + f.length;
                let verified = file_pieces(&t.meta, i)
                    .filter(|p| have.get(*p as usize))
                    .map(|p| {
                        let start = u64::from(p) * pl;
                        let stop = start + u64::from(t.meta.info.piece_size(p));
                        stop.min(end).saturating_sub(start.max(f.offset))
                    })
                    .sum();
                FileSnapshot {
                    index: i,
                    path: f.path.clone(),
                    length: f.length,
                    priority: st.wishes.priority_of(i),
                    verified_bytes: verified,
                }
            })
            .collect()
    }

    /// The verified pieces.
    pub fn have_pieces(&self) -> Bitfield {
        self.torrent.swarm().picker.have().clone()
    }

    /// What a restart needs to skip re-hashing: the verified pieces and the counters.
    /// `trust_only` is false; the caller sets it when it knows the files are unchanged.
    pub fn resume_data(&self) -> ResumeData {
        let t = &self.torrent;
        ResumeData {
            pieces: self.have_pieces().as_bytes().to_vec(),
            trust_only: false,
            uploaded: t.counters.uploaded.load(Ordering::Relaxed),
            downloaded: t.counters.downloaded.load(Ordering::Relaxed),
        }
    }

    /// The torrent's trackers as last seen by the announcer (empty while paused, or when
    /// the session does not use trackers).
    pub fn trackers(&self) -> Vec<TrackerSnapshot> {
        let now = crate::clock::now();
        let statuses = self.torrent.trackers.lock().clone();
        if statuses.is_empty() {
            // Not announcing: list the trackers without a status.
            return self
                .torrent
                .meta
                .announce_list
                .iter()
                .enumerate()
                .flat_map(|(tier, urls)| {
                    urls.iter().map(move |url| TrackerSnapshot {
                        url: url.clone(),
                        tier,
                        status: "not contacted".into(),
                        peers: 0,
                        last_error: None,
                        next_announce_secs: None,
                    })
                })
                .collect();
        }
        statuses
            .into_iter()
            .map(|s| {
                let (status, peers, last_error) = match &s.last_result {
                    None => ("not contacted", 0, None),
                    Some(Ok(n)) => ("working", u32::try_from(*n).unwrap_or(u32::MAX), None),
                    Some(Err(e)) => ("error", 0, Some(e.clone())),
                };
                TrackerSnapshot {
                    url: s.url,
                    tier: s.tier,
                    status: status.into(),
                    peers,
                    last_error,
                    next_announce_secs: s
                        .next_announce
                        .map(|at| at.saturating_duration_since(now).as_secs()),
                }
            })
            .collect()
    }
}

/// Replaces the set of verified pieces (after a re-check, with no peer connected).
fn reset_have(t: &Arc<Torrent>, have: &Bitfield) {
    let info = &t.meta.info;
    let complete = {
        let mut st = t.swarm();
        let st = &mut *st;
        let mut picker = Picker::new(
            info.num_pieces(),
            info.piece_length,
            info.total_length,
            rand::random(),
        );
        let mut verified = 0u64;
        for piece in have.iter_ones() {
            picker.set_have(piece as u32);
            verified += u64::from(info.piece_size(piece as u32));
        }
        st.picker = picker;
        st.pieces.reset();
        apply_wanted(&t.meta, &mut st.picker, &mut st.wishes);
        refresh_priority(
            &t.meta,
            &mut st.picker,
            &mut st.wishes,
            t.store().priority_pieces(),
        );
        t.counters.verified_bytes.store(verified, Ordering::Relaxed);
        st.picker.is_complete()
    };
    update_complete(t, complete);
    t.verified_tick.send_modify(|n| *n += 1);
}

/// Brings `status.complete` in line with the picker after the wanted set changed.
fn update_complete(t: &Arc<Torrent>, complete: bool) {
    let was = t.is_complete();
    if complete && !was {
        t.status.send_modify(|s| s.complete = true);
        t.send_control(ControlEvent::Completed);
    } else if !complete && was {
        t.status.send_modify(|s| s.complete = false);
        t.swarm().book.retry_all(crate::clock::now());
    }
}
