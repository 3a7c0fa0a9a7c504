//! The `shoal` client commands against a running `shoal daemon` (loopback only):
//! add, list, info, pause, resume, limit, rm, `daemon token`, with `--json` parsed,
//! the human tables, and `--api/--token` instead of the state directory.
#![allow(clippy::unwrap_used)]

mod daemon_harness;

use daemon_harness::*;
use shoal_testkit::{random_file, Poll};
use std::time::Duration;

#[test]
fn client_commands_drive_the_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let data = random_file(&src.join("file.bin"), 4 * 1024 * 1024, 21);
    let torrent = tmp.path().join("file.torrent");
    let id = write_torrent(&src.join("file.bin"), &torrent, 64 * 1024);
    // 1 MiB/s, so pause and resume happen mid-transfer.
    let (_seeder, seed_addr) = start_seeder(&torrent, &src, &["--upload-limit", "1048576"]);
    let state = tmp.path().join("state");
    let downloads = tmp.path().join("downloads");
    let d = start_daemon(&state, 0, &["--download-dir", downloads.to_str().unwrap()]);

    // `daemon token` prints the token of the state directory.
    let (ok, out, _) = d.cli(&["daemon", "token"]);
    assert!(ok);
    assert_eq!(out.trim(), d.token);

    // A .torrent file too big for an add request is refused before it is read.
    let huge = tmp.path().join("huge.torrent");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(64 * 1024 * 1024)
        .unwrap();
    let (ok, _, err) = d.cli(&["add", huge.to_str().unwrap()]);
    assert!(
        !ok && err.contains("byte limit for a torrent file"),
        "{err}"
    );

    // add (a .torrent file, sent as base64) with a peer.
    let added = d.cli_json(&[
        "add",
        torrent.to_str().unwrap(),
        "--peer",
        &seed_addr.to_string(),
    ]);
    assert_eq!(added["id"], id.as_str());
    assert_eq!(added["name"], "file.bin");
    // list
    let list = d.cli_json(&["list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], id.as_str());
    let (ok, table, _) = d.cli(&["list"]);
    assert!(ok);
    assert!(table.lines().next().unwrap().contains("STATE"), "{table}");
    assert!(
        table.contains("file.bin") && table.contains(&id[..12]),
        "{table}"
    );
    // info (by prefix)
    Poll::secs(30).until_some("download start", || {
        let v = d.cli_json(&["info", &id[..10]]);
        (v["verified_bytes"].as_u64() > Some(0)).then_some(())
    });
    let info = d.cli_json(&["info", &id[..10]]);
    assert_eq!(info["info_hash"], id.as_str());
    assert_eq!(info["state"], "downloading");
    let (ok, text, _) = d.cli(&["info", &id]);
    assert!(
        ok && text.contains("name:") && text.contains("file.bin"),
        "{text}"
    );

    // pause: state and effect.
    let v = d.cli_json(&["pause", &id]);
    assert_eq!(v["action"], "pause");
    let paused = d.cli_json(&["info", &id]);
    assert_eq!(paused["state"], "paused");
    std::thread::sleep(Duration::from_millis(800));
    let a = d.cli_json(&["info", &id])["verified_bytes"]
        .as_u64()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let b = d.cli_json(&["info", &id])["verified_bytes"]
        .as_u64()
        .unwrap();
    assert_eq!(a, b, "downloaded while paused");
    // resume
    d.cli_json(&["resume", &id]);
    Poll::secs(30).until_some("progress after resume", || {
        let v = d.cli_json(&["info", &id]);
        (v["verified_bytes"].as_u64().unwrap() > b).then_some(())
    });

    // limit: global, then per torrent, and showing them.
    let s = d.cli_json(&[
        "limit",
        "--down",
        "2M",
        "--up",
        "500k",
        "--connections",
        "99",
    ]);
    assert_eq!(s["download_limit"], 2 * 1024 * 1024);
    assert_eq!(s["upload_limit"], 500 * 1024);
    assert_eq!(s["max_connections"], 99);
    let s = d.cli_json(&["limit"]);
    assert_eq!(s["download_limit"], 2 * 1024 * 1024);
    let t = d.cli_json(&[
        "limit",
        "--torrent",
        &id,
        "--down",
        "300k",
        "--connections",
        "7",
    ]);
    assert_eq!(t["download_limit"], 300 * 1024);
    assert_eq!(t["max_peers"], 7);
    let t = d.cli_json(&["limit", "--torrent", &id, "--down", "none"]);
    assert!(t["download_limit"].is_null());
    let s = d.cli_json(&["limit", "--down", "0", "--up", "none"]);
    assert!(s["download_limit"].is_null() && s["upload_limit"].is_null());
    let (ok, text, _) = d.cli(&["limit"]);
    assert!(ok && text.contains("global:"), "{text}");

    Poll::secs(60).until_some("download complete", || {
        (d.cli_json(&["info", &id])["state"] == "seeding").then_some(())
    });
    assert!(std::fs::read(downloads.join("file.bin")).unwrap() == data);

    // --api/--token instead of the state directory.
    let out = std::process::Command::new(SHOAL)
        .args([
            "list",
            "--json",
            "--api",
            &d.api.to_string(),
            "--token",
            &d.token,
        ])
        .args(["--state-dir", "/nonexistent"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["id"], id.as_str());
    // A wrong token is a clear error.
    let out = std::process::Command::new(SHOAL)
        .args(["list", "--api", &d.api.to_string(), "--token", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));

    // rm with data.
    let v = d.cli_json(&["rm", &id, "--delete-data"]);
    assert_eq!(v["removed"], true);
    assert!(!downloads.join("file.bin").exists());
    assert!(d.cli_json(&["list"]).as_array().unwrap().is_empty());
    // An unknown id is an error.
    let (ok, _, err) = d.cli(&["info", "abcdef"]);
    assert!(!ok && err.contains("no torrent"), "{err}");
}

/// Session limits set through the API are kept in the state directory: after a
/// restart they apply again, only the fields that were set are kept, and a flag given
/// at the next start still wins.
#[test]
fn session_limits_survive_a_restart_and_flags_win() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let mut d = start_daemon(&state, 0, &[]);
    let before = d.cli_json(&["limit"]);
    let s = d.cli_json(&["limit", "--up", "500k", "--connections", "99"]);
    assert_eq!(s["upload_limit"], 500 * 1024);
    d.proc.signal_and_wait(15, 30);

    let mut d = start_daemon(&state, 0, &[]);
    let s = d.cli_json(&["limit"]);
    assert_eq!(s["upload_limit"], 500 * 1024);
    assert_eq!(s["max_connections"], 99);
    assert_eq!(s["download_limit"], before["download_limit"]);
    assert_eq!(s["max_peers_per_torrent"], before["max_peers_per_torrent"]);
    d.proc.signal_and_wait(15, 30);

    let d = start_daemon(&state, 0, &["--upload-limit", "1000"]);
    let s = d.cli_json(&["limit"]);
    assert_eq!(s["upload_limit"], 1000);
    assert_eq!(s["max_connections"], 99);
}
