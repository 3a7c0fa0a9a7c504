//! Drives a sans-IO MSE handshake (`shoal_mse::Initiator` or `Responder`) over a peer
//! stream: write what it has to send, feed it what arrives, until it is established.

use super::HandshakeError;
use crate::net::{self as peer_stream, PeerStream};
use shoal_mse::{Established, Initiator, MseError, Responder};

/// Bytes read per call during the handshake (it is at most a few hundred bytes long).
const READ_CHUNK: usize = 2048;

/// The common surface of both roles.
pub(super) trait Machine {
    fn input(&mut self, bytes: &[u8]) -> Result<(), MseError>;
    fn transmit(&mut self) -> Option<Vec<u8>>;
    fn outcome(&mut self) -> Option<Established>;
}

impl Machine for Initiator {
    fn input(&mut self, bytes: &[u8]) -> Result<(), MseError> {
        self.handle_input(bytes)
    }
    fn transmit(&mut self) -> Option<Vec<u8>> {
        self.poll_transmit()
    }
    fn outcome(&mut self) -> Option<Established> {
        self.poll_outcome()
    }
}

impl Machine for Responder {
    fn input(&mut self, bytes: &[u8]) -> Result<(), MseError> {
        self.handle_input(bytes)
    }
    fn transmit(&mut self) -> Option<Vec<u8>> {
        self.poll_transmit()
    }
    fn outcome(&mut self) -> Option<Established> {
        self.poll_outcome()
    }
}

/// Runs `machine` to completion. `first` holds bytes already read from the peer
/// (the responder's look at the start of the stream). Everything the machine queued
/// is written before the outcome is returned, so the caller's encrypted bytes follow
/// it in order. No deadline here: the caller wraps the whole handshake in one.
pub(super) async fn run<M: Machine>(
    stream: &dyn PeerStream,
    machine: &mut M,
    first: &[u8],
) -> Result<Established, HandshakeError> {
    if !first.is_empty() {
        machine.input(first)?;
    }
    let mut buf = [0u8; READ_CHUNK];
    loop {
        while let Some(out) = machine.transmit() {
            peer_stream::write_all(stream, &out).await?;
        }
        if let Some(established) = machine.outcome() {
            return Ok(established);
        }
        let n = peer_stream::read(stream, &mut &mut buf[..]).await?;
        let Some(read) = buf.get(..n).filter(|r| !r.is_empty()) else {
            return Err(HandshakeError::Closed);
        };
        machine.input(read)?;
    }
}
