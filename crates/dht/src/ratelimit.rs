//! Rate limiting of incoming queries: a token bucket per source IP (kept in a bounded
//! map) plus one global bucket, so a single source — or a flood of spoofed ones —
//! cannot make us send unbounded replies.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Limits for [`RateLimiter`]. Rates are queries per second; bursts are bucket sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Queries one source IP may send in a burst.
    pub per_ip_burst: u32,
    /// Queries per second one source IP may send, sustained.
    pub per_ip_rate: u32,
    /// Queries all sources together may send in a burst.
    pub global_burst: u32,
    /// Queries per second all sources together may send, sustained.
    pub global_rate: u32,
    /// Most source IPs tracked at once; new sources beyond it are refused until idle
    /// entries can be dropped.
    pub max_tracked_ips: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            per_ip_burst: 20,
            per_ip_rate: 5,
            global_burst: 1000,
            global_rate: 500,
            max_tracked_ips: 4096,
        }
    }
}

/// A token bucket counting in thousandths of a query.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    milli: u64,
    last: Instant,
}

impl Bucket {
    fn full(burst: u32, now: Instant) -> Bucket {
        Bucket {
            milli: u64::from(burst) * 1000,
            last: now,
        }
    }

    /// Adds what `rate` queries per second earned since the last refill. The clock only
    /// moves on when at least a thousandth of a query was earned: under a flood, calls
    /// come microseconds apart, and dropping each call's fraction would stop the bucket
    /// from ever refilling (which starved every honest source once a flood had drained
    /// the global bucket).
    fn refill(&mut self, burst: u32, rate: u32, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last);
        let add = elapsed.as_nanos().saturating_mul(u128::from(rate)) / 1_000_000;
        if add == 0 {
            return;
        }
        let cap = u64::from(burst) * 1000;
        self.milli = u64::try_from(u128::from(self.milli).saturating_add(add))
            .unwrap_or(u64::MAX)
            .min(cap);
        self.last = now;
    }

    fn take(&mut self) -> bool {
        if self.milli >= 1000 {
            self.milli -= 1000;
            true
        } else {
            false
        }
    }
}

/// Decides which incoming queries are answered: token buckets per source IP and one
/// global bucket.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    cfg: RateLimitConfig,
    per_ip: BTreeMap<IpAddr, Bucket>,
    global: Bucket,
    last_purge: Option<Instant>,
}

impl RateLimiter {
    /// A limiter whose buckets start full.
    pub fn new(cfg: RateLimitConfig, now: Instant) -> RateLimiter {
        RateLimiter {
            cfg,
            per_ip: BTreeMap::new(),
            global: Bucket::full(cfg.global_burst, now),
            last_purge: None,
        }
    }

    /// Whether a query from `ip` may be answered now (and charges for it).
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        let cfg = self.cfg;
        self.global.refill(cfg.global_burst, cfg.global_rate, now);
        if !self.per_ip.contains_key(&ip) && self.per_ip.len() >= cfg.max_tracked_ips {
            self.purge(now);
            if self.per_ip.len() >= cfg.max_tracked_ips {
                return false;
            }
        }
        let bucket = self
            .per_ip
            .entry(ip)
            .or_insert_with(|| Bucket::full(cfg.per_ip_burst, now));
        bucket.refill(cfg.per_ip_burst, cfg.per_ip_rate, now);
        if bucket.milli < 1000 || self.global.milli < 1000 {
            return false;
        }
        bucket.take() && self.global.take()
    }

    /// Drops sources whose bucket has refilled completely (they are indistinguishable
    /// from new ones). Runs at most once a second to keep floods cheap.
    fn purge(&mut self, now: Instant) {
        if self
            .last_purge
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        self.last_purge = Some(now);
        let cfg = self.cfg;
        self.per_ip.retain(|_, b| {
            b.refill(cfg.per_ip_burst, cfg.per_ip_rate, now);
            b.milli < u64::from(cfg.per_ip_burst) * 1000
        });
    }

    /// Number of source IPs currently tracked.
    pub fn tracked(&self) -> usize {
        self.per_ip.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(i: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, i])
    }

    #[test]
    fn per_ip_burst_then_refill() {
        let t0 = Instant::now();
        let cfg = RateLimitConfig {
            per_ip_burst: 3,
            per_ip_rate: 2,
            ..RateLimitConfig::default()
        };
        let mut rl = RateLimiter::new(cfg, t0);
        assert!((0..3).all(|_| rl.allow(ip(1), t0)));
        assert!(!rl.allow(ip(1), t0));
        assert!(rl.allow(ip(2), t0), "other sources unaffected");
        assert!(rl.allow(ip(1), t0 + Duration::from_millis(500)));
        assert!(!rl.allow(ip(1), t0 + Duration::from_millis(500)));
    }

    #[test]
    fn buckets_refill_under_calls_microseconds_apart() {
        let t0 = Instant::now();
        let cfg = RateLimitConfig {
            per_ip_burst: 20,
            per_ip_rate: 5,
            global_burst: 1000,
            global_rate: 500,
            max_tracked_ips: 4096,
        };
        let mut rl = RateLimiter::new(cfg, t0);
        // A flood of 20,000 queries a second from one source for 2 s: it gets its
        // burst plus its rate, and the global bucket refills meanwhile.
        let mut flood = 0;
        let mut t = t0;
        for _ in 0..40_000 {
            t += Duration::from_micros(50);
            flood += u32::from(rl.allow(ip(1), t));
        }
        assert!((29..=31).contains(&flood), "flooder got {flood}");
        let honest = (2..=200).filter(|i| rl.allow(ip(*i as u8), t)).count();
        assert_eq!(honest, 199, "the global bucket did not refill");
    }

    #[test]
    fn global_limit_and_bounded_map() {
        let t0 = Instant::now();
        let cfg = RateLimitConfig {
            per_ip_burst: 5,
            per_ip_rate: 1,
            global_burst: 4,
            global_rate: 1,
            max_tracked_ips: 3,
        };
        let mut rl = RateLimiter::new(cfg, t0);
        assert!(rl.allow(ip(1), t0) && rl.allow(ip(2), t0) && rl.allow(ip(3), t0));
        assert!(!rl.allow(ip(4), t0), "map full");
        assert_eq!(rl.tracked(), 3);
        assert!(rl.allow(ip(1), t0));
        assert!(!rl.allow(ip(2), t0), "global bucket empty");
        // Once the sources have been idle long enough they are purged.
        let later = t0 + Duration::from_secs(60);
        assert!(rl.allow(ip(9), later));
        assert_eq!(rl.tracked(), 1);
    }
}
