#!/usr/bin/python3
"""libtorrent reference peer for shoal-bench (the performance benchmark of issue 3).

Unlike the interop helpers in crates/cli/tests/support, the session keeps libtorrent's
default settings except what the benchmark must switch off: DHT, LSD, UPnP, NAT-PMP and
uTP (so transfers are TCP), plus loopback-only listening and several connections from
one IP (every peer is 127.0.0.1). The leecher exits as soon as libtorrent reports the
torrent finished (every piece has passed its hash check), without an extra re-check, so
its process wall time compares with `shoal get`'s.

  lt_bench.py seed TORRENT SAVE_DIR
      prints `listening on 127.0.0.1:PORT`, then `seeding` once the data has been checked;
      on SIGTERM/SIGINT prints `uploaded BYTES` and exits 0.
  lt_bench.py get TORRENT SAVE_DIR --peer HOST:PORT...
      prints `listening on ...`, then `finished` and exits 0 once the download is complete.

Exit codes: 2 timeout, 3 listen failure, 4 seed data incomplete, 5 torrent error.
Shoal-bench writes this file into its work directory and runs it with /usr/bin/python3.
"""

import argparse
import signal
import sys
import time

import libtorrent as lt

stop = False


def log(msg):
    print(msg, flush=True)


def on_signal(*_):
    global stop
    stop = True


def make_session():
    cat = lt.alert.category_t
    return lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": cat.error_notification | cat.status_notification,
    })


def add(ses, torrent, save):
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(torrent)
    atp.save_path = save
    atp.flags &= ~lt.torrent_flags.auto_managed
    atp.flags &= ~lt.torrent_flags.paused
    return ses.add_torrent(atp)


def pump(ses, deadline, wanted, tick=None):
    """Waits for alerts until one of the `wanted` types arrives; returns it (None on stop).

    `tick` runs about every 100 ms while waiting."""
    while not stop:
        if time.time() > deadline:
            log("ERROR timeout")
            sys.exit(2)
        ses.wait_for_alert(100)
        if tick is not None:
            tick()
        for a in ses.pop_alerts():
            if isinstance(a, lt.listen_failed_alert):
                log("ERROR listen failed: %s" % a.message())
                sys.exit(3)
            if isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
                log("ERROR %s" % a.message())
                sys.exit(5)
            if isinstance(a, wanted):
                if isinstance(a, lt.listen_succeeded_alert) and a.socket_type != lt.socket_type_t.tcp:
                    continue
                return a
    return None


def main():
    p = argparse.ArgumentParser(description="libtorrent reference peer for shoal-bench")
    p.add_argument("mode", choices=["seed", "get"])
    p.add_argument("torrent")
    p.add_argument("save")
    p.add_argument("--peer", action="append", default=[])
    p.add_argument("--timeout", type=float, default=120.0)
    args = p.parse_args()
    deadline = time.time() + args.timeout
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    ses = make_session()
    a = pump(ses, deadline, lt.listen_succeeded_alert)
    if a is None:
        sys.exit(0)
    log("listening on 127.0.0.1:%d" % a.port)
    h = add(ses, args.torrent, args.save)

    if args.mode == "seed":
        if pump(ses, deadline, lt.torrent_checked_alert) is None:
            sys.exit(0)
        if not h.status().is_seeding:
            log("ERROR data incomplete after check")
            sys.exit(4)
        log("seeding")
        while not stop and time.time() < deadline:
            ses.wait_for_alert(100)
            ses.pop_alerts()
        log("uploaded %d" % h.status().total_payload_upload)
        sys.exit(0 if stop else 2)

    peers = [(host, int(port)) for host, _, port in (x.rpartition(":") for x in args.peer)]
    last_connect = [0.0]

    def connect():
        # (Re)connect while nobody is connected, at most once a second.
        if time.time() - last_connect[0] > 1.0 and h.status().num_peers == 0:
            last_connect[0] = time.time()
            for peer in peers:
                h.connect_peer(peer)

    connect()
    # torrent_finished_alert comes once every piece has passed its hash check.
    if pump(ses, deadline, lt.torrent_finished_alert, connect) is None:
        sys.exit(1)
    log("finished")
    sys.exit(0)


if __name__ == "__main__":
    main()
