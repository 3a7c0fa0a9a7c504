//! Loopback ports for programs that must be told a port up front (a tracker, a
//! daemon restarted on the same port); everything else should bind port 0.

use std::collections::HashSet;
use std::net::{TcpListener, UdpSocket};
use std::sync::Mutex;

/// A free loopback port (TCP and UDP both bindable right now). Ports already handed out
/// by this test binary are never repeated, so parallel tests cannot pick the same one.
pub fn free_port() -> u16 {
    static USED: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    for _ in 0..200 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        let mut used = USED.lock().unwrap_or_else(|e| e.into_inner());
        if used.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
    panic!("no free loopback port found");
}
