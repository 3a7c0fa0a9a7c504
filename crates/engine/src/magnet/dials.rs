//! Which addresses a metadata fetch dials, and when. Every address is dialled as soon
//! as a connection slot is free; addresses that arrive while every slot is taken wait
//! their turn rather than being dropped. A connection that was lost (the dial failed,
//! the peer closed, it had no metadata yet) is tried again after a pause that doubles
//! each time, up to [`MAX_TRIES`] dials; a peer that misbehaved is never dialled again.
//! Plain data and an explicit clock, so the rules are tested without sockets.

pub(crate) use crate::peer::Ended;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Most dials of one address in one fetch.
pub(crate) const MAX_TRIES: u32 = 6;

/// Pause before the second dial of an address; doubled for each further one.
pub(crate) const FIRST_RETRY: Duration = Duration::from_secs(1);

/// Longest pause between two dials of an address.
pub(crate) const MAX_RETRY: Duration = Duration::from_secs(30);

/// Most addresses a fetch remembers (a flood of tracker or DHT answers cannot grow it
/// further; addresses past it are ignored).
pub(crate) const MAX_KNOWN: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting in `ready` for a free slot.
    Queued,
    /// A connection is open (or being dialled).
    Connected,
    /// Dial again at this time.
    RetryAt(Instant),
    /// Not to be dialled again.
    Done,
}

#[derive(Debug)]
struct Entry {
    tries: u32,
    state: State,
}

/// The fetch's addresses and their dial state.
#[derive(Debug, Default)]
pub(crate) struct DialPlan {
    known: HashMap<SocketAddr, Entry>,
    ready: VecDeque<SocketAddr>,
}

impl DialPlan {
    /// A newly learnt address. One already known keeps its state; once known
    /// addresses reach [`MAX_KNOWN`] new ones are ignored.
    pub(super) fn add(&mut self, addr: SocketAddr) {
        if self.known.contains_key(&addr) || self.known.len() >= MAX_KNOWN {
            return;
        }
        self.known.insert(
            addr,
            Entry {
                tries: 0,
                state: State::Queued,
            },
        );
        self.ready.push_back(addr);
    }

    /// How many addresses the fetch knows.
    pub(super) fn known(&self) -> usize {
        self.known.len()
    }

    /// The next address to dial now, if any; it counts as connected from here on.
    pub(super) fn next(&mut self, now: Instant) -> Option<SocketAddr> {
        let due: Vec<SocketAddr> = self
            .known
            .iter()
            .filter(|(_, e)| matches!(e.state, State::RetryAt(at) if at <= now))
            .map(|(a, _)| *a)
            .collect();
        for addr in due {
            if let Some(e) = self.known.get_mut(&addr) {
                e.state = State::Queued;
            }
            self.ready.push_back(addr);
        }
        let addr = self.ready.pop_front()?;
        if let Some(e) = self.known.get_mut(&addr) {
            e.state = State::Connected;
            e.tries += 1;
        }
        Some(addr)
    }

    /// A connection to `addr` ended.
    pub(super) fn ended(&mut self, addr: SocketAddr, how: Ended, now: Instant) {
        let Some(e) = self.known.get_mut(&addr) else {
            return;
        };
        e.state = match how {
            Ended::Lost if e.tries < MAX_TRIES => {
                let pause = FIRST_RETRY
                    .saturating_mul(1 << (e.tries - 1).min(16))
                    .min(MAX_RETRY);
                State::RetryAt(now + pause)
            }
            _ => State::Done,
        };
    }

    /// When the next retry falls due (`None` when none is waiting).
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.known
            .values()
            .filter_map(|e| match e.state {
                State::RetryAt(at) => Some(at),
                _ => None,
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(n: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], n))
    }

    #[test]
    fn every_address_once_then_nothing() {
        let now = crate::clock::now();
        let mut p = DialPlan::default();
        p.add(addr(1));
        p.add(addr(2));
        p.add(addr(1));
        assert_eq!(p.next(now), Some(addr(1)));
        assert_eq!(p.next(now), Some(addr(2)));
        assert_eq!(p.next(now), None);
        assert_eq!(p.poll_timeout(), None);
        // Known and connected: learning it again changes nothing.
        p.add(addr(2));
        assert_eq!(p.next(now), None);
    }

    #[test]
    fn lost_connections_are_retried_with_doubling_pauses_up_to_the_limit() {
        let mut now = crate::clock::now();
        let mut p = DialPlan::default();
        p.add(addr(1));
        let mut pauses = Vec::new();
        while let Some(a) = p.next(now) {
            p.ended(a, Ended::Lost, now);
            let Some(at) = p.poll_timeout() else { break };
            pauses.push(at - now);
            assert_eq!(p.next(at - Duration::from_millis(1)), None, "dialled early");
            now = at;
        }
        let secs: Vec<u64> = pauses.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16]);
        assert_eq!(secs.len() as u32 + 1, MAX_TRIES);
        assert_eq!(p.next(now + Duration::from_secs(3600)), None);
    }

    #[test]
    fn refused_peers_are_never_dialled_again() {
        let now = crate::clock::now();
        let mut p = DialPlan::default();
        p.add(addr(1));
        let a = p.next(now).unwrap();
        p.ended(a, Ended::Refused, now);
        p.add(addr(1));
        assert_eq!(p.poll_timeout(), None);
        assert_eq!(p.next(now + Duration::from_secs(3600)), None);
    }

    #[test]
    fn waiting_addresses_keep_their_order_and_the_memory_is_bounded() {
        let now = crate::clock::now();
        let mut p = DialPlan::default();
        for n in 0..(MAX_KNOWN as u16 + 100) {
            p.add(addr(n));
        }
        let mut dialled = Vec::new();
        while let Some(a) = p.next(now) {
            dialled.push(a.port());
        }
        assert_eq!(dialled.len(), MAX_KNOWN);
        assert!(dialled.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn an_ended_unknown_address_is_ignored() {
        let mut p = DialPlan::default();
        p.ended(addr(9), Ended::Lost, crate::clock::now());
        assert_eq!(p.poll_timeout(), None);
    }
}
