//! Tiny local trackers for the integration tests; everything listens on 127.0.0.1 only.
// Four test binaries include this module and each uses only part of it.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shoal_announce::{AnnouncerConfig, TransferStats};
use shoal_testkit::Poll;
use shoal_tracker::udp::packet::{AnnouncePacket, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

pub const INFO_HASH: [u8; 20] = [
    0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf1, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x12,
    0x34, 0x56, 0x78, 0x9a,
];
/// `INFO_HASH` percent-encoded (the BEP 3 example).
pub const INFO_HASH_ENC: &str = "%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A";
pub const PEER_ID: [u8; 20] = *b"-SH0001-abcdefghijkl";

/// A fast configuration for tests.
pub fn config(tiers: Vec<Vec<String>>) -> AnnouncerConfig {
    let mut cfg = AnnouncerConfig::new(tiers, INFO_HASH, PEER_ID, 6881);
    cfg.min_interval_floor = Duration::from_millis(100);
    cfg.request_timeout = Duration::from_secs(3);
    cfg.retry_base = Duration::from_millis(50);
    cfg.retry_max = Duration::from_millis(200);
    cfg.udp_retransmit_base = Duration::from_millis(100);
    cfg.udp_max_retries = 1;
    cfg
}

pub fn stats() -> TransferStats {
    TransferStats {
        uploaded: 11,
        downloaded: 22,
        left: 33,
    }
}

/// Compact peer list `127.0.0.2:6000`, `127.0.0.3:6001`.
pub fn canned_peers() -> Vec<SocketAddr> {
    vec![
        "127.0.0.2:6000".parse().unwrap(),
        "127.0.0.3:6001".parse().unwrap(),
    ]
}

/// A bencoded announce reply with `interval` seconds and [`canned_peers`].
pub fn announce_reply(interval: u64) -> Vec<u8> {
    let mut body =
        format!("d8:completei3e10:incompletei4e8:intervali{interval}e5:peers12:").into_bytes();
    body.extend_from_slice(&[127, 0, 0, 2, 0x17, 0x70, 127, 0, 0, 3, 0x17, 0x71]);
    body.push(b'e');
    body
}

/// How the tests wait for the announcer: every 10 ms for up to 5 s.
pub const WAIT: Poll = Poll::secs(5).every(Duration::from_millis(10));

/// One HTTP reply: status line text, extra header lines, body.
#[derive(Clone)]
pub struct Reply {
    pub status: &'static str,
    pub headers: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn ok(body: Vec<u8>) -> Self {
        Reply {
            status: "200 OK",
            headers: String::new(),
            body,
        }
    }
}

/// A local HTTP tracker answering every request with the current [`Reply`] and recording
/// each request target (path and query) with its arrival time.
pub struct HttpTracker {
    pub url: String,
    pub reply: Arc<Mutex<Reply>>,
    pub requests: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl HttpTracker {
    pub async fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reply = Arc::new(Mutex::new(reply));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (r2, q2) = (Arc::clone(&reply), Arc::clone(&requests));
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (reply, requests) = (Arc::clone(&r2), Arc::clone(&q2));
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let target = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                    requests.lock().unwrap().push((Instant::now(), target));
                    let r = reply.lock().unwrap().clone();
                    let mut out = format!(
                        "HTTP/1.1 {}\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n",
                        r.status,
                        r.body.len(),
                        r.headers
                    )
                    .into_bytes();
                    out.extend_from_slice(&r.body);
                    let _ = sock.write_all(&out).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        HttpTracker {
            url: format!("http://{addr}/announce"),
            reply,
            requests,
        }
    }

    pub fn targets(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(_, t)| t.clone())
            .collect()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

/// The values of query parameter `name` in a request target.
pub fn param<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    let query = target.split_once('?')?.1;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then_some(v)
    })
}

/// A local BEP 15 tracker: answers connects with id 0xC0FFEE and announces with
/// [`canned_peers`] and `interval`, recording every request it decodes.
pub struct UdpTrackerServer {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

impl UdpTrackerServer {
    pub async fn start(interval: u32) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        Self::serve(sock, interval, canned_peers())
    }

    /// Serves on an already bound socket, answering announces with `peers`.
    pub fn serve(sock: UdpSocket, interval: u32, peers: Vec<SocketAddr>) -> Self {
        let addr = sock.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let rec = Arc::clone(&requests);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            while let Ok((n, from)) = sock.recv_from(&mut buf).await {
                let Ok(req) = Request::decode(&buf[..n]) else {
                    continue;
                };
                rec.lock().unwrap().push(req.clone());
                let resp = match req {
                    Request::Connect { transaction_id } => Response::Connect {
                        transaction_id,
                        connection_id: 0xC0FFEE,
                    },
                    Request::Announce(AnnouncePacket {
                        transaction_id,
                        connection_id,
                        ..
                    }) => {
                        if connection_id != 0xC0FFEE {
                            Response::Error {
                                transaction_id,
                                message: "bad connection id".into(),
                            }
                        } else {
                            Response::Announce {
                                transaction_id,
                                interval,
                                leechers: 4,
                                seeders: 3,
                                peers: peers.clone(),
                            }
                        }
                    }
                    Request::Scrape { transaction_id, .. } => Response::Error {
                        transaction_id,
                        message: "no scrape".into(),
                    },
                };
                let _ = sock.send_to(&resp.encode(), from).await;
            }
        });
        UdpTrackerServer {
            url: format!("udp://{addr}/announce"),
            requests,
        }
    }

    pub fn announces(&self) -> Vec<AnnouncePacket> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter_map(|r| match r {
                Request::Announce(a) => Some(a.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn connects(&self) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| matches!(r, Request::Connect { .. }))
            .count()
    }
}

/// A UDP socket on 127.0.0.1 that never answers; keep it alive for the test's duration.
pub async fn silent_udp() -> (UdpSocket, String) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let url = format!("udp://{}", sock.local_addr().unwrap());
    (sock, url)
}

/// An HTTP URL on 127.0.0.1 where nothing listens (connection refused).
pub async fn dead_http() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/announce")
}
