//! The piece owner: applies the disk pool's reports for a torrent (writes done, hash
//! checks, faults) and what follows a check: announcing the piece, completing the
//! torrent, or re-downloading it and tracking the culprits (smart ban).

use super::pieces::Verdict;
use super::state::{ControlEvent, PeerCommand, Torrent};
use super::DisconnectReason;
use crate::disk::DiskEvent;
use crate::TorrentError;
use sha1::{Digest, Sha1};
use shoal_wire::BLOCK_SIZE;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The piece owner's loop: applies what the disk pool reports for this torrent, in
/// order, until the torrent shuts down. A complete piece whose last write is reported
/// is sent for its hash check; a check's outcome announces the piece or has it
/// downloaded again; a fault forgets the piece's blocks and pauses the torrent.
pub(crate) async fn apply_disk_events(
    t: Arc<Torrent>,
    mut events: mpsc::UnboundedReceiver<DiskEvent>,
) {
    let mut shutdown = t.shutdown.subscribe();
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        let event = tokio::select! {
            event = events.recv() => event,
            _ = shutdown.changed() => continue,
        };
        let Some(event) = event else { return };
        match event {
            DiskEvent::Written { piece, blocks } => {
                if t.swarm().pieces.on_written(piece, blocks) {
                    t.ctx().disk().verify(&t.disk_target(), piece);
                }
            }
            DiskEvent::Verified { piece, ok } => {
                let verdict = t.swarm().pieces.on_hashed(piece, ok);
                match verdict {
                    Verdict::Passed { after_failure } => on_pass(&t, piece, after_failure).await,
                    Verdict::Failed => on_fail(&t, piece).await,
                    Verdict::Stale => {}
                }
            }
            DiskEvent::Fault { piece, error } => {
                t.disk_fault(Some(piece), error.into_torrent_error());
            }
        }
    }
}

async fn on_pass(t: &Arc<Torrent>, piece: u32, after_failure: bool) {
    if after_failure {
        if let Some(blocks) = block_digests(t, piece).await {
            let good: Vec<(u32, [u8; 20])> = blocks.into_iter().collect();
            let culprits = t.swarm().smartban.on_piece_passed(piece, &good);
            for ip in culprits {
                ban(t, ip, DisconnectReason::BannedCorrupt);
            }
        }
    }
    let size = u64::from(t.meta.info.piece_size(piece));
    let complete = {
        let mut st = t.swarm();
        let st = &mut *st;
        st.picker.on_piece_verified(piece);
        let store = t.store();
        // A private stream's header pieces may have just become known (or all arrived);
        // a sequential window moves on.
        if store.as_private().is_some() || st.wishes.needs_refresh_on_verify() {
            let first = store.priority_pieces();
            super::priority::refresh_priority(&t.meta, &mut st.picker, &mut st.wishes, first);
        }
        t.counters.verified_bytes.fetch_add(size, Ordering::Relaxed);
        t.broadcast(st, PeerCommand::Have(piece));
        st.picker.is_complete()
    };
    t.verified_tick.send_modify(|n| *n += 1);
    if complete && !t.is_complete() {
        let storage = t.store();
        let finished = tokio::task::spawn_blocking(move || storage.complete()).await;
        match finished {
            Ok(Ok(())) => {
                t.status.send_modify(|s| s.complete = true);
                // Peer tasks check for "both sides are seeds" after their next step; a
                // seed that stays silent would otherwise hold its slot until it times out.
                t.broadcast(&t.swarm(), PeerCommand::Wake);
                t.send_control(ControlEvent::Completed);
            }
            Ok(Err(e)) => t.fail(e.into_torrent_error()),
            Err(e) => t.fail(TorrentError::Job(Arc::new(e))),
        }
    }
}

async fn on_fail(t: &Arc<Torrent>, piece: u32) {
    let size = u64::from(t.meta.info.piece_size(piece));
    t.counters.wasted.fetch_add(size, Ordering::Relaxed);
    // Read back what each peer sent before the piece is downloaded again.
    let digests = block_digests(t, piece).await.unwrap_or_default();
    let senders: Vec<(u32, IpAddr)> = {
        let mut st = t.swarm();
        let senders = st.picker.on_piece_failed(piece);
        senders
            .into_iter()
            .filter_map(|(begin, key)| st.key_ips.get(&key).map(|ip| (begin, *ip)))
            .collect()
    };
    tracing::warn!(torrent = %t.meta.info.name, piece, senders = senders.len(), "piece failed its hash check");
    let blocks: Vec<(u32, IpAddr, [u8; 20])> = senders
        .iter()
        .filter_map(|(begin, ip)| {
            digests
                .iter()
                .find(|(b, _)| b == begin)
                .map(|(_, d)| (*begin, *ip, *d))
        })
        .collect();
    let mut to_ban = Vec::new();
    {
        let mut st = t.swarm();
        st.smartban.on_piece_failed(piece, &blocks);
        let first = senders.first().map(|(_, ip)| *ip);
        if let Some(ip) = first {
            if senders.iter().all(|(_, other)| *other == ip) && st.smartban.strike(ip) {
                to_ban.push(ip);
            }
        }
        t.broadcast(&st, PeerCommand::Wake);
    }
    for ip in to_ban {
        ban(t, ip, DisconnectReason::BannedRepeatedFailures);
    }
}

/// Bans `ip` and disconnects every connection from it.
fn ban(t: &Arc<Torrent>, ip: IpAddr, reason: DisconnectReason) {
    tracing::warn!(torrent = %t.meta.info.name, %ip, %reason, "banning peer");
    let st = &mut *t.swarm();
    st.smartban.ban(ip);
    for peer in st.peers.values().filter(|p| p.addr.ip() == ip) {
        let _ = peer.tx.send(PeerCommand::Disconnect(reason));
    }
}

/// SHA-1 of each 16 KiB block of `piece` as it is on disk now.
async fn block_digests(t: &Arc<Torrent>, piece: u32) -> Option<Vec<(u32, [u8; 20])>> {
    let storage = t.store();
    let size = t.meta.info.piece_size(piece);
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; BLOCK_SIZE as usize];
        let mut out = Vec::new();
        let mut begin = 0;
        while begin < size {
            let len = BLOCK_SIZE.min(size - begin) as usize;
            storage.read_block(piece, begin, &mut buf[..len]).ok()?;
            out.push((begin, Sha1::digest(&buf[..len]).into()));
            begin += len as u32;
        }
        Some(out)
    })
    .await
    .ok()
    .flatten()
}
