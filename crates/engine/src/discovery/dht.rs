//! The session's mainline DHT node (driven by `shoal-dht-net`) and the per-torrent
//! search loop: look up peers (and announce us) when the torrent starts, again soon
//! while nothing is found, then at the usual re-announce interval.

use super::{Interest, PeerSink, Sinks};
use crate::config::DhtSettings;
use parking_lot::Mutex;
use shoal_dht_net::{DhtNetConfig, DhtNode, SearchEvent};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Re-announce interval once peers were found (what mainline clients use).
const REANNOUNCE: Duration = Duration::from_secs(15 * 60);

/// First retry while a search finds nobody; doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_secs(5);
const MAX_RETRY: Duration = Duration::from_secs(120);

/// How long a search waits for the node to finish bootstrapping first.
const BOOTSTRAP_WAIT: Duration = Duration::from_secs(15);

/// Binds the DHT's UDP socket on the listening IP, on the TCP port number if it is free
/// (peers learn it from the PORT message either way).
pub(super) async fn start(
    listen: SocketAddr,
    source: &crate::net::SourceBinding,
    settings: &DhtSettings,
) -> Result<DhtNode, crate::SessionError> {
    let config = |bind| DhtNetConfig {
        bind,
        interface: source.device().map(str::to_owned),
        bootstrap: settings.bootstrap.clone(),
        state_file: settings.state_file.clone(),
        dht: shoal_dht::DhtConfig {
            version: Some(b"SH\x01\x00".to_vec()),
            ..shoal_dht::DhtConfig::default()
        },
        ..DhtNetConfig::new(bind)
    };
    match DhtNode::spawn(config(listen)).await {
        Ok(node) => Ok(node),
        Err(first) => {
            tracing::debug!(error = %first, "DHT port taken; using another");
            DhtNode::spawn(config(SocketAddr::new(listen.ip(), 0)))
                .await
                .map_err(crate::SessionError::Dht)
        }
    }
}

/// Searches for `interest` until aborted, sending every batch of peers to `sink`.
pub(super) async fn search_loop(
    node: DhtNode,
    interest: Interest,
    sink: PeerSink,
    sinks: Arc<Mutex<Sinks>>,
) {
    node.wait_bootstrapped(BOOTSTRAP_WAIT).await;
    let mut retry = FIRST_RETRY;
    loop {
        let mut search = match interest.announce {
            true => node.announce(interest.info_hash, Some(interest.port)),
            false => node.get_peers(interest.info_hash),
        };
        let mut found = 0usize;
        let mut announced = 0usize;
        while let Some(event) = search.next().await {
            match event {
                SearchEvent::Peers(peers) => {
                    found += peers.len();
                    tracing::debug!(count = peers.len(), "peers from the DHT");
                    sinks.lock().remember(&interest.info_hash, &peers);
                    if sink.send(peers).is_err() {
                        return;
                    }
                }
                SearchEvent::Done(summary) => {
                    announced = summary.announced;
                    tracing::debug!(
                        peers = summary.peers,
                        announced = summary.announced,
                        "DHT lookup done"
                    );
                }
            }
        }
        // Once we are findable (or found someone), others' lookups reach us too.
        let wait = if found > 0 || announced > 0 {
            retry = FIRST_RETRY;
            REANNOUNCE
        } else {
            let wait = retry;
            retry = (retry * 2).min(MAX_RETRY);
            wait
        };
        tokio::time::sleep(wait).await;
    }
}
