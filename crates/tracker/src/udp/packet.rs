//! BEP 15 packet codecs: connect, announce, scrape and error, both directions.
//!
//! All integers are big-endian. Requests start with `connection_id (u64) action (u32)
//! transaction_id (u32)`; responses with `action (u32) transaction_id (u32)`.

use std::net::SocketAddr;

use crate::compact;
use crate::types::{AnnounceEvent, ScrapeStats};

/// Magic `connection_id` of a connect request.
pub const PROTOCOL_ID: u64 = 0x0417_2710_1980;
/// `action` of connect packets.
pub const ACTION_CONNECT: u32 = 0;
/// `action` of announce packets.
pub const ACTION_ANNOUNCE: u32 = 1;
/// `action` of scrape packets.
pub const ACTION_SCRAPE: u32 = 2;
/// `action` of a tracker's error packet.
pub const ACTION_ERROR: u32 = 3;
/// Most info hashes one scrape request may carry (keeps the packet under typical MTUs).
pub const MAX_SCRAPE_HASHES: usize = 74;

const CONNECT_REQ_LEN: usize = 16;
const ANNOUNCE_REQ_LEN: usize = 98;
const ANNOUNCE_RESP_HEADER: usize = 20;

/// Why a packet could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// The packet ends before its fixed fields do.
    #[error("packet too short")]
    TooShort,
    /// A connect request longer than 16 bytes.
    #[error("unexpected packet length")]
    BadLength,
    /// An `action` this codec does not know.
    #[error("unknown action {0}")]
    UnknownAction(u32),
    /// A connect request whose `connection_id` is not [`PROTOCOL_ID`].
    #[error("connect request without the protocol id")]
    BadProtocolId,
    /// An announce `event` code outside 0..=3.
    #[error("unknown announce event {0}")]
    BadEvent(u32),
    /// A scrape request with no info-hashes, more than [`MAX_SCRAPE_HASHES`], or a partial one.
    #[error("scrape request with no or too many info hashes")]
    BadHashCount,
}

/// The announce request body (BEP 15 layout, fields in wire order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncePacket {
    /// The id from the tracker's connect answer.
    pub connection_id: u64,
    /// Echoed by the answer.
    pub transaction_id: u32,
    /// The torrent's info-hash.
    pub info_hash: [u8; 20],
    /// The announcing peer's id.
    pub peer_id: [u8; 20],
    /// Bytes received from peers so far.
    pub downloaded: u64,
    /// Bytes still missing for a complete download.
    pub left: u64,
    /// Bytes sent to peers so far.
    pub uploaded: u64,
    /// Why the announce is sent.
    pub event: AnnounceEvent,
    /// 0 = use the sender's address.
    pub ip: u32,
    /// Random per-session value that identifies the client across IP changes.
    pub key: u32,
    /// -1 = tracker default.
    pub num_want: i32,
    /// The announcing peer's listening port.
    pub port: u16,
}

/// A client → tracker packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Asks for a connection id.
    Connect {
        /// Echoed by the answer.
        transaction_id: u32,
    },
    /// An announce.
    Announce(AnnouncePacket),
    /// Asks for the swarm sizes of some torrents.
    Scrape {
        /// The id from the tracker's connect answer.
        connection_id: u64,
        /// Echoed by the answer.
        transaction_id: u32,
        /// The torrents, at most [`MAX_SCRAPE_HASHES`].
        info_hashes: Vec<[u8; 20]>,
    },
}

/// A tracker → client packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Grants a connection id.
    Connect {
        /// The request's transaction id.
        transaction_id: u32,
        /// The id to put in announces and scrapes.
        connection_id: u64,
    },
    /// Answers an announce.
    Announce {
        /// The request's transaction id.
        transaction_id: u32,
        /// Seconds to wait before the next regular announce.
        interval: u32,
        /// Peers still downloading.
        leechers: u32,
        /// Peers with the whole torrent.
        seeders: u32,
        /// Peers to connect to (IPv4 or IPv6, as the request was sent).
        peers: Vec<SocketAddr>,
    },
    /// Answers a scrape.
    Scrape {
        /// The request's transaction id.
        transaction_id: u32,
        /// One entry per info-hash asked for, in order.
        stats: Vec<ScrapeStats>,
    },
    /// The tracker refused a request.
    Error {
        /// The request's transaction id.
        transaction_id: u32,
        /// The tracker's explanation.
        message: String,
    },
}

