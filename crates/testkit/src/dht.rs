//! DHT settings for a test network of nodes on 127.0.0.1.

use std::time::Duration;

use shoal_dht_net::{DhtConfig, RateLimitConfig};

/// Settings for a loopback test network. Every node shares the IP 127.0.0.1, so the
/// per-IP rate limit (meant for one remote host) is lifted; the query timeout and the
/// bootstrap retry are shortened so that a lost reply costs little test time.
pub fn loopback_config() -> DhtConfig {
    let unlimited = 1_000_000;
    DhtConfig {
        query_timeout: Duration::from_millis(1500),
        rate_limit: RateLimitConfig {
            per_ip_burst: unlimited,
            per_ip_rate: unlimited,
            global_burst: unlimited,
            global_rate: unlimited,
            ..RateLimitConfig::default()
        },
        bootstrap_retry: Duration::from_secs(1),
        ..DhtConfig::default()
    }
}
