//! Sans-IO BitTorrent tracker codecs.
//!
//! * [`http`]: building announce/scrape URLs and parsing the bencoded replies of
//!   HTTP(S) trackers (BEP 3, BEP 7, BEP 23, BEP 48).
//! * [`udp`]: the BEP 15 UDP tracker protocol — packet codecs plus [`udp::UdpTracker`],
//!   a time-driven state machine for one tracker address (bytes and `now` in, datagrams
//!   and events out; no sockets, no clocks of its own).
//! * [`compact`]: the compact peer formats shared by both.
//!
//! Nothing here performs I/O; the tokio driver lives in `shoal-announce`.
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod compact;
mod error;
pub mod http;
mod types;
pub mod udp;

pub use error::TrackerError;
pub use types::{AnnounceEvent, AnnounceRequest, AnnounceResponse, ScrapeStats};
