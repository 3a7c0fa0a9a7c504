//! Hostile peers breaking the wire protocol against a seeder: a 4 GiB length prefix,
//! out-of-range requests, bitfields of the wrong size or with spare bits set, request
//! floods and absurd extension handshakes. Each test checks that the seeder drops the
//! offender (its socket sees EOF or a reset and the seeder's peer list forgets it),
//! that memory stays bounded, and that an honest leecher in the same swarm still gets
//! the right bytes.
//!
//! The tests run on the in-memory network in tokio's paused time (no sockets, no
//! disk threads), so they are deterministic; each compares its own process's memory
//! (nextest runs every test in a process of its own).
#![allow(clippy::unwrap_used)]

#[path = "support/evil.rs"]
mod evil;
mod support;

use evil::{memory_session_with, raw_frame, rss_kib, Evil};
use shoal_engine::{MemoryNetwork, MemoryStream, Session, TorrentHandle};
use shoal_metainfo::Metainfo;
use shoal_testkit::{init_logs, make_torrent, random_file, same_bytes};
use shoal_wire::{BlockRef, Message};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use support::*;

/// 62 pieces of 16 KiB (the last one short): an 8-byte bitfield with 2 spare bits.
const LEN: usize = 61 * 16 * 1024 + 1000;
const PIECE: u32 = 16 * 1024;

/// Memory growth that would mean a hostile peer made us buffer or allocate its input.
const RSS_SLACK_KIB: u64 = 96 * 1024;

struct Swarm {
    net: MemoryNetwork,
    dir: tempfile::TempDir,
    meta: Metainfo,
    seeder: Session,
    seed: TorrentHandle,
}

