//! KRPC messages (BEP 5) with the BEP 32 (`nodes6`, `want`), BEP 42 (`ip`) and BEP 43
//! (`ro`) extensions: typed queries, responses and errors, encoded to and decoded from
//! bencoded datagrams.
//!
//! Decoding tolerates unknown keys and unsorted dictionaries but checks every length:
//! ids must be 20 bytes, compact lists must be whole entries, and list sizes are capped
//! so that a hostile datagram never causes more than a bounded amount of work.

use std::net::SocketAddr;

use shoal_bencode::{Dict, OwnedValue, Value};

use crate::compact::{decode_nodes, decode_peer, encode_nodes, peer_bytes, NodeInfo};
use crate::id::NodeId;

/// Largest datagram we decode; real KRPC messages fit in one MTU.
pub const MAX_DATAGRAM_LEN: usize = 4096;
/// Longest transaction id accepted (we echo it back, so it is bounded).
pub const MAX_TRANSACTION_ID_LEN: usize = 32;
/// Longest write token accepted.
pub const MAX_TOKEN_LEN: usize = 64;
/// Longer client versions (`v`) are ignored.
pub const MAX_VERSION_LEN: usize = 16;
/// At most this many entries are read from `nodes` and from `nodes6`.
pub const MAX_NODES: usize = 64;
/// At most this many peers are read from `values`.
pub const MAX_VALUES: usize = 256;

/// KRPC error codes (BEP 5).
pub mod error_code {
    /// A generic error.
    pub const GENERIC: i64 = 201;
    /// A server error.
    pub const SERVER: i64 = 202;
    /// A protocol error: a malformed packet, invalid arguments or a bad token.
    pub const PROTOCOL: i64 = 203;
    /// The method is unknown.
    pub const METHOD_UNKNOWN: i64 = 204;
}

/// One KRPC datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `t`: chosen by the querier, echoed by the responder.
    pub transaction_id: Vec<u8>,
    /// `v`: client version, if present and short.
    pub version: Option<Vec<u8>>,
    /// `ro`: BEP 43 read-only flag (sender does not answer queries).
    pub read_only: bool,
    /// `ip`: BEP 42, the responder's view of the querier's address.
    pub ip: Option<SocketAddr>,
    /// What the message is: a query, a response or an error.
    pub body: Body,
}

/// The three kinds of message (`y` = `q`, `r` or `e`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `y = q`: a query.
    Query(Query),
    /// `y = r`: an answer.
    Response(Response),
    /// `y = e`: an error answer.
    Error(ErrorBody),
}

/// A query: the method and its arguments (`q`, `a`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The querier's node id.
    pub id: NodeId,
    /// The method and its own arguments.
    pub kind: QueryKind,
    /// BEP 32 `want`: which node families the querier wants back.
    pub want: Option<Want>,
}

/// The node families asked for by a BEP 32 `want` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Want {
    /// `n4`: IPv4 nodes (`nodes`).
    pub v4: bool,
    /// `n6`: IPv6 nodes (`nodes6`).
    pub v6: bool,
}

/// The query methods, with the arguments each takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryKind {
    /// `ping`: are you there?
    Ping,
    /// `find_node`: the nodes closest to `target`.
    FindNode {
        /// The id looked for.
        target: NodeId,
    },
    /// `get_peers`: peers of `info_hash`, or the nodes closest to it.
    GetPeers {
        /// The torrent looked for.
        info_hash: NodeId,
    },
    /// `announce_peer`: the querier downloads `info_hash` and listens on `port`.
    AnnouncePeer {
        /// The torrent announced.
        info_hash: NodeId,
        /// The querier's listening port.
        port: u16,
        /// Use the datagram's source port instead of `port`.
        implied_port: bool,
        /// The write token from the responder's `get_peers` answer.
        token: Vec<u8>,
    },
    /// A method we do not implement (answered with error 204).
    Unknown {
        /// The method name as sent.
        method: Vec<u8>,
    },
}

/// The arguments of an answer (`r`); which are set depends on the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The responder's node id.
    pub id: NodeId,
    /// `nodes`: IPv4 node infos.
    pub nodes: Vec<NodeInfo>,
    /// `nodes6`: IPv6 node infos.
    pub nodes6: Vec<NodeInfo>,
    /// `values`: compact peers.
    pub values: Vec<SocketAddr>,
    /// `token`: the write token for a later `announce_peer` (a `get_peers` answer).
    pub token: Option<Vec<u8>>,
}

impl Response {
    /// A response carrying only the responder's id (ping, announce_peer).
    pub fn bare(id: NodeId) -> Response {
        Response {
            id,
            nodes: Vec::new(),
            nodes6: Vec::new(),
            values: Vec::new(),
            token: None,
        }
    }
}

/// An error answer (`e`: code and message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// The code, usually one of [`error_code`].
    pub code: i64,
    /// The explanation.
    pub message: String,
}

