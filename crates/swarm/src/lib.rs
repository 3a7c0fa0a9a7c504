//! Swarm logic for shoal, free of I/O and async: which blocks to request from which peer
//! ([`Picker`]), which peers to upload to ([`Choker`]) and which peers to ban for sending
//! corrupt data ([`SmartBan`]). Everything is deterministic given its seed, so the engine's
//! behaviour can be reproduced in tests.

#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod choker;
mod picker;
mod smartban;

pub use choker::{ChokeCandidate, ChokeDecision, Choker, ChokerConfig};
pub use picker::{
    BlockOutcome, GeometryError, Picker, ENDGAME_MAX_REQUESTERS, MAX_PRIORITY_PIECES,
};
pub use smartban::SmartBan;

/// How the engine names a connected peer in this crate's APIs (any unique number; the
/// crate never interprets it).
pub type PeerKey = u64;
