//! Test-only gate that holds a start task just before its engine add, so tests can
//! act deterministically while a torrent is "being checked".

use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

#[derive(Default)]
pub(crate) struct EngineAddGate {
    armed: AtomicBool,
    entered: Notify,
    release: Notify,
}

impl EngineAddGate {
    /// The next start task to reach its engine add waits there until `release`.
    pub(crate) fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Called by start tasks; holds only the first one after `arm`.
    pub(crate) async fn pass(&self) {
        if self.armed.swap(false, Ordering::SeqCst) {
            let released = self.release.notified();
            self.entered.notify_one();
            released.await;
        }
    }

    /// Waits until a start task is held at the gate.
    pub(crate) async fn wait_entered(&self) {
        self.entered.notified().await;
    }

    /// Lets the held start task go on.
    pub(crate) fn release(&self) {
        self.release.notify_one();
    }
}
