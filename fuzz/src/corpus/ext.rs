//! Seeds of the extension targets: ut_metadata, ut_pex, LSD.

use shoal_ext::{LsdAnnounce, LsdFamily, MetadataMessage, PexFlags, PexMessage, PexPeer};

use super::*;
use crate::{metadata, pex};

pub(super) fn ut_metadata(out: &mut Vec<Seed>) {
    use metadata::{Input, Op, Size};
    let t = "ut_metadata";
    let request = MetadataMessage::Request { piece: 1 }.encode();
    let data = MetadataMessage::Data {
        piece: 2,
        total_size: 2 * 16_384 + 777,
        data: &[5u8; 777],
    }
    .encode();
    let fetch = Input {
        message: data.clone(),
        max_in_flight: 4,
        ops: vec![
            Op::AddPeer {
                peer: 0,
                size: Size::Right,
            },
            Op::AddPeer {
                peer: 1,
                size: Size::Right,
            },
            Op::AddPeer {
                peer: 2,
                size: Size::Raw(99),
            },
            Op::NextRequest { peer: 0 },
            Op::NextRequest { peer: 1 },
            Op::NextRequest { peer: 0 },
            Op::Deliver { peer: 0, piece: 0 },
            Op::Deliver { peer: 1, piece: 1 },
            Op::Deliver { peer: 0, piece: 2 },
        ],
    };
    out.push((t, "complete", fetch.write()));
    let corrupt = Input {
        message: request.clone(),
        max_in_flight: 8,
        ops: vec![
            Op::AddPeer {
                peer: 3,
                size: Size::Right,
            },
            Op::NextRequest { peer: 3 },
            Op::NextRequest { peer: 3 },
            Op::NextRequest { peer: 3 },
            Op::Deliver { peer: 3, piece: 0 },
            Op::Corrupt {
                peer: 3,
                piece: 1,
                at: 9,
            },
            Op::Payload {
                peer: 3,
                payload: data,
            },
            Op::AddPeer {
                peer: 4,
                size: Size::Right,
            },
            Op::Advance { secs: 40 },
            Op::NextRequest { peer: 4 },
            Op::Reject { peer: 4, piece: 0 },
            Op::Gone { peer: 4 },
        ],
    };
    out.push((t, "corrupt_and_reject", corrupt.write()));
    let serve = Input {
        message: MetadataMessage::Reject { piece: 0 }.encode(),
        max_in_flight: 1,
        ops: vec![
            Op::Payload {
                peer: 0,
                payload: request,
            },
            Op::Payload {
                peer: 0,
                payload: b"d8:msg_typei2e5:piecei0ee".to_vec(),
            },
        ],
    };
    out.push((t, "serve", serve.write()));
}

pub(super) fn ut_pex(out: &mut Vec<Seed>) {
    let t = "ut_pex";
    let first = PexMessage {
        added: vec![
            PexPeer {
                addr: sa("10.0.0.2:6881"),
                flags: PexFlags(0x12),
            },
            PexPeer {
                addr: sa("10.0.0.3:51413"),
                flags: PexFlags(0x01),
            },
            PexPeer {
                addr: sa("[2001:db8::2]:6881"),
                flags: PexFlags(0x10),
            },
        ],
        dropped: vec![sa("10.0.0.9:6881")],
    };
    let second = PexMessage {
        added: vec![PexPeer {
            addr: sa("10.0.0.4:6881"),
            flags: PexFlags(0),
        }],
        dropped: vec![sa("10.0.0.2:6881"), sa("[2001:db8::2]:6881")],
    };
    let input = pex::Input {
        private: false,
        steps: vec![
            pex::Step {
                advance_secs: 0,
                payload: first.encode(),
                poll: true,
                drop: 0,
            },
            pex::Step {
                advance_secs: 30,
                payload: second.encode(),
                poll: true,
                drop: 1,
            },
            pex::Step {
                advance_secs: 70,
                payload: second.encode(),
                poll: true,
                drop: 0,
            },
        ],
    };
    out.push((t, "exchange", input.write()));
    let private = pex::Input {
        private: true,
        steps: vec![pex::Step {
            advance_secs: 1,
            payload: first.encode(),
            poll: true,
            drop: 0,
        }],
    };
    out.push((t, "private", private.write()));
}

pub(super) fn lsd(out: &mut Vec<Seed>) {
    let t = "lsd";
    let a = LsdAnnounce {
        port: 6881,
        info_hashes: vec![[0xab; 20], [0x01; 20]],
        cookie: Some("c0ffee".into()),
    };
    out.push((t, "v4", a.encode(LsdFamily::V4)));
    out.push((t, "v6", a.encode(LsdFamily::V6)));
    out.push((
        t,
        "sloppy",
        format!(
            "bt-search * HTTP/1.1\nHOST: whatever\n  port :  51413  \ninfohash: {}\n\
             Cookie: c00kie\n\n",
            "AB".repeat(20)
        )
        .into_bytes(),
    ));
}
