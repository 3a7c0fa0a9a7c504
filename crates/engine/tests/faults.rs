//! Local faults under a running torrent: a disk that fills up, an output directory that
//! turns read-only, and files truncated or deleted under a seeder. A fault must pause
//! the torrent with a clear message, keep every verified piece, and the torrent must
//! carry on by itself once the cause is gone; missing data is found by a re-check and
//! downloaded again.
//!
//! The disk tests mount a small tmpfs or a read-only bind mount, so they need root (as
//! CI and the development machines have); each mount is undone when its guard drops.
#![allow(clippy::unwrap_used)]

mod support;

use sha1::{Digest, Sha1};
use shoal_engine::{Session, SessionConfig, TorrentHandle, TorrentState};
use shoal_metainfo::Metainfo;
use shoal_testkit::{init_logs, make_torrent, random_file, same_bytes};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::*;

const MIB: usize = 1024 * 1024;

/// A mount made for one test, undone (lazily, so a busy file cannot keep it) on drop.
struct Mount(PathBuf);

impl Mount {
    /// A tmpfs of `size` (e.g. "3m") at `dir`.
    fn tmpfs(dir: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(dir).unwrap();
        run(
            "mount",
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
            dir,
        );
        Mount(dir.to_path_buf())
    }

    /// `dir` mounted over itself, read-only.
    fn read_only(dir: &Path) -> Mount {
        std::fs::create_dir_all(dir).unwrap();
        run("mount", &["--bind", &dir.display().to_string()], dir);
        let m = Mount(dir.to_path_buf());
        run("mount", &["-o", "remount,bind,ro"], dir);
        m
    }

    fn remount(&self, options: &str) {
        run("mount", &["-o", options], &self.0);
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn run(cmd: &str, args: &[&str], target: &Path) {
    let status = Command::new(cmd).args(args).arg(target).status().unwrap();
    assert!(
        status.success(),
        "{cmd} {args:?} {} failed",
        target.display()
    );
}

/// A session on 127.0.0.1 that retries disk faults after `retry`.
async fn session_retrying(retry: Duration) -> Session {
    let config = SessionConfig {
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        use_trackers: false,
        disk_retry_interval: retry,
        ..SessionConfig::default()
    };
    Session::new(config).await.unwrap()
}

/// Indices of the pieces `h` holds verified.
fn verified(h: &TorrentHandle) -> Vec<usize> {
    h.have_pieces().iter_ones().collect()
}

/// Asserts that every piece in `pieces` of the single-file torrent `meta` is on disk at
/// `file` with its right hash.
fn assert_pieces_intact(meta: &Metainfo, file: &Path, pieces: &[usize]) {
    let data = std::fs::read(file).unwrap();
    let plen = meta.info.piece_length as usize;
    for &p in pieces {
        let start = p * plen;
        let end = (start + plen).min(meta.info.total_length as usize);
        let got = data
            .get(start..end)
            .expect("verified piece beyond the file's end");
        let digest: [u8; 20] = Sha1::digest(got).into();
        assert_eq!(digest, meta.info.pieces[p], "verified piece {p} damaged");
    }
}

/// A source file and its torrent, seeded by a session of its own.
struct Source {
    file: PathBuf,
    meta: Metainfo,
    seeder: Session,
}

async fn source(dir: &Path, len: usize, piece: u32, seed: u64) -> Source {
    let file = dir.join("seed/data.bin");
    random_file(&file, len, seed);
    let meta = make_torrent(&file, piece);
    let seeder = session(None).await;
    add(&seeder, &meta, &dir.join("seed"), vec![]).await;
    Source { file, meta, seeder }
}

/// Waits for a fault to pause `h`, then checks it holds: no error, no lost piece, the
/// message says what is wrong, and retries do not lose anything either.
async fn assert_faulted(h: &TorrentHandle, meta: &Metainfo, file: &Path, needle: &str) {
    poll(Duration::from_secs(30))
        .until_async("the fault to pause the torrent", || {
            h.stats().state == TorrentState::Faulted
        })
        .await;
    let s = h.stats();
    let fault = s.fault.clone().unwrap();
    assert!(fault.contains(needle), "unclear fault message: {fault}");
    assert!(
        s.error.is_none(),
        "a fault must not stop the torrent: {s:?}"
    );
    assert!(!s.complete);
    let before = verified(h);
    assert_pieces_intact(meta, file, &before);
    // Several retry rounds while the fault lasts: each fails again, nothing is lost.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = verified(h);
    assert!(
        before.iter().all(|p| after.contains(p)),
        "verified pieces were lost while faulted"
    );
    assert!(h.stats().error.is_none());
    assert_pieces_intact(meta, file, &after);
}

/// A tmpfs too small for the torrent: the download pauses with "disk full", keeps every
/// verified piece, and finishes by itself once the file system is grown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_pauses_and_resumes_when_space_returns() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path(), 8 * MIB, 256 * 1024, 71).await;
    let small = dir.path().join("small");
    let mount = Mount::tmpfs(&small, "3m");
    let leecher = session_retrying(Duration::from_millis(500)).await;
    let h = add(&leecher, &src.meta, &small, vec![src.seeder.local_addr()]).await;
    let out = small.join("data.bin");
    assert_faulted(&h, &src.meta, &out, "disk full").await;
    assert!(
        h.stats().verified_bytes >= MIB as u64,
        "less than the free space was kept: {:?}",
        h.stats()
    );

    mount.remount("remount,size=16m");
    wait_complete(&h, Duration::from_secs(60)).await;
    assert!(h.stats().fault.is_none());
    assert!(same_bytes(&src.file, &out));
    leecher.shutdown().await;
    src.seeder.shutdown().await;
}

/// An output directory on a read-only mount: the torrent pauses with the cause and
/// finishes once the directory is writable again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_output_dir_pauses_and_resumes_when_writable() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path(), 2 * MIB, 64 * 1024, 72).await;
    let out_dir = dir.path().join("ro");
    let mount = Mount::read_only(&out_dir);
    let leecher = session_retrying(Duration::from_millis(500)).await;
    let h = add(&leecher, &src.meta, &out_dir, vec![src.seeder.local_addr()]).await;
    let out = out_dir.join("data.bin");
    poll(Duration::from_secs(30))
        .until_async("the fault to pause the torrent", || {
            h.stats().state == TorrentState::Faulted
        })
        .await;
    let fault = h.stats().fault.unwrap();
    assert!(
        fault.contains("read-only"),
        "unclear fault message: {fault}"
    );
    assert!(!out.exists(), "a file appeared on a read-only mount");

