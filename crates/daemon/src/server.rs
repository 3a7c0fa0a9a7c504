//! Running the daemon: open the state directory, start the manager, serve the API,
//! publish `api.json`, and shut down cleanly when asked.

use crate::api::{self, guard::Guard, AppState};
use crate::config::DaemonConfig;
use crate::manager::Manager;
use crate::state::{ApiInfo, StateDir};
use crate::DaemonError;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long open requests (event streams, file streams) get to finish at shutdown.
const DRAIN: Duration = Duration::from_secs(3);

/// A started daemon.
pub struct Daemon {
    /// The torrent manager.
    pub manager: Arc<Manager>,
    /// Where the API and web UI listen.
    pub api_addr: SocketAddr,
    /// The file holding the API token.
    pub token_path: PathBuf,
    server: tokio::task::JoinHandle<()>,
    stop_server: tokio::sync::watch::Sender<bool>,
}

impl Daemon {
    /// Starts everything; the API serves when this returns.
    pub async fn start(
        config: DaemonConfig,
        state: StateDir,
        dht_state_file: Option<PathBuf>,
    ) -> Result<Daemon, DaemonError> {
        let token = state.token()?;
        let token_path = state.token_path();
        let listener = tokio::net::TcpListener::bind(config.api_addr)
            .await
            .map_err(|source| DaemonError::Api {
                addr: config.api_addr,
                source,
            })?;
        let api_addr = listener.local_addr().map_err(|source| DaemonError::Api {
            addr: config.api_addr,
            source,
        })?;
        let guard = Guard::new(token, api_addr, &config.allowed_hosts, &config.cors_origins);
        let manager = Manager::start(config, state, dht_state_file).await?;
        manager.set_api_addr(api_addr);
        let app = api::router(AppState {
            manager: manager.clone(),
            guard: Arc::new(guard),
        });
        let (stop_server, mut stop_rx) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!("API server failed: {e}");
            }
        });
        manager.state_dir().write_api_info(&ApiInfo {
            address: api_addr,
            pid: std::process::id(),
        })?;
        Ok(Daemon {
            manager,
            api_addr,
            token_path,
            server,
            stop_server,
        })
    }

    /// Runs until `signal` resolves, then shuts down cleanly.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }

    /// Stops serving (open streams get [`DRAIN`] to end), then stops the torrents,
    /// saves their resume data and marks the shutdown clean.
    pub async fn shutdown(self) {
        self.stop_server.send_replace(true);
        // Event and file streams end on the manager's shutdown signal.
        self.manager.begin_shutdown();
        let mut server = self.server;
        if tokio::time::timeout(DRAIN, &mut server).await.is_err() {
            server.abort();
            let _ = server.await;
        }
        self.manager.shutdown().await;
    }
}
