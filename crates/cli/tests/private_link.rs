//! Private links end to end (`shoal send` makes one by default): a receiver with the
//! link reproduces a directory byte for byte with its permissions; a keyless peer given
//! only the magnet part downloads ciphertext that holds neither file names nor any 16
//! bytes of the plaintext, and re-seeds it to a later receiver that has the key; a wrong
//! key fails with one clear line and writes nothing; the key never shows up in any
//! process's output (at `-vv`) except the link the sender prints. Loopback only.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_testkit::fs::assert_same_tree;
use shoal_testkit::units::parse_human_bytes;
use shoal_testkit::Poll;
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::*;

fn local_only(cmd: &mut Command, s: &Scratch, state: &str) {
    cmd.args(["--port", "0", "--bind", "127.0.0.1", "--no-trackers"])
        .args(NO_PUBLIC_DISCOVERY)
        .arg("--state-dir")
        .arg(s.dir(state));
}

/// Modes given to some of [`MULTI_FILES`] (all within what a receiver applies).
const MODES: &[(&str, u32)] = &[
    ("alpha.bin", 0o755),
    ("sub/deeper/gamma.dat", 0o600),
    ("zeta.bin", 0o640),
    ("empty.txt", 0o444),
];

fn make_share(s: &Scratch) -> std::path::PathBuf {
    let src = make_multi(&s.dir("share"), "holiday photos");
    for (rel, mode) in MODES {
        std::fs::set_permissions(src.join(rel), std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    src
}

fn assert_modes(src: &Path, got: &Path) {
    for (rel, _) in MULTI_FILES {
        let mode = |p: &Path| std::fs::metadata(p.join(rel)).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(got), mode(src), "mode of {rel}");
    }
}

/// Starts `shoal -vv send SRC` (private by default) and returns it with its link.
fn start_send(s: &Scratch, src: &Path, extra: &[&str]) -> (Proc, String) {
    let mut send = Command::new(shoal_bin());
    send.args(["-vv", "send"]).arg(src).args(extra);
    local_only(&mut send, s, "state-send");
    let mut send = Proc::spawn(s, "send", send);
    let link = send.wait_line("magnet:", TIMEOUT);
    assert!(link.contains("#k="), "not a private link: {link}");
    assert!(
        link.contains("x.pe=127.0.0.1"),
        "no reachable address: {link}"
    );
    (send, link)
}

fn get(s: &Scratch, name: &str, link: &str, out: &Path, extra: &[&str]) -> Proc {
    let mut get = Command::new(shoal_bin());
    get.args(["-vv", "get"])
        .arg(link)
        .arg("-o")
        .arg(out)
        .args(extra);
    local_only(&mut get, s, &format!("state-{name}"));
    Proc::spawn(s, name, get)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether some 16-byte run of `plain` occurs in `cipher`. Any such run covers an
/// 8-byte chunk of `plain` at a multiple of 8, so indexing those chunks and looking up
/// every 8-byte window of `cipher` finds every candidate.
fn shares_16_bytes(plain: &[u8], cipher: &[u8]) -> bool {
    let mut chunks: HashMap<[u8; 8], Vec<usize>> = HashMap::new();
    for (i, c) in plain.chunks_exact(8).enumerate() {
        chunks.entry(c.try_into().unwrap()).or_default().push(i * 8);
    }
    for j in 0..cipher.len().saturating_sub(7) {
        let w: [u8; 8] = cipher[j..j + 8].try_into().unwrap();
        let Some(starts) = chunks.get(&w) else {
            continue;
        };
        for &k in starts {
            // The 8 matching bytes sit at offset 0..=8 of a 16-byte run.
            for shift in 0..=8usize {
                let (Some(p0), Some(c0)) = (k.checked_sub(shift), j.checked_sub(shift)) else {
                    continue;
                };
                if plain.get(p0..p0 + 16).is_some()
                    && plain.get(p0..p0 + 16) == cipher.get(c0..c0 + 16)
                {
                    return true;
                }
            }
        }
    }
    false
}

#[test]
fn private_link_round_trip_and_keyless_relay() {
    let s = Scratch::new("private_link");
    let src = make_share(&s);
    let (mut send, link) = start_send(&s, &src, &[]);
    let key = link.split("#k=").nth(1).unwrap().to_string();
    let magnet = link.split('#').next().unwrap().to_string();

    // B has the link: the directory comes back with its permissions.
    let out_b = s.dir("out-b");
    let mut b = get(&s, "get-b", &link, &out_b, &[]);
    b.expect_success();
    assert_same_tree(&src, &out_b.join("holiday photos"));
    assert_modes(&src, &out_b.join("holiday photos"));
    assert!(
        b.stderr().contains("complete: holiday photos ("),
        "the real name is reported"
    );
    assert_eq!(std::fs::read_dir(&out_b).unwrap().count(), 1, "spool left");

    // C has only the magnet part: it gets the ciphertext and seeds it.
    let out_c = s.dir("out-c");
    let mut c = get(&s, "get-c", &magnet, &out_c, &["--seed"]);
    let c_port = c.listen_port();
    c.wait_text("seeding until interrupted", TIMEOUT);
    let files: Vec<_> = std::fs::read_dir(&out_c).unwrap().collect();
    assert_eq!(files.len(), 1, "one stream file");
    let stream = std::fs::read(files[0].as_ref().unwrap().path()).unwrap();
    for name in [
        "holiday photos",
        "alpha",
        "beta",
        "gamma",
        "deeper",
        "empty.txt",
        "zeta",
    ] {
        assert!(
            !contains(&stream, name.as_bytes()),
            "{name:?} in the ciphertext"
        );
    }
    for (rel, _) in MULTI_FILES {
        let plain = std::fs::read(src.join(rel)).unwrap();
        assert!(
            !shares_16_bytes(&plain, &stream),
            "plaintext of {rel} in the ciphertext"
        );
    }

    // D has the link and only C as a source.
    send.expect_clean_stop("INT", Duration::from_secs(20));
    let out_d = s.dir("out-d");
    let mut d = get(&s, "get-d", &link, &out_d, &["--peer", &local(c_port)]);
    d.expect_success();
    assert_same_tree(&src, &out_d.join("holiday photos"));
    c.expect_clean_stop("INT", Duration::from_secs(20));

    // The key appears in nobody's output but the sender's link line.
    for p in [&send, &b, &c, &d] {
        assert!(!p.stderr().contains(&key), "{}: key in stderr", p.name);
        let stdout = p.stdout();
        let lines: Vec<&str> = stdout.lines().filter(|l| l.contains(&key)).collect();
        if p.name == "send" {
            assert_eq!(lines, vec![link.as_str()], "sender prints the key once");
        } else {
            assert!(lines.is_empty(), "{}: key in stdout", p.name);
        }
    }
}

#[test]
fn wrong_key_fails_clearly_and_writes_nothing() {
    let s = Scratch::new("private_wrong_key");
    let src = make_share(&s);
    let (mut send, link) = start_send(&s, &src, &[]);
    let magnet = link.split('#').next().unwrap();
    let key = link.split("#k=").nth(1).unwrap();
    // Another valid key: change the first character.
    let first = if key.starts_with('A') { 'B' } else { 'A' };
    let wrong = format!("{magnet}#k={first}{}", &key[1..]);

    let out = s.dir("out");
    let mut get = get(&s, "get", &wrong, &out, &[]);
    let status = get.wait_exit(TIMEOUT);
    assert!(!status.success(), "a wrong key must fail");
    let errors: Vec<String> = get
        .stderr()
        .lines()
        .filter(|l| l.starts_with("error:"))
        .map(str::to_string)
        .collect();
    assert_eq!(errors, vec!["error: wrong key for this link".to_string()]);
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert!(left.is_empty(), "nothing may be written: {left:?}");
    send.expect_clean_stop("INT", Duration::from_secs(20));
}

/// The upload total in a `shoal send` stop line ("stopping: uploaded 9.5 MiB to …").
fn send_uploaded(stderr: &str) -> u64 {
    let rest = stderr
        .lines()
        .find_map(|l| l.split_once(": uploaded ").map(|(_, r)| r))
        .unwrap_or_else(|| panic!("no upload total in the sender's output: {stderr:?}"));
    parse_human_bytes(rest.split(" to ").next().unwrap())
}

/// A private download interrupted half-way picks up where it stopped when `shoal get`
/// runs again with the same link and output directory: the sender uploads the share
/// about once in all (about 1.3 times if the second run started over: 10.6 MiB here),
/// and the result is byte-identical.
#[test]
fn an_interrupted_private_get_resumes_where_it_stopped() {
    const LEN: usize = 8 << 20;
    let s = Scratch::new("private_resume");
    let src = s.dir("share").join("film");
    write_random(&src.join("film.bin"), LEN);
    write_random(&src.join("notes.txt"), 3000);
    // 1 MiB/s (about 1 s of burst): the first run is stopped at about a third.
    let (mut send, link) = start_send(&s, &src, &["--upload-limit", "1048576"]);
    let out = s.dir("out");
    let mut first = get(&s, "get-1", &link, &out, &[]);
    Poll::up_to(TIMEOUT).until("the header to open", || out.join("film/film.bin").exists());
    std::thread::sleep(Duration::from_millis(1500));
    first.signal("INT");
    let st = first.wait_exit(TIMEOUT);
    assert!(
        !st.success(),
        "the first run finished before it was stopped"
    );

    let mut second = get(&s, "get-2", &link, &out, &[]);
    second.expect_success();
    assert_same_tree(&src, &out.join("film"));
    let leftovers: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, ["film"], "hidden files left behind");
    send.expect_clean_stop("INT", TIMEOUT);
    let uploaded = send_uploaded(&send.stderr());
    say(&format!(
        "sender uploaded {uploaded} bytes for a {LEN}-byte share"
    ));
    // Resumed: the share plus pieces that were in flight at the stop. Started over: the
    // first run's third on top of the whole share.
    assert!(
        uploaded < LEN as u64 * 9 / 8,
        "uploaded {uploaded} bytes: the second run started over"
    );
}
