//! Piece storage for BitTorrent v1 torrents: a multi-file layout mapped over one
//! logical byte stream, with synchronous, thread-safe positional file I/O (no mmap).
//!
//! Everything here blocks; the async engine calls it from blocking threads.
//! Paths are confined to the storage root: only plain relative components are
//! accepted and no symlink below the root is followed.
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod check;
mod error;
mod handles;
mod layout;
mod paths;
mod storage;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use error::{IoOp, LayoutError, StorageError};
pub use handles::FilePool;
pub use layout::{FileSpec, Layout};
pub use shoal_wire::Bitfield;
pub use storage::{Storage, StorageOptions};
