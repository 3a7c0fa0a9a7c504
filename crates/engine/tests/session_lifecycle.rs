//! A session leaves nothing behind: after `Session::shutdown` every task and thread it
//! started has ended, and starting and stopping sessions many times in one process
//! leaks no threads, file descriptors or memory.

#![allow(clippy::unwrap_used)]

mod support;

use shoal_testkit::{init_logs, make_torrent, random_file};
use std::path::Path;
use std::time::Duration;
use support::*;

/// Sessions started and stopped in the leak test (each pair trades a torrent).
const CYCLES: usize = 200;

/// Growth of the resident set over the measured cycles that still counts as no leak:
/// allocator caches and lazily grown pools settle in the warm-up cycles; a leak of one
/// torrent's state per cycle (~100 KiB with its picker and buffers) would exceed it.
const RSS_SLACK: u64 = 12 * 1024 * 1024;

/// Cycles run before the baseline is taken, so one-time allocations are counted.
const WARM_UP: usize = 20;

fn count_entries(dir: &str) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

/// Threads of this process named `shoal-…` (the session's disk workers).
fn session_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path().join("comm")).ok())
        .filter(|name| name.starts_with("shoal-"))
        .count()
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Polls `count` until it returns `want` (or a bounded number of tries passed), and
/// returns its last value. The kernel drops an exited thread's `/proc` entry, and tokio
/// a finished blocking task's count, a moment after the joiner returns.
async fn settled(count: impl Fn() -> usize, want: usize) -> usize {
    for _ in 0..500 {
        if count() == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    count()
}

/// One seeder and one leecher trade a small torrent, then both shut down.
async fn trade_once(seed_dir: &Path, meta: &shoal_metainfo::Metainfo) {
    let leech_dir = tempfile::tempdir().unwrap();
    let seeder = session(None).await;
    let leecher = session(None).await;
    add(&seeder, meta, seed_dir, vec![]).await;
    let got = add(&leecher, meta, leech_dir.path(), vec![seeder.local_addr()]).await;
    wait_complete(&got, Duration::from_secs(30)).await;
    drop(got);
    leecher.shutdown().await;
    seeder.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_every_task_and_thread_and_leak_nothing() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.bin");
    random_file(&file, 300_000, 1);
    let meta = make_torrent(&file, 32 * 1024);
    let tasks_before = alive_tasks();

    let seeder = session(None).await;
    let leecher = session(None).await;
    add(&seeder, &meta, dir.path(), vec![]).await;
    let out = tempfile::tempdir().unwrap();
    let got = add(&leecher, &meta, out.path(), vec![seeder.local_addr()]).await;
    wait_complete(&got, Duration::from_secs(30)).await;
    // (A thread names itself once it runs; the leecher's workers wrote the data.)
    assert!(
        session_threads() > 0,
        "the disk workers run while sessions do"
    );
    assert!(alive_tasks() > tasks_before);

    leecher.shutdown().await;
    seeder.shutdown().await;
    assert_eq!(
        settled(session_threads, 0).await,
        0,
        "disk threads outlived the session"
    );
    assert_eq!(
        settled(alive_tasks, tasks_before).await,
        tasks_before,
        "tasks outlived the session's shutdown"
    );
    // The handle still answers after the session is gone.
    assert!(got.stats().complete);
    drop(got);

    // Many sessions in one process. (One test, so no other test of this binary shares
    // the process's descriptors and threads even under `cargo test`.)
    for _ in 0..WARM_UP {
        trade_once(dir.path(), &meta).await;
    }
    let fds = count_entries("/proc/self/fd");
    let threads = count_entries("/proc/self/task");
    let rss = rss_bytes();
    let tasks = settled(alive_tasks, tasks_before).await;
    for _ in WARM_UP..CYCLES {
        trade_once(dir.path(), &meta).await;
        let threads_left = settled(session_threads, 0).await;
        assert_eq!(threads_left, 0, "disk threads outlived a session");
        let tasks_left = settled(alive_tasks, tasks).await;
        assert_eq!(tasks_left, tasks, "tasks outlived a session");
    }
    assert_eq!(
        count_entries("/proc/self/fd"),
        fds,
        "file descriptors leaked"
    );
    // Tokio's blocking pool keeps idle threads for a while; it is capped, so
    // only a steady climb would show here.
    let now_threads = count_entries("/proc/self/task");
    assert!(
        now_threads <= threads + 4,
        "threads grew from {threads} to {now_threads}"
    );
    let grown = rss_bytes().saturating_sub(rss);
    assert!(
        grown < RSS_SLACK,
        "resident memory grew by {grown} bytes over {} sessions",
        CYCLES - WARM_UP
    );
}
