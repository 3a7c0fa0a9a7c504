//! One torrent in the registry: its settings and where it is in its life.

use crate::error::{ManagerError, StartError};
use crate::state::hex;
use crate::state::records::TorrentSettings;
use shoal_engine::TorrentHandle;
use shoal_metainfo::Metainfo;
use shoal_private::ContentKey;
use std::sync::Arc;

/// Where a torrent is in its life.
pub(crate) enum Phase {
    /// Added by magnet link: the metadata is being fetched from peers.
    Metadata(tokio::task::AbortHandle),
    /// Being added to the engine (existing data checked).
    Checking,
    /// In the engine.
    Running(TorrentHandle),
    /// Could not be added (bad state on disk, shared files gone, …).
    Failed(Arc<StartError>),
}

pub(crate) struct Entry {
    pub info_hash: [u8; 20],
    pub settings: TorrentSettings,
    pub phase: Phase,
    /// The torrent, once known.
    pub meta: Option<Arc<Metainfo>>,
    /// A private link's key.
    pub key: Option<ContentKey>,
    /// Seconds seeded in earlier runs.
    pub carried_seeding_secs: u64,
    /// The queue holds it back (it would run otherwise).
    pub queued: bool,
    /// What the last resume save recorded: (pieces, uploaded, downloaded).
    pub last_saved: Option<(u32, u64, u64)>,
}

impl Entry {
    /// Whether the last resume save had every piece (false when none was saved).
    pub(crate) fn was_complete(&self) -> bool {
        match (&self.last_saved, &self.meta) {
            (Some((pieces, _, _)), Some(meta)) => *pieces >= meta.info.num_pieces(),
            _ => false,
        }
    }

    pub(crate) fn running(&self) -> Option<&TorrentHandle> {
        match &self.phase {
            Phase::Running(h) => Some(h),
            _ => None,
        }
    }

    /// The engine torrent, or why an operation that needs it cannot run yet.
    pub(crate) fn running_or_err(&self) -> Result<&TorrentHandle, ManagerError> {
        let id = || hex(&self.info_hash);
        match &self.phase {
            Phase::Running(h) => Ok(h),
            Phase::Metadata(_) => Err(ManagerError::MetadataPending { id: id() }),
            Phase::Checking => Err(ManagerError::Checking { id: id() }),
            Phase::Failed(reason) => Err(ManagerError::Failed {
                id: id(),
                reason: reason.clone(),
            }),
        }
    }
}
