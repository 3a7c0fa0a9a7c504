//! Crash safety of `shoal daemon`: a download survives three `kill -9`s mid-transfer
//! (restart, finish, bytes identical, little re-downloaded), and a clean restart
//! resumes without hashing anything.
#![allow(clippy::unwrap_used)]

mod daemon_harness;

use daemon_harness::*;
use shoal_testkit::{free_port, random_file, Poll};
use std::time::{Duration, Instant};

const PIECE: u32 = 256 * 1024;

fn torrent_state(d: &DaemonProc, id: &str) -> serde_json::Value {
    d.get(&format!("/api/v1/torrents/{id}"))
}

#[test]
fn three_kills_mid_download_then_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let len = 96 * 1024 * 1024;
    let data = random_file(&src.join("big.bin"), len, 31);
    let torrent = tmp.path().join("big.torrent");
    let id = write_torrent(&src.join("big.bin"), &torrent, PIECE);
    // 12 MiB/s: about 8 s in all.
    let seed_log = tmp.path().join("seeder.log");
    let (mut seeder, seed_addr) =
        start_seeder_logged(&torrent, &src, &["--upload-limit", "12582912"], &seed_log);
    let state = tmp.path().join("state");
    let downloads = tmp.path().join("downloads");
    let port = free_port();
    let flags = ["--download-dir", downloads.to_str().unwrap()];
    let mut d = start_daemon(&state, port, &flags);
    let (ok, _, err) = d.cli(&[
        "add",
        torrent.to_str().unwrap(),
        "--peer",
        &seed_addr.to_string(),
    ]);
    assert!(ok, "{err}");

    let mut transferred = 0u64;
    let mut carried = 0u64;
    let mut in_flight_bound = 0u64;
    for kill in 1..=3u64 {
        let target = kill * len as u64 / 4;
        let v = Poll::secs(120).until_some("progress", || {
            let v = torrent_state(&d, &id);
            (v["verified_bytes"].as_u64().unwrap() >= target).then_some(v)
        });
        assert_eq!(v["state"], "downloading", "finished too early: {v}");
        // Just before the kill: what this run received.
        let before = torrent_state(&d, &id);
        let downloaded = before["downloaded"].as_u64().unwrap();
        d.proc.kill9();
        let run = downloaded - carried;
        transferred += run;
        // What may be lost: the pieces in flight (partly received) at the kill, plus
        // what arrived between the sample and the kill.
        let rate = before["download_rate"].as_u64().unwrap();
        in_flight_bound += 16 * PIECE as u64 + rate / 2;
        println!(
            "kill {kill}: verified {} MiB, this run downloaded {:.1} MiB",
            before["verified_bytes"].as_u64().unwrap() >> 20,
            run as f64 / 1048576.0
        );
        d = start_daemon(&state, port, &flags);
        // The counters carried over from the resume data.
        let after = Poll::secs(60).until_some("torrent back", || {
            let v = torrent_state(&d, &id);
            (v["state"] != "checking").then_some(v)
        });
        carried = after["downloaded"].as_u64().unwrap();
        let kept = after["verified_bytes"].as_u64().unwrap();
        println!(
            "restart {kill}: {} MiB verified at once, counter carried {:.1} MiB",
            kept >> 20,
            carried as f64 / 1048576.0
        );
        assert!(kept > 0, "nothing kept across the crash");
    }
    let done = Poll::secs(120).until_some("completion", || {
        let v = torrent_state(&d, &id);
        (v["state"] == "seeding").then_some(v)
    });
    transferred += done["downloaded"].as_u64().unwrap() - carried;
    let got = std::fs::read(downloads.join("big.bin")).unwrap();
    assert!(got == data, "downloaded bytes differ");
    // The daemon's own counters miss what arrived after the last sample before each
    // kill; the seeder's upload total (its only peer is the daemon) counts everything
    // sent, including bytes still in the socket buffers when the daemon died.
    seeder.signal_and_wait(15, 30);
    let sent = seeder_uploaded(&seed_log);
    let mib = |n: i64| n as f64 / 1048576.0;
    println!(
        "crash test: payload {} MiB; the seeder sent {:.1} MiB over 4 runs, overhead {:.1} MiB ({:.2}%); \
         the daemon's counters sampled before each kill sum to {:.2} MiB; bound {:.2} MiB",
        len >> 20,
        mib(sent as i64),
        mib(sent as i64 - len as i64),
        (sent as i64 - len as i64) as f64 * 100.0 / len as f64,
        mib(transferred as i64),
        mib(in_flight_bound as i64)
    );
    assert!(
        sent + 1024 * 1024 / 10 >= len as u64,
        "the seeder sent less than the payload: {sent} for {len}"
    );
    assert!(
        transferred <= len as u64 + in_flight_bound,
        "re-downloaded too much (daemon counters): {transferred} for {len}"
    );
    assert!(
        sent <= len as u64 + in_flight_bound,
        "re-downloaded too much (seeder total): {sent} for {len}"
    );
    d.proc.signal_and_wait(15, 30);
}

