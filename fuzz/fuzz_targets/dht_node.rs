//! A whole sans-IO DHT node (`shoal_dht::Dht`) with a fake clock, fed arbitrary
//! datagrams and well-formed queries/replies from a handful of addresses (replies use
//! the transaction ids of the node's real outstanding queries), plus commands, timer
//! ticks and snapshot/restore. Checks that nothing panics, that every reply to an
//! unverified sender stays within the amplification budget, that replies never exceed
//! `max_reply_len` (beyond a bare reply) and that the node's tables stay within their caps.
#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use shoal_dht::compact::{is_usable, NodeInfo};
use shoal_dht::krpc::{Body, ErrorBody, Message, Query, QueryKind, Response, Want};
use shoal_dht::{snapshot, Dht, DhtConfig, DhtEvent, NodeId};
use shoal_fuzz::dht::{Id, Input, Kind, Op, Token};

const MAX_OUT_PER_DATAGRAM: usize = 32;

fn addr(i: u8) -> SocketAddr {
    let i = i % 12;
    let ip = if i < 8 {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + i))
    } else {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(i)))
    };
    SocketAddr::new(ip, 6881 + u16::from(i))
}

fn id(i: Id) -> NodeId {
    match i {
        Id::Seed(s) => {
            let mut id = [s; 20];
            id[19] = s.wrapping_mul(7);
            NodeId(id)
        }
        Id::Raw(b) => NodeId(b),
    }
}

struct Harness {
    dht: Dht,
    cfg: DhtConfig,
    now: Instant,
    /// Our outstanding queries: destination and transaction id.
    sent: Vec<(SocketAddr, Vec<u8>)>,
    tokens: HashMap<SocketAddr, Vec<u8>>,
}

impl Harness {
    /// Drains output and events; `incoming` is the length, sender and verification
    /// state of the datagram just handled, if any.
    fn drain(&mut self, incoming: Option<(usize, SocketAddr, bool)>) {
        let mut count = 0;
        let mut replies = 0;
        while let Some((to, bytes)) = self.dht.poll_transmit() {
            count += 1;
            assert!(is_usable(&to), "datagram to unusable address {to}");
            let msg = Message::decode(&bytes).expect("own datagrams decode");
            match &msg.body {
                Body::Query(q) => {
                    assert_eq!(q.id, self.dht.id());
                    assert!(bytes.len() <= self.cfg.max_reply_len);
                    self.sent.push((to, msg.transaction_id.clone()));
                }
                Body::Response(r) => {
                    replies += 1;
                    let (len, from, verified) = incoming.expect("replies answer a datagram");
                    assert_eq!(to, from, "reply goes back to the sender");
                    let bare = r.nodes.is_empty() && r.nodes6.is_empty() && r.values.is_empty();
                    let budget = if verified {
                        self.cfg.max_reply_len
                    } else {
                        (len * self.cfg.amplification_factor).min(self.cfg.max_reply_len)
                    };
                    assert!(
                        bare || bytes.len() <= budget,
                        "reply of {} bytes to a {len}-byte query (verified: {verified})",
                        bytes.len()
                    );
                    if let Some(t) = &r.token {
                        self.tokens.insert(to, t.clone());
                    }
                }
                Body::Error(_) => {
                    replies += 1;
                    let (_, from, _) = incoming.expect("errors answer a datagram");
                    assert_eq!(to, from);
                    assert!(bytes.len() <= self.cfg.max_reply_len);
                }
            }
        }
        if incoming.is_some() {
            assert!(replies <= 1, "{replies} replies to one datagram");
            assert!(count <= MAX_OUT_PER_DATAGRAM, "{count} datagrams for one");
        }
        while let Some(ev) = self.dht.poll_event() {
            if let DhtEvent::PeersFound { peers, .. } = ev {
                assert!(!peers.is_empty());
            }
        }
        let stats = self.dht.stats();
        assert!(stats.pending_queries <= self.cfg.max_pending);
        assert!(stats.stored_info_hashes <= self.cfg.max_info_hashes);
        assert!(stats.nodes <= 160 * 8);
        if let Some(t) = self.dht.poll_timeout() {
            let _ = t;
        }
        if self.sent.len() > 4096 {
            self.sent.drain(..2048);
        }
    }

    fn deliver(&mut self, bytes: &[u8], from: SocketAddr) {
        let sender_id = Message::decode(bytes).ok().and_then(|m| match m.body {
            Body::Query(q) => Some(q.id),
            _ => None,
        });
        let verified_before = sender_id.is_some_and(|id| self.dht.table().is_verified(&id, &from));
        self.dht.handle_datagram(bytes, from, self.now);
        let verified =
            verified_before || sender_id.is_some_and(|id| self.dht.table().is_verified(&id, &from));
        self.drain(Some((bytes.len(), from, verified)));
    }
}

