//! The "send a file to a friend" flow end to end: `shoal send DIR` in one process prints
//! a link (private by default, a plain magnet with `--public`), `shoal get LINK` in
//! another reproduces the directory byte for byte, and `--until-done 1` makes the sender
//! exit on its own. Only loopback is used: no DHT
//! routers, no LAN multicast, no trackers.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_testkit::fs::assert_same_tree;
use std::process::Command;
use support::*;

fn local_only(cmd: &mut Command, s: &Scratch, state: &str) {
    cmd.args(["--port", "0", "--bind", "127.0.0.1", "--no-trackers"])
        .args(NO_PUBLIC_DISCOVERY)
        .arg("--state-dir")
        .arg(s.dir(state));
}

#[test]
fn send_directory_then_get_link() {
    let s = Scratch::new("send_get");
    let src = make_multi(&s.dir("share"), "holiday photos");
    let mut send = Command::new(shoal_bin());
    send.args(["-v", "send"])
        .arg(&src)
        .args(["--until-done", "1", "--qr"]);
    local_only(&mut send, &s, "state-send");
    let mut send = Proc::spawn(&s, "send", send);
    let link = send.wait_line("magnet:", TIMEOUT);
    assert!(
        link.contains("x.pe=127.0.0.1"),
        "no reachable address in {link}"
    );
    assert!(link.contains("#k="), "private by default: {link}");
    assert!(
        send.stdout().contains('█') || send.stdout().contains('▀'),
        "--qr printed no QR code"
    );

    let out = s.dir("received");
    let mut get = Command::new(shoal_bin());
    get.args(["-v", "get"]).arg(&link).arg("-o").arg(&out);
    local_only(&mut get, &s, "state-get");
    let mut get = Proc::spawn(&s, "get", get);
    get.expect_success();
    send.expect_success();
    assert_same_tree(&src, &out.join("holiday photos"));
    assert!(send.stderr().contains("1 peer(s) have everything"));
}

#[test]
fn send_single_file_to_two_receivers() {
    let s = Scratch::new("send_two");
    let src = make_single(&s.dir("share"), "report.pdf");
    let mut send = Command::new(shoal_bin());
    send.args(["-v", "send", "--public"])
        .arg(&src)
        .args(["--until-done", "2"]);
    local_only(&mut send, &s, "state-send");
    let mut send = Proc::spawn(&s, "send", send);
    let link = send.wait_line("magnet:", TIMEOUT);
    assert!(!link.contains('#'), "--public gives a plain magnet: {link}");
    let mut gets = Vec::new();
    for i in 0..2 {
        let out = s.dir(&format!("out{i}"));
        let mut get = Command::new(shoal_bin());
        get.args(["-v", "get"]).arg(&link).arg("-o").arg(&out);
        local_only(&mut get, &s, &format!("state-get{i}"));
        gets.push((Proc::spawn(&s, &format!("get{i}"), get), out));
    }
    for (get, out) in &mut gets {
        get.expect_success();
        assert_eq!(
            sha1_file(&out.join("report.pdf")),
            sha1_file(&src),
            "receiver's copy differs"
        );
    }
    send.expect_success();
}

/// While a magnet's metadata is fetched, `shoal get` says what it is waiting for
/// (here: its only peer does not answer) instead of sitting silent.
#[test]
fn get_says_what_a_magnet_waits_for() {
    let s = Scratch::new("get_waits");
    let nobody = shoal_testkit::free_port();
    let link = format!(
        "magnet:?xt=urn:btih:{}&x.pe=127.0.0.1:{nobody}",
        "ab".repeat(20)
    );
    let mut get = Command::new(shoal_bin());
    get.args(["get", &link, "-o"]).arg(s.dir("out"));
    local_only(&mut get, &s, "state-get");
    let mut get = Proc::spawn(&s, "get", get);
    get.wait_text("metadata: no connection to any of 1 known peer(s)", TIMEOUT);
    get.stop();
}

/// A receiver whose policy the sender refuses is told why it gets nowhere.
#[test]
fn get_says_when_the_sender_requires_encryption() {
    let s = Scratch::new("get_refused");
    let src = make_single(&s.dir("share"), "notes.txt");
    let mut send = Command::new(shoal_bin());
    send.args(["send", "--public", "--encryption", "require"])
        .arg(&src);
    local_only(&mut send, &s, "state-send");
    let mut send = Proc::spawn(&s, "send", send);
    let link = send.wait_line("magnet:", TIMEOUT);
    let mut get = Command::new(shoal_bin());
    get.args(["get", "--encryption", "disable"])
        .arg(&link)
        .arg("-o")
        .arg(s.dir("out"));
    local_only(&mut get, &s, "state-get");
    let mut get = Proc::spawn(&s, "get", get);
    get.wait_text("(1 peer refused: they require encryption)", TIMEOUT);
    get.stop();
    send.stop();
}
