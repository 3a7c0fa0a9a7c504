//! The address book of one torrent: peers we heard of and when we may try them again.
//!
//! The book is capped at [`MAX_KNOWN`] addresses. A full book must not lock out peers
//! learned later (a PEX flood or a tracker full of dead addresses could otherwise fill
//! it for good): a user-given address takes the place of a discovered one that is not
//! in use, and a discovered address takes the place of one that already failed to
//! connect, the one that failed most first.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Most addresses remembered per torrent; more replace failed ones or are ignored (a
/// tracker or peer cannot make us grow without bound).
const MAX_KNOWN: usize = 2000;

/// How long a user-given peer that turned out to be a fellow seed is left alone.
const FINISHED_RETRY: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Entry {
    /// Given by the user: retried for as long as the torrent runs.
    persistent: bool,
    failures: u32,
    next_try: Instant,
    connected: bool,
}

/// Candidate addresses in the order they should be tried.
#[derive(Debug, Default)]
pub(crate) struct PeerBook {
    entries: HashMap<SocketAddr, Entry>,
    queue: VecDeque<SocketAddr>,
}

impl PeerBook {
    /// Adds `addr` unless known or not dialable (port 0, unspecified, multicast or
    /// broadcast: a tracker, PEX or DHT answer cannot point our dials there);
    /// `persistent` addresses are retried forever.
    pub(crate) fn add(&mut self, addr: SocketAddr, persistent: bool, now: Instant) {
        if !shoal_compact::is_dialable(&addr) {
            return;
        }
        if let Some(e) = self.entries.get_mut(&addr) {
            e.persistent |= persistent;
            return;
        }
        if self.entries.len() >= MAX_KNOWN && !self.evict_for(persistent) {
            return;
        }
        self.entries.insert(
            addr,
            Entry {
                persistent,
                failures: 0,
                next_try: now,
                connected: false,
            },
        );
        self.queue.push_back(addr);
    }

    /// Makes room for a new address in a full book (see the module docs); false if
    /// nothing may go.
    fn evict_for(&mut self, persistent: bool) -> bool {
        let min_failures = if persistent { 0 } else { 1 };
        let victim = self
            .entries
            .iter()
            .filter(|(_, e)| !e.persistent && !e.connected && e.failures >= min_failures)
            .max_by_key(|(_, e)| (e.failures, e.next_try))
            .map(|(addr, _)| *addr);
        let Some(victim) = victim else {
            return false;
        };
        self.entries.remove(&victim);
        // Evicted addresses stay in the queue until a scan passes them; keep it short.
        if self.queue.len() > 2 * MAX_KNOWN {
            let entries = &self.entries;
            self.queue.retain(|a| entries.contains_key(a));
        }
        true
    }

    /// The next address due for a connection attempt, marked as in use.
    pub(crate) fn next_candidate(&mut self, now: Instant) -> Option<SocketAddr> {
        for _ in 0..self.queue.len() {
            let addr = self.queue.pop_front()?;
            let Some(e) = self.entries.get_mut(&addr) else {
                continue;
            };
            if e.connected {
                continue;
            }
            if e.next_try <= now {
                e.connected = true;
                return Some(addr);
            }
            self.queue.push_back(addr);
        }
        None
    }

    /// The next address due for a dial whose IP `is_banned` does not refuse, marked as
    /// in use. Banned addresses met on the way stay marked as in use, so they are not
    /// offered again.
    pub(crate) fn next_dial(
        &mut self,
        now: Instant,
        is_banned: impl Fn(IpAddr) -> bool,
    ) -> Option<SocketAddr> {
        loop {
            let addr = self.next_candidate(now)?;
            if !is_banned(addr.ip()) {
                return Some(addr);
            }
        }
    }

    /// Records a connection to `addr` made elsewhere (a metadata connection that went
    /// on to trade pieces) as in use, so it is not dialled a second time meanwhile.
    /// False when the address is in use already; then the caller does not release it.
    pub(crate) fn claim(&mut self, addr: SocketAddr, now: Instant) -> bool {
        self.add(addr, false, now);
        match self.entries.get_mut(&addr) {
            Some(e) if !e.connected => {
                e.connected = true;
                true
            }
            _ => false,
        }
    }

    /// The connection ended because both sides are seeds: forget the address, or for
    /// a user-given one, wait [`FINISHED_RETRY`] before dialling it again.
    pub(crate) fn release_finished(&mut self, addr: SocketAddr, now: Instant) {
        let Some(e) = self.entries.get_mut(&addr) else {
            return;
        };
        if !e.persistent {
            self.entries.remove(&addr);
            return;
        }
        e.connected = false;
        e.failures = 0;
        e.next_try = now + FINISHED_RETRY;
        self.queue.push_back(addr);
    }

    /// Makes every address not in use due now, forgetting back-offs: the torrent needs
    /// data again (a re-check found damage, or more files were selected), so seeds left
    /// alone as fellow seeds are useful again.
    pub(crate) fn retry_all(&mut self, now: Instant) {
        for e in self.entries.values_mut() {
            if !e.connected {
                e.failures = 0;
                e.next_try = now;
            }
        }
    }

