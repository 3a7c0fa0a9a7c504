//! The HTTP API and web UI (axum). Every route is listed once in [`routes`], which
//! builds the router and is what the OpenAPI test compares with `openapi.json`.
//! [`guard`] applies the Host check to everything and the bearer token to `/api/*`
//! and `/stream/*`.

mod error;
mod events;
pub mod guard;
mod handlers;
mod json;
mod stream;
pub mod types;
mod ui;

use crate::manager::Manager;
use axum::http::Method;
use axum::routing::{delete, get, patch, post, MethodRouter};
use axum::Router;
pub use error::ApiError;
pub use json::{MAX_BODY, MAX_TORRENT_FILE};
use std::sync::Arc;

/// The OpenAPI document of this API.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    /// The torrent manager.
    pub manager: Arc<Manager>,
    /// The Host, token and CORS checks.
    pub guard: Arc<guard::Guard>,
}

/// One route: method, path (axum syntax, same as OpenAPI's), handler.
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path, in axum's syntax (`/api/v1/torrents/{id}`).
    pub path: &'static str,
    handler: MethodRouter<AppState>,
}

fn r(method: Method, path: &'static str, handler: MethodRouter<AppState>) -> Route {
    Route {
        method,
        path,
        handler,
    }
}

/// Every route of the daemon. The API routes (`/api/…`, `/stream/…`) are exactly the
/// paths and methods of `openapi.json`.
pub fn routes() -> Vec<Route> {
    use handlers as h;
    vec![
        r(Method::GET, "/api/v1/session", get(h::get_session)),
        r(Method::PATCH, "/api/v1/session", patch(h::patch_session)),
        r(Method::GET, "/api/v1/torrents", get(h::list_torrents)),
        r(Method::POST, "/api/v1/torrents", post(h::add_torrent)),
        r(Method::GET, "/api/v1/torrents/{id}", get(h::get_torrent)),
        r(
            Method::PATCH,
            "/api/v1/torrents/{id}",
            patch(h::patch_torrent),
        ),
        r(
            Method::DELETE,
            "/api/v1/torrents/{id}",
            delete(h::remove_torrent),
        ),
        r(Method::POST, "/api/v1/torrents/{id}/pause", post(h::pause)),
        r(
            Method::POST,
            "/api/v1/torrents/{id}/resume",
            post(h::resume),
        ),
        r(
            Method::POST,
            "/api/v1/torrents/{id}/recheck",
            post(h::recheck),
        ),
        r(
            Method::POST,
            "/api/v1/torrents/{id}/move",
            post(h::move_torrent),
        ),
        r(Method::GET, "/api/v1/torrents/{id}/files", get(h::files)),
        r(
            Method::PATCH,
            "/api/v1/torrents/{id}/files",
            patch(h::patch_files),
        ),
        r(Method::GET, "/api/v1/torrents/{id}/peers", get(h::peers)),
        r(Method::GET, "/api/v1/torrents/{id}/pieces", get(h::pieces)),
        r(
            Method::GET,
            "/api/v1/torrents/{id}/trackers",
            get(h::trackers),
        ),
        r(Method::GET, "/api/v1/torrents/{id}/qr.svg", get(h::qr)),
        r(Method::GET, "/api/v1/events", get(events::events)),
        r(Method::GET, "/api/v1/openapi.json", get(h::openapi)),
        r(
            Method::GET,
            "/stream/{id}/{file_index}",
            get(stream::stream),
        ),
        r(Method::GET, "/", get(ui::index)),
        r(Method::GET, "/ui/app.js", get(ui::app_js)),
        r(Method::GET, "/ui/style.css", get(ui::style_css)),
    ]
}

/// Method and path of every route (for tests and documentation).
pub fn route_table() -> Vec<(Method, &'static str)> {
    routes().into_iter().map(|r| (r.method, r.path)).collect()
}

/// The daemon's router with its guard.
pub fn router(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    for route in routes() {
        router = router.route(route.path, route.handler);
    }
    router
        .fallback(handlers::no_route)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .with_state(state)
}
