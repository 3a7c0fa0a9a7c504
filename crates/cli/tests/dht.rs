//! Finding a seeder through the mainline DHT alone: a local DHT of 100 shoal nodes on
//! loopback (in this process, real UDP sockets), a `shoal send` that announces there,
//! and a `shoal get` given nothing but the info-hash (no tracker, no `--peer`, no
//! `x.pe`, no LSD). The two shoal processes use their own 127.x addresses so each is a
//! distinct host to the DHT's per-address rate limits.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_testkit::fs::assert_same_tree;
use std::process::Command;
use std::time::Duration;
use support::dht::{bare_magnet, info_hash_of, LocalDht};
use support::*;

fn dht_only(cmd: &mut Command, s: &Scratch, ip: &str, dht: &LocalDht, state: &str) {
    cmd.args(["--port", "0", "--bind", ip, "--no-trackers", "--no-lsd"])
        .args(["--dht-bootstrap", &dht.bootstrap()])
        .arg("--state-dir")
        .arg(s.dir(state));
}

#[test]
fn magnet_only_get_finds_the_seeder_through_the_dht() {
    let s = Scratch::new("dht_magnet");
    let dht = LocalDht::start(100);
    let src = make_multi(&s.dir("share"), "dataset");

    let mut send = Command::new(shoal_bin());
    // Public: the receiver gets nothing but the info-hash, so no key either.
    send.args(["-vv", "send", "--public"])
        .arg(&src)
        .args(["--until-done", "1"]);
    dht_only(&mut send, &s, "127.0.0.2", &dht, "state-send");
    let mut send = Proc::spawn(&s, "send", send);
    let port = send.listen_port();
    let link = send.wait_line("magnet:", TIMEOUT);
    let info_hash = info_hash_of(&link);
    // The announce reached the DHT: a node far from the sender finds it.
    assert!(
        dht.finds(57, info_hash, port, Duration::from_secs(30)),
        "the sender's announce never showed up in the DHT"
    );

    let magnet = bare_magnet(&link);
    let out = s.dir("received");
    let mut get = Command::new(shoal_bin());
    get.args(["-vv", "get"]).arg(&magnet).arg("-o").arg(&out);
    dht_only(&mut get, &s, "127.0.0.3", &dht, "state-get");
    let mut get = Proc::spawn(&s, "get", get);
    get.expect_success();
    send.expect_success();
    assert_same_tree(&src, &out.join("dataset"));
    // Both kept their DHT identity for next time.
    assert!(s.root().join("state-send/dht.dat").is_file());
    assert!(s.root().join("state-get/dht.dat").is_file());
}
