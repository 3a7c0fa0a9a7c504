//! The tokio announce driver: runs the BEP 12 multitracker logic for one torrent against
//! HTTP(S) (reqwest) and UDP (BEP 15, via `shoal_tracker::udp::UdpTracker`) trackers.
//!
//! [`Announcer::spawn`] starts a task that announces `started` at once, re-announces every
//! interval the tracker asks for (bounded by [`AnnouncerConfig::min_interval_floor`] and
//! [`AnnouncerConfig::max_interval`]) and sends every non-empty peer list to a channel.
//! See the `driver` module docs for the exact multitracker behaviour.
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod config;
mod driver;
mod error;
mod http;
mod status;
mod tracker;
mod transport;
mod udp;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use config::{AnnouncerConfig, SourceBinding, TransferStats};
pub use error::AnnounceError;
pub use http::MAX_REPLY;
pub use status::TrackerStatus;

use driver::{Command, Core, Driver};
use transport::Transports;

/// Handle to a running announce loop. Dropping it ends the loop without `stopped`; call
/// [`Announcer::stop`] for a clean exit.
#[derive(Debug)]
pub struct Announcer {
    commands: mpsc::UnboundedSender<Command>,
    status: Arc<Mutex<Vec<TrackerStatus>>>,
    task: JoinHandle<()>,
}

impl Announcer {
    /// Spawns the announce loop on the current tokio runtime (panics outside one, like
    /// `tokio::spawn`). It announces `started` at once, re-announces every interval
    /// (respecting the min interval) and delivers each non-empty peer list on `peers`
    /// (with `try_send`: a list is dropped, not queued, if the channel is full).
    pub fn spawn(
        cfg: AnnouncerConfig,
        stats: watch::Receiver<TransferStats>,
        peers: mpsc::Sender<Vec<SocketAddr>>,
    ) -> Announcer {
        let transports = Transports {
            http: http::HttpTransport::new(&cfg),
            udp: udp::UdpHandle::spawn(
                cfg.udp_retransmit_base,
                cfg.udp_max_retries,
                cfg.source.clone(),
            ),
            resolve_timeout: cfg.request_timeout,
        };
        let status = Arc::new(Mutex::new(Vec::new()));
        let core = Core::new(cfg, transports, stats, peers, Arc::clone(&status));
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(Driver { core, commands: rx }.run());
        Announcer {
            commands: tx,
            status,
            task,
        }
    }

    /// Announces `completed` now. Only the first call has an effect.
    pub fn completed(&self) {
        let _ = self.commands.send(Command::Completed);
    }

    /// Re-announces as soon as the min interval allows (e.g. when short of peers).
    pub fn announce_now(&self) {
        let _ = self.commands.send(Command::AnnounceNow);
    }

    /// Sends `stopped` to every tracker that acknowledged an announce, waits at most
    /// `timeout` for them, and ends the task.
    pub async fn stop(mut self, timeout: Duration) {
        if self.commands.send(Command::Stop(timeout)).is_err() {
            return;
        }
        // The task bounds itself by `timeout`; the extra margin only guards against a bug.
        let grace = timeout.saturating_add(Duration::from_millis(500));
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            self.task.abort();
        }
    }

    /// A snapshot of every tracker, in tier order.
    pub fn status(&self) -> Vec<TrackerStatus> {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
