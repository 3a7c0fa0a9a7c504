//! shoal against Transmission 3 (transmission-cli with its own settings.json), both
//! directions, on 127.0.0.1. Transmission does not dial 127.x peers it hears of, so
//! shoal always connects to it: as leecher (`get --peer`) and as seeder (`seed --peer`).
#![allow(clippy::unwrap_used)]

mod support;

use support::*;

/// Transmission seeds one file from a shoal-made torrent; shoal downloads it.
#[test]
fn transmission_seeds_shoal_gets_single() {
    let name = "tr_to_shoal_single";
    if !require(name, &[Tool::Transmission]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_single(&src_dir, "payload.bin");
    let t = shoal_create(&s, &src, &CreateOpts::default());
    transmission_seeds_shoal_gets(&s, &t, &src_dir);
}

/// Transmission seeds a multi-file torrent made by transmission-create; shoal downloads.
#[test]
fn transmission_seeds_shoal_gets_multi_transmission_create() {
    let name = "tr_to_shoal_multi";
    if !require(name, &[Tool::Transmission, Tool::TransmissionCreate]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_multi(&src_dir, "multi");
    let t = transmission_create(&s, &src, None, 64);
    transmission_seeds_shoal_gets(&s, &t, &src_dir);
}

fn transmission_seeds_shoal_gets(s: &Scratch, t: &Torrent, src_dir: &std::path::Path) {
    let (mut seed, port) = transmission(s, "tr_seed", &t.path, src_dir);
    seed.wait_text("Seeding", TIMEOUT);
    let dl = s.dir("dl");
    let (mut get, _) = shoal_get(s, "shoal_get", &t.path, &dl, &[local(port)], false);
    get.expect_success();
    t.assert_downloaded(src_dir, &dl);
}

/// shoal seeds one file and connects out to a downloading Transmission.
#[test]
fn shoal_seeds_transmission_gets_single() {
    let name = "shoal_to_tr_single";
    if !require(name, &[Tool::Transmission]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_single(&src_dir, "payload.bin");
    let t = shoal_create(&s, &src, &CreateOpts::default());
    shoal_seeds_transmission_gets(&s, &t, &src_dir);
}

/// shoal seeds a shoal-made multi-file torrent (with an empty file) to Transmission.
#[test]
fn shoal_seeds_transmission_gets_multi() {
    let name = "shoal_to_tr_multi";
    if !require(name, &[Tool::Transmission]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_multi(&src_dir, "multi");
    let opts = CreateOpts {
        piece_size: Some(64 * 1024),
        ..Default::default()
    };
    let t = shoal_create(&s, &src, &opts);
    shoal_seeds_transmission_gets(&s, &t, &src_dir);
}

fn shoal_seeds_transmission_gets(s: &Scratch, t: &Torrent, src_dir: &std::path::Path) {
    let dl = s.dir("dl");
    let (mut get, port) = transmission(s, "tr_get", &t.path, &dl);
    let (_seed, _) = shoal_seed(s, "shoal_seed", &t.path, src_dir, &[local(port)]);
    // Transmission 3 does not create the empty file.
    wait_download(&mut get, t, src_dir, &dl, true);
}
