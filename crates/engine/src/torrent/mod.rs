//! One torrent in a session: its shared state, the handle callers hold, and what
//! follows a piece's verification (`verify`). The control task that runs a torrent is
//! the top-level `control` module, above this one.

mod book;
mod create;
mod disconnect;
mod eviction;
mod handle;
mod limits;
mod manage;
mod pieces;
mod priority;
mod relocate;
mod remove;
mod state;
mod stream;
mod verify;

pub(crate) use book::PeerBook;
pub(crate) use disconnect::DisconnectReason;
pub use handle::{
    FileSnapshot, PeerSnapshot, TorrentHandle, TorrentState, TorrentStats, TrackerSnapshot,
};
pub(crate) use remove::delete_data;
pub(crate) use state::{ControlEvent, PeerCommand, PeerEntry, PeerLive, Torrent, MAX_SEEDS_SEEN};
pub use stream::StreamPriority;
pub(crate) use verify::apply_disk_events;
