//! Peer sources beyond trackers and the user: local service discovery (BEP 14) and the
//! mainline DHT (BEP 5). Both are session-wide services; a torrent (or a magnet link
//! whose metadata is being fetched) subscribes by info-hash and receives the addresses
//! they find on a channel. Dropping the [`Subscription`] ends it.
//!
//! Private torrents never subscribe (BEP 27): the caller checks.

mod dht;
mod lsd;

use crate::config::DhtSettings;

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

/// Where found addresses go.
pub(crate) type PeerSink = mpsc::UnboundedSender<Vec<SocketAddr>>;

/// The session's discovery services and who listens to them.
pub(crate) struct Discovery {
    lsd: Option<lsd::LsdService>,
    dht: Option<shoal_dht_net::DhtNode>,
    /// Subscribers by info-hash; several may share one (e.g. a magnet fetch and then
    /// its torrent).
    sinks: Arc<Mutex<Sinks>>,
    /// The session's tasks (LSD, DHT searches).
    tasks: TaskTracker,
}

#[derive(Default)]
pub(crate) struct Sinks {
    next_id: u64,
    by_hash: HashMap<[u8; 20], Vec<(u64, PeerSink)>>,
    /// Addresses recently found for followed info-hashes, handed to later subscribers
    /// of the same hash (a magnet fetch finds a peer; the torrent it becomes needs it
    /// too, and LSD peers announce only every few minutes).
    recent: HashMap<[u8; 20], Vec<(SocketAddr, Instant)>>,
}

/// How long a found address is handed to new subscribers.
const RECENT_TTL: Duration = Duration::from_secs(300);
/// Most remembered addresses per info-hash, and info-hashes with remembered addresses.
const RECENT_PER_HASH: usize = 64;
const RECENT_HASHES: usize = 256;

impl Sinks {
    /// Hands `addrs` to everyone subscribed to `info_hash`, forgetting closed channels.
    fn deliver(&mut self, info_hash: &[u8; 20], addrs: Vec<SocketAddr>) {
        self.remember(info_hash, &addrs);
        if let Some(list) = self.by_hash.get_mut(info_hash) {
            list.retain(|(_, sink)| sink.send(addrs.clone()).is_ok());
        }
    }

    fn remember(&mut self, info_hash: &[u8; 20], addrs: &[SocketAddr]) {
        let now = crate::clock::now();
        if !self.recent.contains_key(info_hash) && self.recent.len() >= RECENT_HASHES {
            self.recent.retain(|_, list| {
                list.iter()
                    .any(|(_, t)| now.duration_since(*t) < RECENT_TTL)
            });
            if self.recent.len() >= RECENT_HASHES {
                return;
            }
        }
        let list = self.recent.entry(*info_hash).or_default();
        for addr in addrs {
            list.retain(|(a, _)| a != addr);
            list.push((*addr, now));
        }
        let excess = list.len().saturating_sub(RECENT_PER_HASH);
        list.drain(..excess);
    }

    /// Recently found addresses of `info_hash` that are still fresh.
    fn recent(&self, info_hash: &[u8; 20]) -> Vec<SocketAddr> {
        let now = crate::clock::now();
        self.recent
            .get(info_hash)
            .map(|list| {
                list.iter()
                    .filter(|(_, t)| now.duration_since(*t) < RECENT_TTL)
                    .map(|(a, _)| *a)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn is_subscribed(&self, info_hash: &[u8; 20]) -> bool {
        self.by_hash.get(info_hash).is_some_and(|l| !l.is_empty())
    }
}

/// What a subscriber wants.
/// Fields are public: a plain request from a subscriber, with no invariant across them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Interest {
    pub info_hash: [u8; 20],
    /// Tell others we have this torrent (announce on the DHT and LSD) rather than only
    /// look for peers.
    pub announce: bool,
    /// Our BitTorrent listening port, for announces.
    pub port: u16,
}

impl Discovery {
    /// Starts the services the settings ask for. `listen` is the session's TCP address:
    /// the DHT binds the same IP and, when free, the same port number.
    pub(crate) async fn start(
        listen: SocketAddr,
        source: &crate::net::SourceBinding,
        lsd: bool,
        dht: Option<&DhtSettings>,
        tasks: TaskTracker,
    ) -> Result<Discovery, crate::SessionError> {
        let sinks = Arc::new(Mutex::new(Sinks::default()));
        let lsd = match lsd {
            true => lsd::LsdService::start(listen, source, sinks.clone(), &tasks),
            false => None,
        };
        let dht = match dht {
            Some(settings) => Some(dht::start(listen, source, settings).await?),
            None => None,
        };
        Ok(Discovery {
            lsd,
            dht,
            sinks,
            tasks,
        })
    }

    pub(crate) fn dht(&self) -> Option<&shoal_dht_net::DhtNode> {
        self.dht.as_ref()
    }

    /// Starts looking for (and, if asked, announcing) `interest.info_hash`; found
    /// addresses arrive on `sink` until the returned subscription is dropped.
    pub(crate) fn subscribe(&self, interest: Interest, sink: PeerSink) -> Subscription {
        let id = {
            let mut sinks = self.sinks.lock();
            sinks.next_id += 1;
            let id = sinks.next_id;
            sinks
                .by_hash
                .entry(interest.info_hash)
                .or_default()
                .push((id, sink.clone()));
            let recent = sinks.recent(&interest.info_hash);
            if !recent.is_empty() {
                let _ = sink.send(recent);
            }
            id
        };
        if let Some(lsd) = &self.lsd {
            lsd.add(interest.info_hash);
        }
        let dht_task = self.dht.as_ref().map(|node| {
            let sinks = self.sinks.clone();
            self.tasks
                .spawn(dht::search_loop(node.clone(), interest, sink, sinks))
        });
        Subscription {
            info_hash: interest.info_hash,
            id,
            sinks: self.sinks.clone(),
            lsd: self.lsd.as_ref().map(|l| l.handle()),
            dht_task,
        }
    }

    /// Saves DHT state and stops the services.
    pub(crate) async fn shutdown(&self) {
        if let Some(lsd) = &self.lsd {
            lsd.stop();
        }
        if let Some(node) = &self.dht {
            node.clone().shutdown().await;
        }
    }
}

/// An active interest in one info-hash; dropping it unsubscribes.
pub(crate) struct Subscription {
    info_hash: [u8; 20],
    id: u64,
    sinks: Arc<Mutex<Sinks>>,
    lsd: Option<lsd::LsdHandle>,
    dht_task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let still_wanted = {
            let mut sinks = self.sinks.lock();
            if let Some(list) = sinks.by_hash.get_mut(&self.info_hash) {
                list.retain(|(id, _)| *id != self.id);
                if list.is_empty() {
                    sinks.by_hash.remove(&self.info_hash);
                }
            }
            sinks.is_subscribed(&self.info_hash)
        };
        if let (Some(lsd), false) = (&self.lsd, still_wanted) {
            lsd.remove(self.info_hash);
        }
        if let Some(task) = self.dht_task.take() {
            task.abort();
        }
    }
}
