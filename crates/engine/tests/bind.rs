//! A session bound to one address (`--bind`) sends everything from it: outgoing peer
//! connections, HTTP and UDP tracker announces and the DHT. The listeners here sit on
//! 127.0.0.1 and the session on the loopback alias 127.0.0.4, so each listener sees
//! which source address the session used (before the fix, only the peer listener
//! was bound and everything else left from 127.0.0.1).
#![allow(clippy::unwrap_used)]

use shoal_engine::{AddTorrentOptions, DhtSettings, Session, SessionConfig};
use shoal_testkit::{init_logs, make_torrent, random_file};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// How long each listener waits for the session's first packet.
const WAIT: Duration = Duration::from_secs(20);

/// The source address of the first connection to `listener`; the HTTP request on it
/// is answered with an empty peer list.
async fn first_http_client(listener: TcpListener) -> IpAddr {
    let (mut stream, from) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .expect("no announce within the wait")
        .unwrap();
    let mut buf = [0u8; 4096];
    let _ = stream.read(&mut buf).await;
    let body = b"d8:intervali1800e5:peers0:e";
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    from.ip()
}

/// The source address of the first datagram to `socket`.
async fn first_datagram(socket: UdpSocket) -> IpAddr {
    let mut buf = [0u8; 2048];
    let (_, from) = tokio::time::timeout(WAIT, socket.recv_from(&mut buf))
        .await
        .expect("no datagram within the wait")
        .unwrap();
    from.ip()
}

/// The source address of the first connection to `listener`.
async fn first_peer(listener: TcpListener) -> IpAddr {
    let (_stream, from) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .expect("no connection within the wait")
        .unwrap();
    from.ip()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_socket_leaves_from_the_bound_address() {
    init_logs();
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dht = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_url = format!("http://{}/announce", http.local_addr().unwrap());
    let udp_url = format!("udp://{}", udp.local_addr().unwrap());
    let dht_node = dht.local_addr().unwrap().to_string();
    let peer_addr: SocketAddr = peer.local_addr().unwrap();
    let seen = (
        tokio::spawn(first_http_client(http)),
        tokio::spawn(first_datagram(udp)),
        tokio::spawn(first_datagram(dht)),
        tokio::spawn(first_peer(peer)),
    );

    let session = Session::new(SessionConfig {
        listen_addr: "127.0.0.4:0".parse().unwrap(),
        use_trackers: true,
        dht: Some(DhtSettings {
            bootstrap: vec![dht_node],
            state_file: None,
        }),
        ..SessionConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, tracker, peers) in [
        ("http.bin", http_url, vec![peer_addr]),
        ("udp.bin", udp_url, vec![]),
    ] {
        let src = dir.path().join(name);
        random_file(&src, 40_000, 31);
        let mut meta = make_torrent(&src, 16 * 1024);
        meta.announce_list = vec![vec![tracker]];
        let opts = AddTorrentOptions {
            download_dir: dir.path().join("out"),
            peers,
            ..AddTorrentOptions::default()
        };
        session.add_torrent(meta, opts, |_| {}).await.unwrap();
    }
    let bound: IpAddr = "127.0.0.4".parse().unwrap();
    assert_eq!(seen.0.await.unwrap(), bound, "HTTP tracker announce");
    assert_eq!(seen.1.await.unwrap(), bound, "UDP tracker announce");
    assert_eq!(seen.2.await.unwrap(), bound, "DHT bootstrap query");
    assert_eq!(seen.3.await.unwrap(), bound, "outgoing peer connection");
    session.shutdown().await;
}

/// A misspelt interface is a clear error when the session starts.
#[tokio::test]
async fn an_unknown_interface_is_refused_at_start() {
    let err = Session::new(SessionConfig {
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        interface: Some("no-such-dev0".into()),
        use_trackers: false,
        ..SessionConfig::default()
    })
    .await
    .err()
    .expect("started with a device that does not exist");
    assert_eq!(
        err.to_string(),
        "cannot use network interface \"no-such-dev0\": no such network device on this host"
    );
}

/// Bound to the loopback device, a session still reaches loopback peers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_to_a_device_it_still_connects_through_it() {
    let peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let seen = tokio::spawn(first_peer(peer));
    let session = Session::new(SessionConfig {
        listen_addr: "127.0.0.5:0".parse().unwrap(),
        interface: Some("lo".into()),
        use_trackers: false,
        ..SessionConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("lo.bin");
    random_file(&src, 40_000, 32);
    let opts = AddTorrentOptions {
        download_dir: dir.path().join("out"),
        peers: vec![peer_addr],
        ..AddTorrentOptions::default()
    };
    session
        .add_torrent(make_torrent(&src, 16 * 1024), opts, |_| {})
        .await
        .unwrap();
    assert_eq!(seen.await.unwrap(), "127.0.0.5".parse::<IpAddr>().unwrap());
    session.shutdown().await;
}
