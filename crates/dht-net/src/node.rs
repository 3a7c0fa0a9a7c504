//! [`DhtNode`]: the cheap, cloneable handle to a running driver task, and
//! [`DhtNode::spawn`], which binds the socket, restores the saved state and starts it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shoal_dht::{Dht, DhtStats, NodeId};
use tokio::net::UdpSocket;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::sync::{oneshot, watch};
use tracing::{info, warn};

use crate::config::{resolve_bootstrap, DhtNetConfig};
use crate::driver::{Command, Driver};
use crate::error::DhtNetError;
use crate::search::{PeerSearch, Searches};
use crate::state::StateFile;

/// Handle to a running DHT node. Clones share the node; when the last one is dropped
/// the task saves its state (if it has a state file) and ends.
#[derive(Debug, Clone)]
pub struct DhtNode {
    commands: UnboundedSender<Command>,
    local_addr: SocketAddr,
    id: NodeId,
    bootstrapped: watch::Receiver<bool>,
    state: Option<Arc<StateFile>>,
}

impl DhtNode {
    /// Binds the UDP socket, resolves the bootstrap hosts (up to
    /// [`RESOLVE_TIMEOUT`](crate::RESOLVE_TIMEOUT)), restores the routing table and id
    /// from the state file when it holds a valid snapshot (anything else is logged and
    /// ignored) and starts the driver task on the current tokio runtime.
    pub async fn spawn(cfg: DhtNetConfig) -> Result<DhtNode, DhtNetError> {
        let socket = UdpSocket::bind(cfg.bind)
            .await
            .map_err(|source| DhtNetError::Bind {
                addr: cfg.bind,
                source,
            })?;
        if let Some(device) = &cfg.interface {
            socket
                .bind_device(Some(device.as_bytes()))
                .map_err(|source| DhtNetError::Device {
                    device: device.clone(),
                    source,
                })?;
        }
        let local_addr = socket.local_addr().map_err(DhtNetError::LocalAddr)?;
        let v6 = local_addr.is_ipv6();

        let mut dht_cfg = cfg.dht;
        dht_cfg.bootstrap.retain(|a| a.is_ipv6() == v6);
        for addr in resolve_bootstrap(&cfg.bootstrap, v6).await {
            if !dht_cfg.bootstrap.contains(&addr) {
                dht_cfg.bootstrap.push(addr);
            }
        }

        let state = cfg.state_file.map(|p| Arc::new(StateFile::new(p)));
        let saved = match &state {
            Some(s) => s.load().await,
            None => None,
        };
        let now = Instant::now();
        let dht = match saved {
            Some(bytes) => match Dht::restore(dht_cfg.clone(), &bytes, now) {
                Ok(dht) => {
                    info!(nodes = dht.stats().nodes, "DHT state restored");
                    dht
                }
                Err(e) => {
                    warn!(error = %e, "corrupt DHT state file ignored");
                    Dht::new(dht_cfg, now)
                }
            },
            None => Dht::new(dht_cfg, now),
        };
        let id = dht.id();
        info!(%local_addr, "DHT node listening");

        let (commands, commands_rx) = unbounded_channel();
        let (bootstrapped_tx, bootstrapped) = watch::channel(dht.is_bootstrapped());
        let driver = Driver {
            socket,
            dht,
            commands: commands_rx,
            bootstrapped: bootstrapped_tx,
            state: state.clone(),
            save_interval: cfg.save_interval,
            searches: Searches::default(),
            snapshot_seq: 0,
        };
        tokio::spawn(driver.run());
        Ok(DhtNode {
            commands,
            local_addr,
            id,
            bootstrapped,
            state,
        })
    }

    /// The bound socket address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Our node id (restored from the state file, configured, or random).
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Starts (or joins) a `get_peers` lookup for `info_hash`.
    pub fn get_peers(&self, info_hash: [u8; 20]) -> PeerSearch {
        self.search(info_hash, None)
    }

    /// Like [`get_peers`](Self::get_peers), then announces us with `announce_peer` to
    /// the closest nodes: on `port`, or with `None` on the port our datagrams come from
    /// (`implied_port`).
    pub fn announce(&self, info_hash: [u8; 20], port: Option<u16>) -> PeerSearch {
        self.search(info_hash, Some(port))
    }

    fn search(&self, info_hash: [u8; 20], announce: Option<Option<u16>>) -> PeerSearch {
        let (events, rx) = unbounded_channel();
        // If the task is gone the sender is dropped with the command: the search ends.
        let _ = self.commands.send(Command::Search {
            info_hash,
            announce,
            events,
        });
        PeerSearch::new(info_hash, rx)
    }

    /// A node learned elsewhere (e.g. a peer's PORT message): it is pinged and added to
    /// the table if it answers. Addresses of the other family are ignored.
    pub fn add_node(&self, addr: SocketAddr) {
        let _ = self.commands.send(Command::AddNode(addr));
    }

    /// Counters of the node; `None` once the task has stopped.
    pub async fn stats(&self) -> Option<DhtStats> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Stats(tx)).ok()?;
        rx.await.ok()
    }

    /// Whether the first bootstrap lookup has finished with a non-empty table.
    pub fn is_bootstrapped(&self) -> bool {
        *self.bootstrapped.borrow()
    }

    /// Waits until the first bootstrap lookup has finished with a non-empty table;
    /// `false` on timeout or if the task stopped.
    pub async fn wait_bootstrapped(&self, timeout: Duration) -> bool {
        let mut rx = self.bootstrapped.clone();
        let waited = tokio::time::timeout(timeout, rx.wait_for(|b| *b)).await;
        matches!(waited, Ok(Ok(_)))
    }

    /// Writes the routing table and id to the state file now (atomically: temporary
    /// file in the same directory, fsync, rename). Does nothing without a state file.
    pub async fn save(&self) -> Result<(), DhtNetError> {
        let Some(state) = &self.state else {
            return Ok(());
        };
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Snapshot(tx))
            .map_err(|_| DhtNetError::Stopped)?;
        let (seq, bytes) = rx.await.map_err(|_| DhtNetError::Stopped)?;
        state.write(seq, bytes).await
    }

    /// Stops the node (for every clone): the queued datagrams are sent, the state is
    /// saved if there is a state file (failures are logged), then the task ends.
    pub async fn shutdown(self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// The state file, if any.
    pub fn state_file(&self) -> Option<&std::path::Path> {
        self.state.as_deref().map(StateFile::path)
    }
}
