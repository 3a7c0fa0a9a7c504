//! BitTorrent protocol extensions, sans-IO: BEP 9 metadata exchange (`ut_metadata`
//! messages, a multi-peer fetch assembler and a rate-limited server), BEP 11 peer
//! exchange (`ut_pex` messages and per-connection send state) and BEP 14 Local Service
//! Discovery (announce datagrams and a scheduler).
//!
//! Nothing here touches sockets or clocks: callers pass payload bytes and `now` in and
//! get messages, datagrams and decisions back.
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod lsd;
pub mod lsd_schedule;
pub mod metadata;
pub mod metadata_fetch;
pub mod metadata_serve;
pub mod pex;

pub use lsd::{LsdAnnounce, LsdDatagram, LsdError, LsdFamily, LsdScheduler};
pub use metadata::{MetadataError, MetadataMessage, METADATA_PIECE_LEN, UT_METADATA};
pub use metadata_fetch::{AddPeerError, DataError, MetadataFetch};
pub use metadata_serve::{MetadataServer, ServeLimiter};
pub use pex::{PexError, PexFlags, PexMessage, PexPeer, PexState, UT_PEX};
