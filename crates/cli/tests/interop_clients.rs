//! Harness self-check, no shoal involved: the real clients exchange data with each
//! other through the same launchers the shoal tests use. If one of these fails, the
//! problem is the machine or the harness, not shoal.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_testkit::free_port;
use support::*;

/// libtorrent seeds, aria2 finds it through opentracker (mktorrent-made torrent).
#[test]
fn libtorrent_seeds_aria2_gets_via_tracker() {
    let name = "lt_to_aria2";
    if !require(
        name,
        &[
            Tool::Libtorrent,
            Tool::Aria2,
            Tool::Opentracker,
            Tool::Mktorrent,
        ],
    ) {
        return;
    }
    let s = Scratch::new(name);
    let src = make_single(&s.dir("src"), "payload.bin");
    let tport = free_port();
    let t = mktorrent(&s, &src, Some(&tracker::http_url(tport)), 18);
    let tracker = Tracker::start(&s, tport, &[t.info_hash]);
    let (_seed, _) = lt_seed(&s, "lt_seed", &t.path, &s.dir("src"), &[]);
    tracker.wait_seeders(&t.info_hash, 1, TIMEOUT);
    let dl = s.dir("dl");
    let mut aria = aria2_get(&s, "aria2_get", &t.path, &dl, None);
    aria.expect_success();
    t.assert_downloaded(&s.dir("src"), &dl);
}

/// aria2 seeds a multi-file transmission-create torrent, libtorrent connects to it.
#[test]
fn aria2_seeds_libtorrent_gets_multi() {
    let name = "aria2_to_lt";
    if !require(
        name,
        &[Tool::Libtorrent, Tool::Aria2, Tool::TransmissionCreate],
    ) {
        return;
    }
    let s = Scratch::new(name);
    let src = make_multi(&s.dir("src"), "multi");
    let t = transmission_create(&s, &src, None, 64);
    let (_seed, port) = aria2_seed(&s, "aria2_seed", &t.path, &s.dir("src"));
    let dl = s.dir("dl");
    let (mut get, _) = lt_get(&s, "lt_get", &t.path, &dl, &[local(port)]);
    get.expect_success();
    t.assert_downloaded(&s.dir("src"), &dl);
}

/// Transmission seeds a multi-file mktorrent torrent, libtorrent connects to it.
#[test]
fn transmission_seeds_libtorrent_gets_multi() {
    let name = "tr_to_lt";
    if !require(
        name,
        &[Tool::Libtorrent, Tool::Transmission, Tool::Mktorrent],
    ) {
        return;
    }
    let s = Scratch::new(name);
    let src = make_multi(&s.dir("src"), "multi");
    let t = mktorrent(&s, &src, None, 16);
    let (mut seed, port) = transmission(&s, "tr_seed", &t.path, &s.dir("src"));
    seed.wait_text("Seeding", TIMEOUT);
    let dl = s.dir("dl");
    let (mut get, _) = lt_get(&s, "lt_get", &t.path, &dl, &[local(port)]);
    get.expect_success();
    t.assert_downloaded(&s.dir("src"), &dl);
}

/// libtorrent seeds and connects out to a downloading Transmission.
#[test]
fn libtorrent_seeds_transmission_gets() {
    let name = "lt_to_tr";
    if !require(
        name,
        &[
            Tool::Libtorrent,
            Tool::Transmission,
            Tool::TransmissionCreate,
        ],
    ) {
        return;
    }
    let s = Scratch::new(name);
    let src = make_single(&s.dir("src"), "payload.bin");
    let t = transmission_create(&s, &src, None, 256);
    let dl = s.dir("dl");
    let (mut get, port) = transmission(&s, "tr_get", &t.path, &dl);
    let (_seed, _) = lt_seed(&s, "lt_seed", &t.path, &s.dir("src"), &[local(port)]);
    wait_download(&mut get, &t, &s.dir("src"), &dl, false);
}
