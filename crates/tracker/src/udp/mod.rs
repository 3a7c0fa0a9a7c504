//! BEP 15 UDP tracker protocol: packet codecs ([`packet`]) and a sans-IO client state
//! machine ([`UdpTracker`]) for one tracker address.

mod client;
pub mod packet;

pub use client::{UdpConfig, UdpEvent, UdpTracker};
pub use packet::{PacketError, Request, Response};
