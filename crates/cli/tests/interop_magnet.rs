//! Magnet links against libtorrent (BEP 9 ut_metadata), both directions: each side
//! starts from nothing but the info-hash and a peer address.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use support::*;

const STOP: Duration = Duration::from_secs(10);

/// libtorrent seeds a multi-file torrent; shoal gets it from a magnet link whose only
/// peer source is `x.pe`.
#[test]
fn libtorrent_seeds_shoal_gets_magnet_via_x_pe() {
    let name = "lt_to_shoal_magnet";
    if !require(name, &[Tool::Libtorrent]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_multi(&src_dir, "multi");
    let opts = CreateOpts {
        piece_size: Some(16 * 1024),
        ..Default::default()
    };
    let t = shoal_create(&s, &src, &opts);
    let (_seed, port) = lt_seed(&s, "lt_seed", &t.path, &src_dir, &[]);
    let magnet = format!("magnet:?xt=urn:btih:{}&x.pe={}", t.hex(), local(port));
    let dl = s.dir("dl");
    let (mut get, _) = shoal_get(&s, "shoal_get", Path::new(&magnet), &dl, &[], false);
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
}

/// shoal seeds; libtorrent gets a bare magnet link and is pointed at shoal.
#[test]
fn shoal_seeds_libtorrent_gets_magnet() {
    let name = "shoal_to_lt_magnet";
    if !require(name, &[Tool::Libtorrent]) {
        return;
    }
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    let src = make_single(&src_dir, "payload.bin");
    let opts = CreateOpts {
        piece_size: Some(16 * 1024),
        ..Default::default()
    };
    let t = shoal_create(&s, &src, &opts);
    let (mut seed, port) = shoal_seed(&s, "shoal_seed", &t.path, &src_dir, &[]);
    let magnet = format!("magnet:?xt=urn:btih:{}", t.hex());
    let dl = s.dir("dl");
    let (mut get, _) = lt_get(&s, "lt_get", Path::new(&magnet), &dl, &[local(port)]);
    get.expect_success();
    t.assert_downloaded(&src_dir, &dl);
    seed.expect_clean_stop("INT", STOP);
}
