//! Message stream encryption between shoal sessions on loopback: every pair of
//! policies that should connect transfers a multi-piece torrent intact and reports the
//! expected `encrypted` flag; `require` and `disable` never connect; a relay in the
//! middle shows what is visible on the wire; `prefer` falls back to plaintext for a
//! peer that drops MSE.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_engine::{AddTorrentOptions, EncryptionPolicy, Session, SessionConfig, TorrentHandle};
use shoal_metainfo::Metainfo;
use shoal_testkit::{init_logs, make_torrent, random_file, same_bytes};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use EncryptionPolicy::{Disable, Prefer, Require};

/// 3 MiB in 64 KiB pieces, plus a tail piece.
const LEN: usize = 3 * 1024 * 1024 + 4321;
const PIECE: u32 = 64 * 1024;
/// The seeder's upload cap: the transfer lasts about two seconds, so its connection is
/// seen by the polling below.
const SEED_RATE: u64 = 1024 * 1024;

async fn session(policy: EncryptionPolicy, upload: Option<u64>) -> Session {
    let config = SessionConfig {
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        use_trackers: false,
        pex: false,
        upload_rate_limit: upload,
        connect_timeout: Duration::from_secs(3),
        encryption: policy,
        ..SessionConfig::default()
    };
    Session::new(config).await.unwrap()
}

async fn add(s: &Session, meta: &Metainfo, dir: &Path, peers: Vec<SocketAddr>) -> TorrentHandle {
    let opts = AddTorrentOptions {
        download_dir: dir.to_path_buf(),
        peers,
        ..AddTorrentOptions::default()
    };
    s.add_torrent(meta.clone(), opts, |_| {}).await.unwrap()
}

struct Fixture {
    dir: tempfile::TempDir,
    src: PathBuf,
    meta: Metainfo,
}

fn fixture(seed: u64) -> Fixture {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/payload.bin");
    random_file(&src, LEN, seed);
    let meta = make_torrent(&src, PIECE);
    Fixture { dir, src, meta }
}

