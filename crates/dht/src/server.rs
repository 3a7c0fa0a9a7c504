//! Answering incoming queries: rate limiting per source, learning about the querier
//! (never about BEP 43 read-only ones), building replies with the closest nodes, write
//! tokens and stored peers, and bounding each reply's size so that a sender that has
//! not proven its address cannot use us as an amplifier.

use std::net::SocketAddr;
use std::time::Instant;

use crate::compact::NodeInfo;
use crate::krpc::{error_code, Body, ErrorBody, Message, Query, QueryKind, Response};
use crate::node::{Dht, Purpose};

impl Dht {
    pub(crate) fn handle_query(
        &mut self,
        tid: &[u8],
        read_only: bool,
        q: Query,
        from: SocketAddr,
        request_len: usize,
        now: Instant,
    ) {
        // BEP 43: a read-only node does not answer; we also ignore our own id.
        if self.cfg.read_only || q.id == self.id {
            return;
        }
        if !self.limiter.allow(from.ip(), now) {
            return;
        }
        // Only nodes that answer us enter the table: verify a newcomer we would keep.
        let verify = !read_only
            && !self.table.heard_query(&q.id, &from, now)
            && self.table.would_accept(&q.id, now)
            && !self.has_pending_to(&from);
        let body = self.answer(&q, from, now);
        let mut reply = Message {
            transaction_id: tid.to_vec(),
            version: self.cfg.version.clone(),
            read_only: false,
            ip: Some(from),
            body,
        };
        let budget = if self.table.is_verified(&q.id, &from) {
            self.cfg.max_reply_len
        } else {
            request_len
                .saturating_mul(self.cfg.amplification_factor)
                .min(self.cfg.max_reply_len)
        };
        let bytes = fit(&mut reply, budget);
        self.transmit.push_back((from, bytes));
        if verify {
            self.send_query(from, QueryKind::Ping, Purpose::Ping, now);
        }
    }

    fn answer(&mut self, q: &Query, from: SocketAddr, now: Instant) -> Body {
        let ip = from.ip();
        match &q.kind {
            QueryKind::Ping => Body::Response(Response::bare(self.id)),
            QueryKind::FindNode { target } => Body::Response(self.with_nodes(q, target, from)),
            QueryKind::GetPeers { info_hash } => {
                let mut r = self.with_nodes(q, info_hash, from);
                r.token = Some(self.tokens.token_for(ip).to_vec());
                r.values =
                    self.store
                        .peers(&info_hash.0, now, self.cfg.max_reply_values, &mut self.rng);
                Body::Response(r)
            }
            QueryKind::AnnouncePeer {
                info_hash,
                port,
                implied_port,
                token,
            } => {
                if !self.tokens.is_valid(token, ip) {
                    return error(error_code::PROTOCOL, "bad token");
                }
                let port = if *implied_port { from.port() } else { *port };
                if port == 0 {
                    return error(error_code::PROTOCOL, "invalid port");
                }
                self.store
                    .insert(info_hash.0, SocketAddr::new(ip, port), now);
                Body::Response(Response::bare(self.id))
            }
            QueryKind::Unknown { .. } => error(error_code::METHOD_UNKNOWN, "method unknown"),
        }
    }

    /// A response carrying the k nodes closest to `target` in the families wanted (BEP
    /// 32 `want`, else the querier's own family).
    fn with_nodes(&self, q: &Query, target: &crate::id::NodeId, from: SocketAddr) -> Response {
        let (v4, v6) = match q.want {
            Some(w) if w.v4 || w.v6 => (w.v4, w.v6),
            _ => (from.is_ipv4(), from.is_ipv6()),
        };
        let k = self.cfg.lookup.k;
        let pick = |v6_family: bool| -> Vec<NodeInfo> {
            self.table
                .closest_matching(target, k, |n| n.addr.is_ipv6() == v6_family)
        };
        let mut r = Response::bare(self.id);
        if v4 {
            r.nodes = pick(false);
        }
        if v6 {
            r.nodes6 = pick(true);
        }
        r
    }
}

fn error(code: i64, message: &str) -> Body {
    Body::Error(ErrorBody {
        code,
        message: message.to_owned(),
    })
}

/// Encodes `reply`, dropping peers, then nodes, until it fits in `budget` bytes (a bare
/// reply is always sent: it is smaller than any valid query).
fn fit(reply: &mut Message, budget: usize) -> Vec<u8> {
    loop {
        let bytes = reply.encode();
        let excess = bytes.len().saturating_sub(budget);
        let Body::Response(r) = &mut reply.body else {
            return bytes;
        };
        if excess == 0 {
            return bytes;
        }
        if !r.values.is_empty() {
            // An IPv4 peer costs 8 bytes ("6:" + 6); drop enough in one go.
            let drop = excess.div_ceil(8).clamp(1, r.values.len());
            r.values.truncate(r.values.len() - drop);
        } else if r.nodes6.pop().is_none() && r.nodes.pop().is_none() {
            return bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::NodeId;

    #[test]
    fn fit_trims_values_then_nodes() {
        let mut r = Response::bare(NodeId([1; 20]));
        r.values = (0..50)
            .map(|i| SocketAddr::from(([10, 0, 0, i], 1)))
            .collect();
        r.nodes = (0..8)
            .map(|i| NodeInfo {
                id: NodeId([i; 20]),
                addr: SocketAddr::from(([10, 0, 1, i], 1)),
            })
            .collect();
        r.token = Some(vec![0; 20]);
        let mut m = Message {
            transaction_id: b"ab".to_vec(),
            version: None,
            read_only: false,
            ip: None,
            body: Body::Response(r),
        };
        let full = m.clone().encode().len();
        let out = fit(&mut m, 400);
        assert!(out.len() <= 400 && full > 400);
        let Body::Response(r) = &m.body else { panic!() };
        assert_eq!(r.nodes.len(), 8, "nodes kept while values can go");
        assert!(!r.values.is_empty());
        let out = fit(&mut m, 150);
        assert!(out.len() <= 150);
        let Body::Response(r) = &m.body else { panic!() };
        assert!(r.values.is_empty() && r.nodes.len() < 8);
        assert!(fit(&mut m, 1).len() > 1, "a bare reply is still sent");
    }
}
