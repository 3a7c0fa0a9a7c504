//! A PEX (BEP 11) flood against a leecher: a peer that sends `ut_pex` messages as fast
//! as it can, each with 9000 bogus loopback addresses, and then many peers filling the
//! address book with addresses that refuse connections. The leecher must take at most
//! 50 addresses from one message, disconnect the flooder, keep memory bounded, and
//! still connect to (and download from) an honest seeder it learns of afterwards.
//!
//! Every bogus address is one with nothing listening (connections are
//! refused at once). The test runs on the memory network in paused time, so nothing
//! leaves the process and "the download then takes under 10 s" is virtual time.
#![allow(clippy::unwrap_used)]

#[path = "support/evil.rs"]
mod evil;
mod support;

use evil::{memory_session_with, rss_kib, Evil};
use shoal_engine::{MemoryNetwork, MemoryStream};
use shoal_ext::{PexFlags, PexMessage, PexPeer};
use shoal_testkit::{init_logs, make_torrent, random_file, same_bytes};
use shoal_wire::Message;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::*;
use tokio::time::Instant;

/// Memory growth that would mean the flood was buffered or remembered in full.
const RSS_SLACK_KIB: u64 = 64 * 1024;

/// A `ut_pex` payload adding `addrs`.
fn pex_payload(addrs: &[SocketAddr]) -> Vec<u8> {
    PexMessage {
        added: addrs
            .iter()
            .map(|&addr| PexPeer {
                addr,
                flags: PexFlags(0),
            })
            .collect(),
        dropped: vec![],
    }
    .encode()
}

/// A loopback address nobody listens on: 127.201.a.b, port 9 (no test listens on
/// 127.201.x.x).
fn bogus(a: u8, b: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 201, a, b)), 9)
}

/// A listener that counts the connections made to it.
async fn canary(net: &MemoryNetwork, ip: &str) -> (SocketAddr, Arc<AtomicUsize>) {
    let mut listener = net.listen(format!("{ip}:0").parse().unwrap()).unwrap();
    let addr = listener.local_addr();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (addr, count)
}

/// Connects an evil peer that speaks `ut_pex`; returns it and the id the engine
/// wants for `ut_pex` messages.
async fn pex_peer(
    net: &MemoryNetwork,
    ip: &str,
    tag: u8,
    to: SocketAddr,
    hash: [u8; 20],
) -> (Evil<MemoryStream>, u8) {
    let mut evil = Evil::connect_in(net, ip, to, hash, tag).await;
    evil.send(&Message::HaveNone).await.unwrap();
    evil.send_ext_handshake(&[("ut_pex", 1)], None)
        .await
        .unwrap();
    let id = evil
        .their_ext_id("ut_pex", Duration::from_secs(5))
        .await
        .expect("the engine does not offer ut_pex");
    (evil, id)
}

#[tokio::test(start_paused = true)]
async fn pex_flood_is_capped_and_disconnected_and_real_peers_still_get_in() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/data.bin");
    random_file(&src, 1024 * 1024, 141);
    let meta = make_torrent(&src, 16 * 1024);
    let hash = meta.info_hash.0;
    let net = MemoryNetwork::new();
    let seeder = memory_session_with(&net, "127.0.14.2", |_| {}).await;
    add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
    let leecher = memory_session_with(&net, "127.0.14.1", |_| {}).await;
    let handle = add(&leecher, &meta, &dir.path().join("leech"), vec![]).await;
    let before = rss_kib();

    // Canaries: one among the first 50 addresses of the first message (it must be
    // dialled: proves dials are observed), one past them and in every later message
    // (it must never be dialled).
    let (taken, taken_count) = canary(&net, "127.0.14.100").await;
    let (ignored, ignored_count) = canary(&net, "127.0.14.101").await;

    // The flooder: messages of 9000 addresses each (just under the 64 KiB payload
    // limit), back to back.
    let (mut flooder, id) = pex_peer(&net, "127.0.14.10", 10, leecher.local_addr(), hash).await;
    let started = Instant::now();
    let mut sent = 0;
    let mut cut_off = false;
    for round in 0..50u8 {
        // 9000 distinct addresses: 250 hosts times 36 ports.
        let mut addrs: Vec<SocketAddr> = (0..9000u32)
            .map(|i| {
                let host = bogus(round, (i % 250) as u8 + 1);
                SocketAddr::new(host.ip(), 9 + (i / 250) as u16)
            })
            .collect();
        if round == 0 {
            addrs[0] = taken;
        }
        addrs[if round == 0 { 60 } else { 0 }] = ignored;
        let msg = Message::Extended {
            id,
            payload: pex_payload(&addrs).into(),
        };
        if flooder.send(&msg).await.is_err() {
            cut_off = true;
            break;
        }
        sent += 1;
    }
    assert!(
        cut_off || flooder.closed_within(Duration::from_secs(5)).await,
        "the PEX flooder was not disconnected"
    );
    let flood_time = started.elapsed();

    // Then 45 peers each tell us 50 fresh dead addresses (2250: more than the book
    // holds), the way a tracker or a swarm full of stale addresses could.
    for k in 0..45u8 {
        let ip = format!("127.0.14.{}", 20 + k);
        let (mut evil, id) = pex_peer(&net, &ip, 20 + k, leecher.local_addr(), hash).await;
        let addrs: Vec<SocketAddr> = (1..=50).map(|b| bogus(100 + k, b)).collect();
        evil.send(&Message::Extended {
            id,
            payload: pex_payload(&addrs).into(),
        })
        .await
        .unwrap();
        // It stays connected (one message is within the rules) until we drop it.
        assert!(!evil.closed_within(Duration::from_millis(20)).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Now the user gives the honest seeder: it is dialled and the download completes.
    let added = Instant::now();
    handle.add_peers(vec![seeder.local_addr()]);
    wait_complete(&handle, Duration::from_secs(15)).await;
    let took = added.elapsed();
    assert!(same_bytes(&src, &dir.path().join("leech/data.bin")));
    eprintln!(
        "flooder cut off after sending {sent} messages in {flood_time:?}; \
         download after add_peers took {took:?}; canary dials: taken {}, ignored {}",
        taken_count.load(Ordering::SeqCst),
        ignored_count.load(Ordering::SeqCst)
    );
    assert!(took < Duration::from_secs(10));
    assert!(taken_count.load(Ordering::SeqCst) >= 1);
    assert_eq!(
        ignored_count.load(Ordering::SeqCst),
        0,
        "an address past the first 50 of a message, or from an ignored message, was dialled"
    );
    let flooder_ip: IpAddr = "127.0.14.10".parse().unwrap();
    assert!(handle.peers().iter().all(|p| p.addr.ip() != flooder_ip));
    let after = rss_kib();
    assert!(
        after < before + RSS_SLACK_KIB,
        "RSS grew from {before} KiB to {after} KiB"
    );
    leecher.shutdown().await;
    seeder.shutdown().await;
}
