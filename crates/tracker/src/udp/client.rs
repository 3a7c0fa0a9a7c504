//! [`UdpTracker`]: the BEP 15 client state machine for one tracker address.
//!
//! Operations (announces, scrapes) are queued and run one at a time. Each one first
//! obtains a connection id (`connect`) unless a previous one is still fresh (BEP 15: usable
//! for one minute), then sends the request. Unanswered packets are retransmitted after
//! `base · 2^n` (n = retransmissions so far for the operation, BEP 15 uses 15 s and gives up
//! after n = 8); n is *not* reset when the connect step succeeds, so a tracker that answers
//! connects but never announces still fails in bounded time.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::packet::{AnnouncePacket, Request, Response, MAX_SCRAPE_HASHES};
use crate::types::{AnnounceRequest, AnnounceResponse, ScrapeStats};
use crate::TrackerError;

/// Upper bound for a single retransmission timeout, whatever the configuration says.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Timing knobs; the defaults are the BEP 15 values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpConfig {
    /// First retransmission timeout (BEP 15: 15 s).
    pub retransmit_base: Duration,
    /// Retransmissions before giving up (BEP 15: 8).
    pub max_retries: u32,
    /// How long a connection id is reused (BEP 15: 60 s).
    pub connection_id_lifetime: Duration,
    /// The tracker is reached over IPv6, so announce answers carry 18-byte peers.
    pub ipv6: bool,
}

impl Default for UdpConfig {
    fn default() -> Self {
        UdpConfig {
            retransmit_base: Duration::from_secs(15),
            max_retries: 8,
            connection_id_lifetime: Duration::from_secs(60),
            ipv6: false,
        }
    }
}

/// Result of one queued operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UdpEvent {
    /// The tracker answered an announce.
    Announced(AnnounceResponse),
    /// Stats in the order of the requested hashes (a tracker may return fewer).
    Scraped(Vec<ScrapeStats>),
    /// The operation failed (an error packet, or no answer after every retry).
    Failed(TrackerError),
}

#[derive(Debug)]
enum Op {
    Announce(AnnounceRequest),
    Scrape(Vec<[u8; 20]>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Connect,
    Request,
}

#[derive(Debug)]
struct InFlight {
    step: Step,
    transaction_id: u32,
    packet: Vec<u8>,
    deadline: Instant,
}

/// Sans-IO BEP 15 client for one tracker address. See the module docs.
#[derive(Debug)]
pub struct UdpTracker {
    cfg: UdpConfig,
    /// Connection id and when it was obtained.
    connection: Option<(u64, Instant)>,
    /// Pending operations; the front one is in progress when `inflight` is set.
    queue: VecDeque<Op>,
    inflight: Option<InFlight>,
    /// Retransmissions so far for the front operation.
    retries: u32,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<UdpEvent>,
}

impl UdpTracker {
    /// A client with the BEP 15 timings.
    pub fn new(now: Instant) -> Self {
        Self::with_config(UdpConfig::default(), now)
    }

    /// A client with custom timings (tests use short ones).
    pub fn with_config(cfg: UdpConfig, _now: Instant) -> Self {
        UdpTracker {
            cfg,
            connection: None,
            queue: VecDeque::new(),
            inflight: None,
            retries: 0,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Queues an announce; it starts at once if nothing else is in progress.
    pub fn announce(&mut self, req: AnnounceRequest, now: Instant) {
        self.queue.push_back(Op::Announce(req));
        self.kick(now);
    }

    /// Queues a scrape of up to 74 info hashes (more fail with `InvalidRequest`).
    pub fn scrape(&mut self, hashes: Vec<[u8; 20]>, now: Instant) {
        if hashes.is_empty() || hashes.len() > MAX_SCRAPE_HASHES {
            self.events
                .push_back(UdpEvent::Failed(TrackerError::InvalidRequest(
                    "a UDP scrape takes 1 to 74 info hashes",
                )));
            return;
        }
        self.queue.push_back(Op::Scrape(hashes));
        self.kick(now);
    }

    /// Abandons the operation in progress without an event (its caller gave up) and
    /// starts the next one.
    pub fn abort_current(&mut self, now: Instant) {
        if self.inflight.take().is_some() {
            self.queue.pop_front();
            self.kick(now);
        }
    }

    /// Number of queued operations, including the one in progress.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Next datagram to send to the tracker.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// Next finished operation.
    pub fn poll_event(&mut self) -> Option<UdpEvent> {
        self.events.pop_front()
    }

    /// When [`UdpTracker::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.inflight.as_ref().map(|f| f.deadline)
    }

    /// Retransmits or gives up once the deadline has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(f) = &self.inflight else { return };
        if now < f.deadline {
            return;
        }
        if self.retries >= self.cfg.max_retries {
            self.finish(UdpEvent::Failed(TrackerError::TimedOut), now);
            return;
        }
        self.retries += 1;
        let resend_same = f.step == Step::Connect || self.connection_valid(now);
        if resend_same {
            // Same packet and transaction id, so a late answer to the first copy still counts.
            let packet = f.packet.clone();
            let deadline = self.deadline(now);
            self.transmit.push_back(packet);
            if let Some(f) = &mut self.inflight {
                f.deadline = deadline;
            }
        } else {
            // The connection id expired while we waited: reconnect first.
            self.send_step(now);
        }
    }

