//! When to send BEP 14 announces: every torrent is announced when added and then every
//! [`LSD_ANNOUNCE_INTERVAL`], up to [`MAX_INFOHASHES_PER_DATAGRAM`] torrents per
//! datagram, and never more than one datagram per [`LSD_MIN_GAP`] overall (across all
//! address families). The caller sends what [`LsdScheduler::poll_datagram`] returns.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::lsd::{LsdAnnounce, LsdError, LsdFamily, MAX_INFOHASHES_PER_DATAGRAM};

/// How often each torrent is announced.
pub const LSD_ANNOUNCE_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Least time between two datagrams.
pub const LSD_MIN_GAP: Duration = Duration::from_secs(1);

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LsdDatagram {
    /// The multicast group it is for (send it from a socket of this family).
    pub family: LsdFamily,
    /// The multicast group and port to send to.
    pub dest: SocketAddr,
    /// The announce, encoded.
    pub payload: Vec<u8>,
}

/// Announce schedule for all (public) torrents of a client.
#[derive(Debug, Clone)]
pub struct LsdScheduler {
    port: u16,
    cookie: String,
    families: Vec<LsdFamily>,
    /// Torrent → when it is next due.
    torrents: BTreeMap<[u8; 20], Instant>,
    queue: VecDeque<LsdDatagram>,
    last_sent: Option<Instant>,
}

impl LsdScheduler {
    /// Announces our listen `port` with `cookie` (see [`crate::lsd::random_cookie`]) to
    /// the groups of `families`.
    pub fn new(port: u16, cookie: String, families: &[LsdFamily]) -> Self {
        let mut fams = Vec::new();
        for &family in families {
            if !fams.contains(&family) {
                fams.push(family);
            }
        }
        LsdScheduler {
            port,
            cookie,
            families: fams,
            torrents: BTreeMap::new(),
            queue: VecDeque::new(),
            last_sent: None,
        }
    }

    /// Our cookie: announces that carry it are our own, looped back.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// Changes the announced port; announces already queued keep the old one.
    pub fn set_port(&mut self, port: u16) {
        self.port = port;
    }

    /// Starts announcing `info_hash` (due at once). Do not add private torrents.
    pub fn add_torrent(&mut self, info_hash: [u8; 20], now: Instant) {
        self.torrents.entry(info_hash).or_insert(now);
    }

    /// Stops announcing `info_hash`.
    pub fn remove_torrent(&mut self, info_hash: &[u8; 20]) {
        self.torrents.remove(info_hash);
    }

    /// The next datagram to send at `now`, if one is due and the rate allows.
    pub fn poll_datagram(&mut self, now: Instant) -> Option<LsdDatagram> {
        if self.gap_until().is_some_and(|ready| now < ready) {
            return None;
        }
        if self.queue.is_empty() {
            self.fill_queue(now);
        }
        let datagram = self.queue.pop_front()?;
        self.last_sent = Some(now);
        Some(datagram)
    }

