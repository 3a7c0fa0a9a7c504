//! Bencode (BEP 3): a zero-copy decoder that keeps the exact bytes of every dictionary
//! (the info-hash is the SHA-1 of the raw `info` dictionary), and an encoder.
//!
//! Decoding is strict by default: integers must be canonical (no leading zeros, no
//! `-0`), dictionary keys must be sorted and unique, nesting is bounded and every length
//! is checked against the remaining input before anything is sliced or allocated.
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod decode;
mod encode;
mod value;

pub use decode::{
    decode, decode_lenient, decode_prefix, decode_with, DecodeError, DecodeOptions, MAX_DEPTH,
};
pub use encode::{encode_bytes, encode_int, OwnedValue};
pub use value::{Dict, Value};
