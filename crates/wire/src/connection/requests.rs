//! Our outstanding requests: O(1) lookup by (piece, begin) plus send order for
//! timeouts, without allocating per block once the containers have grown.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use crate::BlockRef;

#[derive(Debug, Clone, Copy)]
struct Entry {
    length: u32,
    sent_at: Instant,
    seq: u64,
}

/// Requests in flight. `order` lists them by send time; an entry there is stale (and
/// skipped) once its key is gone from `map` or was re-requested under a newer `seq`.
#[derive(Debug, Default)]
pub(crate) struct Outstanding {
    map: HashMap<(u32, u32), Entry>,
    order: VecDeque<(u64, u32, u32)>,
    next_seq: u64,
}

impl Outstanding {
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn contains(&self, b: &BlockRef) -> bool {
        self.map
            .get(&(b.piece, b.begin))
            .is_some_and(|e| e.length == b.length)
    }

    /// Adds a request; false if one for the same (piece, begin) is already in flight.
    pub(crate) fn insert(&mut self, b: BlockRef, now: Instant) -> bool {
        if self.map.contains_key(&(b.piece, b.begin)) {
            return false;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.map.insert(
            (b.piece, b.begin),
            Entry {
                length: b.length,
                sent_at: now,
                seq,
            },
        );
        self.order.push_back((seq, b.piece, b.begin));
        true
    }

    /// Removes the request matching all of piece, begin and length.
    pub(crate) fn remove(&mut self, b: &BlockRef) -> bool {
        if !self.contains(b) {
            return false;
        }
        self.map.remove(&(b.piece, b.begin));
        self.tidy();
        true
    }

    fn is_live(&self, &(seq, piece, begin): &(u64, u32, u32)) -> bool {
        self.map.get(&(piece, begin)).is_some_and(|e| e.seq == seq)
    }

    /// Drops stale entries at the front, and compacts when stale entries dominate
    /// (a peer serving out of order).
    fn tidy(&mut self) {
        while let Some(front) = self.order.front() {
            if self.is_live(front) {
                break;
            }
            self.order.pop_front();
        }
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order.retain(|&(seq, piece, begin)| {
                map.get(&(piece, begin)).is_some_and(|e| e.seq == seq)
            });
        }
    }

    /// The oldest request still in flight and when it was sent.
    pub(crate) fn oldest(&self) -> Option<(BlockRef, Instant)> {
        self.order
            .iter()
            .find(|k| self.is_live(k))
            .and_then(|&(_, piece, begin)| {
                let e = self.map.get(&(piece, begin))?;
                Some((
                    BlockRef {
                        piece,
                        begin,
                        length: e.length,
                    },
                    e.sent_at,
                ))
            })
    }

    /// Removes and returns every request, oldest first.
    pub(crate) fn drain(&mut self) -> Vec<BlockRef> {
        let mut out = Vec::with_capacity(self.map.len());
        for &(seq, piece, begin) in &self.order {
            if let Some(e) = self.map.get(&(piece, begin)).filter(|e| e.seq == seq) {
                out.push(BlockRef {
                    piece,
                    begin,
                    length: e.length,
                });
            }
        }
        self.map.clear();
        self.order.clear();
        out
    }

    /// Every request in flight, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = BlockRef> + '_ {
        self.order.iter().filter_map(move |&(seq, piece, begin)| {
            let e = self.map.get(&(piece, begin)).filter(|e| e.seq == seq)?;
            Some(BlockRef {
                piece,
                begin,
                length: e.length,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn b(piece: u32, begin: u32) -> BlockRef {
        BlockRef {
            piece,
            begin,
            length: 16384,
        }
    }

    #[test]
    fn insert_remove_and_order() {
        let t0 = Instant::now();
        let mut o = Outstanding::default();
        assert!(o.insert(b(0, 0), t0));
        assert!(!o.insert(b(0, 0), t0));
        assert!(o.insert(b(0, 16384), t0 + Duration::from_secs(1)));
        assert!(o.insert(b(1, 0), t0 + Duration::from_secs(2)));
        assert!(!o.remove(&BlockRef {
            length: 5,
            ..b(0, 0)
        }));
        assert!(o.remove(&b(0, 16384)));
        assert_eq!(o.oldest(), Some((b(0, 0), t0)));
        assert!(o.remove(&b(0, 0)));
        assert_eq!(o.oldest(), Some((b(1, 0), t0 + Duration::from_secs(2))));
        // Re-requesting a removed block puts it at the back.
        assert!(o.insert(b(0, 0), t0 + Duration::from_secs(3)));
        assert_eq!(o.iter().collect::<Vec<_>>(), vec![b(1, 0), b(0, 0)]);
        assert_eq!(o.drain(), vec![b(1, 0), b(0, 0)]);
        assert_eq!(o.len(), 0);
        assert_eq!(o.oldest(), None);
    }

    #[test]
    fn out_of_order_service_stays_bounded() {
        let t0 = Instant::now();
        let mut o = Outstanding::default();
        o.insert(b(0, 0), t0); // never served
        for i in 1..10_000 {
            o.insert(b(i, 0), t0);
            o.remove(&b(i, 0));
        }
        assert_eq!(o.len(), 1);
        assert!(o.order.len() <= 2 + 64);
        assert_eq!(o.oldest(), Some((b(0, 0), t0)));
    }
}