/// Big-endian cursor over a byte slice; every read is bounds-checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], PacketError> {
        let (head, rest) = self.0.split_at_checked(N).ok_or(PacketError::TooShort)?;
        self.0 = rest;
        let mut out = [0u8; N];
        out.copy_from_slice(head);
        Ok(out)
    }
    fn u16(&mut self) -> Result<u16, PacketError> {
        self.take().map(u16::from_be_bytes)
    }
    fn u32(&mut self) -> Result<u32, PacketError> {
        self.take().map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Result<u64, PacketError> {
        self.take().map(u64::from_be_bytes)
    }
    fn rest(self) -> &'a [u8] {
        self.0
    }
}

impl Request {
    /// The transaction id the answer must echo.
    pub fn transaction_id(&self) -> u32 {
        match self {
            Request::Connect { transaction_id }
            | Request::Scrape { transaction_id, .. }
            | Request::Announce(AnnouncePacket { transaction_id, .. }) => *transaction_id,
        }
    }

    /// Serialises the packet.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ANNOUNCE_REQ_LEN);
        match self {
            Request::Connect { transaction_id } => {
                out.extend_from_slice(&PROTOCOL_ID.to_be_bytes());
                out.extend_from_slice(&ACTION_CONNECT.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
            }
            Request::Announce(a) => {
                out.extend_from_slice(&a.connection_id.to_be_bytes());
                out.extend_from_slice(&ACTION_ANNOUNCE.to_be_bytes());
                out.extend_from_slice(&a.transaction_id.to_be_bytes());
                out.extend_from_slice(&a.info_hash);
                out.extend_from_slice(&a.peer_id);
                out.extend_from_slice(&a.downloaded.to_be_bytes());
                out.extend_from_slice(&a.left.to_be_bytes());
                out.extend_from_slice(&a.uploaded.to_be_bytes());
                out.extend_from_slice(&a.event.udp_code().to_be_bytes());
                out.extend_from_slice(&a.ip.to_be_bytes());
                out.extend_from_slice(&a.key.to_be_bytes());
                out.extend_from_slice(&a.num_want.to_be_bytes());
                out.extend_from_slice(&a.port.to_be_bytes());
            }
            Request::Scrape {
                connection_id,
                transaction_id,
                info_hashes,
            } => {
                out.extend_from_slice(&connection_id.to_be_bytes());
                out.extend_from_slice(&ACTION_SCRAPE.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                for h in info_hashes {
                    out.extend_from_slice(h);
                }
            }
        }
        out
    }

    /// Parses a client packet (what a tracker receives). Used by tests and test trackers.
    pub fn decode(data: &[u8]) -> Result<Request, PacketError> {
        let mut r = Reader(data);
        let connection_id = r.u64()?;
        let action = r.u32()?;
        let transaction_id = r.u32()?;
        match action {
            ACTION_CONNECT => {
                if connection_id != PROTOCOL_ID {
                    return Err(PacketError::BadProtocolId);
                }
                if data.len() != CONNECT_REQ_LEN {
                    return Err(PacketError::BadLength);
                }
                Ok(Request::Connect { transaction_id })
            }
            ACTION_ANNOUNCE => {
                // BEP 41 allows options after the fixed part; they are ignored here.
                let info_hash = r.take()?;
                let peer_id = r.take()?;
                let downloaded = r.u64()?;
                let left = r.u64()?;
                let uploaded = r.u64()?;
                let code = r.u32()?;
                let event =
                    AnnounceEvent::from_udp_code(code).ok_or(PacketError::BadEvent(code))?;
                let ip = r.u32()?;
                let key = r.u32()?;
                let num_want = r.u32()? as i32;
                let port = r.u16()?;
                Ok(Request::Announce(AnnouncePacket {
                    connection_id,
                    transaction_id,
                    info_hash,
                    peer_id,
                    downloaded,
                    left,
                    uploaded,
                    event,
                    ip,
                    key,
                    num_want,
                    port,
                }))
            }
            ACTION_SCRAPE => {
                let rest = r.rest();
                let n = rest.len() / 20;
                if rest.len() % 20 != 0 || n == 0 || n > MAX_SCRAPE_HASHES {
                    return Err(PacketError::BadHashCount);
                }
                let info_hashes = rest
                    .chunks_exact(20)
                    .map(|c| {
                        let mut h = [0u8; 20];
                        h.copy_from_slice(c);
                        h
                    })
                    .collect();
                Ok(Request::Scrape {
                    connection_id,
                    transaction_id,
                    info_hashes,
                })
            }
            other => Err(PacketError::UnknownAction(other)),
        }
    }
}

impl Response {
    /// The echoed transaction id.
    pub fn transaction_id(&self) -> u32 {
        match self {
            Response::Connect { transaction_id, .. }
            | Response::Announce { transaction_id, .. }
            | Response::Scrape { transaction_id, .. }
            | Response::Error { transaction_id, .. } => *transaction_id,
        }
    }