    /// When [`poll_datagram`](Self::poll_datagram) should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.queue.is_empty() {
            // Queued datagrams go as soon as the gap allows (a queue implies a send).
            return self.gap_until().or(self.last_sent);
        }
        if self.families.is_empty() {
            return None;
        }
        let due = *self.torrents.values().min()?;
        Some(self.gap_until().map_or(due, |ready| ready.max(due)))
    }

    /// Parses a received datagram, ignoring our own announces (`Ok(None)`).
    pub fn parse(&self, datagram: &[u8]) -> Result<Option<LsdAnnounce>, LsdError> {
        LsdAnnounce::parse_foreign(datagram, &self.cookie)
    }

    fn gap_until(&self) -> Option<Instant> {
        self.last_sent
            .and_then(|last| last.checked_add(LSD_MIN_GAP))
    }

    /// Queues one datagram per family for up to a datagram's worth of due torrents.
    fn fill_queue(&mut self, now: Instant) {
        if self.families.is_empty() {
            return;
        }
        let next = now.checked_add(LSD_ANNOUNCE_INTERVAL).unwrap_or(now);
        let mut info_hashes = Vec::new();
        for (hash, due) in self.torrents.iter_mut().filter(|(_, due)| **due <= now) {
            if info_hashes.len() == MAX_INFOHASHES_PER_DATAGRAM {
                break;
            }
            info_hashes.push(*hash);
            *due = next;
        }
        if info_hashes.is_empty() {
            return;
        }
        let announce = LsdAnnounce {
            port: self.port,
            info_hashes,
            cookie: Some(self.cookie.clone()),
        };
        for &family in &self.families {
            self.queue.push_back(LsdDatagram {
                family,
                dest: family.group(),
                payload: announce.encode(family),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(d: &LsdDatagram) -> Vec<[u8; 20]> {
        LsdAnnounce::parse(&d.payload).unwrap().info_hashes
    }

    #[test]
    fn announces_new_torrents_then_every_interval() {
        let t0 = Instant::now();
        let mut s = LsdScheduler::new(6881, "me".into(), &[LsdFamily::V4]);
        assert_eq!(s.poll_datagram(t0), None);
        assert_eq!(s.poll_timeout(), None);
        s.add_torrent([1; 20], t0);
        assert_eq!(s.poll_timeout(), Some(t0));
        let d = s.poll_datagram(t0).unwrap();
        assert_eq!(d.dest, LsdFamily::V4.group());
        assert_eq!(hashes(&d), vec![[1; 20]]);
        let a = LsdAnnounce::parse(&d.payload).unwrap();
        assert_eq!((a.port, a.cookie.as_deref()), (6881, Some("me")));
        // Our own announce is recognised.
        assert_eq!(s.parse(&d.payload), Ok(None));
        assert_eq!(s.poll_datagram(t0 + Duration::from_secs(10)), None);
        assert_eq!(s.poll_timeout(), Some(t0 + LSD_ANNOUNCE_INTERVAL));
        assert!(s.poll_datagram(t0 + LSD_ANNOUNCE_INTERVAL).is_some());
        s.remove_torrent(&[1; 20]);
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn at_most_one_datagram_per_second() {
        let t0 = Instant::now();
        let mut s = LsdScheduler::new(1, "c".into(), &[LsdFamily::V4, LsdFamily::V6]);
        for i in 0..25u8 {
            s.add_torrent([i; 20], t0);
        }
        let first = s.poll_datagram(t0).unwrap();
        assert_eq!(first.family, LsdFamily::V4);
        assert_eq!(hashes(&first).len(), MAX_INFOHASHES_PER_DATAGRAM);
        assert_eq!(s.poll_datagram(t0 + Duration::from_millis(999)), None);
        assert_eq!(s.poll_timeout(), Some(t0 + LSD_MIN_GAP));
        let t1 = t0 + LSD_MIN_GAP;
        let second = s.poll_datagram(t1).unwrap();
        assert_eq!(second.family, LsdFamily::V6);
        assert_eq!(hashes(&second), hashes(&first));
        let t2 = t1 + LSD_MIN_GAP;
        let third = s.poll_datagram(t2).unwrap();
        assert_eq!(hashes(&third).len(), 5);
        let fourth = s.poll_datagram(t2 + LSD_MIN_GAP).unwrap();
        assert_eq!(fourth.family, LsdFamily::V6);
        assert_eq!(s.poll_datagram(t2 + LSD_MIN_GAP * 2), None);
        // Next round: the first batch is due an interval after it was sent.
        assert_eq!(s.poll_timeout(), Some(t0 + LSD_ANNOUNCE_INTERVAL));
    }

    #[test]
    fn no_families_means_no_traffic() {
        let t0 = Instant::now();
        let mut s = LsdScheduler::new(1, "c".into(), &[]);
        s.add_torrent([1; 20], t0);
        assert_eq!(s.poll_datagram(t0), None);
        assert_eq!(s.poll_timeout(), None);
    }
}
