//! Per-tracker bookkeeping of the announce loop and the BEP 12 tier list built from the
//! configuration.

use std::collections::HashSet;
use std::time::Duration;

use rand::seq::SliceRandom;
use tokio::time::Instant;

use crate::transport::Endpoint;
use crate::TrackerStatus;

/// One tracker and what we know about it.
#[derive(Debug)]
pub(crate) struct Tracker {
    pub(crate) url: String,
    pub(crate) endpoint: Endpoint,
    pub(crate) tier: usize,
    /// It acknowledged an announce, so it should hear `stopped` at the end.
    pub(crate) started: bool,
    pub(crate) failures: u32,
    /// Not to be tried before this (failure back-off).
    pub(crate) retry_at: Option<Instant>,
    pub(crate) tracker_id: Option<Vec<u8>>,
    pub(crate) last_result: Option<Result<usize, String>>,
    pub(crate) warning: Option<String>,
    pub(crate) seeders: Option<u32>,
    pub(crate) leechers: Option<u32>,
}

impl Tracker {
    fn new(url: String, tier: usize) -> Self {
        let endpoint = Endpoint::parse(&url);
        let last_result = match &endpoint {
            Endpoint::Invalid(why) => Some(Err(format!("unusable tracker URL: {why}"))),
            _ => None,
        };
        Tracker {
            endpoint,
            url,
            tier,
            started: false,
            failures: 0,
            retry_at: None,
            tracker_id: None,
            last_result,
            warning: None,
            seeders: None,
            leechers: None,
        }
    }

    /// Usable at all (a bad URL never will be).
    pub(crate) fn usable(&self) -> bool {
        !matches!(self.endpoint, Endpoint::Invalid(_))
    }

    /// Usable now, i.e. not backing off.
    pub(crate) fn ready(&self, now: Instant) -> bool {
        self.usable() && !matches!(self.retry_at, Some(t) if t > now)
    }

    /// Records a failure and starts (or lengthens) the back-off: `base · 2^(failures-1)`,
    /// capped at `max`.
    pub(crate) fn failed(&mut self, error: String, now: Instant, base: Duration, max: Duration) {
        self.failures = self.failures.saturating_add(1);
        let factor = 1u32.checked_shl(self.failures - 1).unwrap_or(u32::MAX);
        let wait = base.saturating_mul(factor).min(max);
        self.retry_at = Some(now.checked_add(wait).unwrap_or(now));
        self.last_result = Some(Err(error));
    }

    pub(crate) fn status(&self, next_announce: Option<Instant>) -> TrackerStatus {
        TrackerStatus {
            url: self.url.clone(),
            tier: self.tier,
            last_result: self.last_result.clone(),
            warning: self.warning.clone(),
            next_announce: next_announce.or(self.retry_at).map(Instant::into_std),
            seeders: self.seeders,
            leechers: self.leechers,
            failures: self.failures,
        }
    }
}

/// Builds the tier list: empty tiers and repeated URLs dropped, each tier shuffled once
/// (BEP 12).
pub(crate) fn build_tiers(config: &[Vec<String>]) -> Vec<Vec<Tracker>> {
    let mut seen = HashSet::new();
    let mut rng = rand::thread_rng();
    let mut tiers = Vec::new();
    for urls in config {
        let tier_index = tiers.len();
        let mut tier: Vec<Tracker> = urls
            .iter()
            .map(|u| u.trim())
            .filter(|u| !u.is_empty() && seen.insert(u.to_string()))
            .map(|u| Tracker::new(u.to_owned(), tier_index))
            .collect();
        if tier.is_empty() {
            continue;
        }
        tier.shuffle(&mut rng);
        tiers.push(tier);
    }
    tiers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_drop_duplicates_and_empties() {
        let cfg = vec![
            vec![
                "http://a/announce".to_owned(),
                "http://b/announce".to_owned(),
            ],
            vec![],
            vec!["http://a/announce".to_owned(), " udp://c:1 ".to_owned()],
        ];
        let tiers = build_tiers(&cfg);
        assert_eq!(tiers.len(), 2);
        assert_eq!(tiers[0].len(), 2);
        assert_eq!(tiers[1].len(), 1);
        assert_eq!(tiers[1][0].url, "udp://c:1");
        assert_eq!(tiers[1][0].tier, 1);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let mut t = Tracker::new("http://a/announce".into(), 0);
        let now = Instant::now();
        let base = Duration::from_secs(10);
        let max = Duration::from_secs(35);
        let waits: Vec<Duration> = (0..4)
            .map(|_| {
                t.failed("x".into(), now, base, max);
                t.retry_at.unwrap() - now
            })
            .collect();
        assert_eq!(waits, [10, 20, 35, 35].map(Duration::from_secs));
        assert!(!t.ready(now));
        assert!(t.ready(now + max));
        assert_eq!(t.failures, 4);
    }
}
