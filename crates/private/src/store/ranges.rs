//! A set of byte ranges of the stream (which bytes a receiver has written and not
//! thrown away), kept as disjoint, non-adjacent intervals.

use std::collections::BTreeMap;
use std::ops::Range;

/// Disjoint half-open intervals, merged when they touch.
#[derive(Debug, Default, Clone)]
pub(crate) struct RangeSet {
    /// start → end; no two intervals overlap or touch.
    map: BTreeMap<u64, u64>,
}

impl RangeSet {
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Adds `range` (empty ranges are ignored).
    pub(crate) fn insert(&mut self, range: Range<u64>) {
        if range.start >= range.end {
            return;
        }
        let (mut start, mut end) = (range.start, range.end);
        // Intervals overlapping or touching [start, end): the one starting at or before
        // `start`, and every one starting inside.
        if let Some((&s, &e)) = self.map.range(..=start).next_back() {
            if e >= start {
                start = s;
                end = end.max(e);
            }
        }
        let absorbed: Vec<(u64, u64)> =
            self.map.range(start..=end).map(|(&s, &e)| (s, e)).collect();
        for (s, e) in absorbed {
            self.map.remove(&s);
            end = end.max(e);
        }
        self.map.insert(start, end);
    }

    /// Removes `range` from the set.
    pub(crate) fn remove(&mut self, range: Range<u64>) {
        if range.start >= range.end {
            return;
        }
        // Sorted and disjoint: walking back from the last interval starting before the
        // end, ends decrease, so the overlapping ones come first.
        let overlapping: Vec<(u64, u64)> = self
            .map
            .range(..range.end)
            .rev()
            .take_while(|(_, &e)| e > range.start)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (s, e) in overlapping {
            self.map.remove(&s);
            if s < range.start {
                self.map.insert(s, range.start);
            }
            if e > range.end {
                self.map.insert(range.end, e);
            }
        }
    }

    /// Whether every byte of `range` is in the set.
    pub(crate) fn contains(&self, range: Range<u64>) -> bool {
        if range.start >= range.end {
            return true;
        }
        self.map
            .range(..=range.start)
            .next_back()
            .is_some_and(|(_, &e)| e >= range.end)
    }

    /// The parts of the set inside `range`, in order.
    pub(crate) fn intersecting(&self, range: Range<u64>) -> impl Iterator<Item = Range<u64>> + '_ {
        let first = self
            .map
            .range(..=range.start)
            .next_back()
            .map_or(range.start, |(&s, _)| s);
        self.map
            .range(first..range.end.max(first))
            .filter_map(move |(&s, &e)| {
                let lo = s.max(range.start);
                let hi = e.min(range.end);
                (lo < hi).then_some(lo..hi)
            })
    }

    #[cfg(test)]
    fn intervals(&self) -> Vec<Range<u64>> {
        self.map.iter().map(|(&s, &e)| s..e).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn insert_merges_and_remove_splits() {
        let mut set = RangeSet::default();
        set.insert(10..20);
        set.insert(30..40);
        set.insert(20..30);
        assert_eq!(set.intervals(), vec![10..40]);
        set.insert(5..12);
        set.insert(0..0);
        assert_eq!(set.intervals(), vec![5..40]);
        set.remove(15..18);
        assert_eq!(set.intervals(), vec![5..15, 18..40]);
        assert!(set.contains(5..15));
        assert!(!set.contains(5..16));
        assert!(set.contains(20..20));
        set.remove(0..100);
        assert!(set.intervals().is_empty());
        set.insert(u64::MAX - 5..u64::MAX);
        assert!(set.contains(u64::MAX - 1..u64::MAX));
    }

    #[test]
    fn intersecting_clips() {
        let mut set = RangeSet::default();
        set.insert(0..10);
        set.insert(20..30);
        let got: Vec<_> = set.intersecting(5..25).collect();
        assert_eq!(got, vec![5..10, 20..25]);
        assert_eq!(set.intersecting(10..20).count(), 0);
        let (hi, lo) = (40, 30);
        assert_eq!(set.intersecting(hi..lo).count(), 0);
    }

    proptest! {
        /// The set behaves like a bitmap over a small universe.
        #[test]
        fn matches_a_bitmap(ops in proptest::collection::vec((any::<bool>(), 0u64..64, 0u64..64), 0..40)) {
            let mut set = RangeSet::default();
            let mut bits = [false; 64];
            for (add, a, b) in ops {
                let r = a.min(b)..a.max(b);
                if add { set.insert(r.clone()) } else { set.remove(r.clone()) }
                for i in r { bits[i as usize] = add; }
                let iv = set.intervals();
                for w in iv.windows(2) { prop_assert!(w[0].end < w[1].start); }
                for (i, bit) in bits.iter().enumerate() {
                    let i = i as u64;
                    prop_assert_eq!(set.contains(i..i + 1), *bit);
                }
                let from_iter: u64 = set.intersecting(0..64).map(|r| r.end - r.start).sum();
                prop_assert_eq!(from_iter, bits.iter().filter(|b| **b).count() as u64);
            }
        }
    }
}