    /// The attempt or connection ended; `failed` connections back off exponentially and
    /// non-persistent addresses are forgotten after a few failures.
    pub(crate) fn release(&mut self, addr: SocketAddr, failed: bool, now: Instant) {
        let Some(e) = self.entries.get_mut(&addr) else {
            return;
        };
        e.connected = false;
        if failed {
            e.failures += 1;
        } else {
            e.failures = 0;
        }
        if !e.persistent && e.failures >= 3 {
            self.entries.remove(&addr);
            return;
        }
        let backoff = if e.persistent {
            Duration::from_secs(2u64.pow(e.failures.min(3)))
        } else {
            Duration::from_secs(30u64 << e.failures.min(4))
        };
        e.next_try = now + backoff;
        self.queue.push_back(addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undialable_addresses_are_not_taken() {
        let now = crate::clock::now();
        let mut book = PeerBook::default();
        for bad in [
            "1.2.3.4:0",
            "0.0.0.0:80",
            "224.1.2.3:80",
            "255.255.255.255:80",
        ] {
            book.add(bad.parse().unwrap(), true, now);
        }
        assert_eq!(book.next_candidate(now), None);
    }

    #[test]
    fn candidates_back_off_and_expire() {
        let now = crate::clock::now();
        let mut book = PeerBook::default();
        let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        book.add(a, false, now);
        book.add(a, false, now);
        assert_eq!(book.next_candidate(now), Some(a));
        assert_eq!(book.next_candidate(now), None);
        book.release(a, true, now);
        assert_eq!(book.next_candidate(now), None);
        assert_eq!(book.next_candidate(now + Duration::from_secs(61)), Some(a));
        book.release(a, true, now);
        book.next_candidate(now + Duration::from_secs(10_000));
        book.release(a, true, now);
        assert_eq!(
            book.next_candidate(now + Duration::from_secs(100_000)),
            None
        );
    }

    #[test]
    fn finished_seeds_are_left_alone() {
        let now = crate::clock::now();
        let mut book = PeerBook::default();
        let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:1001".parse().unwrap();
        book.add(a, true, now);
        book.add(b, false, now);
        assert_eq!(book.next_candidate(now), Some(a));
        assert_eq!(book.next_candidate(now), Some(b));
        book.release_finished(a, now);
        book.release_finished(b, now);
        assert_eq!(book.next_candidate(now + Duration::from_secs(60)), None);
        assert_eq!(book.next_candidate(now + FINISHED_RETRY), Some(a));
        assert_eq!(
            book.next_candidate(now + FINISHED_RETRY),
            None,
            "b is forgotten"
        );
    }

    #[test]
    fn a_full_book_makes_room_for_later_peers() {
        let now = crate::clock::now();
        let mut book = PeerBook::default();
        let bogus = |i: usize| SocketAddr::from(([127, 200, (i / 250) as u8, (i % 250) as u8], 9));
        for i in 0..MAX_KNOWN {
            book.add(bogus(i), false, now);
        }
        // Full, nothing failed yet: a discovered address is ignored, a user-given one
        // replaces a discovered one.
        let found: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let user: SocketAddr = "127.0.0.1:1001".parse().unwrap();
        book.add(found, false, now);
        book.add(user, true, now);
        assert_eq!(book.entries.len(), MAX_KNOWN);
        assert!(!book.entries.contains_key(&found));
        assert!(book.entries.contains_key(&user));
        // Every address is tried once and fails.
        let mut tried = 0;
        while let Some(a) = book.next_candidate(now) {
            book.release(a, true, now);
            tried += 1;
        }
        assert_eq!(tried, MAX_KNOWN);
        // Now discovered addresses replace failed ones; the user's stays.
        let later: Vec<SocketAddr> = (0..100)
            .map(|i| SocketAddr::from(([127, 0, 1, i as u8], 2000)))
            .collect();
        for a in &later {
            book.add(*a, false, now);
        }
        assert!(later.iter().all(|a| book.entries.contains_key(a)));
        assert!(book.entries.contains_key(&user));
        assert_eq!(book.entries.len(), MAX_KNOWN);
        // The new addresses are tried before the failed ones are due again.
        let mut due = Vec::new();
        while let Some(a) = book.next_candidate(now + Duration::from_secs(1)) {
            due.push(a);
        }
        assert_eq!(due.len(), later.len());
        assert!(book.queue.len() <= 2 * MAX_KNOWN + 1);
    }

    #[test]
    fn banned_addresses_are_skipped_and_not_offered_again() {
        let now = crate::clock::now();
        let mut book = PeerBook::default();
        let banned: SocketAddr = "127.0.0.9:1000".parse().unwrap();
        let fine: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        book.add(banned, true, now);
        book.add(fine, true, now);
        let is_banned = |ip: IpAddr| ip == banned.ip();
        assert_eq!(book.next_dial(now, is_banned), Some(fine));
        book.release(fine, false, now);
        let later = now + Duration::from_secs(3600);
        assert_eq!(book.next_dial(later, is_banned), Some(fine));
        // Lifting the ban does not bring it back: it is still marked as in use.
        assert_eq!(book.next_dial(later, |_| false), None);
    }

    #[test]
    fn only_banned_addresses_give_no_dial() {
        let now = crate::clock::now();
        let mut book = PeerBook::default();
        book.add("127.0.0.9:1000".parse().unwrap(), false, now);
        book.add("127.0.0.9:1001".parse().unwrap(), false, now);
        assert_eq!(book.next_dial(now, |_| true), None);
    }

    #[test]
    fn persistent_peers_are_retried_quickly() {
        let now = crate::clock::now();
        let mut book = PeerBook::default();
        let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        book.add(a, true, now);
        for i in 0..10 {
            let t = now + Duration::from_secs(10 * i);
            assert_eq!(book.next_candidate(t), Some(a));
            book.release(a, true, t);
        }
    }
}
