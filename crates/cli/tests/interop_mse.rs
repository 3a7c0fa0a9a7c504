//! Message stream encryption (MSE/PE) against real clients on 127.0.0.1: shoal with
//! `--encryption require` both seeds to and downloads from libtorrent (encryption
//! forced, RC4 only), aria2 (`--bt-require-crypto`, arc4) and Transmission
//! (encryption required). Neither side accepts a plaintext connection, so a completed
//! transfer means the MSE handshake and the RC4 stream interoperate; shoal's log must
//! also show only encrypted connections.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use shoal_testkit::free_port;
use support::*;

/// `text` without ANSI colour sequences (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Every connection shoal logged was encrypted, and there was at least one.
fn assert_only_encrypted(shoal: &Proc) {
    let log = strip_ansi(&shoal.stderr());
    assert!(
        log.contains("peer connected") && log.contains("encrypted=true"),
        "{} logged no encrypted connection",
        shoal.name
    );
    assert!(
        !log.contains("encrypted=false"),
        "{} logged a plaintext connection",
        shoal.name
    );
}

/// A single-file torrent made by shoal, and the directory holding its data.
fn single(s: &Scratch, piece_size: u32) -> (Torrent, std::path::PathBuf) {
    let src_dir = s.dir("src");
    let src = make_single(&src_dir, "payload.bin");
    let opts = CreateOpts {
        piece_size: Some(piece_size),
        ..Default::default()
    };
    (shoal_create(s, &src, &opts), src_dir)
}

/// `shoal get --encryption require --peer SEEDER` until it exits, then compare bytes.
fn shoal_gets_from(s: &Scratch, t: &Torrent, src_dir: &Path, seeder_port: u16) {
    let dl = s.dir("dl");
    let (mut get, _) = shoal_get_with(
        s,
        "shoal_get",
        &t.path,
        &dl,
        &[local(seeder_port)],
        false,
        &SHOAL_REQUIRE_ENCRYPTION,
    );
    get.expect_success();
    t.assert_downloaded(src_dir, &dl);
    assert_only_encrypted(&get);
}

#[test]
fn libtorrent_forced_seeds_shoal_require_gets() {
    let name = "mse_lt_to_shoal";
    if !require(name, &[Tool::Libtorrent]) {
        return;
    }
    let s = Scratch::new(name);
    let (t, src_dir) = single(&s, 256 * 1024);
    let (_seed, port) = lt_seed_with(&s, "lt_seed", &t.path, &src_dir, &[], &LT_FORCE_ENCRYPTION);
    shoal_gets_from(&s, &t, &src_dir, port);
}

#[test]
fn shoal_require_seeds_libtorrent_forced_gets() {
    let name = "mse_shoal_to_lt";
    if !require(name, &[Tool::Libtorrent]) {
        return;
    }
    let s = Scratch::new(name);
    let (t, src_dir) = single(&s, 256 * 1024);
    let (seed, port) = shoal_seed_with(
        &s,
        "shoal_seed",
        &t.path,
        &src_dir,
        &[],
        &SHOAL_REQUIRE_ENCRYPTION,
    );
    let dl = s.dir("dl");
    let (mut get, _) = lt_get_with(
        &s,
        "lt_get",
        &t.path,
        &dl,
        &[local(port)],
        &LT_FORCE_ENCRYPTION,
    );
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
    assert_only_encrypted(&seed);
}

#[test]
fn aria2_crypto_seeds_shoal_require_gets() {
    let name = "mse_aria2_to_shoal";
    if !require(name, &[Tool::Aria2]) {
        return;
    }
    let s = Scratch::new(name);
    let (t, src_dir) = single(&s, 256 * 1024);
    let (_seed, port) = aria2_seed_with(&s, "aria2_seed", &t.path, &src_dir, &ARIA2_REQUIRE_CRYPTO);
    shoal_gets_from(&s, &t, &src_dir, port);
}

/// aria2 cannot be given a peer, so it finds the shoal seeder through opentracker.
#[test]
fn shoal_require_seeds_aria2_crypto_gets() {
    let name = "mse_shoal_to_aria2";
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
    let (seed, _) = shoal_seed_with(
        &s,
        "shoal_seed",
        &t.path,
        &src_dir,
        &[],
        &SHOAL_REQUIRE_ENCRYPTION,
    );
    tracker.wait_seeders(&t.info_hash, 1, TIMEOUT);
    let dl = s.dir("dl");
    let mut get = aria2_get_with(&s, "aria2_get", &t.path, &dl, None, &ARIA2_REQUIRE_CRYPTO);
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
    assert_only_encrypted(&seed);
}

/// Transmission does not dial 127.x peers it hears of, so shoal connects to it.
#[test]
fn transmission_required_seeds_shoal_require_gets() {
    let name = "mse_tr_to_shoal";
    if !require(name, &[Tool::Transmission]) {
        return;
    }
    let s = Scratch::new(name);
    let (t, src_dir) = single(&s, 256 * 1024);
    let (mut seed, port) =
        transmission_with(&s, "tr_seed", &t.path, &src_dir, TrEncryption::Required);
    seed.wait_text("Seeding", TIMEOUT);
    shoal_gets_from(&s, &t, &src_dir, port);
}

/// shoal seeds and dials the downloading Transmission.
#[test]
fn shoal_require_seeds_transmission_required_gets() {
    let name = "mse_shoal_to_tr";
    if !require(name, &[Tool::Transmission]) {
        return;
    }
    let s = Scratch::new(name);
    let (t, src_dir) = single(&s, 256 * 1024);
    let dl = s.dir("dl");
    let (mut get, port) = transmission_with(&s, "tr_get", &t.path, &dl, TrEncryption::Required);
    let (seed, _) = shoal_seed_with(
        &s,
        "shoal_seed",
        &t.path,
        &src_dir,
        &[local(port)],
        &SHOAL_REQUIRE_ENCRYPTION,
    );
    wait_download(&mut get, &t, &src_dir, &dl, true);
    assert_only_encrypted(&seed);
}
