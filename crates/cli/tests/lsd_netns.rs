//! Local service discovery (BEP 14) between two hosts on one LAN, simulated by two
//! network namespaces this test creates and joins with a veth pair: the receiver gets a
//! magnet with nothing but the info-hash, the DHT and trackers are off, and the only way
//! to find the sender is the multicast announce on the link.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_testkit::fs::assert_same_tree;
use support::dht::bare_magnet;
use support::netns::NetnsPair;
use support::*;

#[test]
fn receiver_finds_sender_on_the_lan_through_lsd() {
    let s = Scratch::new("lsd_netns");
    let Some(net) = NetnsPair::create("lsd_netns") else {
        return;
    };
    let src = make_multi(&s.dir("share"), "lan party");
    let mut send = NetnsPair::exec(&net.a, shoal_bin());
    // Public: the receiver gets nothing but the info-hash, so no key either.
    send.args(["-vv", "send", "--public"])
        .arg(&src)
        .args([
            "--until-done",
            "1",
            "--port",
            "0",
            "--no-dht",
            "--no-trackers",
        ])
        .arg("--state-dir")
        .arg(s.dir("state-send"));
    let mut send = Proc::spawn(&s, "send", send);
    let link = send.wait_line("magnet:", TIMEOUT);
    assert!(
        link.contains(&net.ip_a),
        "the link should carry the LAN address: {link}"
    );

    let out = s.dir("received");
    let mut get = NetnsPair::exec(&net.b, shoal_bin());
    get.args(["-vv", "get"])
        .arg(bare_magnet(&link))
        .arg("-o")
        .arg(&out)
        .args(["--port", "0", "--no-dht", "--no-trackers"])
        .arg("--state-dir")
        .arg(s.dir("state-get"));
    let mut get = Proc::spawn(&s, "get", get);
    get.expect_success();
    send.expect_success();
    assert_same_tree(&src, &out.join("lan party"));
    assert!(get.stderr().contains("peer from local service discovery"));
}
