//! In-memory swarm: several simulated peers hold an info dictionary and a
//! `MetadataFetch` assembles it through the real `ut_metadata` codec, including peers
//! that serve corrupt data, stay silent or reject.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use sha1::{Digest, Sha1};
use shoal_bencode::OwnedValue;
use shoal_ext::metadata::DEFAULT_MAX_METADATA_SIZE;
use shoal_ext::{DataError, MetadataFetch, MetadataMessage, MetadataServer, ServeLimiter};

const MAX: u64 = DEFAULT_MAX_METADATA_SIZE;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Behaviour {
    Honest,
    /// Flips a byte in every piece it sends.
    Corrupt,
    /// Never answers.
    Silent,
    /// Rejects every request.
    Rejecting,
}

struct SimPeer {
    id: u64,
    server: MetadataServer,
    limiter: ServeLimiter,
    behaviour: Behaviour,
}

impl SimPeer {
    /// Answers one encoded request payload with an encoded reply payload, if any.
    fn answer(&mut self, request: &[u8], now: Instant) -> Option<Vec<u8>> {
        let MetadataMessage::Request { piece } = MetadataMessage::decode(request, MAX).unwrap()
        else {
            panic!("peer got a non-request");
        };
        match self.behaviour {
            Behaviour::Silent => None,
            Behaviour::Rejecting => Some(MetadataMessage::Reject { piece }.encode()),
            Behaviour::Honest => Some(
                self.server
                    .handle_request(&mut self.limiter, piece, now)
                    .encode(),
            ),
            Behaviour::Corrupt => match self.server.handle_request(&mut self.limiter, piece, now) {
                MetadataMessage::Data {
                    piece,
                    total_size,
                    data,
                } => {
                    let mut bad = data.to_vec();
                    bad[data.len() / 2] ^= 0x55;
                    let msg = MetadataMessage::Data {
                        piece,
                        total_size,
                        data: &bad,
                    };
                    Some(msg.encode())
                }
                other => Some(other.encode()),
            },
        }
    }
}

/// A realistic info dictionary of about 45 KB (three metadata pieces).
fn info_dict() -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    let pieces: Vec<u8> = (0..2200 * 20)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect();
    let mut info = OwnedValue::dict();
    info.insert("length", 2200i64 * 262_144);
    info.insert("name", "swarm-test.bin");
    info.insert("piece length", 262_144i64);
    info.insert("pieces", pieces);
    info.encode()
}

struct Outcome {
    info: Vec<u8>,
    errors: Vec<DataError>,
    rounds: u32,
}

/// Runs request/answer rounds (all requests of a round go out before any answer is
/// processed, like on a network) until the fetch completes.
fn run(fetch: &mut MetadataFetch, peers: &mut [SimPeer], start: Instant) -> Outcome {
    let mut errors = Vec::new();
    for round in 0..200u32 {
        let now = start + Duration::from_secs(u64::from(round));
        let mut requests = Vec::new();
        for (i, peer) in peers.iter().enumerate() {
            while let Some(piece) = fetch.next_request(peer.id, now) {
                requests.push((i, MetadataMessage::Request { piece }.encode()));
            }
        }
        let answers: Vec<(u64, Vec<u8>)> = requests
            .into_iter()
            .filter_map(|(i, req)| Some((peers[i].id, peers[i].answer(&req, now)?)))
            .collect();
        for (id, payload) in answers {
            match MetadataMessage::decode(&payload, MAX).unwrap() {
                MetadataMessage::Data {
                    piece,
                    total_size,
                    data,
                } => match fetch.on_data(id, piece, total_size, data) {
                    Ok(Some(info)) => {
                        return Outcome {
                            info,
                            errors,
                            rounds: round,
                        }
                    }
                    Ok(None) => {}
                    Err(e) => errors.push(e),
                },
                MetadataMessage::Reject { piece } => fetch.on_reject(id, piece),
                MetadataMessage::Request { .. } => unreachable!(),
            }
        }
    }
    panic!("metadata fetch did not complete");
}

