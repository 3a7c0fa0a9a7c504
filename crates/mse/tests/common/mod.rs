//! Helpers shared by the integration tests: handshake parameters and an in-memory
//! pump that shuttles bytes between an initiator and a responder.

#![allow(clippy::unwrap_used)]

use shoal_mse::{Established, HandshakeParams, Initiator, MseError, Responder};

/// Handshake parameters with the private key `[key_byte; 20]` and the given pads.
pub fn params(key_byte: u8, pad: Vec<u8>, encrypted_pad: Vec<u8>) -> HandshakeParams {
    HandshakeParams {
        private_key: [key_byte; 20],
        pad,
        encrypted_pad,
    }
}

/// How each side ended up.
#[derive(Debug)]
pub struct PumpResult {
    pub initiator: Result<Option<Established>, MseError>,
    pub responder: Result<Option<Established>, MseError>,
}

/// Feeds `bytes` to `feed` in pieces of at most `chunk` bytes, stopping at the first error.
fn deliver(
    bytes: &[u8],
    chunk: usize,
    mut feed: impl FnMut(&[u8]) -> Result<(), MseError>,
) -> Result<(), MseError> {
    for piece in bytes.chunks(chunk.max(1)) {
        feed(piece)?;
    }
    Ok(())
}

/// Runs both sides against each other until neither has anything left to send.
/// Each side's input arrives in pieces of at most `chunk` bytes.
pub fn pump(initiator: &mut Initiator, responder: &mut Responder, chunk: usize) -> PumpResult {
    let mut a_err = None;
    let mut b_err = None;
    for _ in 0..16 {
        let mut moved = false;
        if let Some(out) = initiator.poll_transmit() {
            moved = true;
            if b_err.is_none() {
                if let Err(e) = deliver(&out, chunk, |p| responder.handle_input(p)) {
                    b_err = Some(e);
                }
            }
        }
        if let Some(out) = responder.poll_transmit() {
            moved = true;
            if a_err.is_none() {
                if let Err(e) = deliver(&out, chunk, |p| initiator.handle_input(p)) {
                    a_err = Some(e);
                }
            }
        }
        if !moved {
            break;
        }
    }
    PumpResult {
        initiator: a_err.map_or_else(|| Ok(initiator.poll_outcome()), Err),
        responder: b_err.map_or_else(|| Ok(responder.poll_outcome()), Err),
    }
}
