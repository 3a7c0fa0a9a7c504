//! `shoal daemon`: a long-running client with many torrents, crash-safe resume, a
//! JSON/HTTP API (with server-sent events and streaming) and an embedded web UI.
//!
//! - [`config`]: the TOML config file and flags, merged.
//! - [`state`]: the state directory (token, API address, per-torrent files), every
//!   write atomic.
//! - [`manager`]: the engine session, the torrent registry, queueing, seeding goals,
//!   resume saves.
//! - [`api`]: the axum router (contract: /work/notes/http-api.md, `openapi.json`).
//! - [`server`]: start, serve, shut down.
//! - [`share`], [`link`]: private shares of local paths and the links to give out.
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api;
pub mod config;
mod error;
pub mod link;
pub mod manager;
pub mod server;
pub mod share;
pub mod state;

pub use error::{AddError, DaemonError, ManagerError, StartError};
pub use server::Daemon;
