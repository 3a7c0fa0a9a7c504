//! `GET /api/v1/events`: server-sent events, every second `torrents` (the list) and
//! `session`. The stream ends when the daemon shuts down.

use super::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use std::convert::Infallible;
use std::time::Duration;

const PERIOD: Duration = Duration::from_secs(1);

pub(crate) async fn events(
    State(s): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let manager = s.manager;
    let shutdown = manager.shutdown_signal();
    let mut interval = tokio::time::interval(PERIOD);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = (manager, shutdown, interval, Vec::<Event>::new());
    let stream = stream::unfold(
        state,
        |(manager, mut shutdown, mut interval, mut pending)| async move {
            if pending.is_empty() {
                if *shutdown.borrow() {
                    return None;
                }
                tokio::select! {
                    _ = interval.tick() => {}
                    _ = shutdown.changed() => return None,
                }
                let torrents = serde_json::to_string(&manager.list()).unwrap_or_default();
                let session = serde_json::to_string(&manager.session_info()).unwrap_or_default();
                pending.push(Event::default().event("session").data(session));
                pending.push(Event::default().event("torrents").data(torrents));
            }
            let event = pending.pop()?;
            Some((Ok(event), (manager, shutdown, interval, pending)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
