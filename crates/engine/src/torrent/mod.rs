//! One torrent in a session: its shared state, the handle callers hold, and the tasks
//! that run it (control loop in `control`, piece verification in `verify`).

mod book;
mod control;
mod eviction;
mod handle;
mod limits;
mod manage;
mod priority;
mod relocate;
mod remove;
mod state;
mod stream;
mod verify;

pub(crate) use control::spawn_torrent;
pub use handle::{
    FileSnapshot, PeerSnapshot, TorrentHandle, TorrentState, TorrentStats, TrackerSnapshot,
};
pub(crate) use remove::delete_data;
pub(crate) use state::{ControlEvent, PeerCommand, PeerEntry, PeerLive, Torrent, MAX_SEEDS_SEEN};
pub use stream::StreamPriority;
pub(crate) use verify::{block_written, piece_checked};
