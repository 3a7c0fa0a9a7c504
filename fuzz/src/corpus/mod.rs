//! The committed seed corpus: a handful of small, valid inputs per fuzz target, built
//! with shoal's own encoders (and the input models for the stateful targets).
//! `cargo run --example gen_corpus` writes them to `corpus/<target>/<name>`.
//! One submodule per family of targets; shared bencode helpers live here.

mod crypto;
mod dht;
mod ext;
mod torrents;
mod tracker;
mod wire;

use shoal_bencode::OwnedValue;

#[cfg(test)]
use crate::{dht as dht_model, metadata, mse, peer, pex, private, udp};

/// One seed: target name, file name, bytes.
pub type Seed = (&'static str, &'static str, Vec<u8>);

/// Every seed of every target.
pub fn seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    torrents::bencode(&mut out);
    torrents::metainfo(&mut out);
    torrents::magnet(&mut out);
    wire::wire_message(&mut out);
    wire::peer_connection(&mut out);
    wire::extension_handshake(&mut out);
    ext::ut_metadata(&mut out);
    ext::ut_pex(&mut out);
    ext::lsd(&mut out);
    dht::krpc(&mut out);
    dht::dht_node(&mut out);
    tracker::tracker_http(&mut out);
    tracker::tracker_udp(&mut out);
    crypto::mse_seeds(&mut out);
    crypto::private_header(&mut out);
    out
}

pub(super) fn dict(entries: Vec<(&str, OwnedValue)>) -> OwnedValue {
    let mut d = OwnedValue::dict();
    for (k, v) in entries {
        d.insert(k, v);
    }
    d
}

pub(super) fn list(items: Vec<OwnedValue>) -> OwnedValue {
    OwnedValue::List(items)
}

pub(super) fn bytes(b: &[u8]) -> OwnedValue {
    OwnedValue::Bytes(b.to_vec())
}

pub(super) fn int(n: i64) -> OwnedValue {
    OwnedValue::Int(n)
}

pub(super) fn sa(s: &str) -> std::net::SocketAddr {
    s.parse().expect("literal address")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds of the stateful targets read back as the inputs they were written
    /// from (the generator and the targets agree on the format).
    #[test]
    fn models_round_trip() {
        let mut n = 0;
        for (target, name, data) in seeds() {
            let again = match target {
                "peer_connection" => peer::Input::read(&data).write(),
                "ut_metadata" => metadata::Input::read(&data).write(),
                "ut_pex" => pex::Input::read(&data).write(),
                "dht_node" => dht_model::Input::read(&data).write(),
                "tracker_udp" => udp::Input::read(&data).write(),
                "mse" => mse::Input::read(&data).write(),
                "private_header" => private::Input::read(&data).write(),
                _ => continue,
            };
            assert_eq!(again, data, "{target}/{name}");
            n += 1;
        }
        assert!(n >= 15);
    }

    #[test]
    fn every_target_has_seeds() {
        let all = seeds();
        for target in crate::TARGETS {
            assert!(
                all.iter().filter(|(t, _, _)| t == target).count() >= 2,
                "{target}"
            );
        }
        assert!(all.iter().all(|(t, _, _)| crate::TARGETS.contains(t)));
    }
}
