//! shoal against libtorrent-rasterbar (python3-libtorrent, driven by
//! tests/support/lt_seed.py and lt_get.py), both directions, on 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use shoal_testkit::free_port;
use support::*;

const STOP: Duration = Duration::from_secs(10);

/// shoal creates and seeds one file; libtorrent connects to it and downloads.
#[test]
fn shoal_seeds_libtorrent_gets_single() {
    let name = "shoal_to_lt_single";
    if !require(name, &[Tool::Libtorrent]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_single(&src_dir, "payload.bin");
    let opts = CreateOpts {
        piece_size: Some(256 * 1024),
        ..Default::default()
    };
    let t = shoal_create(&s, &src, &opts);
    let (mut seed, port) = shoal_seed(&s, "shoal_seed", &t.path, &src_dir, &[]);
    let dl = s.dir("dl");
    let (mut get, _) = lt_get(&s, "lt_get", &t.path, &dl, &[local(port)]);
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
    // libtorrent read shoal's torrent to the same info-hash as the magnet says.
    assert!(get.stdout().contains(&format!("info_hash={}", t.hex())));
    seed.expect_clean_stop("INT", STOP);
}

/// shoal creates (private, commented, 64 KiB pieces) and seeds a directory with odd
/// file sizes and an empty file; libtorrent downloads it.
#[test]
fn shoal_seeds_libtorrent_gets_multi() {
    let name = "shoal_to_lt_multi";
    if !require(name, &[Tool::Libtorrent]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_multi(&src_dir, "multi");
    let opts = CreateOpts {
        piece_size: Some(64 * 1024),
        private: true,
        comment: Some("interop test"),
        ..Default::default()
    };
    let t = shoal_create(&s, &src, &opts);
    assert_eq!(t.files.len(), MULTI_FILES.len(), "files: {:?}", t.files);
    assert!(t.has_file("empty.txt", 0), "no empty file: {:?}", t.files);
    let (mut seed, port) = shoal_seed(&s, "shoal_seed", &t.path, &src_dir, &[]);
    let dl = s.dir("dl");
    let (mut get, _) = lt_get(&s, "lt_get", &t.path, &dl, &[local(port)]);
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
    seed.expect_clean_stop("TERM", STOP);
}

/// The seeder dials out: libtorrent is told of no peer, shoal `seed --peer` connects
/// to it (the path used for Transmission, which ignores loopback peers it is told of).
#[test]
fn shoal_seeds_by_connecting_out_libtorrent_gets() {
    let name = "shoal_dials_lt";
    if !require(name, &[Tool::Libtorrent]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_single(&src_dir, "payload.bin");
    let t = shoal_create(&s, &src, &CreateOpts::default());
    let dl = s.dir("dl");
    let (mut get, lt_port) = lt_get(&s, "lt_get", &t.path, &dl, &[]);
    let (_seed, _) = shoal_seed(&s, "shoal_seed", &t.path, &src_dir, &[local(lt_port)]);
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
}

/// libtorrent seeds one file from a shoal-made torrent; shoal downloads it.
#[test]
fn libtorrent_seeds_shoal_gets_single() {
    let name = "lt_to_shoal_single";
    if !require(name, &[Tool::Libtorrent]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_single(&src_dir, "payload.bin");
    let t = shoal_create(&s, &src, &CreateOpts::default());
    let (_seed, port) = lt_seed(&s, "lt_seed", &t.path, &src_dir, &[]);
    let dl = s.dir("dl");
    let (mut get, _) = shoal_get(&s, "shoal_get", &t.path, &dl, &[local(port)], false);
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
}

/// libtorrent seeds a multi-file torrent made by mktorrent (64 KiB pieces, includes
/// the empty file); shoal downloads it.
#[test]
fn libtorrent_seeds_shoal_gets_multi_mktorrent() {
    let name = "lt_to_shoal_multi_mk";
    if !require(name, &[Tool::Libtorrent, Tool::Mktorrent]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_multi(&src_dir, "multi");
    let t = mktorrent(&s, &src, None, 16);
    let (_seed, port) = lt_seed(&s, "lt_seed", &t.path, &src_dir, &[]);
    let dl = s.dir("dl");
    let (mut get, _) = shoal_get(&s, "shoal_get", &t.path, &dl, &[local(port)], false);
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
}

/// shoal finds the libtorrent seeder only through the torrent's HTTP tracker.
#[test]
fn libtorrent_seeds_shoal_gets_via_http_tracker() {
    libtorrent_seeds_shoal_gets_via_tracker("lt_to_shoal_http", false);
}

/// shoal finds the libtorrent seeder only through a UDP tracker (BEP 15).
#[test]
fn libtorrent_seeds_shoal_gets_via_udp_tracker() {
    libtorrent_seeds_shoal_gets_via_tracker("lt_to_shoal_udp", true);
}

fn tracker_url(port: u16, udp: bool) -> String {
    if udp {
        format!("udp://127.0.0.1:{port}/announce")
    } else {
        tracker::http_url(port)
    }
}

fn libtorrent_seeds_shoal_gets_via_tracker(name: &str, udp: bool) {
    if !require(name, &[Tool::Libtorrent, Tool::Opentracker]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_single(&src_dir, "payload.bin");
    let tport = free_port();
    let opts = CreateOpts {
        trackers: vec![tracker_url(tport, udp)],
        ..Default::default()
    };
    let t = shoal_create(&s, &src, &opts);
    let tracker = Tracker::start(&s, tport, &[t.info_hash]);
    let (_seed, _) = lt_seed(&s, "lt_seed", &t.path, &src_dir, &[]);
    tracker.wait_seeders(&t.info_hash, 1, TIMEOUT);
    let dl = s.dir("dl");
    let (mut get, _) = shoal_get(&s, "shoal_get", &t.path, &dl, &[], false);
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
}

/// shoal announces over UDP (BEP 15); libtorrent finds it only through that tracker.
/// (aria2 1.36 cannot use UDP trackers with DHT off, so this direction uses libtorrent.)
#[test]
fn shoal_seeds_libtorrent_gets_via_udp_tracker() {
    let name = "shoal_to_lt_udp";
    if !require(name, &[Tool::Libtorrent, Tool::Opentracker]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_single(&src_dir, "payload.bin");
    let tport = free_port();
    let opts = CreateOpts {
        trackers: vec![tracker_url(tport, true)],
        ..Default::default()
    };
    let t = shoal_create(&s, &src, &opts);
    let tracker = Tracker::start(&s, tport, &[t.info_hash]);
    let (_seed, _) = shoal_seed(&s, "shoal_seed", &t.path, &src_dir, &[]);
    tracker.wait_seeders(&t.info_hash, 1, TIMEOUT);
    let dl = s.dir("dl");
    let (mut get, _) = lt_get(&s, "lt_get", &t.path, &dl, &[]);
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
}

/// `shoal get --seed`: shoal downloads from one libtorrent, the original seeder goes
/// away, and a second libtorrent downloads everything from shoal.
#[test]
fn shoal_get_then_seed_relays_between_libtorrents() {
    let name = "lt_shoal_lt_relay";
    if !require(name, &[Tool::Libtorrent]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_multi(&src_dir, "multi");
    let opts = CreateOpts {
        piece_size: Some(32 * 1024),
        ..Default::default()
    };
    let t = shoal_create(&s, &src, &opts);
    let (mut first, port) = lt_seed(&s, "lt_seed", &t.path, &src_dir, &[]);
    let mid = s.dir("shoal");
    let (mut relay, relay_port) =
        shoal_get(&s, "shoal_get_seed", &t.path, &mid, &[local(port)], true);
    wait_download(&mut relay, &t, &src_dir, &mid, false);
    first.stop();
    let dl = s.dir("dl");
    let (mut get, _) = lt_get(&s, "lt_get", &t.path, &dl, &[local(relay_port)]);
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
    relay.expect_clean_stop("INT", STOP);
}