    mount.remount("remount,bind,rw");
    wait_complete(&h, Duration::from_secs(60)).await;
    assert!(same_bytes(&src.file, &out));
    leecher.shutdown().await;
    src.seeder.shutdown().await;
}

/// A second seeder whose file is damaged under it (`damage`) while a leecher can only
/// reach that seeder: the seeder notices, re-checks, downloads what it lost from the
/// original seeder, and the leecher still gets every byte.
async fn seeder_recovers_from(damage: impl FnOnce(&Path)) {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path(), 4 * MIB, 64 * 1024, 73).await;
    let copy_dir = dir.path().join("copy");
    let copy = copy_dir.join("data.bin");
    std::fs::create_dir_all(&copy_dir).unwrap();
    std::fs::copy(&src.file, &copy).unwrap();
    let second = session(None).await;
    let b = add(&second, &src.meta, &copy_dir, vec![src.seeder.local_addr()]).await;
    wait_complete(&b, Duration::from_secs(30)).await;
    // Serve a first leecher so the seeder holds its file open, as a busy one would.
    let warm = session(None).await;
    let w = add(
        &warm,
        &src.meta,
        &dir.path().join("warm"),
        vec![second.local_addr()],
    )
    .await;
    wait_complete(&w, Duration::from_secs(30)).await;
    warm.shutdown().await;

    damage(&copy);
    let leecher = session(None).await;
    let c = add(
        &leecher,
        &src.meta,
        &dir.path().join("leech"),
        vec![second.local_addr()],
    )
    .await;
    poll(Duration::from_secs(30))
        .until_async("the damaged seeder to notice", || !b.is_complete())
        .await;
    wait_complete(&c, Duration::from_secs(60)).await;
    wait_complete(&b, Duration::from_secs(60)).await;
    assert!(same_bytes(&src.file, &dir.path().join("leech/data.bin")));
    assert!(same_bytes(&src.file, &copy));
    assert!(
        b.stats().downloaded > 0,
        "the seeder never fetched what it lost"
    );
    leecher.shutdown().await;
    second.shutdown().await;
    src.seeder.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_truncated_under_a_seeder_is_rechecked_and_refetched() {
    seeder_recovers_from(|file| {
        let f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
        f.set_len(MIB as u64).unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_deleted_under_a_seeder_is_rechecked_and_refetched() {
    seeder_recovers_from(|file| std::fs::remove_file(file).unwrap()).await;
}
