//! A small LRU cache of open file handles, keyed by file index. The mutex guards only
//! the map; callers clone an `Arc<File>` out and do their I/O without holding it.

use std::collections::HashMap;
use std::fs::File;
use std::sync::Arc;

use parking_lot::Mutex;

struct Slot {
    file: Arc<File>,
    writable: bool,
    last_used: u64,
}

struct Inner {
    slots: HashMap<usize, Slot>,
    clock: u64,
}

pub(crate) struct HandleCache {
    inner: Mutex<Inner>,
    cap: usize,
}

impl HandleCache {
    pub fn new(cap: usize) -> Self {
        HandleCache {
            inner: Mutex::new(Inner {
                slots: HashMap::new(),
                clock: 0,
            }),
            cap: cap.max(1),
        }
    }

    /// A cached handle for `file` good enough for the access wanted: any handle for
    /// reading, a writable one for writing.
    pub fn get(&self, file: usize, write: bool) -> Option<Arc<File>> {
        let mut inner = self.inner.lock();
        inner.clock += 1;
        let now = inner.clock;
        let slot = inner.slots.get_mut(&file)?;
        if write && !slot.writable {
            return None;
        }
        slot.last_used = now;
        Some(Arc::clone(&slot.file))
    }

    /// Caches a freshly opened handle and returns the one to use: if another thread
    /// raced us and cached an equally capable handle, that one wins and ours is dropped.
    pub fn insert(&self, file: usize, handle: Arc<File>, writable: bool) -> Arc<File> {
        let mut inner = self.inner.lock();
        inner.clock += 1;
        let now = inner.clock;
        if let Some(slot) = inner.slots.get_mut(&file) {
            if slot.writable || !writable {
                slot.last_used = now;
                return Arc::clone(&slot.file);
            }
            *slot = Slot {
                file: Arc::clone(&handle),
                writable,
                last_used: now,
            };
            return handle;
        }
        if inner.slots.len() >= self.cap {
            let oldest = inner
                .slots
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(&k, _)| k);
            if let Some(k) = oldest {
                inner.slots.remove(&k);
            }
        }
        inner.slots.insert(
            file,
            Slot {
                file: Arc::clone(&handle),
                writable,
                last_used: now,
            },
        );
        handle
    }

    /// Closes cached handles of files that were deleted while open (link count zero)
    /// and says whether there were any: such a handle still reads the old bytes, but
    /// they are gone from the directory and will not survive the handle.
    pub fn drop_unlinked(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let mut inner = self.inner.lock();
        let before = inner.slots.len();
        inner
            .slots
            .retain(|_, slot| slot.file.metadata().map_or(true, |m| m.nlink() > 0));
        inner.slots.len() != before
    }

    /// Closes every cached handle (handles still in use close when their I/O ends).
    pub fn clear(&self) {
        self.inner.lock().slots.clear();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inner.lock().slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f() -> Arc<File> {
        Arc::new(tempfile::tempfile().unwrap())
    }

    #[test]
    fn lru_eviction_and_upgrade() {
        let c = HandleCache::new(2);
        c.insert(1, f(), false);
        c.insert(2, f(), true);
        assert!(c.get(1, false).is_some());
        assert!(
            c.get(1, true).is_none(),
            "read-only handle must not serve writes"
        );
        c.insert(3, f(), false); // evicts 2, the least recently used
        assert_eq!(c.len(), 2);
        assert!(c.get(2, false).is_none());
        assert!(c.get(1, false).is_some() && c.get(3, false).is_some());
        // Upgrade 1 to writable; a later read-only insert keeps the writable one.
        let w = c.insert(1, f(), true);
        let again = c.insert(1, f(), false);
        assert!(Arc::ptr_eq(&w, &again));
        assert!(c.get(1, true).is_some());
        c.clear();
        assert_eq!(c.len(), 0);
    }
}
