#!/usr/bin/python3
"""libtorrent with its DHT on, for the shoal DHT interop tests.

Modes:
  node                      a DHT node only (no torrents), for others to bootstrap from
  seed --torrent T --save S seed T, announcing it on the DHT
  get --magnet M --save S   fetch M (metadata and data) with peers from the DHT alone;
                            exits 0 once every piece verifies after a recheck

The session listens on --ip (TCP and the DHT's UDP share the port, printed as
`listening on IP:PORT`) and joins the DHT only through the --bootstrap nodes; LSD,
UPnP, NAT-PMP, uTP and trackers are off. libtorrent's DHT refuses several nodes or
peers from one IP by default, which a loopback test network is made of, so those
restrictions are lifted. Exit codes: 1 recheck failed, 2 timeout, 3 listen failure.
"""

import argparse
import signal
import sys
import time

import libtorrent as lt

import lt_common as c


def parse_args():
    p = argparse.ArgumentParser(description="libtorrent DHT helper")
    p.add_argument("mode", choices=["node", "seed", "get"])
    p.add_argument("--ip", required=True, help="127.x address to use")
    p.add_argument("--bootstrap", action="append", default=[], help="DHT node HOST:PORT")
    p.add_argument("--torrent", help=".torrent file (seed)")
    p.add_argument("--magnet", help="magnet link (get)")
    p.add_argument("--save", help="save path")
    p.add_argument("--timeout", type=float, default=120.0, help="hard timeout, seconds")
    return p.parse_args()


def make_session(ip, bootstrap):
    settings = {
        "listen_interfaces": "%s:0" % ip,
        "outgoing_interfaces": ip,
        "enable_dht": True,
        "dht_bootstrap_nodes": ",".join(bootstrap),
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        "out_enc_policy": 2,
        "in_enc_policy": 1,
        "unchoke_interval": 2,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.peer_notification
        | lt.alert.category_t.connect_notification
        | lt.alert.category_t.dht_notification,
    }
    ses = lt.session(settings)
    # Names that differ between libtorrent versions are applied one by one.
    for name, value in [
        ("dht_restrict_routing_ips", False),
        ("dht_restrict_search_ips", False),
        ("dht_ignore_dark_internet", False),
        ("dht_prefer_verified_node_ids", False),
        ("dht_enforce_node_id", False),
        ("dht_aggressive_lookups", True),
    ]:
        try:
            ses.apply_settings({name: value})
        except (KeyError, RuntimeError, TypeError) as e:
            c.log("setting %s not applied: %s" % (name, e))
    return ses


def wait_listening(ses, ip, deadline):
    while time.time() < deadline:
        ses.wait_for_alert(200)
        for a in ses.pop_alerts():
            if isinstance(a, lt.listen_succeeded_alert) and a.socket_type == lt.socket_type_t.tcp:
                c.log("listening on %s:%d" % (ip, a.port))
                return a.port
            if isinstance(a, lt.listen_failed_alert):
                c.log("ERROR listen failed: %s" % a.message())
                sys.exit(3)
    c.log("ERROR timeout waiting for listen socket")
    sys.exit(2)


def log_alerts(ses):
    for a in ses.pop_alerts():
        if isinstance(a, (lt.dht_bootstrap_alert, lt.dht_announce_alert, lt.dht_get_peers_alert,
                          lt.dht_reply_alert, lt.peer_connect_alert, lt.peer_disconnected_alert,
                          lt.peer_error_alert, lt.torrent_error_alert, lt.metadata_received_alert,
                          lt.torrent_finished_alert, lt.hash_failed_alert)):
            c.log("alert %s: %s" % (type(a).__name__, a.message()))


def add(ses, source, save):
    if source.startswith("magnet:"):
        atp = lt.parse_magnet_uri(source)
    else:
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(source)
    atp.save_path = save
    atp.flags &= ~lt.torrent_flags.auto_managed
    atp.flags &= ~lt.torrent_flags.paused
    return ses.add_torrent(atp)


def dht_nodes(ses):
    try:
        return ses.status().dht_nodes
    except AttributeError:
        return -1


def run_forever(ses, deadline, h=None):
    last = 0.0
    while time.time() < deadline:
        ses.wait_for_alert(1000)
        log_alerts(ses)
        if time.time() - last > 2:
            last = time.time()
            line = "dht_nodes=%d" % dht_nodes(ses)
            if h is not None:
                line += " " + c.status_line(h)
            c.log(line)
    sys.exit(0)


def get(ses, h, deadline):
    last_announce = 0.0
    while time.time() < deadline:
        ses.wait_for_alert(1000)
        log_alerts(ses)
        s = h.status()
        c.log("dht_nodes=%d %s" % (dht_nodes(ses), c.status_line(h)))
        if s.has_metadata and (s.is_seeding or s.is_finished):
            break
        # Ask the DHT again every few seconds until someone answers.
        if s.num_peers == 0 and time.time() - last_announce > 3:
            h.force_dht_announce()
            last_announce = time.time()
    else:
        c.log("ERROR timeout before download finished")
        sys.exit(2)
    total = h.torrent_file().num_pieces()
    h.force_recheck()
    time.sleep(0.2)
    while time.time() < deadline:
        ses.wait_for_alert(500)
        s = h.status()
        if s.state not in (s.checking_files, s.checking_resume_data, s.allocating):
            break
    s = h.status()
    if s.num_pieces != total:
        c.log("ERROR recheck: %d of %d pieces verify" % (s.num_pieces, total))
        sys.exit(1)
    c.log("complete")
    sys.exit(0)


def main():
    args = parse_args()
    deadline = time.time() + args.timeout
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ses = make_session(args.ip, args.bootstrap)
    wait_listening(ses, args.ip, deadline)
    if args.mode == "node":
        run_forever(ses, deadline)
    elif args.mode == "seed":
        h = add(ses, args.torrent, args.save)
        run_forever(ses, deadline, h)
    else:
        h = add(ses, args.magnet, args.save)
        get(ses, h, deadline)


if __name__ == "__main__":
    main()
