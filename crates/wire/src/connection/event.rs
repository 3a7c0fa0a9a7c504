//! What a peer connection reports to the engine after handling input or timeouts.

use std::fmt;

use bytes::Bytes;

use crate::BlockRef;

/// An event for the engine; see [`super::PeerConnection::poll_event`].
#[derive(Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// The peer announced a piece it did not have before (`peer_pieces` updated).
    Have(u32),
    /// The peer's bitfield arrived (`peer_pieces` replaced).
    Bitfield,
    /// The peer has every piece (BEP 6).
    HaveAll,
    /// The peer has no piece (BEP 6).
    HaveNone,
    /// The peer choked us. Without the fast extension every outstanding request is
    /// dropped and returned here; with it, the peer rejects them one by one.
    Choked {
        /// Our requests the choke dropped (empty with the fast extension).
        dropped: Vec<BlockRef>,
    },
    /// The peer unchoked us: requests may be sent.
    Unchoked,
    /// The peer is interested in our pieces.
    Interested,
    /// The peer is no longer interested in our pieces.
    NotInterested,
    /// A validated request for a piece we announced, allowed by our choke state.
    Request(BlockRef),
    /// The peer cancelled a request we had reported and not yet served.
    Cancel(BlockRef),
    /// Data for one of our outstanding requests (now no longer outstanding).
    Block {
        /// The block requested.
        block: BlockRef,
        /// Its data.
        data: Bytes,
    },
    /// The peer refused one of our requests (no longer outstanding).
    Rejected(BlockRef),
    /// One of our requests timed out (no longer outstanding).
    RequestTimedOut(BlockRef),
    /// The peer lets us request this piece while choked.
    AllowedFast(u32),
    /// The peer suggests we request this piece (BEP 6).
    Suggest(u32),
    /// The peer's extension handshake arrived or was updated.
    ExtensionHandshake,
    /// Any other extension message; `id` is our local id from our `m` dictionary.
    Extended {
        /// Our local id of the extension.
        id: u8,
        /// The message after the id.
        payload: Bytes,
    },
    /// The peer's DHT port (BEP 5).
    Port(u16),
}

// Hand-written so logging a block does not dump its data.
impl fmt::Debug for PeerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerEvent::Have(i) => write!(f, "Have({i})"),
            PeerEvent::Bitfield => f.write_str("Bitfield"),
            PeerEvent::HaveAll => f.write_str("HaveAll"),
            PeerEvent::HaveNone => f.write_str("HaveNone"),
            PeerEvent::Choked { dropped } => write!(f, "Choked {{ dropped: {dropped:?} }}"),
            PeerEvent::Unchoked => f.write_str("Unchoked"),
            PeerEvent::Interested => f.write_str("Interested"),
            PeerEvent::NotInterested => f.write_str("NotInterested"),
            PeerEvent::Request(b) => write!(f, "Request({b:?})"),
            PeerEvent::Cancel(b) => write!(f, "Cancel({b:?})"),
            PeerEvent::Block { block, data } => {
                write!(f, "Block {{ block: {block:?}, len: {} }}", data.len())
            }
            PeerEvent::Rejected(b) => write!(f, "Rejected({b:?})"),
            PeerEvent::RequestTimedOut(b) => write!(f, "RequestTimedOut({b:?})"),
            PeerEvent::AllowedFast(i) => write!(f, "AllowedFast({i})"),
            PeerEvent::Suggest(i) => write!(f, "Suggest({i})"),
            PeerEvent::ExtensionHandshake => f.write_str("ExtensionHandshake"),
            PeerEvent::Extended { id, payload } => {
                write!(f, "Extended {{ id: {id}, len: {} }}", payload.len())
            }
            PeerEvent::Port(p) => write!(f, "Port({p})"),
        }
    }
}
