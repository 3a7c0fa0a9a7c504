//! The BitTorrent peer wire protocol, sans-IO: the handshake, message codec and frame
//! splitter, the BEP 10 extension handshake, and a per-connection state machine
//! ([`PeerConnection`]) that turns received bytes and the current time into events
//! and bytes to send.
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod bitfield;
mod block;
mod connection;
mod error;
mod extension;
mod frame;
mod handshake;
pub mod message;

pub use bitfield::{Bitfield, BitfieldError};
pub use block::{BlockRef, BLOCK_SIZE, MAX_REQUEST_LEN};
pub use connection::{ConnectionConfig, PeerConnection, PeerError, PeerEvent, DEFAULT_PEER_REQQ};
pub use error::WireError;
pub use extension::{ExtensionHandshake, MAX_METADATA_SIZE, MAX_PEER_REQQ};
pub use frame::{FrameReader, DEFAULT_MAX_FRAME_LEN};
pub use handshake::{Handshake, HandshakeError, PROTOCOL};
pub use message::Message;
