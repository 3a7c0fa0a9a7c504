//! Which peers to dial next, sans-IO: as many addresses from the torrent's address book
//! as it has free slots under its peer cap, each with a slot under the session's
//! connection cap, skipping banned IPs. `dial.rs` carries the plan out (spawns the
//! dials); this part only decides, so it is tested with a plain book and counters.

use crate::torrent::PeerBook;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// The torrent's peer cap against what holds slots under it now.
/// Fields are public: a plain input of `plan_dials`, built fresh by each caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DialRoom {
    pub max: usize,
    /// Connections in the peer table, counting those told to leave until they have.
    pub connected: usize,
    /// Dials under way.
    pub connecting: usize,
}

impl DialRoom {
    /// How many more dials may start.
    pub(super) fn free(&self) -> usize {
        self.max
            .saturating_sub(self.connected.saturating_add(self.connecting))
    }
}

/// The dials to start now, in the book's order: at most `room.free()`, each first taking
/// a session slot from `reserve` (none left: the plan ends there, the book untouched),
/// then the next due address that `is_banned` does not refuse (none: the plan ends and
/// that slot is dropped).
pub(super) fn plan_dials<S>(
    room: DialRoom,
    book: &mut PeerBook,
    now: Instant,
    is_banned: impl Fn(IpAddr) -> bool,
    mut reserve: impl FnMut() -> Option<S>,
) -> Vec<(SocketAddr, S)> {
    let mut dials = Vec::new();
    while dials.len() < room.free() {
        let Some(slot) = reserve() else {
            break;
        };
        let Some(addr) = book.next_dial(now, &is_banned) else {
            break;
        };
        dials.push((addr, slot));
    }
    dials
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(i: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, i], 6881))
    }

    fn book_of(n: u8, now: Instant) -> PeerBook {
        let mut book = PeerBook::default();
        for i in 1..=n {
            book.add(addr(i), false, now);
        }
        book
    }

    /// A session cap with `n` slots left.
    fn slots(mut n: usize) -> impl FnMut() -> Option<()> {
        move || {
            let left = n.checked_sub(1)?;
            n = left;
            Some(())
        }
    }

    fn room(max: usize, connected: usize, connecting: usize) -> DialRoom {
        DialRoom {
            max,
            connected,
            connecting,
        }
    }

    fn addrs(dials: &[(SocketAddr, ())]) -> Vec<SocketAddr> {
        dials.iter().map(|(a, _)| *a).collect()
    }

    #[test]
    fn connections_and_dials_count_against_the_cap() {
        assert_eq!(room(5, 2, 1).free(), 2);
        assert_eq!(room(5, 5, 0).free(), 0);
        // Above a lowered cap: nothing, and no underflow.
        assert_eq!(room(2, 4, 3).free(), 0);

        let now = crate::clock::now();
        let mut book = book_of(10, now);
        let dials = plan_dials(room(5, 2, 1), &mut book, now, |_| false, slots(100));
        assert_eq!(addrs(&dials), [addr(1), addr(2)]);
        let none = plan_dials(room(5, 3, 2), &mut book, now, |_| false, slots(100));
        assert!(none.is_empty());
    }

    #[test]
    fn the_session_cap_ends_the_plan_and_leaves_the_book_alone() {
        let now = crate::clock::now();
        let mut book = book_of(4, now);
        let dials = plan_dials(room(10, 0, 0), &mut book, now, |_| false, slots(1));
        assert_eq!(addrs(&dials), [addr(1)]);
        // The addresses not dialled are still due.
        let rest = plan_dials(room(10, 1, 0), &mut book, now, |_| false, slots(10));
        assert_eq!(addrs(&rest), [addr(2), addr(3), addr(4)]);
    }

    #[test]
    fn an_empty_book_ends_the_plan() {
        let now = crate::clock::now();
        let mut book = book_of(2, now);
        let mut reserved = 0;
        let reserve = || {
            reserved += 1;
            Some(())
        };
        let dials = plan_dials(room(10, 0, 0), &mut book, now, |_| false, reserve);
        assert_eq!(dials.len(), 2);
        // One more slot was taken to look, and dropped with the plan's end.
        assert_eq!(reserved, 3);
    }

    #[test]
    fn banned_addresses_take_no_room() {
        let now = crate::clock::now();
        let mut book = book_of(5, now);
        let banned = |ip: IpAddr| ip == addr(1).ip() || ip == addr(3).ip();
        let dials = plan_dials(room(2, 0, 0), &mut book, now, banned, slots(2));
        assert_eq!(addrs(&dials), [addr(2), addr(4)]);
    }

    #[test]
    fn addresses_not_due_are_not_dialled() {
        let now = crate::clock::now();
        let mut book = book_of(1, now);
        let first = plan_dials(room(5, 0, 0), &mut book, now, |_| false, slots(5));
        assert_eq!(addrs(&first), [addr(1)]);
        book.release(addr(1), true, now);
        let soon = now + std::time::Duration::from_secs(1);
        assert!(plan_dials(room(5, 0, 0), &mut book, soon, |_| false, slots(5)).is_empty());
    }
}
