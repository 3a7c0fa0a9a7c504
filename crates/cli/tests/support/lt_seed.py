#!/usr/bin/python3
"""libtorrent seeder for the shoal interop tests.

Checks the existing data under --save, then seeds until killed (or --timeout).
Prints `listening on 127.0.0.1:PORT`, then `seeding` once the check has passed, and
status lines every second. --peer makes it connect out to peers (re-tried while
nobody is connected). Exit codes: 2 timeout, 3 listen failure, 4 data incomplete.
"""

import signal
import sys
import time

import lt_common as c


def main():
    args = c.parse_args("libtorrent seeder", leecher=False)
    deadline = time.time() + args.timeout
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ses = c.make_session(args.port, args.encryption)
    c.wait_listening(ses, deadline)
    h = c.add_torrent(ses, args.torrent, args.save)
    announced_seeding = False
    last_connect = 0.0
    while time.time() < deadline:
        ses.wait_for_alert(1000)
        c.drain_alerts(ses)
        s = h.status()
        c.log(c.status_line(h))
        checking = s.state in (s.checking_files, s.checking_resume_data)
        if not checking and not announced_seeding:
            if not s.is_seeding:
                c.log("ERROR data is incomplete after check: %d pieces" % s.num_pieces)
                sys.exit(4)
            c.log("seeding")
            announced_seeding = True
        if announced_seeding and args.peer and s.num_peers == 0 and time.time() - last_connect > 2:
            c.connect_peers(h, args.peer)
            last_connect = time.time()
    c.log("timeout: seeder stopping")
    sys.exit(2)


if __name__ == "__main__":
    main()
