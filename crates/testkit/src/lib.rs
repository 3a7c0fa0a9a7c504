//! Helpers shared by the integration tests of the shoal crates.
//!
//! A dev-only crate (`publish = false`): a test folder adds
//! `shoal-testkit.workspace = true` to its `[dev-dependencies]` and imports what it
//! needs. Everything here is generic; helpers that need a crate's own types (an engine
//! session, a daemon, a process harness) stay in that crate's `tests/` folder.
//!
//! - [`data`]: deterministic pseudo-random bytes and files;
//! - [`torrent`]: a `.torrent` of a path on disk;
//! - [`fs`]: comparing files and directory trees;
//! - [`hex`]: hex encoding and decoding;
//! - [`net`]: free loopback ports;
//! - [`wait`]: bounded polling of a condition;
//! - [`logs`]: tracing output for a test run;
//! - [`units`]: reading back printed byte amounts;
//! - `dht` (feature `dht`): DHT settings for a loopback network.
#![warn(missing_docs, unreachable_pub)]
// Test code: a failed unwrap is a failed test, which is what a helper should do.
#![allow(clippy::unwrap_used)]

pub mod data;
#[cfg(feature = "dht")]
pub mod dht;
pub mod fs;
pub mod hex;
pub mod logs;
pub mod net;
pub mod torrent;
pub mod units;
pub mod wait;

pub use data::{random_bytes, random_file};
pub use fs::same_bytes;
pub use logs::init_logs;
pub use net::free_port;
pub use torrent::make_torrent;
pub use wait::Poll;
