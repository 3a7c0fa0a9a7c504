//! Dialling peers from the torrent's address book while it has free slots. What to dial
//! is decided in `dial_plan.rs`; this file starts the dials and books their outcome.

use super::dial_plan::{plan_dials, DialRoom};
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
    let mut guard = t.swarm();
    let st = &mut *guard;
    let room = DialRoom {
        max: t.max_peers(),
        connected: st.peers.len(),
        connecting: st.connecting,
    };
    let smartban = &st.smartban;
    let dials = plan_dials(
        room,
        &mut st.book,
        now,
        |ip| smartban.is_banned(ip),
        || t.ctx().connections().try_reserve(),
    );
    st.connecting += dials.len();
    for (addr, slot) in dials {
        t.ctx().spawn(connect(t.clone(), addr, slot));
    }
}

/// Dials `addr` and runs the connection; `_slot` holds its place under the session's
/// connection cap until the end.
async fn connect(t: Arc<Torrent>, addr: SocketAddr, _slot: ConnectionSlot) {
    let result = crate::transport::dial(t.ctx(), addr, t.info_hash()).await;
    t.swarm().connecting -= 1;
    let now = crate::clock::now();
    match result {
        Ok(conn) => {
            t.swarm().refusing.connected(addr.ip());
            let outcome = crate::peer::run(t.clone(), conn, addr, true).await;
            let mut st = t.swarm();
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
            let mut st = t.swarm();
            if let Some(why) = e.refusal() {
                st.refusing.refused(addr.ip(), why);
            }
            st.book.release(addr, true, now);
            drop(st);
        }
    }
    t.send_control(ControlEvent::PeerGone);
}
