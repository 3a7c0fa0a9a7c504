//! The cap on peer connections over all torrents of a session: a count of
//! connections in use (live or being dialled), each holding a [`ConnectionSlot`] that
//! gives its place back when dropped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Connections in use (live or being dialled) and the cap on them.
#[derive(Debug)]
pub(crate) struct ConnectionCount {
    inner: Arc<Counts>,
}

#[derive(Debug)]
struct Counts {
    used: AtomicUsize,
    max: AtomicUsize,
}

/// One connection's place under the cap; given back when dropped.
#[derive(Debug)]
pub(crate) struct ConnectionSlot {
    counts: Arc<Counts>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.counts.used.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnectionCount {
    pub(crate) fn new(max: usize) -> Self {
        ConnectionCount {
            inner: Arc::new(Counts {
                used: AtomicUsize::new(0),
                max: AtomicUsize::new(max),
            }),
        }
    }

    /// A slot for one more connection, or `None` at the cap.
    pub(crate) fn try_reserve(&self) -> Option<ConnectionSlot> {
        let counts = &self.inner;
        let max = counts.max.load(Ordering::Acquire);
        counts
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        Some(ConnectionSlot {
            counts: counts.clone(),
        })
    }

    pub(crate) fn set_max(&self, max: usize) {
        self.inner.max.store(max, Ordering::Release);
    }

    pub(crate) fn in_use(&self) -> usize {
        self.inner.used.load(Ordering::Acquire)
    }
}