impl Swarm {
    /// A seeder with a complete torrent on `ip`.
    async fn new(ip: &str, seed: u64) -> Swarm {
        init_logs();
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("seed/data.bin");
        random_file(&src, LEN, seed);
        let meta = make_torrent(&src, PIECE);
        let net = MemoryNetwork::new();
        let seeder = memory_session_with(&net, ip, |_| {}).await;
        let handle = add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
        wait_complete(&handle, Duration::from_secs(10)).await;
        Swarm {
            net,
            dir,
            meta,
            seeder,
            seed: handle,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.seeder.local_addr()
    }

    fn hash(&self) -> [u8; 20] {
        self.meta.info_hash.0
    }

    /// An honest leecher on `ip` downloads everything from the seeder, correctly.
    async fn honest_download(&self, ip: &str) {
        let leecher = memory_session_with(&self.net, ip, |_| {}).await;
        let dest = self.dir.path().join(format!("leech-{ip}"));
        let handle = add(&leecher, &self.meta, &dest, vec![self.addr()]).await;
        wait_complete(&handle, Duration::from_secs(15)).await;
        assert!(same_bytes(
            &self.dir.path().join("seed/data.bin"),
            &dest.join("data.bin")
        ));
        leecher.shutdown().await;
    }

    /// Waits until the seeder's peer list holds nobody from `ip`.
    async fn forgets(&self, ip: &str) {
        let ip: IpAddr = ip.parse().unwrap();
        for _ in 0..100 {
            if self.seed.peers().iter().all(|p| p.addr.ip() != ip) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{ip} still listed: {:?}", self.seed.peers());
    }

    /// Waits until the seeder lists a peer from `ip`.
    async fn lists(&self, ip: &str) {
        let ip: IpAddr = ip.parse().unwrap();
        for _ in 0..100 {
            if self.seed.peers().iter().any(|p| p.addr.ip() == ip) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{ip} never listed");
    }

    async fn shutdown(self) {
        self.seeder.shutdown().await;
    }
}

fn assert_rss_bounded(before: u64) {
    let after = rss_kib();
    assert!(
        after < before + RSS_SLACK_KIB,
        "RSS grew from {before} KiB to {after} KiB"
    );
}

/// Asserts `evil` is disconnected within 5 s and the seeder forgets it.
async fn assert_dropped(swarm: &Swarm, evil: &mut Evil<MemoryStream>, ip: &str) {
    assert!(
        evil.closed_within(Duration::from_secs(5)).await,
        "the seeder kept the connection from {ip} open"
    );
    swarm.forgets(ip).await;
}

#[tokio::test(start_paused = true)]
async fn four_gib_length_prefix_disconnects_without_allocating() {
    let swarm = Swarm::new("127.0.2.1", 21).await;
    let before = rss_kib();
    let mut evil = Evil::connect_in(&swarm.net, "127.0.2.2", swarm.addr(), swarm.hash(), 1).await;
    swarm.lists("127.0.2.2").await;
    // A frame "of 4 GiB", followed by a little of its body.
    evil.send_raw(&[0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0])
        .await
        .unwrap();
    assert_dropped(&swarm, &mut evil, "127.0.2.2").await;
    swarm.honest_download("127.0.2.3").await;
    assert_rss_bounded(before);
    swarm.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn out_of_range_requests_disconnect() {
    let swarm = Swarm::new("127.0.3.1", 31).await;
    let before = rss_kib();
    let bad = [
        // No such piece.
        BlockRef {
            piece: 62,
            begin: 0,
            length: 16 * 1024,
        },
        BlockRef {
            piece: u32::MAX,
            begin: 0,
            length: 16 * 1024,
        },
        // Past the end of a piece, and past the end of the short last piece.
        BlockRef {
            piece: 0,
            begin: PIECE - 100,
            length: 16 * 1024,
        },
        BlockRef {
            piece: 61,
            begin: 0,
            length: 16 * 1024,
        },
        // Wrapping begin + length, zero length, oversized length.
        BlockRef {
            piece: 0,
            begin: u32::MAX,
            length: 2,
        },
        BlockRef {
            piece: 0,
            begin: 0,
            length: 0,
        },
        BlockRef {
            piece: 0,
            begin: 0,
            length: u32::MAX,
        },
    ];
    for (i, block) in bad.iter().enumerate() {
        let ip = format!("127.0.3.{}", 10 + i);
        let mut evil = Evil::connect_in(&swarm.net, &ip, swarm.addr(), swarm.hash(), 1).await;
        evil.send(&Message::HaveNone).await.unwrap();
        evil.send(&Message::Interested).await.unwrap();
        evil.send(&Message::Request(*block)).await.unwrap();
        assert!(
            evil.closed_within(Duration::from_secs(5)).await,
            "request {block:?} did not disconnect"
        );
        swarm.forgets(&ip).await;
    }
    // Also as the first message, before any bitfield.
    let mut evil = Evil::connect_in(&swarm.net, "127.0.3.30", swarm.addr(), swarm.hash(), 1).await;
    evil.send_raw(&raw_frame(6, &[0xff; 12])).await.unwrap();
    assert_dropped(&swarm, &mut evil, "127.0.3.30").await;
    // A request message of the wrong size.
    let mut evil = Evil::connect_in(&swarm.net, "127.0.3.31", swarm.addr(), swarm.hash(), 1).await;
    evil.send_raw(&raw_frame(6, &[0; 5])).await.unwrap();
    assert_dropped(&swarm, &mut evil, "127.0.3.31").await;
    swarm.honest_download("127.0.3.2").await;
    assert_rss_bounded(before);
    swarm.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn bad_bitfields_disconnect() {
    let swarm = Swarm::new("127.0.5.1", 51).await;
    let before = rss_kib();
    let payloads: [(&str, Vec<u8>); 4] = [
        ("127.0.5.10", vec![0; 7]),                               // too short
        ("127.0.5.11", vec![0; 9]),                               // too long
        ("127.0.5.12", vec![0xff; 8]),                            // spare bits set
        ("127.0.5.13", [vec![0; 7], vec![0b0000_0001]].concat()), // last spare bit only
    ];
    for (ip, payload) in payloads {
        let mut evil = Evil::connect_in(&swarm.net, ip, swarm.addr(), swarm.hash(), 1).await;
        evil.send_raw(&raw_frame(5, &payload)).await.unwrap();
        assert!(
            evil.closed_within(Duration::from_secs(5)).await,
            "bitfield {payload:?} did not disconnect"
        );
        swarm.forgets(ip).await;
    }
    // A well-formed bitfield (of a peer that is not a seed) is fine: the connection
    // stays up.
    let mut good = Evil::connect_in(&swarm.net, "127.0.5.14", swarm.addr(), swarm.hash(), 1).await;
    good.send_raw(&raw_frame(5, &[0xff, 0, 0, 0, 0, 0, 0, 0x04]))
        .await
        .unwrap();
    assert!(!good.closed_within(Duration::from_millis(500)).await);
    swarm.lists("127.0.5.14").await;
    swarm.honest_download("127.0.5.2").await;
    assert_rss_bounded(before);
    swarm.shutdown().await;
}

/// Requests for every block of the torrent, `rounds` times over.
fn flood(rounds: usize) -> Vec<u8> {
    let mut out = bytes::BytesMut::new();
    for _ in 0..rounds {
        for piece in 0..61u32 {
            Message::Request(BlockRef {
                piece,
                begin: 0,
                length: PIECE,
            })
            .encode(&mut out);
        }
    }
    out.to_vec()
}

#[tokio::test(start_paused = true)]
async fn request_flood_is_capped_and_honest_upload_continues() {
    let swarm = Swarm::new("127.0.6.1", 61).await;
    let before = rss_kib();
    // Unchoked and asking for far more than the 500 requests we queue, without reading
    // a byte of what we send.
    let mut unchoked =
        Evil::connect_in(&swarm.net, "127.0.6.10", swarm.addr(), swarm.hash(), 1).await;
    unchoked.send(&Message::HaveNone).await.unwrap();
    unchoked.send(&Message::Interested).await.unwrap();
    let mut unchoke_seen = false;
    for _ in 0..20 {
        match unchoked.recv(Duration::from_secs(2)).await {
            Some(Message::Unchoke) => {
                unchoke_seen = true;
                break;
            }
            Some(_) => {}
            None => break,
        }
    }
    assert!(unchoke_seen, "the seeder never unchoked the evil peer");
    // Each round asks for every piece once: distinct requests, 61 per round.
    let mut distinct = bytes::BytesMut::new();
    for piece in 0..61u32 {
        for begin in (0..PIECE).step_by(1024) {
            Message::Request(BlockRef {
                piece,
                begin,
                length: 1024,
            })
            .encode(&mut distinct);
        }
    }
    let _ = unchoked.send_raw(&distinct).await;
    assert!(
        unchoked.closed_within(Duration::from_secs(5)).await,
        "an unchoked request flood was not cut off"
    );
    swarm.forgets("127.0.6.10").await;

    // Choked (never says interested): every request is rejected; a peer that sends
    // thousands per second and never reads the rejects is cut off too.
    let mut choked =
        Evil::connect_in(&swarm.net, "127.0.6.11", swarm.addr(), swarm.hash(), 1).await;
    choked.send(&Message::HaveNone).await.unwrap();
    let burst = flood(50);
    // Bounded: 4,000 bursts are 12 M requests, hundreds of times what the cut-off needs.
    let mut cut_off = false;
    for _ in 0..4_000 {
        if choked.send_raw(&burst).await.is_err() {
            cut_off = true;
            break;
        }
    }
    assert!(
        cut_off || choked.closed_within(Duration::from_secs(3)).await,
        "a choked request flood was not cut off"
    );
    swarm.forgets("127.0.6.11").await;

    swarm.honest_download("127.0.6.2").await;
    assert_rss_bounded(before);
    swarm.shutdown().await;
}

fn bencode_handshake(extra: &[u8]) -> Vec<u8> {
    let mut d = b"d".to_vec();
    d.extend_from_slice(extra);
    d.push(b'e');
    d
}

#[tokio::test(start_paused = true)]
async fn absurd_extension_handshakes_are_survived_or_disconnected() {
    let swarm = Swarm::new("127.0.9.1", 91).await;
    let before = rss_kib();

    // Huge and negative numbers, a giant `m`, a 60 KB client name: all capped or
    // ignored; the connection stays up and is still served.
    let mut evil = Evil::connect_in(&swarm.net, "127.0.9.10", swarm.addr(), swarm.hash(), 1).await;
    for round in 0..30 {
        let mut m = b"1:md".to_vec();
        for i in 0..4000 {
            let name = format!("x{round:02}_{i:05}");
            m.extend_from_slice(format!("{}:{}i1e", name.len(), name).as_bytes());
        }
        m.push(b'e');
        let mut fields = m;
        fields.extend_from_slice(b"13:metadata_sizei-99999999999e1:pi99999999e");
        fields.extend_from_slice(b"4:reqqi99999999999999e");
        let v = vec![b'V'; 60_000];
        fields.extend_from_slice(format!("1:v{}:", v.len()).as_bytes());
        fields.extend_from_slice(&v);
        let payload = bencode_handshake(&fields);
        evil.send(&Message::Extended {
            id: 0,
            payload: payload.into(),
        })
        .await
        .unwrap();
    }
    evil.send(&Message::HaveNone).await.unwrap();
    evil.send(&Message::Interested).await.unwrap();
    assert!(!evil.closed_within(Duration::from_millis(500)).await);
    swarm.lists("127.0.9.10").await;
    let client = swarm
        .seed
        .peers()
        .into_iter()
        .find(|p| p.addr.ip().to_string() == "127.0.9.10")
        .and_then(|p| p.client)
        .unwrap();
    assert!(
        client.len() <= 256,
        "kept a {}-byte client name",
        client.len()
    );

    // Not a dictionary, and not bencode at all: protocol errors.
    // (Each with a peer id of its own: the first evil peer is still connected.)
    for (tag, ip, payload) in [
        (11, "127.0.9.11", b"li1ei2ee".to_vec()),
        (12, "127.0.9.12", b"i-5e".to_vec()),
        (
            13,
            "127.0.9.13",
            b"d1:mi99999999999999999999999999e".to_vec(),
        ),
    ] {
        let mut evil = Evil::connect_in(&swarm.net, ip, swarm.addr(), swarm.hash(), tag).await;
        evil.send(&Message::Extended {
            id: 0,
            payload: payload.clone().into(),
        })
        .await
        .unwrap();
        assert!(
            evil.closed_within(Duration::from_secs(5)).await,
            "extension handshake {:?} did not disconnect",
            String::from_utf8_lossy(&payload)
        );
        swarm.forgets(ip).await;
    }

    swarm.honest_download("127.0.9.2").await;
    assert_rss_bounded(before);
    swarm.shutdown().await;
}