fn swarm(info: &[u8], behaviours: &[Behaviour]) -> (MetadataFetch, Vec<SimPeer>) {
    let hash: [u8; 20] = Sha1::digest(info).into();
    let server = MetadataServer::new(info.to_vec());
    let mut fetch = MetadataFetch::new(hash, MAX).with_request_timeout(Duration::from_secs(10));
    let peers: Vec<SimPeer> = behaviours
        .iter()
        .enumerate()
        .map(|(i, &behaviour)| SimPeer {
            id: 100 + i as u64,
            limiter: server.limiter(),
            server: server.clone(),
            behaviour,
        })
        .collect();
    for peer in &peers {
        fetch.add_peer(peer.id, server.total_size()).unwrap();
    }
    (fetch, peers)
}

#[test]
fn three_honest_peers_share_the_work() {
    let info = info_dict();
    assert_eq!(
        shoal_bencode::decode(&info)
            .unwrap()
            .as_dict()
            .unwrap()
            .len(),
        4
    );
    let (mut fetch, mut peers) = swarm(&info, &[Behaviour::Honest; 3]);
    assert_eq!(fetch.progress(), (0, 3));
    let out = run(&mut fetch, &mut peers, Instant::now());
    assert_eq!(out.info, info);
    assert!(out.errors.is_empty());
    assert_eq!(out.rounds, 0, "one round trip with the pieces spread");
    assert!(fetch.is_complete());
}

#[test]
fn a_corrupt_peer_is_detected_and_the_honest_ones_finish() {
    let info = info_dict();
    for bad in 0..3 {
        let mut behaviours = [Behaviour::Honest; 3];
        behaviours[bad] = Behaviour::Corrupt;
        let (mut fetch, mut peers) = swarm(&info, &behaviours);
        let out = run(&mut fetch, &mut peers, Instant::now());
        assert_eq!(out.info, info, "corrupt peer at {bad}");
        // The first attempt mixes everyone's pieces: all become suspect.
        assert!(matches!(
            &out.errors[0],
            DataError::HashMismatch { banned, suspect } if banned.is_empty() && suspect.len() == 3
        ));
        // Later attempts use one source each; only the corrupt peer may ever be banned.
        for e in &out.errors[1..] {
            assert_eq!(
                e,
                &DataError::HashMismatch {
                    banned: vec![peers[bad].id],
                    suspect: vec![]
                }
            );
        }
        for (i, peer) in peers.iter().enumerate() {
            assert_eq!(fetch.is_banned(peer.id), i == bad && out.errors.len() == 2);
        }
    }
}

#[test]
fn silent_and_rejecting_peers_are_worked_around() {
    let info = info_dict();
    let behaviours = [Behaviour::Silent, Behaviour::Rejecting, Behaviour::Honest];
    let (mut fetch, mut peers) = swarm(&info, &behaviours);
    let out = run(&mut fetch, &mut peers, Instant::now());
    assert_eq!(out.info, info);
    assert!(out.errors.is_empty());
    // Endgame asks the honest peer for the silent peer's piece; no timeout needed.
    assert!(out.rounds <= 3, "took {} rounds", out.rounds);
}

#[test]
fn a_lone_corrupt_peer_never_completes_but_is_banned() {
    let info = info_dict();
    let (mut fetch, mut peers) = swarm(&info, &[Behaviour::Corrupt]);
    let now = Instant::now();
    let mut errors = Vec::new();
    while let Some(piece) = fetch.next_request(peers[0].id, now) {
        let reply = peers[0]
            .answer(&MetadataMessage::Request { piece }.encode(), now)
            .unwrap();
        if let MetadataMessage::Data {
            piece,
            total_size,
            data,
        } = MetadataMessage::decode(&reply, MAX).unwrap()
        {
            if let Err(e) = fetch.on_data(peers[0].id, piece, total_size, data) {
                errors.push(e);
            }
        }
    }
    assert_eq!(
        errors,
        vec![DataError::HashMismatch {
            banned: vec![peers[0].id],
            suspect: vec![]
        }]
    );
    assert!(fetch.is_banned(peers[0].id));
    assert!(!fetch.is_complete());
}
