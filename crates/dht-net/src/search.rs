//! Peer searches: the [`PeerSearch`] handle a caller reads results from, and the
//! driver's table routing `PeersFound` / `LookupDone` events to every search of an
//! info-hash. The DHT runs one lookup per info-hash, so concurrent searches of the same
//! info-hash share it; one that joins late first receives the peers found so far.

use std::collections::HashMap;
use std::net::SocketAddr;

use shoal_dht::LookupSummary;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// What a running search reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchEvent {
    /// Peers not reported before by this search.
    Peers(Vec<SocketAddr>),
    /// The lookup finished (and, for an announce, the announces were sent). Last event.
    Done(LookupSummary),
}

/// Results of one [`DhtNode::get_peers`](crate::DhtNode::get_peers) /
/// [`DhtNode::announce`](crate::DhtNode::announce). Dropping it cancels nothing: the
/// lookup runs to its end for the other searches and the announce.
#[derive(Debug)]
pub struct PeerSearch {
    info_hash: [u8; 20],
    rx: Option<UnboundedReceiver<SearchEvent>>,
}

impl PeerSearch {
    pub(crate) fn new(info_hash: [u8; 20], rx: UnboundedReceiver<SearchEvent>) -> PeerSearch {
        PeerSearch {
            info_hash,
            rx: Some(rx),
        }
    }

    /// The info-hash searched for.
    pub fn info_hash(&self) -> [u8; 20] {
        self.info_hash
    }

    /// The next event; `None` after [`SearchEvent::Done`] or when the DHT task stopped.
    pub async fn next(&mut self) -> Option<SearchEvent> {
        let rx = self.rx.as_mut()?;
        let event = rx.recv().await;
        if !matches!(event, Some(SearchEvent::Peers(_))) {
            self.rx = None;
        }
        event
    }

    /// Waits for the end of the search: every peer found (without duplicates) and the
    /// summary (`None` if the DHT task stopped first).
    pub async fn finish(mut self) -> (Vec<SocketAddr>, Option<LookupSummary>) {
        let mut peers: Vec<SocketAddr> = Vec::new();
        while let Some(event) = self.next().await {
            match event {
                SearchEvent::Peers(found) => {
                    for p in found {
                        if !peers.contains(&p) {
                            peers.push(p);
                        }
                    }
                }
                SearchEvent::Done(summary) => return (peers, Some(summary)),
            }
        }
        (peers, None)
    }
}

/// The searches waiting on one running lookup.
#[derive(Debug, Default)]
struct Active {
    subscribers: Vec<UnboundedSender<SearchEvent>>,
    /// Every peer the lookup reported so far, for searches that join later.
    found: Vec<SocketAddr>,
}

/// Driver side: info-hash → searches of the running lookup.
#[derive(Debug, Default)]
pub(crate) struct Searches {
    active: HashMap<[u8; 20], Active>,
}

impl Searches {
    /// Registers a search; call before starting (or joining) the DHT lookup.
    pub(crate) fn subscribe(&mut self, info_hash: [u8; 20], tx: UnboundedSender<SearchEvent>) {
        let entry = self.active.entry(info_hash).or_default();
        if !entry.found.is_empty() && tx.send(SearchEvent::Peers(entry.found.clone())).is_err() {
            return;
        }
        entry.subscribers.push(tx);
    }

    pub(crate) fn peers_found(&mut self, info_hash: &[u8; 20], peers: Vec<SocketAddr>) {
        let Some(entry) = self.active.get_mut(info_hash) else {
            return;
        };
        entry
            .subscribers
            .retain(|s| s.send(SearchEvent::Peers(peers.clone())).is_ok());
        entry.found.extend(peers);
    }

    pub(crate) fn done(&mut self, info_hash: &[u8; 20], summary: LookupSummary) {
        if let Some(entry) = self.active.remove(info_hash) {
            for s in entry.subscribers {
                let _ = s.send(SearchEvent::Done(summary.clone()));
            }
        }
    }

    /// Number of info-hashes with a running search.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.active.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_dht::LookupStats;
    use tokio::sync::mpsc::unbounded_channel;

    fn summary() -> LookupSummary {
        LookupSummary {
            stats: LookupStats::default(),
            peers: 2,
            announced: 0,
            closest: Vec::new(),
        }
    }

    fn peer(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[tokio::test]
    async fn fan_out_late_join_and_end() {
        let ih = [3; 20];
        let mut s = Searches::default();
        let (tx1, rx1) = unbounded_channel();
        let (tx2, rx2) = unbounded_channel();
        let (tx3, rx3) = unbounded_channel();
        s.subscribe(ih, tx1);
        s.subscribe(ih, tx3);
        drop(rx3);
        s.peers_found(&ih, vec![peer(1)]);
        s.subscribe(ih, tx2);
        s.peers_found(&ih, vec![peer(2)]);
        s.peers_found(&[9; 20], vec![peer(9)]);
        s.done(&ih, summary());
        assert_eq!(s.len(), 0);

        let mut a = PeerSearch::new(ih, rx1);
        assert_eq!(a.next().await, Some(SearchEvent::Peers(vec![peer(1)])));
        assert_eq!(a.next().await, Some(SearchEvent::Peers(vec![peer(2)])));
        assert_eq!(a.next().await, Some(SearchEvent::Done(summary())));
        assert_eq!(a.next().await, None);

        let b = PeerSearch::new(ih, rx2);
        assert_eq!(b.finish().await, (vec![peer(1), peer(2)], Some(summary())));
    }

    #[tokio::test]
    async fn stopped_task_ends_search() {
        let (tx, rx) = unbounded_channel();
        tx.send(SearchEvent::Peers(vec![peer(5)])).unwrap();
        drop(tx);
        let search = PeerSearch::new([0; 20], rx);
        assert_eq!(search.finish().await, (vec![peer(5)], None));
    }
}
