//! Hostile peers that hold connection slots without doing anything: handshakes
//! trickled one byte per second (incoming, and as the answer to our own dial), and
//! peers that send nothing but keep-alives. Each test checks that the engine closes
//! them near the configured timeout, that memory stays bounded, and that an honest
//! peer in the same swarm is served as usual. At the peer cap, idle peers give their
//! slot to a newcomer once past the eviction grace; interested ones never do.
//!
//! Every test runs on the in-memory network in tokio's paused time, so the timeouts
//! and graces are checked to the virtual millisecond, however busy the machine is.
//! (Each test compares its own process's memory: nextest runs every test in a process
//! of its own.)
#![allow(clippy::unwrap_used)]

#[path = "support/evil.rs"]
mod evil;
mod support;

use evil::{evil_handshake, greet_in, keepalive_until_closed, memory_session_with, rss_kib, Evil};
use shoal_engine::{MemoryNetwork, MemoryStream, Session, TorrentHandle};
use shoal_metainfo::Metainfo;
use shoal_testkit::{init_logs, make_torrent, random_file, same_bytes};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// 1 MiB in 16 KiB pieces.
const LEN: usize = 1024 * 1024;
const PIECE: u32 = 16 * 1024;

/// Memory growth that would mean the hostile peers made us buffer or allocate.
const RSS_SLACK_KIB: u64 = 64 * 1024;

/// The handshake and inactivity timeouts the tests configure.
const SHORT: Duration = Duration::from_secs(2);

struct Swarm {
    net: MemoryNetwork,
    dir: tempfile::TempDir,
    meta: Metainfo,
    seeder: Session,
    seed: TorrentHandle,
}

