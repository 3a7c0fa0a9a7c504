//! Private links through the engine on loopback: a sender serves a directory as an
//! encrypted stream, a receiver with the key rebuilds it, a keyless peer relays the
//! ciphertext to another keyed receiver, and a wrong key fails the torrent with nothing
//! written.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_engine::{AddTorrentOptions, Content, Session, TorrentError, TorrentHandle};
use shoal_metainfo::{auto_piece_length, create_torrent_from_stream, CreateOptions, Metainfo};
use shoal_private::{scan_path, ContentKey, PrivateLayout, PrivateSource};
use shoal_testkit::{init_logs, random_file, same_bytes};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(60);

/// A private torrent of `root` (as `shoal send` builds it) and its source.
fn private_torrent(root: &Path, key: &ContentKey) -> (Metainfo, PrivateSource) {
    let manifest = scan_path(root).unwrap().manifest;
    let pl = auto_piece_length(manifest.total_len() + 65536);
    let layout = PrivateLayout::seal_aligned(manifest, key, pl as usize).unwrap();
    let source = PrivateSource::from_layout(root, layout.clone(), key);
    let opts = CreateOptions {
        piece_length: Some(pl),
        ..CreateOptions::default()
    };
    let meta = create_torrent_from_stream(
        &layout.stream_name(),
        layout.stream_len(),
        &opts,
        &|at, buf| source.read_stream(at, buf),
    )
    .unwrap();
    (Metainfo::from_bytes(&meta.to_bytes()).unwrap(), source)
}

async fn add_with(
    session: &Session,
    meta: &Metainfo,
    dir: &Path,
    peers: Vec<SocketAddr>,
    content: Content,
) -> TorrentHandle {
    let opts = AddTorrentOptions {
        download_dir: dir.to_path_buf(),
        peers,
        content,
        ..AddTorrentOptions::default()
    };
    session
        .add_torrent(meta.clone(), opts, |_| {})
        .await
        .unwrap()
}

fn make_share(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("my share");
    random_file(&root.join("big.bin"), 3_000_000, 1);
    random_file(&root.join("docs/notes-secret.txt"), 10_000, 2);
    std::fs::write(root.join("docs/empty"), b"").unwrap();
    root
}

fn assert_same(a: &Path, b: &Path) {
    for rel in ["big.bin", "docs/notes-secret.txt", "docs/empty"] {
        assert!(same_bytes(&a.join(rel), &b.join(rel)), "{rel} differs");
    }
}

/// A session sending [`make_share`] (in `tmp`) privately.
struct Sending {
    tmp: tempfile::TempDir,
    session: Session,
    handle: TorrentHandle,
    meta: Metainfo,
    key: ContentKey,
}

/// Starts a [`Sending`] with upload limit `upload`.
async fn sending_share(upload: Option<u64>) -> Sending {
    let tmp = tempfile::tempdir().unwrap();
    let root = make_share(tmp.path());
    let key = ContentKey::generate();
    let (meta, source) = private_torrent(&root, &key);
    let session = session(upload).await;
    let handle = add_with(
        &session,
        &meta,
        tmp.path(),
        vec![],
        Content::PrivateSend(source),
    )
    .await;
    Sending {
        tmp,
        session,
        handle,
        meta,
        key,
    }
}

/// A new session receiving `meta` from `from` into `out` with `key`.
async fn receiving(
    from: &Session,
    meta: &Metainfo,
    out: &Path,
    key: ContentKey,
) -> (Session, TorrentHandle) {
    let rx = session(None).await;
    let got = add_with(
        &rx,
        meta,
        out,
        vec![from.local_addr()],
        Content::PrivateReceive(key),
    )
    .await;
    (rx, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_link_through_a_keyless_relay() {
    init_logs();
    let Sending {
        tmp,
        session: sender,
        handle: send,
        meta,
        key,
    } = sending_share(None).await;
    let root = tmp.path().join("my share");
    assert!(send.is_complete());
    assert_eq!(
        send.private_layout().unwrap().manifest().root_name,
        "my share"
    );

    // B has the key.
    let b_dir = tmp.path().join("b");
    let (b, got) = receiving(&sender, &meta, &b_dir, key.clone()).await;
    wait_complete(&got, LIMIT).await;
    assert_same(&root, &b_dir.join("my share"));
    assert_eq!(got.private_target(), Some(b_dir.join("my share")));

    // C has no key: it stores the ciphertext stream as an ordinary file.
    let c_dir = tmp.path().join("c");
    let c = session(None).await;
    let relay = add(&c, &meta, &c_dir, vec![sender.local_addr()]).await;
    wait_complete(&relay, LIMIT).await;
    let stream = std::fs::read(c_dir.join(&meta.info.name)).unwrap();
    assert!(!stream.windows(12).any(|w| w == b"notes-secret"));
    let big = std::fs::read(root.join("big.bin")).unwrap();
    assert!(!stream.windows(16).any(|w| w == &big[1000..1016]));

    // D has the key and only C to fetch from.
    sender.shutdown().await;
    b.shutdown().await;
    let d_dir = tmp.path().join("d");
    let (d, got) = receiving(&c, &meta, &d_dir, key).await;
    wait_complete(&got, LIMIT).await;
    assert_same(&root, &d_dir.join("my share"));
    d.shutdown().await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_fails_before_writing() {
    init_logs();
    let Sending {
        tmp,
        session: sender,
        meta,
        ..
    } = sending_share(None).await;
    let out = tmp.path().join("out");
    let (rx, got) = receiving(&sender, &meta, &out, ContentKey::generate()).await;
    let result = tokio::time::timeout(LIMIT, got.wait_complete())
        .await
        .unwrap();
    assert!(matches!(result, Err(TorrentError::WrongKey)), "{result:?}");
    assert_eq!(result.unwrap_err().to_string(), "wrong key for this link");
    got.wait_stopped().await;
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    rx.shutdown().await;
    sender.shutdown().await;
}

/// Removing a half-received private share with its data deletes its files and its
/// hidden header cache: the output directory is left empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_half_received_share_with_its_data_leaves_nothing() {
    let Sending {
        tmp,
        session: sender,
        meta,
        key,
        ..
    } = sending_share(Some(1 << 20)).await;
    let out = tmp.path().join("out");
    let (rx, got) = receiving(&sender, &meta, &out, key).await;
    let deadline = std::time::Instant::now() + LIMIT;
    while got.private_target().is_none() {
        assert!(std::time::Instant::now() < deadline, "header never opened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let names = || -> Vec<String> {
        std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert!(
        names()
            .iter()
            .any(|n| n.starts_with(shoal_private::HEADER_CACHE_PREFIX)),
        "{:?}",
        names()
    );
    assert!(!got.is_complete());
    rx.remove_torrent(&meta.info_hash.0, true).await.unwrap();
    assert_eq!(names(), Vec::<String>::new());
    rx.shutdown().await;
    sender.shutdown().await;
}
