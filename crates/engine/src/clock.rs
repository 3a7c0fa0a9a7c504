//! The engine's one clock. Everything that needs "now" asks here, never
//! `tokio::time::Instant::now().into_std()`: the time comes from tokio's clock, which a test can
//! pause and advance (`#[tokio::test(start_paused = true)]`, `tokio::time::advance`),
//! so timeouts, retry schedules, eviction grace and rate limits run in virtual time.
//! The sans-IO crates below take this `now` as an argument.

use std::time::Instant;

/// Now, on the runtime's clock (virtual when the runtime's time is paused).
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}
