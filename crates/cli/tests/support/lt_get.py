#!/usr/bin/python3
"""libtorrent leecher for the shoal interop tests.

Downloads (a .torrent file or a magnet link) into --save from the --peer peers (re-connected while none is connected)
and/or the torrent's trackers. When finished it force-rechecks the files from disk
and exits 0 only if every piece verifies; prints `complete` then. Exit codes:
1 recheck failed, 2 timeout, 3 listen failure.
"""

import signal
import sys
import time

import lt_common as c


def main():
    args = c.parse_args("libtorrent leecher", leecher=True)
    deadline = time.time() + args.timeout
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ses = c.make_session(args.port, args.encryption)
    c.wait_listening(ses, deadline)
    h = c.add_torrent(ses, args.torrent, args.save)
    last_connect = 0.0
    while time.time() < deadline:
        ses.wait_for_alert(1000)
        c.drain_alerts(ses)
        s = h.status()
        c.log(c.status_line(h))
        if s.has_metadata and (s.is_seeding or s.is_finished):
            break
        checking = s.state in (s.checking_files, s.checking_resume_data)
        if args.peer and not checking and s.num_peers == 0 and time.time() - last_connect > 2:
            c.connect_peers(h, args.peer)
            last_connect = time.time()
    else:
        c.log("ERROR timeout before download finished")
        sys.exit(2)
    total = h.torrent_file().num_pieces()
    c.log("downloaded; flushing")
    h.flush_cache()
    if not args.no_recheck:
        h.force_recheck()
        time.sleep(0.2)
        while time.time() < deadline:
            ses.wait_for_alert(500)
            c.drain_alerts(ses)
            s = h.status()
            if s.state not in (s.checking_files, s.checking_resume_data, s.allocating):
                break
        else:
            c.log("ERROR timeout during recheck")
            sys.exit(2)
        s = h.status()
        c.log(c.status_line(h))
        if s.num_pieces != total:
            c.log("ERROR recheck: %d of %d pieces verify" % (s.num_pieces, total))
            sys.exit(1)
    c.log("complete")
    sys.exit(0)


if __name__ == "__main__":
    main()
