//! A bounded LRU of open file handles. One [`FilePool`] can be shared by every torrent
//! of a session, so the number of open files stays under one cap however many torrents
//! run; each [`crate::Storage`] keys its handles by its own owner id and file index.
//! The mutex guards only the map; callers clone an `Arc<File>` out and do their I/O
//! without holding it.

use std::collections::HashMap;
use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

/// A storage's owner id and a file index within it.
type Key = (u64, usize);

struct Slot {
    file: Arc<File>,
    writable: bool,
    last_used: u64,
}

struct Inner {
    slots: HashMap<Key, Slot>,
    clock: u64,
}

/// Open file handles shared by any number of storages, at most `cap` of them.
pub struct FilePool {
    inner: Mutex<Inner>,
    cap: usize,
    next_owner: AtomicU64,
}

impl std::fmt::Debug for FilePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilePool")
            .field("cap", &self.cap)
            .field("open", &self.open_files())
            .finish()
    }
}

impl FilePool {
    /// A pool keeping at most `cap` files open (at least 1).
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(FilePool {
            inner: Mutex::new(Inner {
                slots: HashMap::new(),
                clock: 0,
            }),
            cap: cap.max(1),
            next_owner: AtomicU64::new(0),
        })
    }

    /// Handles cached now, over every owner.
    pub fn open_files(&self) -> usize {
        self.inner.lock().slots.len()
    }

    /// A fresh owner id for one storage.
    pub(crate) fn new_owner(&self) -> u64 {
        self.next_owner.fetch_add(1, Ordering::Relaxed)
    }

    /// A cached handle for `file` good enough for the access wanted: any handle for
    /// reading, a writable one for writing.
    pub(crate) fn get(&self, owner: u64, file: usize, write: bool) -> Option<Arc<File>> {
        let mut inner = self.inner.lock();
        inner.clock += 1;
        let now = inner.clock;
        let slot = inner.slots.get_mut(&(owner, file))?;
        if write && !slot.writable {
            return None;
        }
        slot.last_used = now;
        Some(Arc::clone(&slot.file))
    }

    /// Caches a freshly opened handle and returns the one to use: if another thread
    /// raced us and cached an equally capable handle, that one wins and ours is dropped.
    /// At the cap, the least recently used handle of any owner is closed.
    pub(crate) fn insert(
        &self,
        owner: u64,
        file: usize,
        handle: Arc<File>,
        writable: bool,
    ) -> Arc<File> {
        let key = (owner, file);
        let mut inner = self.inner.lock();
        inner.clock += 1;
        let now = inner.clock;
        if let Some(slot) = inner.slots.get_mut(&key) {
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
            key,
            Slot {
                file: Arc::clone(&handle),
                writable,
                last_used: now,
            },
        );
        handle
    }

    /// Closes `owner`'s cached handles of files that were deleted while open (link
    /// count zero) and says whether there were any: such a handle still reads the old
    /// bytes, but they are gone from the directory and will not survive the handle.
    pub(crate) fn drop_unlinked(&self, owner: u64) -> bool {
        use std::os::unix::fs::MetadataExt;
        let mut inner = self.inner.lock();
        let before = inner.slots.len();
        inner.slots.retain(|(o, _), slot| {
            *o != owner || slot.file.metadata().map_or(true, |m| m.nlink() > 0)
        });
        inner.slots.len() != before
    }

    /// Closes every cached handle of `owner` (handles still in use close when their I/O
    /// ends).
    pub(crate) fn clear(&self, owner: u64) {
        self.inner.lock().slots.retain(|(o, _), _| *o != owner);
    }

    #[cfg(test)]
    pub(crate) fn len_of(&self, owner: u64) -> usize {
        self.inner
            .lock()
            .slots
            .keys()
            .filter(|(o, _)| *o == owner)
            .count()
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
        let c = FilePool::new(2);
        c.insert(0, 1, f(), false);
        c.insert(0, 2, f(), true);
        assert!(c.get(0, 1, false).is_some());
        assert!(
            c.get(0, 1, true).is_none(),
            "read-only handle must not serve writes"
        );
        c.insert(0, 3, f(), false); // evicts 2, the least recently used
        assert_eq!(c.open_files(), 2);
        assert!(c.get(0, 2, false).is_none());
        assert!(c.get(0, 1, false).is_some() && c.get(0, 3, false).is_some());
        // Upgrade 1 to writable; a later read-only insert keeps the writable one.
        let w = c.insert(0, 1, f(), true);
        let again = c.insert(0, 1, f(), false);
        assert!(Arc::ptr_eq(&w, &again));
        assert!(c.get(0, 1, true).is_some());
        c.clear(0);
        assert_eq!(c.open_files(), 0);
    }

    #[test]
    fn owners_share_the_cap_and_clear_their_own() {
        let c = FilePool::new(3);
        for file in 0..3 {
            c.insert(7, file, f(), false);
        }
        c.insert(8, 0, f(), false);
        assert_eq!(c.open_files(), 3, "the cap holds across owners");
        assert_eq!(c.len_of(7), 2);
        assert!(c.get(8, 0, false).is_some());
        c.clear(7);
        assert_eq!(c.open_files(), 1);
        assert_eq!(c.len_of(8), 1);
    }
}