/// Waits for `leecher` to complete within `limit`, noting the `encrypted` flag of
/// every connection either side shows meanwhile.
async fn watch_until_complete(
    leecher: &TorrentHandle,
    seeder: &TorrentHandle,
    limit: Duration,
) -> HashSet<bool> {
    let mut seen = HashSet::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        for p in leecher.peers().into_iter().chain(seeder.peers()) {
            seen.insert(p.encrypted);
        }
        if leecher.is_complete() {
            return seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out: {:?}",
            leecher.stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The leecher (policy `dialer`) connects to the seeder (policy `listener`); the
/// download must complete intact with every connection's `encrypted` as expected.
async fn transfer(dialer: EncryptionPolicy, listener: EncryptionPolicy, encrypted: bool) {
    let f = fixture(7);
    let seeder = session(listener, Some(SEED_RATE)).await;
    let seed = add(&seeder, &f.meta, &f.dir.path().join("seed"), vec![]).await;
    let leecher = session(dialer, None).await;
    let dl = f.dir.path().join("dl");
    let get = add(&leecher, &f.meta, &dl, vec![seeder.local_addr()]).await;
    let seen = watch_until_complete(&get, &seed, Duration::from_secs(30)).await;
    assert!(same_bytes(&f.src, &dl.join("payload.bin")));
    assert_eq!(
        seen,
        HashSet::from([encrypted]),
        "{dialer} -> {listener}: encrypted flags seen"
    );
    leecher.shutdown().await;
    seeder.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_to_prefer_is_encrypted() {
    transfer(Prefer, Prefer, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_to_require_is_encrypted() {
    transfer(Prefer, Require, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_to_disable_negotiates_plaintext() {
    transfer(Prefer, Disable, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_to_prefer_is_encrypted() {
    transfer(Require, Prefer, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_to_require_is_encrypted() {
    transfer(Require, Require, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_to_prefer_is_plaintext() {
    transfer(Disable, Prefer, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_to_disable_is_plaintext() {
    transfer(Disable, Disable, false).await;
}

/// The encrypted seeder is the one that dials (the seeder encrypts as initiator).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeder_dials_out_encrypted() {
    let f = fixture(8);
    let leecher = session(Prefer, None).await;
    let dl = f.dir.path().join("dl");
    let get = add(&leecher, &f.meta, &dl, vec![]).await;
    let seeder = session(Require, Some(SEED_RATE)).await;
    let seed = add(
        &seeder,
        &f.meta,
        &f.dir.path().join("seed"),
        vec![leecher.local_addr()],
    )
    .await;
    let seen = watch_until_complete(&get, &seed, Duration::from_secs(30)).await;
    assert!(same_bytes(&f.src, &dl.join("payload.bin")));
    assert_eq!(seen, HashSet::from([true]));
    leecher.shutdown().await;
    seeder.shutdown().await;
}

/// `require` and `disable` have no common ground in either direction, and both sides
/// say why: each counts the other as a peer that refused its policy.
async fn never_connect(dialer: EncryptionPolicy, listener: EncryptionPolicy) {
    let f = fixture(9);
    let seeder = session(listener, None).await;
    let seed = add(&seeder, &f.meta, &f.dir.path().join("seed"), vec![]).await;
    let leecher = session(dialer, None).await;
    let get = add(
        &leecher,
        &f.meta,
        &f.dir.path().join("dl"),
        vec![seeder.local_addr()],
    )
    .await;
    // Long enough for several attempts (user-given peers are retried after 1-2 s).
    for _ in 0..40 {
        assert!(get.peers().is_empty() && seed.peers().is_empty());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(get.stats().have_pieces, 0);
    assert_eq!(get.stats().downloaded, 0);
    let why = |policy| match policy {
        Disable => "1 peer refused: they require encryption",
        _ => "1 peer refused: they do not encrypt",
    };
    let refused = |h: &TorrentHandle| h.stats().encryption_refusals.to_string();
    assert_eq!(refused(&get), why(dialer), "the dialler's count");
    assert_eq!(refused(&seed), why(listener), "the listener's count");
    leecher.shutdown().await;
    seeder.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_to_disable_fails() {
    never_connect(Require, Disable).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_to_require_fails() {
    never_connect(Disable, Require).await;
}

/// One relayed connection's bytes, per direction.
#[derive(Default)]
struct Capture {
    up: Vec<u8>,
    down: Vec<u8>,
}

/// A relay on 127.0.0.1 that forwards connections to `target` and records their
/// bytes. `plaintext_only` makes it behave like a client without MSE: a connection
/// whose first byte is not that of a plain handshake (19) is closed at once.
struct Tap {
    addr: SocketAddr,
    captures: Arc<Mutex<Vec<Arc<Mutex<Capture>>>>>,
    refused: Arc<AtomicUsize>,
}

impl Tap {
    async fn start(target: SocketAddr, plaintext_only: bool) -> Tap {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let captures = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(AtomicUsize::new(0));
        let (c, r) = (captures.clone(), refused.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let capture = Arc::new(Mutex::new(Capture::default()));
                c.lock().unwrap().push(capture.clone());
                tokio::spawn(relay(client, target, capture, plaintext_only, r.clone()));
            }
        });
        Tap {
            addr,
            captures,
            refused,
        }
    }

    /// Every byte seen, each connection and direction separately.
    fn streams(&self) -> Vec<Vec<u8>> {
        let caps = self.captures.lock().unwrap();
        caps.iter()
            .flat_map(|c| {
                let c = c.lock().unwrap();
                [c.up.clone(), c.down.clone()]
            })
            .collect()
    }
}

async fn relay(
    mut client: TcpStream,
    target: SocketAddr,
    capture: Arc<Mutex<Capture>>,
    plaintext_only: bool,
    refused: Arc<AtomicUsize>,
) {
    // A plain handshake starts with the 20-byte protocol string; an MSE one with 96
    // random bytes (whose first byte alone is 19 once in 256 connections).
    let mut first = [0u8; 20];
    if client.read_exact(&mut first).await.is_err() {
        return;
    }
    if plaintext_only && &first != b"\x13BitTorrent protocol" {
        refused.fetch_add(1, Ordering::SeqCst);
        return;
    }
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    capture.lock().unwrap().up.extend_from_slice(&first);
    if server.write_all(&first).await.is_err() {
        return;
    }
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = pump(cr, sw, capture.clone(), true);
    let down = pump(sr, cw, capture, false);
    tokio::join!(up, down);
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    capture: Arc<Mutex<Capture>>,
    up: bool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        {
            let mut c = capture.lock().unwrap();
            let side = if up { &mut c.up } else { &mut c.down };
            side.extend_from_slice(&buf[..n]);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Transfers through a tap between two sessions of `policy`; returns the captured
/// streams and the payload.
async fn tapped_transfer(policy: EncryptionPolicy) -> (Vec<Vec<u8>>, Vec<u8>, [u8; 20]) {
    let f = fixture(10);
    let seeder = session(policy, None).await;
    let seed = add(&seeder, &f.meta, &f.dir.path().join("seed"), vec![]).await;
    let tap = Tap::start(seeder.local_addr(), false).await;
    let leecher = session(policy, None).await;
    let dl = f.dir.path().join("dl");
    let get = add(&leecher, &f.meta, &dl, vec![tap.addr]).await;
    watch_until_complete(&get, &seed, Duration::from_secs(30)).await;
    assert!(same_bytes(&f.src, &dl.join("payload.bin")));
    leecher.shutdown().await;
    seeder.shutdown().await;
    let streams = tap.streams();
    let total: usize = streams.iter().map(Vec::len).sum();
    assert!(total >= LEN, "the tap saw only {total} bytes");
    (streams, std::fs::read(&f.src).unwrap(), f.meta.info_hash.0)
}

/// Under `require` neither the protocol string, nor the info-hash, nor any sample of
/// the payload crosses the wire in clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_hides_handshake_and_payload_on_the_wire() {
    let (streams, payload, info_hash) = tapped_transfer(Require).await;
    for s in &streams {
        assert!(
            !contains(s, b"\x13BitTorrent protocol"),
            "protocol string seen"
        );
        assert!(!contains(s, &info_hash), "info-hash seen");
        for at in (0..payload.len() - 64).step_by(256 * 1024 + 17) {
            assert!(!contains(s, &payload[at..at + 64]), "payload at {at} seen");
        }
    }
}

/// The same tap under `disable` does see them (the check above is meaningful).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_shows_handshake_and_payload_on_the_wire() {
    let (streams, payload, info_hash) = tapped_transfer(Disable).await;
    let up_and_down = streams.iter().filter(|s| !s.is_empty()).count();
    assert!(up_and_down >= 2);
    for s in streams.iter().filter(|s| !s.is_empty()) {
        assert!(contains(s, b"\x13BitTorrent protocol"));
        assert!(contains(s, &info_hash));
    }
    let all: Vec<u8> = streams.concat();
    assert!(contains(&all, &payload[100_000..100_064]));
}

/// A peer that drops MSE handshakes (like a client without MSE): `prefer` retries in
/// plaintext, gets the data, and dials that address in plaintext from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_falls_back_to_plaintext() {
    let f = fixture(11);
    let seeder = session(Prefer, Some(SEED_RATE)).await;
    let seed = add(&seeder, &f.meta, &f.dir.path().join("seed"), vec![]).await;
    let tap = Tap::start(seeder.local_addr(), true).await;
    let leecher = session(Prefer, None).await;
    let dl = f.dir.path().join("dl");
    let get = add(&leecher, &f.meta, &dl, vec![tap.addr]).await;
    let seen = watch_until_complete(&get, &seed, Duration::from_secs(30)).await;
    assert!(same_bytes(&f.src, &dl.join("payload.bin")));
    assert_eq!(seen, HashSet::from([false]));
    assert_eq!(tap.refused.load(Ordering::SeqCst), 1, "one MSE attempt");
    leecher.shutdown().await;
    seeder.shutdown().await;
}

/// Against the same peer, `require` gives up instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_does_not_fall_back() {
    let f = fixture(12);
    let seeder = session(Prefer, None).await;
    let seed = add(&seeder, &f.meta, &f.dir.path().join("seed"), vec![]).await;
    let tap = Tap::start(seeder.local_addr(), true).await;
    let leecher = session(Require, None).await;
    let get = add(&leecher, &f.meta, &f.dir.path().join("dl"), vec![tap.addr]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(get.peers().is_empty() && seed.peers().is_empty());
    assert_eq!(get.stats().downloaded, 0);
    assert!(tap.refused.load(Ordering::SeqCst) >= 1);
    assert!(
        tap.streams().iter().all(Vec::is_empty),
        "no plaintext attempt got through"
    );
    leecher.shutdown().await;
    seeder.shutdown().await;
}

/// Reads until the session closes the connection; returns how many bytes it sent.
async fn read_until_closed(stream: &mut TcpStream) -> usize {
    let mut total = 0;
    let mut buf = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf)).await;
        match read.expect("the session kept a broken handshake open") {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}

/// Broken or refused handshakes end their connection and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_handshakes_are_dropped() {
    let f = fixture(13);
    let seeder = session(Require, None).await;
    let seed = add(&seeder, &f.meta, &f.dir.path().join("seed"), vec![]).await;
    let addr = seeder.local_addr();
    let mut valid_key = [0x5au8; 96];
    valid_key[0] = 0;
    let mut plain = vec![19u8];
    plain.extend_from_slice(b"BitTorrent protocol");
    plain.extend_from_slice(&[0; 8]);
    plain.extend_from_slice(&f.meta.info_hash.0);
    plain.extend_from_slice(&[1; 20]);
    let cases: Vec<(&str, Vec<u8>, usize)> = vec![
        // A public key of all ones is above P - 2: refused before any reply.
        ("bad public key", vec![0xff; 96], 0),
        // Plaintext under `require`.
        ("plain handshake", plain, 0),
        // A valid key, then no req1 hash within the 512-byte pad allowance: the
        // session answered with its key and pad, then gave up.
        ("no sync", [&valid_key[..], &[0x33; 700]].concat(), 96 + 512),
        // Too short: the peer just stops (half-close).
        ("short", vec![1, 2, 3], 0),
    ];
    for (what, bytes, max_reply) in cases {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&bytes).await.unwrap();
        if what == "short" {
            s.shutdown().await.unwrap();
        }
        let replied = read_until_closed(&mut s).await;
        assert!(replied <= max_reply, "{what}: {replied} bytes back");
    }
    assert!(seed.peers().is_empty());
    // The session still serves a well-behaved peer.
    let leecher = session(Require, None).await;
    let dl = f.dir.path().join("dl");
    let get = add(&leecher, &f.meta, &dl, vec![addr]).await;
    wait_complete(&get, Duration::from_secs(30)).await;
    assert!(same_bytes(&f.src, &dl.join("payload.bin")));
    leecher.shutdown().await;
    seeder.shutdown().await;
}

/// A magnet fetch whose only peer requires encryption, under `disable`, says so in
/// its status instead of only "no connection". On the memory network, paused time.
#[tokio::test(start_paused = true)]
async fn a_magnet_fetch_reports_a_peer_that_requires_encryption() {
    let f = fixture(10);
    let net = shoal_engine::MemoryNetwork::new();
    let on = |ip: &str, encryption| SessionConfig {
        listen_addr: format!("{ip}:6881").parse().unwrap(),
        use_trackers: false,
        encryption,
        ..SessionConfig::default()
    };
    let seeder = session_in(&net, on("10.0.30.1", Require)).await;
    add(&seeder, &f.meta, &f.dir.path().join("seed"), vec![]).await;
    let leecher = session_in(&net, on("10.0.30.2", Disable)).await;
    let (status, watch) = tokio::sync::watch::channel(shoal_engine::FetchStatus::default());
    let fetched = leecher
        .fetch_metadata_with_status(
            &f.meta.magnet(),
            vec![seeder.local_addr()],
            Duration::from_secs(10),
            status,
        )
        .await;
    assert!(matches!(
        fetched,
        Err(shoal_engine::MetadataError::TimedOut(_))
    ));
    let last = watch.borrow().clone();
    assert_eq!(last.refused.require_encryption, 1);
    assert!(
        last.to_string()
            .ends_with("(1 peer refused: they require encryption)"),
        "{last}"
    );
    leecher.shutdown().await;
    seeder.shutdown().await;
}