impl Swarm {
    /// A seeder with a complete torrent on `ip`, configured by `edit`.
    async fn new(ip: &str, seed: u64, edit: impl FnOnce(&mut shoal_engine::SessionConfig)) -> Self {
        init_logs();
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("seed/data.bin");
        random_file(&src, LEN, seed);
        let meta = make_torrent(&src, PIECE);
        let net = MemoryNetwork::new();
        let seeder = memory_session_with(&net, ip, edit).await;
        let seed = add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
        wait_complete(&seed, Duration::from_secs(10)).await;
        Swarm {
            net,
            dir,
            meta,
            seeder,
            seed,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.seeder.local_addr()
    }

    /// An honest leecher on `ip` (configured by `edit`) downloads everything from
    /// `peers`, correctly; returns how long it took.
    async fn honest_download(
        &self,
        ip: &str,
        peers: Vec<SocketAddr>,
        edit: impl FnOnce(&mut shoal_engine::SessionConfig),
    ) -> Duration {
        let started = Instant::now();
        let leecher = memory_session_with(&self.net, ip, edit).await;
        let dest = self.dir.path().join(format!("leech-{ip}"));
        let handle = add(&leecher, &self.meta, &dest, peers).await;
        wait_complete(&handle, Duration::from_secs(20)).await;
        let took = started.elapsed();
        assert!(same_bytes(
            &self.dir.path().join("seed/data.bin"),
            &dest.join("data.bin")
        ));
        leecher.shutdown().await;
        took
    }

    /// Waits until the seeder lists `n` peers from `ip`.
    async fn lists(&self, ip: &str, n: usize) {
        let ip: IpAddr = ip.parse().unwrap();
        for _ in 0..250 {
            if self
                .seed
                .peers()
                .iter()
                .filter(|p| p.addr.ip() == ip)
                .count()
                == n
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{n} peers from {ip} never listed: {:?}", self.seed.peers());
    }
}

fn assert_rss_bounded(before: u64) {
    let after = rss_kib();
    assert!(
        after < before + RSS_SLACK_KIB,
        "RSS grew from {before} KiB to {after} KiB"
    );
}

/// Writes `bytes` one per second to `stream` while watching for the other side to
/// close; returns how long after `since` it closed, or `None` after `limit`.
async fn trickle(
    stream: MemoryStream,
    bytes: Vec<u8>,
    since: Instant,
    limit: Duration,
) -> Option<Duration> {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let closed = async {
        let mut buf = [0u8; 4096];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    let writer = async {
        for b in bytes.iter().cycle() {
            if wr.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    let watch = async {
        tokio::select! {
            _ = closed => {}
            _ = writer => {}
        }
    };
    tokio::time::timeout(limit, watch).await.ok()?;
    Some(since.elapsed())
}

#[tokio::test(start_paused = true)]
async fn trickled_incoming_handshakes_are_cut_off_at_the_timeout() {
    let swarm = Swarm::new("127.0.12.1", 121, |c| c.handshake_timeout = SHORT).await;
    let before = rss_kib();
    // A valid plaintext handshake, sent one byte per second from 20 connections at once.
    let hs = evil_handshake(swarm.meta.info_hash.0, 7).encode().to_vec();
    let started = Instant::now();
    let mut trickles = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let from = "127.0.12.10".parse().unwrap();
        let stream = swarm.net.connect(from, swarm.addr()).unwrap();
        let hs = hs.clone();
        trickles.spawn(trickle(stream, hs, started, Duration::from_secs(10)));
    }
    // Meanwhile an honest leecher downloads from the same seeder.
    let took = swarm
        .honest_download("127.0.12.2", vec![swarm.addr()], |_| {})
        .await;
    let mut closed_after = Vec::new();
    while let Some(r) = trickles.join_next().await {
        let after = r.unwrap().expect("a trickling handshake was never cut off");
        closed_after.push(after);
    }
    closed_after.sort();
    eprintln!("honest download {took:?}; trickles closed after {closed_after:?}");
    let (first, last) = (closed_after[0], closed_after[closed_after.len() - 1]);
    assert!(
        first >= SHORT - Duration::from_millis(200),
        "closed too early: {first:?}"
    );
    assert!(
        last <= SHORT + Duration::from_secs(2),
        "closed too late: {last:?}"
    );
    assert!(
        took < Duration::from_secs(10),
        "honest download took {took:?}"
    );
    // None of them ever became a peer.
    let trickler: IpAddr = "127.0.12.10".parse().unwrap();
    assert!(swarm.seed.peers().iter().all(|p| p.addr.ip() != trickler));
    assert_rss_bounded(before);
    swarm.seeder.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_dialled_peer_trickling_its_answer_is_given_up_on() {
    let swarm = Swarm::new("127.0.12.41", 122, |_| {}).await;
    let before = rss_kib();
    // A "peer" that reads our handshake and answers one byte per second.
    let mut listener = swarm.net.listen("127.0.12.50:0".parse().unwrap()).unwrap();
    let evil_addr = listener.local_addr();
    let hs = evil_handshake(swarm.meta.info_hash.0, 8).encode().to_vec();
    let evil = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let started = Instant::now();
        let mut theirs = [0u8; 68];
        stream.read_exact(&mut theirs).await.unwrap();
        trickle(stream, hs, started, Duration::from_secs(10)).await
    });
    // The leecher is given the trickler first and the honest seeder too.
    let took = swarm
        .honest_download("127.0.12.42", vec![evil_addr, swarm.addr()], |c| {
            c.handshake_timeout = SHORT;
        })
        .await;
    let closed_after = evil.await.unwrap().expect("the dial was never given up");
    eprintln!("honest download {took:?}; trickled answer dropped after {closed_after:?}");
    assert!(closed_after >= SHORT - Duration::from_millis(200));
    assert!(closed_after <= SHORT + Duration::from_secs(2));
    assert!(
        took < Duration::from_secs(10),
        "honest download took {took:?}"
    );
    assert_rss_bounded(before);
    swarm.seeder.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn keepalive_only_peers_lose_their_slots_to_an_honest_leecher() {
    let swarm = Swarm::new("127.0.13.1", 131, |c| {
        c.max_peers_per_torrent = 2;
        c.peer_inactivity_timeout = SHORT;
    })
    .await;
    let before = rss_kib();
    // Two peers take both slots and then send nothing but keep-alives.
    let hash = swarm.meta.info_hash.0;
    let mut hogs = Vec::new();
    for (tag, ip) in [(10, "127.0.13.10"), (11, "127.0.13.11")] {
        hogs.push(Evil::connect_in(&swarm.net, ip, swarm.addr(), hash, tag).await);
    }
    let started = Instant::now();
    swarm.lists("127.0.13.10", 1).await;
    swarm.lists("127.0.13.11", 1).await;
    let mut watchers = tokio::task::JoinSet::new();
    for mut hog in hogs {
        watchers.spawn(async move {
            keepalive_until_closed(&mut hog, Duration::from_secs(15))
                .await
                .map(|_| started.elapsed())
        });
    }
    // While they hold the slots, an honest leecher is refused; it retries on its own.
    let took = swarm
        .honest_download("127.0.13.2", vec![swarm.addr()], |_| {})
        .await;
    let mut closed_after = Vec::new();
    while let Some(r) = watchers.join_next().await {
        closed_after.push(r.unwrap().expect("a keep-alive hog kept its slot"));
    }
    eprintln!("honest download {took:?}; hogs closed after {closed_after:?}");
    for after in &closed_after {
        assert!(*after >= SHORT - Duration::from_millis(200), "{after:?}");
        assert!(*after <= SHORT + Duration::from_secs(2), "{after:?}");
    }
    assert!(
        took < Duration::from_secs(15),
        "honest download took {took:?}"
    );
    assert_rss_bounded(before);
    swarm.seeder.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_interested_peer_sending_only_keepalives_keeps_its_slot() {
    // A leecher that is interested but requests nothing (as if still choked, or slow
    // to start) is not useless, however long it sends only keep-alives.
    let swarm = Swarm::new("127.0.13.41", 132, |c| {
        c.peer_inactivity_timeout = SHORT;
    })
    .await;
    let hash = swarm.meta.info_hash.0;
    let mut waiting = Evil::connect_in(&swarm.net, "127.0.13.50", swarm.addr(), hash, 1).await;
    waiting.send(&shoal_wire::Message::HaveNone).await.unwrap();
    waiting
        .send(&shoal_wire::Message::Interested)
        .await
        .unwrap();
    // Three inactivity timeouts of keep-alives: still connected.
    assert!(keepalive_until_closed(&mut waiting, SHORT * 3)
        .await
        .is_none());
    swarm.lists("127.0.13.50", 1).await;
    swarm.seeder.shutdown().await;
}

/// Dials `to` from `ip` and sends a handshake: true when the engine closes the
/// connection without answering (refused), false when it answers.
async fn newcomer_refused(swarm: &Swarm, ip: &str, hash: [u8; 20], tag: u8) -> bool {
    let mut stream = greet_in(&swarm.net, ip, swarm.addr(), hash, tag).await;
    let mut b = [0u8; 1];
    match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut b)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) => false,
        Err(_) => panic!("no answer and no close within 5 s"),
    }
}

#[tokio::test(start_paused = true)]
async fn idle_peers_at_the_cap_make_room_for_a_newcomer() {
    // (Virtual time: the refusal below comes within it however busy the machine.)
    const GRACE: Duration = Duration::from_secs(4);
    let swarm = Swarm::new("127.0.13.61", 133, |c| {
        c.max_peers_per_torrent = 2;
        c.peer_eviction_grace = GRACE;
    })
    .await;
    let hash = swarm.meta.info_hash.0;
    // Two peers that have nothing and want nothing take both slots.
    let started = Instant::now();
    let mut idle = Vec::new();
    for (tag, ip) in [(20, "127.0.13.70"), (21, "127.0.13.71")] {
        let mut hog = Evil::connect_in(&swarm.net, ip, swarm.addr(), hash, tag).await;
        hog.send(&shoal_wire::Message::HaveNone).await.unwrap();
        idle.push(hog);
    }
    swarm.lists("127.0.13.70", 1).await;
    swarm.lists("127.0.13.71", 1).await;
    // Within the grace they keep their slots: a newcomer is turned away.
    assert!(newcomer_refused(&swarm, "127.0.13.72", hash, 22).await);
    assert!(
        started.elapsed() < GRACE,
        "too slow to test within the grace"
    );
    // (The idle peers arrived a little after `started`.)
    tokio::time::sleep_until(started + GRACE + Duration::from_millis(500)).await;
    // Past it, an honest leecher gets in at once and finishes.
    let took = swarm
        .honest_download("127.0.13.62", vec![swarm.addr()], |_| {})
        .await;
    assert!(
        took < Duration::from_secs(5),
        "honest download took {took:?}"
    );
    // It took one idle peer's slot (the older, as both moved nothing); the other stays.
    let mut closed = Vec::new();
    for hog in &mut idle {
        closed.push(hog.closed_within(Duration::from_millis(500)).await);
    }
    assert_eq!(closed, [true, false]);
    swarm.seeder.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn interested_peers_at_the_cap_keep_their_slots() {
    let swarm = Swarm::new("127.0.13.81", 134, |c| {
        c.max_peers_per_torrent = 1;
        c.peer_eviction_grace = Duration::from_millis(500);
    })
    .await;
    let hash = swarm.meta.info_hash.0;
    let mut keen = Evil::connect_in(&swarm.net, "127.0.13.90", swarm.addr(), hash, 30).await;
    keen.send(&shoal_wire::Message::HaveNone).await.unwrap();
    keen.send(&shoal_wire::Message::Interested).await.unwrap();
    swarm.lists("127.0.13.90", 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for tag in 31..34 {
        assert!(newcomer_refused(&swarm, "127.0.13.91", hash, tag).await);
    }
    assert!(!keen.closed_within(Duration::from_millis(300)).await);
    swarm.lists("127.0.13.90", 1).await;
    swarm.seeder.shutdown().await;
}
