//! Incoming connections still in their handshake, at most [`MAX_PENDING`] at once.
//!
//! Honest handshakes take a round trip; silent or trickling connections (slowloris)
//! would otherwise hold sockets and tasks until the handshake timeout. At the cap the
//! *oldest* pending handshake is dropped to make room for the new one, so an attacker
//! has to open connections faster than honest peers finish their handshakes to keep
//! them out, instead of merely keeping 128 sockets open.

use parking_lot::Mutex;
use std::collections::VecDeque;
use tokio::sync::oneshot;

/// Most incoming connections in their handshake at once.
pub(crate) const MAX_PENDING: usize = 128;

/// The registry of pending incoming handshakes.
#[derive(Debug, Default)]
pub(crate) struct PendingHandshakes {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    /// Oldest first; dropping a sender evicts that handshake.
    queue: VecDeque<(u64, oneshot::Sender<()>)>,
}

/// One pending handshake's place; it leaves the registry when dropped.
pub(crate) struct PendingSlot<'a> {
    registry: &'a PendingHandshakes,
    id: u64,
}

impl PendingHandshakes {
    /// Registers a new handshake, evicting the oldest one at the cap. The receiver
    /// resolves (with an error) if this handshake is evicted in turn.
    pub(crate) fn admit(&self) -> (u64, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let evicted = {
            let mut inner = self.inner.lock();
            let id = inner.next_id;
            inner.next_id += 1;
            let evicted = if inner.queue.len() >= MAX_PENDING {
                inner.queue.pop_front()
            } else {
                None
            };
            inner.queue.push_back((id, tx));
            (id, evicted)
        };
        let (id, evicted) = evicted;
        // Dropped outside the lock: the evicted task wakes and closes its socket.
        drop(evicted);
        (id, rx)
    }

    /// The slot of handshake `id`, to hold while it runs.
    pub(crate) fn slot(&self, id: u64) -> PendingSlot<'_> {
        PendingSlot { registry: self, id }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().queue.len()
    }
}

impl Drop for PendingSlot<'_> {
    fn drop(&mut self) {
        let mut inner = self.registry.inner.lock();
        if let Some(pos) = inner.queue.iter().position(|(id, _)| *id == self.id) {
            inner.queue.remove(pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_is_evicted_at_the_cap() {
        let reg = PendingHandshakes::default();
        let mut rxs: Vec<_> = (0..MAX_PENDING).map(|_| reg.admit()).collect();
        assert_eq!(reg.len(), MAX_PENDING);
        let (_, mut newest) = reg.admit();
        assert_eq!(reg.len(), MAX_PENDING);
        let (_, oldest) = &mut rxs[0];
        assert!(matches!(
            oldest.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        let (_, second) = &mut rxs[1];
        assert!(matches!(
            second.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        ));
        assert!(matches!(
            newest.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        ));
    }

    #[test]
    fn finished_handshakes_leave() {
        let reg = PendingHandshakes::default();
        let (a, _rx_a) = reg.admit();
        let (b, _rx_b) = reg.admit();
        drop(reg.slot(a));
        assert_eq!(reg.len(), 1);
        drop(reg.slot(b));
        assert_eq!(reg.len(), 0);
    }
}
