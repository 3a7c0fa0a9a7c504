"""Shared libtorrent session setup for the shoal interop helpers (lt_seed.py, lt_get.py).

Loopback only: DHT, LSD, UPnP, NAT-PMP and uTP are off, the session listens on
127.0.0.1, and several connections from one IP are allowed (every peer is 127.0.0.1).
Run with Debian's /usr/bin/python3, which has python3-libtorrent.
"""

import argparse
import sys
import time

import libtorrent as lt


def log(msg):
    print(msg, flush=True)


def parse_args(description, leecher):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--torrent", required=True, help=".torrent file")
    p.add_argument("--save", required=True, help="save path (directory holding the data)")
    p.add_argument("--port", type=int, default=0, help="listen port, 0 = any (printed)")
    p.add_argument("--peer", action="append", default=[], help="HOST:PORT to connect to")
    p.add_argument("--timeout", type=float, default=120.0, help="hard timeout, seconds")
    p.add_argument("--encryption", choices=("default", "forced"), default="default",
                   help="default: plaintext out, either kind in; forced: MSE with RC4 only, "
                        "both ways")
    if leecher:
        p.add_argument("--no-recheck", action="store_true",
                       help="skip the force-recheck of the finished download")
    return p.parse_args()


def make_session(port, encryption="default"):
    settings = {
        "listen_interfaces": "127.0.0.1:%d" % port,
        "outgoing_interfaces": "127.0.0.1",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        # Plaintext handshakes out (an encrypted first try is dropped by Transmission
        # and by clients without MSE); accept either kind in.
        "out_enc_policy": 2,
        "in_enc_policy": 1,
        # Re-run the choker often so a fresh peer is unchoked within seconds.
        "unchoke_interval": 2,
        "announce_to_all_trackers": True,
        "announce_to_all_tiers": True,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.peer_notification
        | lt.alert.category_t.connect_notification
        | lt.alert.category_t.tracker_notification,
    }
    if encryption == "forced":
        # MSE/PE on every connection, RC4 for the whole stream; plaintext refused.
        settings["out_enc_policy"] = int(lt.enc_policy.forced)
        settings["in_enc_policy"] = int(lt.enc_policy.forced)
        settings["allowed_enc_level"] = int(lt.enc_level.rc4)
        settings["prefer_rc4"] = True
    return lt.session(settings)


def wait_listening(ses, deadline):
    """Wait for the TCP listen socket; print `listening on IP:PORT`; return the port."""
    while time.time() < deadline:
        ses.wait_for_alert(200)
        for a in ses.pop_alerts():
            if isinstance(a, lt.listen_succeeded_alert):
                if a.socket_type == lt.socket_type_t.tcp:
                    log("listening on 127.0.0.1:%d" % a.port)
                    return a.port
            elif isinstance(a, lt.listen_failed_alert):
                log("ERROR listen failed: %s" % a.message())
                sys.exit(3)
    log("ERROR timeout waiting for listen socket")
    sys.exit(2)


def add_torrent(ses, torrent, save):
    """Adds a .torrent file, or a magnet link (metadata then comes from peers)."""
    if torrent.startswith("magnet:"):
        atp = lt.parse_magnet_uri(torrent)
    else:
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(torrent)
    atp.save_path = save
    # Not auto-managed: the queue must never pause our only torrent.
    atp.flags &= ~lt.torrent_flags.auto_managed
    atp.flags &= ~lt.torrent_flags.paused
    h = ses.add_torrent(atp)
    if atp.ti is not None:
        log("added torrent info_hash=%s name=%s pieces=%d piece_length=%d" % (
            atp.ti.info_hash(), atp.ti.name(), atp.ti.num_pieces(), atp.ti.piece_length()))
    else:
        log("added magnet info_hash=%s" % h.info_hash())
    return h


def parse_peer(s):
    host, _, port = s.rpartition(":")
    return (host.strip("[]"), int(port))


def connect_peers(h, peers):
    for p in peers:
        try:
            h.connect_peer(parse_peer(p))
        except Exception as e:  # noqa: BLE001 - report and keep going
            log("connect_peer %s failed: %s" % (p, e))


def drain_alerts(ses):
    for a in ses.pop_alerts():
        if isinstance(a, (lt.peer_connect_alert, lt.peer_disconnected_alert, lt.peer_error_alert,
                          lt.tracker_error_alert, lt.tracker_reply_alert,
                          lt.hash_failed_alert, lt.torrent_error_alert, lt.file_error_alert,
                          lt.torrent_finished_alert, lt.torrent_checked_alert)):
            log("alert %s: %s" % (type(a).__name__, a.message()))


def status_line(h):
    s = h.status()
    return "status state=%s progress=%.3f pieces=%d peers=%d seeds=%d down=%d up=%d dl_rate=%d ul_rate=%d" % (
        s.state, s.progress, s.num_pieces, s.num_peers, s.num_seeds,
        s.total_payload_download, s.total_payload_upload,
        s.download_payload_rate, s.upload_payload_rate)
