//! A token bucket shared by the peer tasks of a session to cap upload bandwidth.

use parking_lot::Mutex;
use std::time::{Duration, Instant};

/// Token bucket: `rate` bytes per second, bursts up to one second's worth.
#[derive(Debug)]
pub struct RateLimiter {
    rate: u64,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    pub fn new(rate: u64) -> Self {
        let rate = rate.max(1);
        RateLimiter {
            rate,
            bucket: Mutex::new(Bucket {
                tokens: rate as f64,
                last: Instant::now(),
            }),
        }
    }

    /// Takes `n` bytes' worth of tokens, or says how long to wait before trying again.
    /// A request larger than the burst is allowed once the bucket is full.
    pub fn try_take(&self, n: u64, now: Instant) -> Result<(), Duration> {
        let mut b = self.bucket.lock();
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.last = now;
        let cap = self.rate as f64;
        b.tokens = (b.tokens + elapsed * cap).min(cap);
        let need = (n as f64).min(cap);
        if b.tokens >= need {
            b.tokens -= n as f64;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((need - b.tokens) / cap))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforces_rate_over_time() {
        let start = Instant::now();
        let rl = RateLimiter::new(100_000);
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
}
