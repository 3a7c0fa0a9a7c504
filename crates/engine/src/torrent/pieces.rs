//! The one owner of a piece's progress after the picker accepted its blocks: how many
//! of its blocks are still being written, whether all of them arrived, whether its
//! hash is being checked, and whether it failed before (then its next pass feeds smart
//! ban). The picker keeps which blocks are requested and received; the disk pool only
//! writes and hashes and reports back; this is where those reports meet.
//!
//! A piece moves: receiving (blocks accepted, some still being written) → complete
//! (every block accepted; waiting for the last writes) → hashing → verified, or failed
//! and back to receiving. A failed write forgets the piece's progress (its blocks are
//! requested again) without counting as a failed hash.

use std::collections::{HashMap, HashSet};

/// Per-piece progress between block acceptance and the verdict on its hash.
#[derive(Debug, Default)]
pub(crate) struct PieceTracker {
    /// Per piece: accepted blocks not yet written.
    writes_in_flight: HashMap<u32, u32>,
    /// Pieces whose blocks are all accepted, waiting for their last writes.
    complete: HashSet<u32>,
    /// Pieces whose hash check was asked for and has not answered yet.
    hashing: HashSet<u32>,
    /// Pieces that failed verification at least once since they were last verified.
    failed_before: HashSet<u32>,
}

/// Where a piece is, as [`PieceTracker::phase`] tells it (for tests).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PiecePhase {
    /// Nothing of it is in progress here (not started, verified, or reset).
    Idle,
    /// Some accepted blocks are still being written; more blocks are expected.
    Receiving,
    /// Every block is accepted; waiting for the last writes.
    Complete,
    /// Written in full; its hash is being checked.
    Hashing,
}

/// What a hash check's outcome means for the piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Verified. `after_failure`: it had failed before, so its blocks now tell the
    /// honest senders from the bad ones.
    Passed { after_failure: bool },
    /// Failed: its blocks are wanted again.
    Failed,
    /// Not a check we were waiting for (the piece was reset meanwhile): ignore it.
    Stale,
}

impl PieceTracker {
    /// The picker accepted a block of `piece` for writing; `completes` when it was the
    /// piece's last missing block.
    pub(crate) fn on_accepted(&mut self, piece: u32, completes: bool) {
        *self.writes_in_flight.entry(piece).or_insert(0) += 1;
        if completes {
            self.complete.insert(piece);
        }
    }

    /// `blocks` accepted blocks of `piece` are on disk. True when that finished a
    /// complete piece: its hash is to be checked now (the piece is `Hashing`).
    pub(crate) fn on_written(&mut self, piece: u32, blocks: u32) -> bool {
        let left = match self.writes_in_flight.get_mut(&piece) {
            Some(n) => {
                *n = n.saturating_sub(blocks);
                *n
            }
            None => 0,
        };
        if left > 0 {
            return false;
        }
        self.writes_in_flight.remove(&piece);
        let ready = self.complete.remove(&piece);
        if ready {
            self.hashing.insert(piece);
        }
        ready
    }

    /// Writing (or hashing) `piece` failed for a local reason: its progress is
    /// forgotten and the picker must give its blocks out again.
    pub(crate) fn on_local_failure(&mut self, piece: u32) {
        self.writes_in_flight.remove(&piece);
        self.complete.remove(&piece);
        self.hashing.remove(&piece);
    }

    /// The outcome of `piece`'s hash check.
    pub(crate) fn on_hashed(&mut self, piece: u32, ok: bool) -> Verdict {
        if !self.hashing.remove(&piece) {
            return Verdict::Stale;
        }
        if ok {
            Verdict::Passed {
                after_failure: self.failed_before.remove(&piece),
            }
        } else {
            self.failed_before.insert(piece);
            Verdict::Failed
        }
    }

    /// Forgets all progress (a re-check replaced the set of verified pieces). Failure
    /// history is kept: smart ban still wants to learn from the next pass.
    pub(crate) fn reset(&mut self) {
        self.writes_in_flight.clear();
        self.complete.clear();
        self.hashing.clear();
    }

