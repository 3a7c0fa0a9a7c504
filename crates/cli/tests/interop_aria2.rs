//! shoal against aria2 (aria2c), both directions, on 127.0.0.1. aria2 has no flag to
//! add a peer, so when it downloads it finds shoal through opentracker (HTTP).
#![allow(clippy::unwrap_used)]

mod support;

use shoal_testkit::free_port;
use support::*;

/// shoal seeds a shoal-made torrent announced to an HTTP tracker; aria2 finds it there.
/// (aria2 1.36 refuses UDP trackers while DHT is off: "udp is not supported yet";
/// the UDP tracker tests use libtorrent instead.)
#[test]
fn shoal_seeds_aria2_gets_via_http_tracker() {
    let name = "shoal_to_aria2_http";
    if !require(name, &[Tool::Aria2, Tool::Opentracker]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_single(&src_dir, "payload.bin");
    let tport = free_port();
    let opts = CreateOpts {
        trackers: vec![tracker::http_url(tport)],
        ..Default::default()
    };
    let t = shoal_create(&s, &src, &opts);
    let tracker = Tracker::start(&s, tport, &[t.info_hash]);
    let (_seed, _) = shoal_seed(&s, "shoal_seed", &t.path, &src_dir, &[]);
    tracker.wait_seeders(&t.info_hash, 1, TIMEOUT);
    let dl = s.dir("dl");
    let mut get = aria2_get(&s, "aria2_get", &t.path, &dl, None);
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
}

/// shoal seeds a multi-file torrent made by transmission-create (which leaves out empty
/// files); aria2 finds it through the tracker.
#[test]
fn shoal_seeds_aria2_gets_transmission_create_multi() {
    let name = "shoal_to_aria2_trc";
    if !require(
        name,
        &[Tool::Aria2, Tool::Opentracker, Tool::TransmissionCreate],
    ) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_multi(&src_dir, "multi");
    let tport = free_port();
    let t = transmission_create(&s, &src, Some(&tracker::http_url(tport)), 64);
    let tracker = Tracker::start(&s, tport, &[t.info_hash]);
    let (_seed, _) = shoal_seed(&s, "shoal_seed", &t.path, &src_dir, &[]);
    tracker.wait_seeders(&t.info_hash, 1, TIMEOUT);
    let dl = s.dir("dl");
    let mut get = aria2_get(&s, "aria2_get", &t.path, &dl, None);
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
}

/// aria2 seeds one file from a shoal-made torrent; shoal connects to it.
#[test]
fn aria2_seeds_shoal_gets_single() {
    aria2_seeds_shoal_gets("aria2_to_shoal_single", false);
}

/// aria2 seeds a shoal-made multi-file torrent (with an empty file); shoal downloads.
#[test]
fn aria2_seeds_shoal_gets_multi() {
    aria2_seeds_shoal_gets("aria2_to_shoal_multi", true);
}

fn aria2_seeds_shoal_gets(name: &str, multi: bool) {
    if !require(name, &[Tool::Aria2]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = if multi {
        make_multi(&src_dir, "multi")
    } else {
        make_single(&src_dir, "payload.bin")
    };
    let opts = CreateOpts {
        piece_size: Some(if multi { 64 * 1024 } else { 256 * 1024 }),
        ..Default::default()
    };
    let t = shoal_create(&s, &src, &opts);
    let (_seed, port) = aria2_seed(&s, "aria2_seed", &t.path, &src_dir);
    let dl = s.dir("dl");
    let (mut get, _) = shoal_get(&s, "shoal_get", &t.path, &dl, &[local(port)], false);
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
}