    /// Feeds a datagram received from the tracker's address. Junk, stale transaction ids and
    /// answers of the wrong kind are ignored.
    pub fn handle_datagram(&mut self, data: &[u8], now: Instant) {
        let Some(f) = &self.inflight else { return };
        let Ok(resp) = Response::decode(data, self.cfg.ipv6) else {
            return;
        };
        if resp.transaction_id() != f.transaction_id {
            return;
        }
        match (f.step, resp, self.queue.front()) {
            (_, Response::Error { message, .. }, _) => {
                // Trackers also use errors for expired connection ids: start afresh next time.
                self.connection = None;
                self.finish(UdpEvent::Failed(TrackerError::Failure(message)), now);
            }
            (Step::Connect, Response::Connect { connection_id, .. }, _) => {
                self.connection = Some((connection_id, now));
                self.send_step(now);
            }
            (
                Step::Request,
                Response::Announce {
                    interval,
                    leechers,
                    seeders,
                    peers,
                    ..
                },
                Some(Op::Announce(_)),
            ) => {
                let resp = AnnounceResponse {
                    interval: Duration::from_secs(u64::from(interval)),
                    min_interval: None,
                    peers,
                    complete: Some(seeders),
                    incomplete: Some(leechers),
                    warning: None,
                    tracker_id: None,
                };
                self.finish(UdpEvent::Announced(resp), now);
            }
            (Step::Request, Response::Scrape { mut stats, .. }, Some(Op::Scrape(hashes))) => {
                stats.truncate(hashes.len());
                self.finish(UdpEvent::Scraped(stats), now);
            }
            _ => {}
        }
    }

    fn connection_valid(&self, now: Instant) -> bool {
        self.connection.is_some_and(|(_, at)| {
            now.saturating_duration_since(at) < self.cfg.connection_id_lifetime
        })
    }

    /// `now` plus the retransmission timeout for the current retry count.
    fn deadline(&self, now: Instant) -> Instant {
        let factor = 1u32.checked_shl(self.retries).unwrap_or(u32::MAX);
        let timeout = self
            .cfg
            .retransmit_base
            .saturating_mul(factor)
            .min(MAX_TIMEOUT);
        now.checked_add(timeout).unwrap_or(now)
    }

    /// Starts the front operation if idle.
    fn kick(&mut self, now: Instant) {
        if self.inflight.is_none() && !self.queue.is_empty() {
            self.retries = 0;
            self.send_step(now);
        }
    }

    /// Sends the next packet of the front operation (connect or the request itself).
    fn send_step(&mut self, now: Instant) {
        let transaction_id: u32 = rand::random();
        let (step, req) = match (
            self.connection,
            self.connection_valid(now),
            self.queue.front(),
        ) {
            (_, _, None) => {
                self.inflight = None;
                return;
            }
            (Some((connection_id, _)), true, Some(op)) => (
                Step::Request,
                request_for(op, connection_id, transaction_id),
            ),
            _ => (Step::Connect, Request::Connect { transaction_id }),
        };
        let packet = req.encode();
        self.transmit.push_back(packet.clone());
        let deadline = self.deadline(now);
        self.inflight = Some(InFlight {
            step,
            transaction_id,
            packet,
            deadline,
        });
    }

    fn finish(&mut self, event: UdpEvent, now: Instant) {
        self.events.push_back(event);
        self.inflight = None;
        self.queue.pop_front();
        self.kick(now);
    }
}

fn request_for(op: &Op, connection_id: u64, transaction_id: u32) -> Request {
    match op {
        Op::Announce(r) => Request::Announce(AnnouncePacket {
            connection_id,
            transaction_id,
            info_hash: r.info_hash,
            peer_id: r.peer_id,
            downloaded: r.downloaded,
            left: r.left,
            uploaded: r.uploaded,
            event: r.event,
            ip: 0,
            key: r.key,
            num_want: r
                .numwant
                .map_or(-1, |n| i32::try_from(n).unwrap_or(i32::MAX)),
            port: r.port,
        }),
        Op::Scrape(hashes) => Request::Scrape {
            connection_id,
            transaction_id,
            info_hashes: hashes.clone(),
        },
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
