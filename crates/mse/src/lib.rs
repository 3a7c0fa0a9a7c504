//! Sans-IO BitTorrent Message Stream Encryption (MSE, also called Protocol
//! Encryption), both roles, compatible with libtorrent, Transmission, aria2 and
//! qBittorrent.
//!
//! A 768-bit Diffie-Hellman exchange gives a shared secret S; the info-hash is the
//! shared key SKEY. The initiator proves knowledge of SKEY with `HASH('req2', SKEY)`
//! masked by `HASH('req3', S)`, both sides switch to RC4 (keyA/keyB, first 1024
//! bytes discarded) for the rest of the handshake and, if RC4 is selected, for the
//! whole connection.
//!
//! # Driving a connection
//!
//! Nothing here touches a socket. Both [`Initiator`] and [`Responder`] follow the
//! same loop:
//!
//! 1. after construction and after every [`Initiator::handle_input`] call, write
//!    everything [`Initiator::poll_transmit`] returns, in order;
//! 2. read from the socket and pass the bytes to `handle_input` (an `Err` means
//!    close the connection; [`MseError::is_peer_misbehaviour`] says whose fault);
//! 3. once `is_done()`, flush `poll_transmit` one last time and take
//!    [`Established`] from `poll_outcome()`.
//!
//! From then on, every byte written goes through
//! [`Rc4Streams::encrypt`] and every byte read through [`Rc4Streams::decrypt`] when
//! `cipher` is `Some`, or unchanged when it is `None`. `initial_payload` holds the
//! peer's first payload bytes, already in plaintext.
//!
//! An accepting side first looks at the incoming bytes with
//! [`is_plaintext_handshake`] and hands the stream to a [`Responder`] (including the
//! bytes already read) only when it is not a plain BitTorrent handshake.

#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod detect;
mod dh;
mod error;
mod initiator;
mod keys;
mod outcome;
mod policy;
mod responder;
mod sync;

pub use detect::is_plaintext_handshake;
pub use dh::{PRIVATE_KEY_LEN, PUBLIC_KEY_LEN};
pub use error::{MseError, SyncMarker};
pub use initiator::Initiator;
pub use keys::{obfuscated_info_hash, Rc4Stream, Rc4Streams};
pub use outcome::{Established, HandshakeParams};
pub use policy::{EncryptionPolicy, ParsePolicyError, CRYPTO_PLAINTEXT, CRYPTO_RC4};
pub use responder::Responder;

/// Longest PadA, PadB, PadC or PadD allowed.
pub const MAX_PAD_LEN: usize = 512;

/// The verification constant: eight zero bytes.
pub const VC: [u8; 8] = [0; 8];

/// Most bytes a responder reads before it must have found `HASH('req1', S)`
/// (Ya, PadA, the hash itself).
pub const MAX_REQ1_SYNC: usize = PUBLIC_KEY_LEN + MAX_PAD_LEN + 20;

/// Most bytes an initiator reads before it must have found `ENCRYPT(VC)`
/// (Yb, PadB, the VC itself).
pub const MAX_VC_SYNC: usize = PUBLIC_KEY_LEN + MAX_PAD_LEN + VC.len();
