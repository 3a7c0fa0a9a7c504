//! The state directory: what survives between runs (today the DHT node id and routing
//! table). `--state-dir` overrides the default, the user's data directory
//! (`$XDG_DATA_HOME/shoal`, usually `~/.local/share/shoal`).
//!
//! Two shoal processes must not share a DHT identity, so the first one takes an
//! exclusive lock on `dht.lock` for its whole life; a second one runs its DHT with a
//! fresh id and keeps no state.

use anyhow::Context;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Held for the life of the process once we own the state directory's DHT state.
static DHT_LOCK: OnceLock<File> = OnceLock::new();

/// The default state directory, if the platform has a data directory.
pub fn default_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("shoal"))
}

/// The DHT state file to use, or `None` when another process owns it (or there is no
/// state directory at all).
pub fn dht_state_file(flag: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    let Some(dir) = flag.map(Path::to_path_buf).or_else(default_dir) else {
        tracing::warn!("no state directory; the DHT routing table will not be kept");
        return Ok(None);
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create state directory {}", dir.display()))?;
    let lock_path = dir.join("dht.lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => {
            let _ = DHT_LOCK.set(lock);
            Ok(Some(dir.join("dht.dat")))
        }
        Err(_) => {
            tracing::info!(
                dir = %dir.display(),
                "another shoal process owns the DHT state; using a temporary DHT identity"
            );
            Ok(None)
        }
    }
}