    /// Serialises the packet (IPv4 peers as 6 bytes, IPv6 peers as 18). Used by test trackers.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        let header = |out: &mut Vec<u8>, action: u32, tid: u32| {
            out.extend_from_slice(&action.to_be_bytes());
            out.extend_from_slice(&tid.to_be_bytes());
        };
        match self {
            Response::Connect {
                transaction_id,
                connection_id,
            } => {
                header(&mut out, ACTION_CONNECT, *transaction_id);
                out.extend_from_slice(&connection_id.to_be_bytes());
            }
            Response::Announce {
                transaction_id,
                interval,
                leechers,
                seeders,
                peers,
            } => {
                header(&mut out, ACTION_ANNOUNCE, *transaction_id);
                out.extend_from_slice(&interval.to_be_bytes());
                out.extend_from_slice(&leechers.to_be_bytes());
                out.extend_from_slice(&seeders.to_be_bytes());
                for p in peers {
                    compact::encode_into(p, &mut out);
                }
            }
            Response::Scrape {
                transaction_id,
                stats,
            } => {
                header(&mut out, ACTION_SCRAPE, *transaction_id);
                for s in stats {
                    out.extend_from_slice(&s.complete.to_be_bytes());
                    out.extend_from_slice(&s.downloaded.to_be_bytes());
                    out.extend_from_slice(&s.incomplete.to_be_bytes());
                }
            }
            Response::Error {
                transaction_id,
                message,
            } => {
                header(&mut out, ACTION_ERROR, *transaction_id);
                out.extend_from_slice(message.as_bytes());
            }
        }
        out
    }

    /// Parses a tracker packet. `ipv6` selects the peer format of announce answers, which
    /// BEP 15 ties to the address family the request was sent over.
    pub fn decode(data: &[u8], ipv6: bool) -> Result<Response, PacketError> {
        let mut r = Reader(data);
        let action = r.u32()?;
        let transaction_id = r.u32()?;
        match action {
            ACTION_CONNECT => {
                let connection_id = r.u64()?;
                Ok(Response::Connect {
                    transaction_id,
                    connection_id,
                })
            }
            ACTION_ANNOUNCE => {
                if data.len() < ANNOUNCE_RESP_HEADER {
                    return Err(PacketError::TooShort);
                }
                let interval = r.u32()?;
                let leechers = r.u32()?;
                let seeders = r.u32()?;
                let rest = r.rest();
                let peers = if ipv6 {
                    compact::parse_v6(rest).collect()
                } else {
                    compact::parse_v4(rest).collect()
                };
                Ok(Response::Announce {
                    transaction_id,
                    interval,
                    leechers,
                    seeders,
                    peers,
                })
            }
            ACTION_SCRAPE => {
                let stats = r
                    .rest()
                    .chunks_exact(12)
                    .map(|c| {
                        let word =
                            |i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
                        ScrapeStats {
                            complete: word(0),
                            downloaded: word(4),
                            incomplete: word(8),
                        }
                    })
                    .collect();
                Ok(Response::Scrape {
                    transaction_id,
                    stats,
                })
            }
            ACTION_ERROR => {
                let message = String::from_utf8_lossy(r.rest()).into_owned();
                Ok(Response::Error {
                    transaction_id,
                    message,
                })
            }
            other => Err(PacketError::UnknownAction(other)),
        }
    }
}

#[cfg(test)]
#[path = "packet_tests.rs"]
mod tests;