fn config(read_only: bool) -> DhtConfig {
    DhtConfig {
        id: Some(NodeId([0x55; 20])),
        bootstrap: vec![addr(0), addr(8)],
        read_only,
        rng_seed: Some(7),
        version: Some(b"SH01".to_vec()),
        max_info_hashes: 64,
        max_peers_per_hash: 16,
        ..DhtConfig::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let input = Input::read(data);
    let cfg = config(input.read_only);
    let now = Instant::now();
    let dht = match &input.snapshot {
        Some(bytes) => match Dht::restore(cfg.clone(), bytes, now) {
            Ok(dht) => dht,
            Err(_) => Dht::new(cfg.clone(), now),
        },
        None => Dht::new(cfg.clone(), now),
    };
    let mut h = Harness {
        dht,
        cfg,
        now,
        sent: Vec::new(),
        tokens: HashMap::new(),
    };
    h.drain(None);

    for op in &input.ops {
        match op {
            Op::Datagram { from, bytes } => h.deliver(bytes, addr(*from)),
            Op::Query {
                from,
                tid,
                id: node_id,
                kind,
                want,
                read_only,
            } => {
                let from = addr(*from);
                let kind = match kind {
                    Kind::Ping => QueryKind::Ping,
                    Kind::FindNode(t) => QueryKind::FindNode { target: id(*t) },
                    Kind::GetPeers(t) => QueryKind::GetPeers { info_hash: id(*t) },
                    Kind::Announce {
                        hash,
                        port,
                        implied,
                        token,
                    } => QueryKind::AnnouncePeer {
                        info_hash: id(*hash),
                        port: *port,
                        implied_port: *implied,
                        token: match token {
                            Token::Real => h.tokens.get(&from).cloned().unwrap_or_default(),
                            Token::Raw(t) => t.clone(),
                        },
                    },
                    Kind::Unknown(m) => QueryKind::Unknown { method: m.clone() },
                };
                let msg = Message {
                    transaction_id: tid.iter().copied().take(8).collect(),
                    version: None,
                    read_only: *read_only,
                    ip: None,
                    body: Body::Query(Query {
                        id: id(*node_id),
                        kind,
                        want: want.map(|(v4, v6)| Want { v4, v6 }),
                    }),
                };
                h.deliver(&msg.encode(), from);
            }
            Op::Reply {
                which,
                id: node_id,
                nodes,
                values,
                token,
                error,
            } => {
                if h.sent.is_empty() {
                    continue;
                }
                let i = usize::from(*which) % h.sent.len();
                let (to, tid) = h.sent.swap_remove(i);
                let body = if *error {
                    Body::Error(ErrorBody {
                        code: 201,
                        message: "no".into(),
                    })
                } else {
                    let mut r = Response::bare(id(*node_id));
                    for (nid, a) in nodes {
                        let info = NodeInfo {
                            id: id(*nid),
                            addr: addr(*a),
                        };
                        if info.addr.is_ipv4() {
                            r.nodes.push(info);
                        } else {
                            r.nodes6.push(info);
                        }
                    }
                    r.values = values.iter().map(|a| addr(*a)).collect();
                    r.token = token.clone().map(|t| t.into_iter().take(20).collect());
                    Body::Response(r)
                };
                let msg = Message {
                    transaction_id: tid,
                    version: None,
                    read_only: false,
                    ip: Some(SocketAddr::from(([10, 9, 9, 9], 6881))),
                    body,
                };
                h.deliver(&msg.encode(), to);
            }
            Op::AdvanceMs(ms) => {
                h.now += Duration::from_millis(u64::from(*ms));
                h.dht.handle_timeout(h.now);
                h.drain(None);
            }
            Op::AdvanceSecs(s) => {
                h.now += Duration::from_secs(u64::from(*s) * 8);
                h.dht.handle_timeout(h.now);
                h.drain(None);
            }
            Op::ToTimeout => {
                if let Some(t) = h.dht.poll_timeout() {
                    h.now = h.now.max(t);
                }
                h.dht.handle_timeout(h.now);
                h.drain(None);
            }
            Op::GetPeers(t) => {
                h.dht.get_peers(id(*t).0, h.now);
                h.drain(None);
            }
            Op::Announce(t, port) => {
                h.dht.announce(id(*t).0, *port, h.now);
                h.drain(None);
            }
            Op::AddNode(a) => {
                h.dht.add_node(addr(*a), h.now);
                h.drain(None);
            }
            Op::SnapshotRestore => {
                let snap = h.dht.routing_table_snapshot();
                let decoded = snapshot::decode(&snap).expect("own snapshot decodes");
                assert_eq!(decoded.id, h.dht.id());
                let restored = Dht::restore(h.cfg.clone(), &snap, h.now).expect("restores");
                assert_eq!(restored.id(), h.dht.id());
            }
        }
    }
});
