//! Queueing: which torrents may run. At most `max_active_downloads` incomplete and
//! `max_active_seeds` complete torrents run at once; the others wait ("queued") and
//! start in add order as slots free. Pure: the manager applies the plan.

/// What the planner needs to know about one torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<Id> {
    /// The torrent.
    pub id: Id,
    /// Position in the add order (lower = earlier).
    pub order: u64,
    /// Every piece is verified (it would seed, not download).
    pub complete: bool,
}

/// The torrents to run among `candidates` (those not paused by the user, not failed,
/// and loaded), earliest added first within each kind.
pub fn plan<Id: Copy>(
    candidates: &mut [Candidate<Id>],
    max_active_downloads: usize,
    max_active_seeds: usize,
) -> Vec<Id> {
    candidates.sort_by_key(|c| c.order);
    let mut downloads = 0;
    let mut seeds = 0;
    let mut run = Vec::new();
    for c in candidates.iter() {
        let (count, max) = if c.complete {
            (&mut seeds, max_active_seeds)
        } else {
            (&mut downloads, max_active_downloads)
        };
        if *count < max {
            *count += 1;
            run.push(c.id);
        }
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: u8, order: u64, complete: bool) -> Candidate<u8> {
        Candidate {
            id,
            order,
            complete,
        }
    }

    #[test]
    fn earliest_first_within_limits() {
        let mut cands = vec![
            c(3, 30, false),
            c(1, 10, false),
            c(2, 20, false),
            c(9, 5, true),
        ];
        assert_eq!(plan(&mut cands, 2, 1), vec![9, 1, 2]);
        assert_eq!(plan(&mut cands, 1, 0), vec![1]);
    }

    #[test]
    fn a_finished_download_frees_its_slot() {
        let mut cands = vec![c(1, 1, true), c(2, 2, false)];
        assert_eq!(plan(&mut cands, 1, 1), vec![1, 2]);
    }
}
