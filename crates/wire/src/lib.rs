//! The BitTorrent peer wire protocol, sans-IO.

mod bitfield;
mod block;

pub use bitfield::{Bitfield, BitfieldError};
pub use block::{BlockRef, BLOCK_SIZE, MAX_REQUEST_LEN};
