//! A disk fault seen through the API: a download whose directory is on a read-only
//! mount shows state `faulted` with the cause and the retry in `error` (not `error`,
//! which means stopped for good), and finishes once the directory is writable again
//! and the torrent is resumed. Needs root for the mount (as CI has).
#![allow(clippy::unwrap_used)]

mod support;

use shoal_testkit::{make_torrent, random_file};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{Seeder, TestDaemon};

/// A read-only bind mount of a directory over itself, undone on drop.
struct ReadOnly(PathBuf);

impl ReadOnly {
    fn mount(dir: &Path) -> ReadOnly {
        run(&["--bind", &dir.display().to_string()], dir);
        let m = ReadOnly(dir.to_path_buf());
        run(&["-o", "remount,bind,ro"], dir);
        m
    }

    fn make_writable(&self) {
        run(&["-o", "remount,bind,rw"], &self.0);
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn run(args: &[&str], target: &Path) {
    let ok = Command::new("mount")
        .args(args)
        .arg(target)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mount {args:?} {} failed", target.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_download_dir_shows_faulted_then_finishes() {
    let src = tempfile::tempdir().unwrap();
    let file = src.path().join("data.bin");
    let data = random_file(&file, 1_000_000, 31);
    let meta = make_torrent(&file, 64 * 1024);
    let seeder = Seeder::start(&[(&meta, src.path())], None).await;
    let mut d = TestDaemon::start().await;
    std::fs::create_dir_all(&d.downloads).unwrap();
    let ro = ReadOnly::mount(&d.downloads);

    let id = d
        .api
        .add_torrent(&meta, &[seeder.addr()], serde_json::json!({}))
        .await;
    let v = d.api.wait_state(&id, "faulted", 30).await;
    let why = v["error"].as_str().unwrap();
    assert!(why.contains("retrying every"), "{why}");
    assert!(!d.downloads.join("data.bin").exists());

    ro.make_writable();
    for action in ["pause", "resume"] {
        d.api
            .ok(
                "POST",
                &format!("/api/v1/torrents/{id}/{action}"),
                None,
                204,
            )
            .await;
    }
    let v = d.api.wait_state(&id, "seeding", 30).await;
    assert!(v["error"].is_null(), "{v}");
    assert!(std::fs::read(d.downloads.join("data.bin")).unwrap() == data);
    d.stop().await;
    drop(ro);
    seeder.session.shutdown().await;
}
