//! Transfer-rate measurement over a sliding window, driven by caller-supplied `Instant`s
//! so tests with a fake clock are deterministic.

use std::time::{Duration, Instant};

/// Width of one bucket.
const BUCKET: Duration = Duration::from_millis(250);
/// Buckets in the window: 8 × 250 ms = 2 s.
const BUCKETS: usize = 8;
/// The whole window.
pub(crate) const WINDOW: Duration = Duration::from_millis(250 * BUCKETS as u64);

/// Bytes per bucket in a ring; a bucket is reused once its epoch falls out of the window.
#[derive(Debug, Clone)]
pub(crate) struct RateMeter {
    origin: Instant,
    bytes: [u64; BUCKETS],
    epochs: [u64; BUCKETS],
    total: u64,
}

impl RateMeter {
    pub(crate) fn new(origin: Instant) -> Self {
        RateMeter {
            origin,
            bytes: [0; BUCKETS],
            epochs: [0; BUCKETS],
            total: 0,
        }
    }

    fn epoch(&self, now: Instant) -> u64 {
        (now.saturating_duration_since(self.origin).as_nanos() / BUCKET.as_nanos()) as u64
    }

    pub(crate) fn add(&mut self, n: u64, now: Instant) {
        let epoch = self.epoch(now);
        let slot = (epoch % BUCKETS as u64) as usize;
        if self.epochs[slot] != epoch {
            self.epochs[slot] = epoch;
            self.bytes[slot] = 0;
        }
        self.bytes[slot] += n;
        self.total += n;
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Bytes per second over the window ending at `now` (over the time since the
    /// origin while that is shorter than the window, but at least one bucket).
    pub(crate) fn rate(&self, now: Instant) -> u64 {
        let cur = self.epoch(now);
        let oldest = cur.saturating_sub(BUCKETS as u64 - 1);
        let sum: u64 = (0..BUCKETS)
            .filter(|&i| (oldest..=cur).contains(&self.epochs[i]))
            .map(|i| self.bytes[i])
            .sum();
        if sum == 0 {
            return 0;
        }
        let elapsed = now.saturating_duration_since(self.origin);
        // The current bucket is partly filled: the window spans the full older buckets
        // plus the elapsed part of the current one.
        let into_bucket = Duration::from_nanos((elapsed.as_nanos() % BUCKET.as_nanos()) as u64);
        let span = (BUCKET * (BUCKETS as u32 - 1) + into_bucket)
            .min(elapsed)
            .max(BUCKET);
        (u128::from(sum) * 1_000_000_000 / span.as_nanos()) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_rate_is_measured() {
        let t0 = Instant::now();
        let mut m = RateMeter::new(t0);
        // 100 KiB every 100 ms = 1 MiB/s for 5 s.
        for i in 1..=50 {
            m.add(100 * 1024, t0 + Duration::from_millis(100 * i));
        }
        let r = m.rate(t0 + Duration::from_millis(5000));
        assert!((1_000_000..1_100_000).contains(&r), "{r}");
        assert_eq!(m.total(), 50 * 100 * 1024);
    }

    #[test]
    fn young_meter_uses_elapsed_time_and_old_data_expires() {
        let t0 = Instant::now();
        let mut m = RateMeter::new(t0);
        m.add(500_000, t0 + Duration::from_millis(400));
        let r = m.rate(t0 + Duration::from_millis(500));
        assert_eq!(r, 1_000_000);
        assert_eq!(m.rate(t0 + Duration::from_secs(3)), 0);
        assert_eq!(m.rate(t0), 0);
    }
}
