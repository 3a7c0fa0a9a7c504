//! API errors: a status and a one-line message, sent as `{"error": "…"}`. The status
//! of each manager error is chosen here and nowhere else: 404 for a torrent or file
//! that is not there, 400 for a request that cannot be right (a bad link, value or
//! path), 409 for one that conflicts with the torrent's state, 500 for a failure on
//! our side (engine, state directory).

use super::types::ErrorBody;
use crate::error::{AddError, ManagerError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// A failed request: the HTTP status and the message sent as `{"error": "…"}`.
#[derive(Debug)]
pub struct ApiError {
    /// The reply's status.
    pub status: StatusCode,
    /// The message, on one line.
    pub message: String,
}

impl ApiError {
    /// An error of any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// A 400: the request cannot be right.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// `e`'s message on one line (its `Display` already includes its causes).
    fn from_error(status: StatusCode, e: &dyn std::error::Error) -> ApiError {
        ApiError::new(status, e.to_string().replace('\n', " "))
    }
}

/// The status of a failed torrent or session request.
fn manager_status(e: &ManagerError) -> StatusCode {
    use ManagerError as E;
    match e {
        E::UnknownTorrent { .. } | E::UnknownFile { .. } => StatusCode::NOT_FOUND,
        E::AmbiguousId { .. }
        | E::FileIndex { .. }
        | E::PrivateStream
        | E::RelativeDir { .. }
        | E::BadSeedRatio { .. } => StatusCode::BAD_REQUEST,
        E::MetadataPending { .. } | E::Checking { .. } | E::Failed { .. } | E::MoveShared => {
            StatusCode::CONFLICT
        }
        E::Engine(_) | E::Remove(_) | E::State(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The status of a failed add.
fn add_status(e: &AddError) -> StatusCode {
    use AddError as E;
    match e {
        // The path to share is the user's: a missing or unreadable one is theirs to fix.
        E::RelativeDir { .. }
        | E::BadMagnet(_)
        | E::BadPrivateLink(_)
        | E::BadTorrentFile(_)
        | E::SharePath { .. }
        | E::Share(_)
        | E::CreateTorrent(_)
        | E::PriorityCount { .. } => StatusCode::BAD_REQUEST,
        E::Duplicate { .. } | E::BeingRemoved { .. } => StatusCode::CONFLICT,
        E::ShareTask(_) | E::State(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<ManagerError> for ApiError {
    fn from(e: ManagerError) -> ApiError {
        ApiError::from_error(manager_status(&e), &e)
    }
}

impl From<AddError> for ApiError {
    fn from(e: AddError) -> ApiError {
        ApiError::from_error(add_status(&e), &e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: self.message,
            }),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::StartError;
    use crate::state::StateError;
    use std::error::Error as _;
    use std::path::PathBuf;

    fn state_error() -> StateError {
        StateError::Io {
            what: "cannot write",
            path: "/state/settings.json".into(),
            source: std::io::Error::other("disk full"),
        }
    }

    fn id() -> String {
        "ab".repeat(20)
    }

    #[test]
    fn every_manager_error_has_its_status() {
        use ManagerError as E;
        let cases = [
            (E::UnknownTorrent { id: id() }, 404),
            (E::UnknownFile { id: id(), index: 3 }, 404),
            (
                E::AmbiguousId {
                    prefix: "abcdef".into(),
                },
                400,
            ),
            (E::FileIndex { index: 3, files: 2 }, 400),
            (E::PrivateStream, 400),
            (E::RelativeDir { path: "rel".into() }, 400),
            (E::BadSeedRatio { ratio: -1.0 }, 400),
            (E::MetadataPending { id: id() }, 409),
            (E::Checking { id: id() }, 409),
            (
                E::Failed {
                    id: id(),
                    reason: StartError::SharePathMissing.into(),
                },
                409,
            ),
            (E::MoveShared, 409),
            (E::Engine(shoal_engine::TorrentError::Stopped), 500),
            (E::Remove(shoal_engine::RemoveError::NotFound), 500),
            (E::State(state_error()), 500),
        ];
        for (e, status) in cases {
            let text = e.to_string();
            let api = ApiError::from(e);
            assert_eq!(api.status.as_u16(), status, "{text}");
            assert_eq!(api.message, text);
        }
    }

    #[tokio::test]
    async fn every_add_error_has_its_status() {
        use AddError as E;
        let missing = PathBuf::from("/nonexistent/shoal-test");
        let join = {
            let task = tokio::spawn(std::future::pending::<()>());
            task.abort();
            task.await.unwrap_err()
        };
        let cases = [
            (E::RelativeDir { path: "rel".into() }, 400),
            (
                E::BadMagnet(shoal_metainfo::Magnet::parse("http://x").unwrap_err()),
                400,
            ),
            (
                E::BadPrivateLink(
                    shoal_private::parse_link(&format!("magnet:?xt=urn:btih:{}#k=x", id()))
                        .unwrap_err(),
                ),
                400,
            ),
            (
                E::BadTorrentFile(shoal_metainfo::Metainfo::from_bytes(b"x").unwrap_err()),
                400,
            ),
            (
                E::SharePath {
                    path: missing.clone(),
                    source: std::io::ErrorKind::NotFound.into(),
                },
                400,
            ),
            (
                E::Share(crate::share::build_share(&missing, None).err().unwrap()),
                400,
            ),
            (
                E::CreateTorrent(
                    shoal_metainfo::create_torrent(&missing, &Default::default()).unwrap_err(),
                ),
                400,
            ),
            (E::PriorityCount { given: 1, files: 2 }, 400),
            (E::Duplicate { id: id() }, 409),
            (E::BeingRemoved { id: id() }, 409),
            (E::ShareTask(join), 500),
            (E::State(state_error()), 500),
        ];
        for (e, status) in cases {
            let text = e.to_string();
            let api = ApiError::from(e);
            assert_eq!(api.status.as_u16(), status, "{text}");
            assert!(!api.message.contains('\n'), "{text}");
        }
    }

    #[test]
    fn causes_are_kept_as_sources() {
        let e = ManagerError::State(state_error());
        let source = e.source().expect("the state error is the source");
        assert!(source.source().is_some(), "and the I/O error its source");
        assert!(e.to_string().contains("disk full"), "{e}");

        let bad = shoal_metainfo::Metainfo::from_bytes(b"x").unwrap_err();
        let e = AddError::BadTorrentFile(bad.clone());
        assert_eq!(e.source().map(|s| s.to_string()), Some(bad.to_string()));
        assert_eq!(e.to_string(), format!("not a valid torrent: {bad}"));

        let e = ManagerError::Engine(shoal_engine::TorrentError::Busy);
        assert!(e.source().is_some());

        let e = ManagerError::Failed {
            id: id(),
            reason: StartError::State(state_error()).into(),
        };
        assert_eq!(
            e.to_string(),
            format!("torrent {} failed: {}", id(), state_error())
        );
        let reason = e.source().expect("the start error is the source");
        assert!(reason.source().is_some(), "and the state error its source");
    }

    #[test]
    fn messages_are_one_line() {
        let e = ManagerError::Failed {
            id: id(),
            reason: StartError::State(StateError::Corrupt {
                path: "/state/settings.json".into(),
                message: "first\nsecond".into(),
            })
            .into(),
        };
        assert_eq!(
            ApiError::from(e).message,
            format!(
                "torrent {} failed: /state/settings.json is damaged: first second",
                id()
            )
        );
    }
}
