//! Dialling peers from the torrent's address book while it has free slots.

use crate::connection_count::ConnectionSlot;
use crate::torrent::{ControlEvent, Torrent};
use std::net::SocketAddr;
use std::sync::Arc;

/// Starts connection attempts while there are free slots and due addresses.
pub(super) fn connect_more(t: &Arc<Torrent>) {
    if t.is_shutting_down() || t.is_paused() {
        return;
    }
    let now = crate::clock::now();
    let mut st = t.state.lock();
    let max = t.max_peers();
    while st.peers.len() + st.connecting < max {
        let Some(slot) = t.ctx().connections().try_reserve() else {
            break;
        };
        let Some(addr) = st.book.next_candidate(now) else {
            break;
        };
        if st.smartban.is_banned(addr.ip()) {
            continue;
        }
        st.connecting += 1;
        t.ctx().spawn(connect(t.clone(), addr, slot));
    }
}

/// Dials `addr` and runs the connection; `_slot` holds its place under the session's
/// connection cap until the end.
async fn connect(t: Arc<Torrent>, addr: SocketAddr, _slot: ConnectionSlot) {
    let result = crate::transport::dial(t.ctx(), addr, t.info_hash).await;
    t.state.lock().connecting -= 1;
    let now = crate::clock::now();
    match result {
        Ok(conn) => {
            let outcome = crate::peer::run(t.clone(), conn, addr, true).await;
            let mut st = t.state.lock();
            // Still complete: the seed is left alone for a while. A re-check or a new
            // file selection may have made us need data since the connection ended (a
            // graceful close takes a moment), and then it is dialled again soon.
            if outcome.both_seeds && t.is_complete() {
                st.book.release_finished(addr, now);
            } else {
                st.book.release(addr, !outcome.useful, now);
            }
        }
        Err(e) => {
            e.log(addr, "connection attempt failed");
            t.state.lock().book.release(addr, true, now);
        }
    }
    let _ = t.control_tx.send(ControlEvent::PeerGone);
}
