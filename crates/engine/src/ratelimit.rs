//! Token buckets capping bandwidth: one per direction for the session, and one per
//! direction for each torrent. A limit can change (or be lifted) while peers run.
//!
//! Uploads ask before sending ([`RateLimiter::try_take`]); downloads are charged after
//! a read ([`RateLimiter::charge`]) since a read's size is only known afterwards, and a
//! peer task stops reading while the bucket is in debt ([`RateLimiter::delay`]).

use parking_lot::Mutex;
use std::time::{Duration, Instant};

/// Token bucket: `rate` bytes per second, bursts up to one second's worth; rate 0 means
/// unlimited.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    rate: u64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        let cap = self.rate as f64;
        self.tokens = (self.tokens + elapsed * cap).min(cap);
    }
}

impl RateLimiter {
    /// A bucket of `rate` bytes per second (`None` = unlimited).
    pub(crate) fn new(rate: Option<u64>) -> Self {
        let rate = rate.unwrap_or(0);
        RateLimiter {
            bucket: Mutex::new(Bucket {
                rate,
                tokens: rate as f64,
                last: crate::clock::now(),
            }),
        }
    }

    /// Changes the rate (`None` = unlimited); the bucket starts over full.
    pub(crate) fn set_rate(&self, rate: Option<u64>) {
        let mut b = self.bucket.lock();
        b.rate = rate.unwrap_or(0);
        b.tokens = b.rate as f64;
        b.last = crate::clock::now();
    }

    /// The rate in bytes per second, `None` when unlimited.
    pub(crate) fn rate(&self) -> Option<u64> {
        let rate = self.bucket.lock().rate;
        (rate != 0).then_some(rate)
    }

    /// Takes `n` bytes' worth of tokens, or says how long to wait before trying again.
    /// A request larger than the burst is allowed once the bucket is full.
    pub(crate) fn try_take(&self, n: u64, now: Instant) -> Result<(), Duration> {
        let mut b = self.bucket.lock();
        if b.rate == 0 {
            return Ok(());
        }
        b.refill(now);
        let cap = b.rate as f64;
        let need = (n as f64).min(cap);
        if b.tokens >= need {
            b.tokens -= n as f64;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((need - b.tokens) / cap))
        }
    }

    /// Returns tokens taken by [`Self::try_take`] for bytes that were not sent after all.
    pub(crate) fn give_back(&self, n: u64) {
        let mut b = self.bucket.lock();
        let cap = b.rate as f64;
        b.tokens = (b.tokens + n as f64).min(cap);
    }

    /// Charges `n` bytes already transferred; the bucket may go into debt.
    pub(crate) fn charge(&self, n: u64, now: Instant) {
        let mut b = self.bucket.lock();
        if b.rate == 0 {
            return;
        }
        b.refill(now);
        b.tokens -= n as f64;
    }

    /// How long until the bucket is out of debt (`None`: not in debt, or unlimited).
    pub(crate) fn delay(&self, now: Instant) -> Option<Duration> {
        let mut b = self.bucket.lock();
        if b.rate == 0 {
            return None;
        }
        b.refill(now);
        (b.tokens < 0.0).then(|| Duration::from_secs_f64(-b.tokens / b.rate as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforces_rate_over_time() {
        let start = crate::clock::now();
        let rl = RateLimiter::new(Some(100_000));
        let mut sent = 0u64;
        let mut now = start;
        while now < start + Duration::from_secs(10) {
            match rl.try_take(16_384, now) {
                Ok(()) => sent += 16_384,
                Err(wait) => now += wait,
            }
        }
        // one second of burst plus ten seconds at the rate
        assert!(sent <= 1_100_000 + 16_384, "sent {sent}");
        assert!(sent >= 900_000, "sent {sent}");
    }

    #[test]
    fn charging_reads_keeps_the_average_rate() {
        let start = crate::clock::now();
        let rl = RateLimiter::new(Some(200_000));
        let mut got = 0u64;
        let mut now = start;
        while now < start + Duration::from_secs(10) {
            match rl.delay(now) {
                Some(wait) => now += wait,
                None => {
                    rl.charge(65_536, now);
                    got += 65_536;
                }
            }
        }
        assert!(got <= 2_200_000 + 65_536, "got {got}");
        assert!(got >= 1_800_000, "got {got}");
    }

    #[test]
    fn unlimited_and_changed_rates() {
        let now = crate::clock::now();
        let rl = RateLimiter::new(None);
        assert!(rl.try_take(u64::MAX / 2, now).is_ok());
        rl.charge(1 << 40, now);
        assert_eq!(rl.delay(now), None);
        rl.set_rate(Some(1000));
        rl.charge(3000, now);
        assert!(rl.delay(now).is_some());
        assert_eq!(rl.rate(), Some(1000));
        rl.set_rate(None);
        assert_eq!(rl.delay(now), None);
        assert_eq!(rl.rate(), None);
    }
}