    #[cfg(test)]
    pub(crate) fn phase(&self, piece: u32) -> PiecePhase {
        if self.hashing.contains(&piece) {
            PiecePhase::Hashing
        } else if self.complete.contains(&piece) {
            PiecePhase::Complete
        } else if self.writes_in_flight.contains_key(&piece) {
            PiecePhase::Receiving
        } else {
            PiecePhase::Idle
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_piece_is_hashed_once_its_last_accepted_block_is_written() {
        let mut p = PieceTracker::default();
        p.on_accepted(3, false);
        p.on_accepted(3, false);
        assert_eq!(p.phase(3), PiecePhase::Receiving);
        assert!(!p.on_written(3, 1), "more blocks are expected");
        p.on_accepted(3, true);
        assert_eq!(p.phase(3), PiecePhase::Complete);
        // The completing block's write may land before an earlier block's.
        assert!(!p.on_written(3, 1));
        assert!(p.on_written(3, 1));
        assert_eq!(p.phase(3), PiecePhase::Hashing);
        assert_eq!(
            p.on_hashed(3, true),
            Verdict::Passed {
                after_failure: false
            }
        );
        assert_eq!(p.phase(3), PiecePhase::Idle);
    }

    #[test]
    fn writes_reported_in_one_batch_count_every_block() {
        let mut p = PieceTracker::default();
        for last in [false, false, false, true] {
            p.on_accepted(0, last);
        }
        assert!(p.on_written(0, 4));
    }

    #[test]
    fn a_failed_piece_is_received_again_and_its_next_pass_is_marked() {
        let mut p = PieceTracker::default();
        p.on_accepted(1, true);
        assert!(p.on_written(1, 1));
        assert_eq!(p.on_hashed(1, false), Verdict::Failed);
        assert_eq!(p.phase(1), PiecePhase::Idle);
        p.on_accepted(1, true);
        assert!(p.on_written(1, 1));
        assert_eq!(
            p.on_hashed(1, true),
            Verdict::Passed {
                after_failure: true
            }
        );
        // Only once: a later failure-free pass is ordinary.
        p.on_accepted(1, true);
        assert!(p.on_written(1, 1));
        assert_eq!(
            p.on_hashed(1, true),
            Verdict::Passed {
                after_failure: false
            }
        );
    }

    #[test]
    fn a_local_failure_forgets_progress_and_voids_a_pending_check() {
        let mut p = PieceTracker::default();
        p.on_accepted(2, false);
        p.on_accepted(2, true);
        p.on_local_failure(2);
        assert_eq!(p.phase(2), PiecePhase::Idle);
        // A late write report of the forgotten round does not start a check.
        assert!(!p.on_written(2, 1));
        p.on_accepted(2, true);
        assert!(p.on_written(2, 1));
        p.on_local_failure(2);
        assert_eq!(p.on_hashed(2, true), Verdict::Stale);
    }

    #[test]
    fn reset_forgets_progress_but_keeps_failure_history() {
        let mut p = PieceTracker::default();
        p.on_accepted(5, true);
        assert!(p.on_written(5, 1));
        assert_eq!(p.on_hashed(5, false), Verdict::Failed);
        p.on_accepted(5, false);
        p.on_accepted(6, true);
        p.reset();
        assert_eq!(p.phase(5), PiecePhase::Idle);
        assert_eq!(p.phase(6), PiecePhase::Idle);
        p.on_accepted(5, true);
        assert!(p.on_written(5, 1));
        assert_eq!(
            p.on_hashed(5, true),
            Verdict::Passed {
                after_failure: true
            }
        );
    }

    #[test]
    fn an_unexpected_check_is_stale() {
        let mut p = PieceTracker::default();
        assert_eq!(p.on_hashed(9, true), Verdict::Stale);
        assert!(!p.on_written(9, 1));
    }
}