#[test]
fn clean_restart_resumes_without_hashing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let len = 64 * 1024 * 1024;
    random_file(&src.join("data.bin"), len, 32);
    let torrent = tmp.path().join("data.torrent");
    let id = write_torrent(&src.join("data.bin"), &torrent, PIECE);
    let (_seeder, seed_addr) = start_seeder(&torrent, &src, &[]);
    let state = tmp.path().join("state");
    let downloads = tmp.path().join("downloads");
    let port = free_port();
    let flags = ["--download-dir", downloads.to_str().unwrap()];
    let mut d = start_daemon(&state, port, &flags);
    let (ok, _, err) = d.cli(&[
        "add",
        torrent.to_str().unwrap(),
        "--peer",
        &seed_addr.to_string(),
    ]);
    assert!(ok, "{err}");
    Poll::secs(120).until_some("completion", || {
        (torrent_state(&d, &id)["state"] == "seeding").then_some(())
    });
    // Clean stop (SIGTERM): exit status 0, clean marker written.
    let st = d.proc.signal_and_wait(15, 30);
    assert!(st.success(), "{st:?}");
    assert!(state.join("daemon/clean").exists());
    assert!(!state.join("daemon/api.json").exists());

    // Change a byte of the data but keep size and mtime: a hash check would see it, a
    // fast resume does not (that is the proof that nothing is hashed).
    let file = downloads.join("data.bin");
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        f.write_all_at(&[0x55; 64], 1000).unwrap();
        f.set_modified(mtime).unwrap();
    }
    let t0 = Instant::now();
    let d = start_daemon(&state, port, &flags);
    let v = Poll::secs(30).until_some("seeding after restart", || {
        let v = torrent_state(&d, &id);
        (v["state"] == "seeding").then_some(v)
    });
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "clean restart: {} MiB torrent seeding again {secs:.3} s after start",
        len >> 20
    );
    assert_eq!(v["have_pieces"], v["num_pieces"], "{v}");
    assert!(
        !state.join("daemon/clean").exists(),
        "marker must be consumed"
    );
    // The changed byte is still there: nothing was hashed.
    let mut byte = [0u8; 1];
    {
        use std::os::unix::fs::FileExt;
        std::fs::File::open(&file)
            .unwrap()
            .read_exact_at(&mut byte, 1000)
            .unwrap();
    }
    assert_eq!(byte[0], 0x55);
    // A re-check does hash: it finds the changed piece, which is fetched again.
    let (status, _) = d.call("POST", &format!("/api/v1/torrents/{id}/recheck"), None);
    assert_eq!(status, 202);
    let original = std::fs::read(src.join("data.bin")).unwrap();
    Poll::secs(60).until_some("repaired by re-check", || {
        let now = std::fs::read(&file).ok()?;
        (now == original && torrent_state(&d, &id)["state"] == "seeding").then_some(())
    });
    // After an unclean stop (kill -9) with unchanged files it comes back complete.
    let mut d = d;
    std::thread::sleep(Duration::from_secs(4));
    d.proc.kill9();
    let d = start_daemon(&state, port, &flags);
    Poll::secs(60).until_some("seeding after kill", || {
        (torrent_state(&d, &id)["state"] == "seeding").then_some(())
    });
}

/// A file changed behind the daemon's back while it was stopped (new mtime) is
/// re-checked at the next start: the damaged piece is found and fetched again.
#[test]
fn file_changed_while_stopped_is_rechecked() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let len = 8 * 1024 * 1024;
    let data = random_file(&src.join("doc.bin"), len, 33);
    let torrent = tmp.path().join("doc.torrent");
    let id = write_torrent(&src.join("doc.bin"), &torrent, PIECE);
    let (_seeder, seed_addr) = start_seeder(&torrent, &src, &[]);
    let state = tmp.path().join("state");
    let downloads = tmp.path().join("downloads");
    let port = free_port();
    let flags = ["--download-dir", downloads.to_str().unwrap()];
    let mut d = start_daemon(&state, port, &flags);
    let (ok, _, err) = d.cli(&[
        "add",
        torrent.to_str().unwrap(),
        "--peer",
        &seed_addr.to_string(),
    ]);
    assert!(ok, "{err}");
    Poll::secs(60).until_some("completion", || {
        (torrent_state(&d, &id)["state"] == "seeding").then_some(())
    });
    let st = d.proc.signal_and_wait(15, 30);
    assert!(st.success(), "{st:?}");
    // An ordinary write: the mtime moves on.
    let file = downloads.join("doc.bin");
    std::thread::sleep(Duration::from_millis(20));
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        f.write_all_at(&[0xAA; 32], 3 * PIECE as u64 + 5).unwrap();
    }
    let d = start_daemon(&state, port, &flags);
    Poll::secs(60).until_some("repaired after restart", || {
        let now = std::fs::read(&file).ok()?;
        (now == data && torrent_state(&d, &id)["state"] == "seeding").then_some(())
    });
}
