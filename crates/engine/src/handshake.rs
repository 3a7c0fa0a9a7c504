//! Our 68-byte BitTorrent handshake. How it travels (plain, or inside MSE) is
//! `transport`'s business.

use crate::context::TorrentContext;
use shoal_wire::Handshake;

/// Our handshake for `info_hash`: extension protocol and fast extension supported, and
/// the DHT bit when the session runs a DHT node.
pub(crate) fn ours(ctx: &TorrentContext, info_hash: [u8; 20]) -> Handshake {
    let mut hs = Handshake::new(info_hash, ctx.config().peer_id);
    hs.set_dht(ctx.discovery().dht().is_some());
    hs
}