/// Why a datagram was not a valid KRPC message (always the sender's fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// More than [`MAX_DATAGRAM_LEN`] bytes (the length given).
    #[error("datagram of {0} bytes is too large")]
    TooLarge(usize),
    /// Not valid bencode.
    #[error("invalid bencode: {0}")]
    Bencode(#[from] shoal_bencode::DecodeError),
    /// The bencode is not a dictionary.
    #[error("message is not a dictionary")]
    NotADict,
    /// A required key (named) is absent.
    #[error("missing key {0:?}")]
    Missing(&'static str),
    /// A key (named) has the wrong bencode type.
    #[error("key {0:?} has the wrong type")]
    WrongType(&'static str),
    /// A key's value has a length the protocol does not allow.
    #[error("key {field:?} has invalid length {len}")]
    BadLength {
        /// The key.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// A key's (named) integer is out of range.
    #[error("key {0:?} is out of range")]
    OutOfRange(&'static str),
    /// `y` is not `q`, `r` or `e`.
    #[error("unknown message type")]
    UnknownType,
}

impl Message {
    /// The message as a bencoded datagram.
    pub fn encode(&self) -> Vec<u8> {
        let mut top = OwnedValue::dict();
        top.insert("t", self.transaction_id.clone());
        if let Some(v) = &self.version {
            top.insert("v", v.clone());
        }
        if self.read_only {
            top.insert("ro", 1i64);
        }
        if let Some(ip) = &self.ip {
            top.insert("ip", peer_bytes(ip));
        }
        match &self.body {
            Body::Query(q) => {
                top.insert("y", "q");
                let (method, args) = encode_query(q);
                top.insert("q", method);
                top.insert("a", args);
            }
            Body::Response(r) => {
                top.insert("y", "r");
                top.insert("r", encode_response(r));
            }
            Body::Error(e) => {
                top.insert("y", "e");
                let list = vec![
                    OwnedValue::Int(e.code),
                    OwnedValue::from(e.message.as_str()),
                ];
                top.insert("e", list);
            }
        }
        top.encode()
    }

    /// Parses a datagram; see the module docs for what is checked.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        if bytes.len() > MAX_DATAGRAM_LEN {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let value = shoal_bencode::decode_lenient(bytes)?;
        let dict = value.as_dict().ok_or(DecodeError::NotADict)?;
        let t = req_bytes(dict, b"t", "t")?;
        if t.len() > MAX_TRANSACTION_ID_LEN {
            return Err(DecodeError::BadLength {
                field: "t",
                len: t.len(),
            });
        }
        let body = match req_bytes(dict, b"y", "y")? {
            b"q" => Body::Query(decode_query(dict)?),
            b"r" => Body::Response(decode_response(req_dict(dict, b"r", "r")?)?),
            b"e" => Body::Error(decode_error(dict)?),
            _ => return Err(DecodeError::UnknownType),
        };
        Ok(Message {
            transaction_id: t.to_vec(),
            version: dict
                .get_bytes(b"v")
                .filter(|v| v.len() <= MAX_VERSION_LEN)
                .map(<[u8]>::to_vec),
            read_only: dict.get_int(b"ro").is_some_and(|ro| ro != 0),
            ip: dict.get_bytes(b"ip").and_then(decode_peer),
            body,
        })
    }
}

fn encode_query(q: &Query) -> (Vec<u8>, OwnedValue) {
    let mut args = OwnedValue::dict();
    args.insert("id", q.id.0.to_vec());
    if let Some(want) = q.want {
        let mut list = Vec::new();
        if want.v4 {
            list.push(OwnedValue::from("n4"));
        }
        if want.v6 {
            list.push(OwnedValue::from("n6"));
        }
        args.insert("want", list);
    }
    let method: &[u8] = match &q.kind {
        QueryKind::Ping => b"ping",
        QueryKind::FindNode { target } => {
            args.insert("target", target.0.to_vec());
            b"find_node"
        }
        QueryKind::GetPeers { info_hash } => {
            args.insert("info_hash", info_hash.0.to_vec());
            b"get_peers"
        }
        QueryKind::AnnouncePeer {
            info_hash,
            port,
            implied_port,
            token,
        } => {
            args.insert("info_hash", info_hash.0.to_vec());
            args.insert("port", i64::from(*port));
            if *implied_port {
                args.insert("implied_port", 1i64);
            }
            args.insert("token", token.clone());
            b"announce_peer"
        }
        QueryKind::Unknown { method } => method,
    };
    (method.to_vec(), args)
}

fn encode_response(r: &Response) -> OwnedValue {
    let mut out = OwnedValue::dict();
    out.insert("id", r.id.0.to_vec());
    if !r.nodes.is_empty() {
        out.insert("nodes", encode_nodes(&r.nodes, false));
    }
    if !r.nodes6.is_empty() {
        out.insert("nodes6", encode_nodes(&r.nodes6, true));
    }
    if !r.values.is_empty() {
        let values: Vec<OwnedValue> = r
            .values
            .iter()
            .map(|p| OwnedValue::Bytes(peer_bytes(p)))
            .collect();
        out.insert("values", values);
    }
    if let Some(token) = &r.token {
        out.insert("token", token.clone());
    }
    out
}

fn req_bytes<'a>(d: &Dict<'a>, key: &[u8], name: &'static str) -> Result<&'a [u8], DecodeError> {
    match d.get(key) {
        None => Err(DecodeError::Missing(name)),
        Some(v) => v.as_bytes().ok_or(DecodeError::WrongType(name)),
    }
}

fn req_dict<'d, 'a>(
    d: &'d Dict<'a>,
    key: &[u8],
    name: &'static str,
) -> Result<&'d Dict<'a>, DecodeError> {
    match d.get(key) {
        None => Err(DecodeError::Missing(name)),
        Some(v) => v.as_dict().ok_or(DecodeError::WrongType(name)),
    }
}

fn req_id(d: &Dict<'_>, key: &[u8], name: &'static str) -> Result<NodeId, DecodeError> {
    let bytes = req_bytes(d, key, name)?;
    NodeId::from_slice(bytes).ok_or(DecodeError::BadLength {
        field: name,
        len: bytes.len(),
    })
}

fn decode_query(top: &Dict<'_>) -> Result<Query, DecodeError> {
    let method = req_bytes(top, b"q", "q")?;
    let args = req_dict(top, b"a", "a")?;
    let id = req_id(args, b"id", "id")?;
    let want = match args.get(b"want") {
        None => None,
        Some(Value::List(items)) => Some(Want {
            v4: items.iter().any(|i| i.as_bytes() == Some(b"n4")),
            v6: items.iter().any(|i| i.as_bytes() == Some(b"n6")),
        }),
        Some(_) => return Err(DecodeError::WrongType("want")),
    };
    let kind = match method {
        b"ping" => QueryKind::Ping,
        b"find_node" => QueryKind::FindNode {
            target: req_id(args, b"target", "target")?,
        },
        b"get_peers" => QueryKind::GetPeers {
            info_hash: req_id(args, b"info_hash", "info_hash")?,
        },
        b"announce_peer" => {
            let info_hash = req_id(args, b"info_hash", "info_hash")?;
            let implied_port = match args.get(b"implied_port") {
                None => false,
                Some(v) => v.as_int().ok_or(DecodeError::WrongType("implied_port"))? != 0,
            };
            let port = match args.get(b"port") {
                None if implied_port => 0,
                None => return Err(DecodeError::Missing("port")),
                Some(v) => {
                    let p = v.as_int().ok_or(DecodeError::WrongType("port"))?;
                    u16::try_from(p).map_err(|_| DecodeError::OutOfRange("port"))?
                }
            };
            let token = req_bytes(args, b"token", "token")?;
            if token.len() > MAX_TOKEN_LEN {
                return Err(DecodeError::BadLength {
                    field: "token",
                    len: token.len(),
                });
            }
            QueryKind::AnnouncePeer {
                info_hash,
                port,
                implied_port,
                token: token.to_vec(),
            }
        }
        other => QueryKind::Unknown {
            method: other.to_vec(),
        },
    };
    Ok(Query { id, kind, want })
}

fn decode_response(r: &Dict<'_>) -> Result<Response, DecodeError> {
    let id = req_id(r, b"id", "id")?;
    let nodes_of = |key: &[u8], name: &'static str, v6: bool| match r.get(key) {
        None => Ok(Vec::new()),
        Some(v) => {
            let bytes = v.as_bytes().ok_or(DecodeError::WrongType(name))?;
            decode_nodes(bytes, v6, MAX_NODES).ok_or(DecodeError::BadLength {
                field: name,
                len: bytes.len(),
            })
        }
    };
    let nodes = nodes_of(b"nodes", "nodes", false)?;
    let nodes6 = nodes_of(b"nodes6", "nodes6", true)?;
    let values = match r.get(b"values") {
        None => Vec::new(),
        Some(v) => {
            let list = v.as_list().ok_or(DecodeError::WrongType("values"))?;
            let mut out = Vec::with_capacity(list.len().min(MAX_VALUES));
            for item in list.iter().take(MAX_VALUES) {
                let bytes = item.as_bytes().ok_or(DecodeError::WrongType("values"))?;
                out.push(decode_peer(bytes).ok_or(DecodeError::BadLength {
                    field: "values",
                    len: bytes.len(),
                })?);
            }
            out
        }
    };
    let token = match r.get(b"token") {
        None => None,
        Some(v) => {
            let t = v.as_bytes().ok_or(DecodeError::WrongType("token"))?;
            if t.len() > MAX_TOKEN_LEN {
                return Err(DecodeError::BadLength {
                    field: "token",
                    len: t.len(),
                });
            }
            Some(t.to_vec())
        }
    };
    Ok(Response {
        id,
        nodes,
        nodes6,
        values,
        token,
    })
}

fn decode_error(top: &Dict<'_>) -> Result<ErrorBody, DecodeError> {
    let list = match top.get(b"e") {
        None => return Err(DecodeError::Missing("e")),
        Some(v) => v.as_list().ok_or(DecodeError::WrongType("e"))?,
    };
    let code = list
        .first()
        .and_then(Value::as_int)
        .ok_or(DecodeError::WrongType("e"))?;
    let message = list
        .get(1)
        .and_then(Value::as_bytes)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    Ok(ErrorBody { code, message })
}

#[cfg(test)]
#[path = "krpc_tests.rs"]
mod tests;
