//! Errors of the daemon's operations, each mapped to one HTTP status by the API.

/// A request to the manager failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagerError {
    /// No torrent has this id (or prefix).
    #[error("no torrent {0}")]
    NotFound(String),
    /// The request itself is wrong (bad link, bad torrent, bad path, bad value).
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the torrent's state (duplicate, metadata not yet
    /// known, still being checked).
    #[error("{0}")]
    Conflict(String),
    /// Something failed on our side (disk, engine).
    #[error("{0}")]
    Internal(String),
}

impl ManagerError {
    pub(crate) fn internal(e: impl std::fmt::Display) -> ManagerError {
        ManagerError::Internal(e.to_string())
    }
}

/// Starting the daemon failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Session(#[from] shoal_engine::SessionError),
    #[error("cannot serve the API on {addr}: {source}")]
    Api {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}
