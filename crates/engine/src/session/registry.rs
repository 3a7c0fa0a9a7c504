//! The session's torrents by info-hash, and the adds under way. Only the session (its
//! API and its listener) looks torrents up here; torrents never see each other.

use crate::torrent::{Torrent, TorrentHandle};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Torrents of a session, and the info-hashes whose add is under way.
#[derive(Default)]
pub(super) struct Registry {
    torrents: Mutex<HashMap<[u8; 20], Arc<Torrent>>>,
    /// Torrents whose add is under way (checked, not yet in `torrents`).
    adding: Mutex<HashSet<[u8; 20]>>,
}

impl Registry {
    pub(super) fn get(&self, info_hash: &[u8; 20]) -> Option<Arc<Torrent>> {
        self.torrents.lock().get(info_hash).cloned()
    }

    pub(super) fn handles(&self) -> Vec<TorrentHandle> {
        self.torrents
            .lock()
            .values()
            .map(|t| TorrentHandle::new(t.clone()))
            .collect()
    }

    /// The info-hashes of every torrent (the keys an incoming MSE handshake may name).
    pub(super) fn info_hashes(&self) -> Vec<[u8; 20]> {
        self.torrents.lock().keys().copied().collect()
    }

    pub(super) fn insert(&self, torrent: Arc<Torrent>) {
        self.torrents.lock().insert(torrent.info_hash(), torrent);
    }

    pub(super) fn remove(&self, info_hash: &[u8; 20]) {
        self.torrents.lock().remove(info_hash);
    }

    /// Forgets every torrent (at shutdown, once they stopped).
    pub(super) fn clear(&self) {
        self.torrents.lock().clear();
    }

    /// Reserves `info_hash` for an add; `None` when the torrent is in the session or
    /// being added already.
    pub(super) fn reserve(&self, info_hash: [u8; 20]) -> Option<AddReservation<'_>> {
        let torrents = self.torrents.lock();
        if torrents.contains_key(&info_hash) || !self.adding.lock().insert(info_hash) {
            return None;
        }
        drop(torrents);
        Some(AddReservation {
            registry: self,
            info_hash,
        })
    }
}

/// A torrent's place in the session while its add is under way (released on drop).
pub(super) struct AddReservation<'a> {
    registry: &'a Registry,
    info_hash: [u8; 20],
}

impl Drop for AddReservation<'_> {
    fn drop(&mut self) {
        self.registry.adding.lock().remove(&self.info_hash);
    }
}
