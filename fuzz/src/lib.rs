//! Shared code of the shoal fuzz targets: the byte format of the stateful targets'
//! inputs ([`script`]), one input model per such target (read by the target, written by
//! the seed-corpus generator, `examples/gen_corpus.rs`), and the seeds themselves
//! ([`corpus`]).

pub mod corpus;
pub mod dht;
pub mod metadata;
pub mod mse;
pub mod peer;
pub mod pex;
pub mod private;
pub mod script;
pub mod udp;

/// Every fuzz target, in the order `scripts/fuzz-smoke` runs them.
pub const TARGETS: &[&str] = &[
    "bencode",
    "metainfo",
    "magnet",
    "wire_message",
    "peer_connection",
    "extension_handshake",
    "ut_metadata",
    "ut_pex",
    "lsd",
    "krpc",
    "dht_node",
    "tracker_http",
    "tracker_udp",
    "mse",
    "private_header",
];
