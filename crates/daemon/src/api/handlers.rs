//! Handlers of the JSON routes: each resolves the torrent id, turns the body into the
//! manager's parameters, calls the manager and shapes the reply.

use super::json::JsonBody;
use super::types::{AddRequest, FilesPatch, MoveRequest, SessionPatch, TorrentPatch};
use super::{ApiError, AppState, OPENAPI_JSON};
use crate::link::qr_svg;
use crate::manager::spec::FileChange;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

type ApiResult<T> = Result<T, ApiError>;

fn id(state: &AppState, id: &str) -> ApiResult<[u8; 20]> {
    Ok(state.manager.resolve(id)?)
}

pub(crate) async fn get_session(State(s): State<AppState>) -> impl IntoResponse {
    Json(s.manager.session_info())
}

pub(crate) async fn patch_session(
    State(s): State<AppState>,
    JsonBody(p): JsonBody<SessionPatch>,
) -> impl IntoResponse {
    Json(s.manager.patch_session(p.into()))
}

pub(crate) async fn list_torrents(State(s): State<AppState>) -> impl IntoResponse {
    Json(s.manager.list())
}

pub(crate) async fn add_torrent(
    State(s): State<AppState>,
    JsonBody(req): JsonBody<AddRequest>,
) -> ApiResult<impl IntoResponse> {
    let added = s.manager.add(req.into_spec()?).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

pub(crate) async fn get_torrent(
    State(s): State<AppState>,
    Path(i): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let ih = id(&s, &i)?;
    Ok(Json(s.manager.detail(&ih)?))
}

pub(crate) async fn patch_torrent(
    State(s): State<AppState>,
    Path(i): Path<String>,
    JsonBody(p): JsonBody<TorrentPatch>,
) -> ApiResult<impl IntoResponse> {
    let ih = id(&s, &i)?;
    s.manager.patch(&ih, p.into())?;
    Ok(Json(s.manager.detail(&ih)?))
}

pub(crate) async fn remove_torrent(
    State(s): State<AppState>,
    Path(i): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let ih = id(&s, &i)?;
    let mut delete_data = false;
    for pair in query.as_deref().unwrap_or("").split('&') {
        match pair.split_once('=') {
            Some(("delete_data", "true" | "1")) => delete_data = true,
            Some(("delete_data", "false" | "0")) => delete_data = false,
            Some(("delete_data", v)) => {
                return Err(ApiError::bad_request(format!(
                    "delete_data must be true or false, not {v}"
                )))
            }
            _ => {}
        }
    }
    s.manager.remove(&ih, delete_data).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn pause(
    State(s): State<AppState>,
    Path(i): Path<String>,
) -> ApiResult<StatusCode> {
    let ih = id(&s, &i)?;
    s.manager.pause(&ih)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn resume(
    State(s): State<AppState>,
    Path(i): Path<String>,
) -> ApiResult<StatusCode> {
    let ih = id(&s, &i)?;
    s.manager.resume(&ih)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn recheck(
    State(s): State<AppState>,
    Path(i): Path<String>,
) -> ApiResult<StatusCode> {
    let ih = id(&s, &i)?;
    s.manager.recheck(&ih)?;
    Ok(StatusCode::ACCEPTED)
}

pub(crate) async fn move_torrent(
    State(s): State<AppState>,
    Path(i): Path<String>,
    JsonBody(req): JsonBody<MoveRequest>,
) -> ApiResult<StatusCode> {
    let ih = id(&s, &i)?;
    s.manager.move_to(&ih, req.download_dir.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn files(
    State(s): State<AppState>,
    Path(i): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let ih = id(&s, &i)?;
    Ok(Json(s.manager.files(&ih)?))
}

pub(crate) async fn patch_files(
    State(s): State<AppState>,
    Path(i): Path<String>,
    JsonBody(p): JsonBody<FilesPatch>,
) -> ApiResult<impl IntoResponse> {
    let ih = id(&s, &i)?;
    let changes: Vec<FileChange> = p.priorities.iter().map(FileChange::from).collect();
    s.manager.set_file_priorities(&ih, &changes)?;
    Ok(Json(s.manager.files(&ih)?))
}

pub(crate) async fn peers(
    State(s): State<AppState>,
    Path(i): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let ih = id(&s, &i)?;
    Ok(Json(s.manager.peers(&ih)?))
}

pub(crate) async fn pieces(
    State(s): State<AppState>,
    Path(i): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let ih = id(&s, &i)?;
    Ok(Json(s.manager.pieces(&ih)?))
}

pub(crate) async fn trackers(
    State(s): State<AppState>,
    Path(i): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let ih = id(&s, &i)?;
    Ok(Json(s.manager.trackers(&ih)?))
}

pub(crate) async fn qr(State(s): State<AppState>, Path(i): Path<String>) -> ApiResult<Response> {
    let ih = id(&s, &i)?;
    let link = s.manager.link_of(&ih)?;
    // Not a server fault: the link (a magnet the user gave, say) is simply too long.
    let svg = qr_svg(&link).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the link is too long for a QR code",
        )
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}

pub(crate) async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

pub(crate) async fn no_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such route")
}
