//! Bounded polling: look at a condition every so often until it holds, and fail the
//! test, naming what it waited for, when it does not hold in time. Every wait in a test
//! should be bounded like this rather than loop forever.

use std::time::{Duration, Instant};

/// How long to wait for a condition and how often to look at it.
///
/// ```
/// # use std::time::Duration;
/// # use shoal_testkit::Poll;
/// let mut n = 0;
/// Poll::secs(5).every(Duration::from_millis(1)).until("three looks", || {
///     n += 1;
///     n == 3
/// });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Poll {
    limit: Duration,
    every: Duration,
}

impl Poll {
    /// Waits up to `limit`, looking every 100 ms.
    pub const fn up_to(limit: Duration) -> Poll {
        Poll {
            limit,
            every: Duration::from_millis(100),
        }
    }

    /// Waits up to `secs` seconds, looking every 100 ms.
    pub const fn secs(secs: u64) -> Poll {
        Poll::up_to(Duration::from_secs(secs))
    }

    /// The same wait, looking every `every` instead.
    pub const fn every(self, every: Duration) -> Poll {
        Poll { every, ..self }
    }

    /// Blocks the thread until `cond` holds; panics with `what` after the limit.
    pub fn until(self, what: &str, mut cond: impl FnMut() -> bool) {
        self.until_some(what, || cond().then_some(()));
    }

    /// Blocks the thread until `f` returns `Some`, and returns its value; panics with
    /// `what` after the limit.
    pub fn until_some<T>(self, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = f() {
                return v;
            }
            self.check(start, what);
            std::thread::sleep(self.every);
        }
    }

    /// Like [`Poll::until`] in async code: sleeps on the tokio timer between looks.
    pub async fn until_async(self, what: &str, mut cond: impl FnMut() -> bool) {
        let start = Instant::now();
        while !cond() {
            self.check(start, what);
            tokio::time::sleep(self.every).await;
        }
    }

    fn check(&self, start: Instant, what: &str) {
        assert!(
            start.elapsed() < self.limit,
            "timed out after {:?} waiting for {what}",
            self.limit
        );
    }
}

#[cfg(test)]
mod tests {
    use super::Poll;
    use std::time::Duration;

    #[test]
    fn returns_the_value_once_there() {
        let mut n = 0;
        let got = Poll::secs(5)
            .every(Duration::from_millis(1))
            .until_some("n to reach 3", || {
                n += 1;
                (n >= 3).then_some(n)
            });
        assert_eq!(got, 3);
    }

    #[test]
    #[should_panic(expected = "waiting for never")]
    fn panics_after_the_limit() {
        Poll::up_to(Duration::from_millis(30))
            .every(Duration::from_millis(5))
            .until("never", || false);
    }
}
