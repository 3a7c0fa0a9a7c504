//! Unit tests of the engine-facing commands: what each one sends, and when it sends
//! nothing.

use std::time::Instant;

use bytes::Bytes;

use super::tests::{blk, cfg, sent};
use super::*;

#[test]
fn send_block_writes_in_place_and_rolls_back() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(cfg(), t0);
    p.send_bitfield(&Bitfield::full(10));
    sent(&mut p);
    let b = BlockRef {
        piece: 2,
        begin: 16,
        length: 5,
    };
    let err = p.send_block(b, |buf| {
        buf[0] = 1;
        Err(std::io::Error::other("disk"))
    });
    assert!(err.is_err());
    assert!(!p.has_output());
    assert_eq!(p.uploaded(), 0);
    p.send_block(b, |buf| {
        buf.copy_from_slice(b"hello");
        Ok(())
    })
    .unwrap();
    assert_eq!(
        sent(&mut p),
        vec![Message::Piece {
            piece: 2,
            begin: 16,
            data: Bytes::from_static(b"hello")
        }]
    );
    assert_eq!(p.uploaded(), 5);
    assert!(p.send_block_data(b, b"toolong").is_err());
    assert!(!p.has_output());
}

#[test]
fn send_bitfield_forms() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(cfg(), t0);
    p.send_bitfield(&Bitfield::full(10));
    p.send_bitfield(&Bitfield::new(10));
    assert_eq!(sent(&mut p), vec![Message::HaveAll]);
    let mut p = PeerConnection::new(cfg(), t0);
    p.send_bitfield(&Bitfield::new(10));
    assert_eq!(sent(&mut p), vec![Message::HaveNone]);
    let mut p = PeerConnection::new(
        ConnectionConfig {
            fast: false,
            ..cfg()
        },
        t0,
    );
    p.send_bitfield(&Bitfield::new(10));
    assert!(sent(&mut p).is_empty());
    p.send_have(3);
    p.send_have(3);
    p.send_have(10);
    assert_eq!(sent(&mut p), vec![Message::Have(3)]);
    // Too late for a bitfield: falls back to haves.
    let mut p = PeerConnection::new(cfg(), t0);
    p.set_interested(true);
    let mut have = Bitfield::new(10);
    have.set(1);
    have.set(4);
    p.send_bitfield(&have);
    assert_eq!(
        sent(&mut p),
        vec![Message::Interested, Message::Have(1), Message::Have(4)]
    );
    assert_eq!(p.our_pieces().count_ones(), 2);
}

#[test]
fn commands_that_change_nothing_send_nothing() {
    let t0 = Instant::now();
    let mut p = PeerConnection::new(
        ConnectionConfig {
            fast: false,
            extensions: false,
            ..cfg()
        },
        t0,
    );
    p.choke();
    p.set_interested(false);
    p.reject(blk(0, 0));
    p.send_allowed_fast(1);
    p.send_suggest(1);
    p.send_extended(1, b"x");
    p.send_extension_handshake(&ExtensionHandshake::default());
    p.cancel(blk(0, 0));
    assert!(!p.has_output());
    p.set_interested(true);
    p.set_interested(true);
    p.unchoke();
    p.unchoke();
    p.send_port(6881);
    assert_eq!(
        sent(&mut p),
        vec![Message::Interested, Message::Unchoke, Message::Port(6881)]
    );
    assert!(p.am_interested() && !p.am_choking());
}
