//! `--interface NAME` on a host with two links (network namespaces this test makes):
//! the routes send traffic for the sender's address through the second link, yet a
//! receiver bound to the first one downloads through it and sends not one packet
//! through the other: not its peer connections, nor its tracker announces (HTTP and
//! UDP), its DHT queries or its LAN discovery.
#![allow(clippy::unwrap_used)]

mod support;

use support::netns::MultiHomed;
use support::*;

/// Listens in the sender's namespace on the tracker, DHT and LSD ports the receiver
/// is pointed at, and prints the name of each as its first packet arrives: whatever
/// arrives there came through the first link (the second leads elsewhere).
const WITNESS: &str = r#"
import select, socket, struct
R = "198.18.212.1"
def udp(port, host=R):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    return s
tcp = socket.socket()
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind((R, 7001))
tcp.listen(8)
lsd = udp(6771, "0.0.0.0")
group = struct.pack("4s4s", socket.inet_aton("239.192.152.143"), socket.inet_aton("198.18.210.1"))
lsd.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
names = {udp(7000): "udp-tracker", tcp: "http-tracker", udp(7002): "dht", lsd: "lsd"}
print("ready", flush=True)
seen = set()
while len(seen) < len(names):
    ready, _, _ = select.select(list(names), [], [], 120)
    if not ready:
        break
    for s in ready:
        if s is tcp:
            s.accept()[0].close()
        else:
            s.recvfrom(4096)
        if names[s] not in seen:
            seen.add(names[s])
            print(names[s], flush=True)
"#;

#[test]
fn nothing_leaves_through_another_interface() {
    let s = Scratch::new("interface_netns");
    let Some(net) = MultiHomed::create("interface_netns") else {
        return;
    };
    let src = make_single(&s.dir("share"), "film.mkv");
    let mut send = MultiHomed::exec(&net.a, shoal_bin());
    send.args(["send", "--public", "--until-done", "1"])
        .arg(&src)
        .args(["--bind", MultiHomed::REMOTE, "--port", "6881"])
        .args(NO_PUBLIC_DISCOVERY)
        .arg("--no-trackers")
        .arg("--state-dir")
        .arg(s.dir("state-send"));
    let mut send = Proc::spawn(&s, "send", send);
    let link = send.wait_line("magnet:", TIMEOUT);
    assert!(link.contains(MultiHomed::REMOTE), "{link}");
    let mut witness = MultiHomed::exec(&net.a, "/usr/bin/python3");
    witness.args(["-c", WITNESS]);
    let mut witness = Proc::spawn(&s, "witness", witness);
    witness.wait_line("ready", TIMEOUT);

    // The control: an unbound datagram to the sender's address takes the other link.
    let before = net.sent_through(&net.via_b);
    let probe = MultiHomed::exec(&net.host, "bash")
        .args([
            "-c",
            &format!("echo probe > /dev/udp/{}/9", MultiHomed::REMOTE),
        ])
        .status()
        .unwrap();
    assert!(probe.success());
    let baseline = net.sent_through(&net.via_b);
    assert!(baseline > before, "the routes do not prefer the other link");

    let remote = MultiHomed::REMOTE;
    // HTTP first: it fails at once (the witness closes), so the UDP tier is next; the
    // other way round the silent UDP tracker holds the tiers for 35 s.
    let trackers = format!("&tr=http://{remote}:7001/announce&tr=udp://{remote}:7000");
    let out = s.dir("received");
    let mut get = MultiHomed::exec(&net.host, shoal_bin());
    get.args(["-v", "get", "--seed"])
        .arg(format!("{link}{trackers}"))
        .arg("-o")
        .arg(&out)
        .args(["--interface", &net.via_a, "--port", "0"])
        .args(["--dht-bootstrap", &format!("{remote}:7002")])
        .arg("--state-dir")
        .arg(s.dir("state-get"));
    let mut get = Proc::spawn(&s, "get", get);
    send.expect_success();
    for what in ["udp-tracker", "http-tracker", "dht", "lsd"] {
        witness.wait_line(what, TIMEOUT);
    }
    get.stop();
    witness.stop();
    assert_eq!(
        sha1_file(&out.join("film.mkv")),
        sha1_file(&src),
        "received copy differs"
    );
    assert_eq!(
        net.sent_through(&net.via_b),
        baseline,
        "packets left through {} although bound to {}",
        net.via_b,
        net.via_a
    );
}
