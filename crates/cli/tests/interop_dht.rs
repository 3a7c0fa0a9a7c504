//! DHT interop with libtorrent (python3-libtorrent), both ways, with peers found through
//! the DHT alone (magnets carry only the info-hash; no trackers, `--peer`, LSD or PEX):
//! - a libtorrent session bootstrapped from a shoal DHT node finds a shoal sender and
//!   downloads from it;
//! - a shoal leecher bootstrapped from a libtorrent DHT node finds a libtorrent seeder.
//!
//! Every process has its own 127.x address, as separate hosts would.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;
use std::time::Duration;
use support::dht::{bare_magnet, info_hash_of, LocalDht};
use support::*;

fn lt_dht(mode: &str, ip: &str, bootstrap: &[String]) -> Command {
    let mut cmd = Command::new(PYTHON);
    cmd.args(["-u", "-B"])
        .arg(format!(
            "{}/tests/support/lt_dht.py",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg(mode)
        .args(["--ip", ip, "--timeout", "150"]);
    for b in bootstrap {
        cmd.args(["--bootstrap", b]);
    }
    cmd
}

fn shoal_dht_args(cmd: &mut Command, s: &Scratch, ip: &str, bootstrap: &str, state: &str) {
    cmd.args(["--port", "0", "--bind", ip, "--no-trackers", "--no-lsd"])
        .args(["--dht-bootstrap", bootstrap])
        .arg("--state-dir")
        .arg(s.dir(state));
}

#[test]
fn libtorrent_finds_a_shoal_sender_through_the_dht() {
    if !require(
        "libtorrent_finds_a_shoal_sender_through_the_dht",
        &[Tool::Libtorrent],
    ) {
        return;
    }
    let s = Scratch::new("lt_dht_get");
    let dht = LocalDht::start(20);
    let src = make_single(&s.dir("share"), "film.mkv");
    let mut send = Command::new(shoal_bin());
    // Public: libtorrent gets only the info-hash and must see the plain file.
    send.args(["-vv", "send", "--public"])
        .arg(&src)
        .args(["--until-done", "1"]);
    shoal_dht_args(&mut send, &s, "127.0.0.2", &dht.bootstrap(), "state-send");
    let mut send = Proc::spawn(&s, "shoal-send", send);
    let port = send.listen_port();
    let link = send.wait_line("magnet:", TIMEOUT);
    assert!(dht.finds(9, info_hash_of(&link), port, Duration::from_secs(30)));

    let out = s.dir("lt-out");
    let mut get = lt_dht("get", "127.0.0.4", &[dht.bootstrap()]);
    get.arg("--magnet")
        .arg(bare_magnet(&link))
        .arg("--save")
        .arg(&out);
    let mut get = Proc::spawn(&s, "lt-get", get);
    get.wait_line("complete", TIMEOUT);
    get.expect_success();
    assert_eq!(sha1_file(&out.join("film.mkv")), sha1_file(&src));
    send.expect_success();
}

#[test]
fn shoal_finds_a_libtorrent_seeder_through_libtorrent_dht() {
    if !require(
        "shoal_finds_a_libtorrent_seeder_through_libtorrent_dht",
        &[Tool::Libtorrent],
    ) {
        return;
    }
    let s = Scratch::new("shoal_dht_lt");
    let src_dir = s.dir("lt-data");
    let src = make_single(&src_dir, "album.flac");
    let torrent = shoal_create(&s, &src, &CreateOpts::default());

    let mut node = Proc::spawn(&s, "lt-node", lt_dht("node", "127.0.0.5", &[]));
    let node_addr = format!("127.0.0.5:{}", node.listen_port());
    let mut seed = lt_dht("seed", "127.0.0.6", std::slice::from_ref(&node_addr));
    seed.arg("--torrent")
        .arg(&torrent.path)
        .arg("--save")
        .arg(&src_dir);
    let mut seed = Proc::spawn(&s, "lt-seed", seed);
    seed.listen_port();

    let out = s.dir("shoal-out");
    let mut get = Command::new(shoal_bin());
    get.args(["-vv", "get"])
        .arg(format!("magnet:?xt=urn:btih:{}", torrent.hex()))
        .arg("-o")
        .arg(&out);
    shoal_dht_args(&mut get, &s, "127.0.0.7", &node_addr, "state-get");
    let mut get = Proc::spawn(&s, "shoal-get", get);
    get.expect_success();
    assert_eq!(sha1_file(&out.join("album.flac")), sha1_file(&src));
    drop(seed);
    drop(node);
}
