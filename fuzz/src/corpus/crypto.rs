//! Seeds of the MSE and private-link header targets.

use shoal_private::{ContentKey, Manifest, ManifestEntry, PrivateLayout};
use shoal_wire::Handshake;

use super::*;
use crate::{mse, private};

pub(super) fn side(key: u8, pad: u16, encrypted_pad: u16, policy: mse::Policy) -> mse::Side {
    let mut k = [0u8; 20];
    k[0] = key;
    k[19] = key.wrapping_mul(3) | 1;
    mse::Side {
        key: k,
        pad,
        encrypted_pad,
        policy,
    }
}

pub(super) fn mse_seeds(out: &mut Vec<Seed>) {
    use mse::{Input, Mode, Policy};
    let t = "mse";
    let clean = Input {
        chunks: vec![],
        mode: Mode::Pair {
            init: side(1, 0, 0, Policy::Prefer),
            resp: side(2, 0, 0, Policy::Prefer),
            ia: Handshake::new([0x11; 20], [3; 20]).encode().to_vec(),
            corrupt: vec![],
            after: b"\x00\x00\x00\x01\x02".to_vec(),
        },
    };
    out.push((t, "pair_rc4", clean.write()));
    let chunked = Input {
        chunks: vec![1, 7, 96, 13, 500],
        mode: Mode::Pair {
            init: side(3, 512, 17, Policy::Disable),
            resp: side(4, 100, 512, Policy::Prefer),
            ia: vec![],
            corrupt: vec![],
            after: vec![],
        },
    };
    out.push((t, "pair_plaintext_chunked", chunked.write()));
    let corrupted = Input {
        chunks: vec![50],
        mode: Mode::Pair {
            init: side(5, 10, 0, Policy::Require),
            resp: side(6, 10, 0, Policy::Require),
            ia: b"ia".to_vec(),
            corrupt: vec![(false, 110, 0x40), (true, 3, 1)],
            after: vec![],
        },
    };
    out.push((t, "pair_corrupted", corrupted.write()));
    // A lone side fed bytes that look like a key and some noise.
    let blob: Vec<u8> = (0..700u32).map(|i| (i * 151 % 256) as u8).collect();
    let responder = Input {
        chunks: vec![96, 3],
        mode: Mode::Responder {
            side: side(7, 0, 0, Policy::Prefer),
            data: blob.clone(),
        },
    };
    out.push((t, "responder_noise", responder.write()));
    let initiator = Input {
        chunks: vec![],
        mode: Mode::Initiator {
            side: side(8, 0, 0, Policy::Require),
            data: blob,
        },
    };
    out.push((t, "initiator_noise", initiator.write()));
}

pub(super) fn private_header(out: &mut Vec<Seed>) {
    use private::Input;
    let t = "private_header";
    let key = ContentKey::from_bytes([7; 32]);
    let dir = Manifest {
        root_name: "holiday".into(),
        entries: vec![
            ManifestEntry {
                path: vec!["a".into(), "one.jpg".into()],
                length: 1000,
                mode: 0o644,
            },
            ManifestEntry {
                path: vec!["empty".into()],
                length: 0,
                mode: 0o600,
            },
            ManifestEntry {
                path: vec!["run.sh".into()],
                length: 10,
                mode: 0o755,
            },
        ],
    };
    let single = Manifest {
        root_name: "notes.txt".into(),
        entries: vec![ManifestEntry {
            path: vec![],
            length: 123,
            mode: 0o644,
        }],
    };
    for (name, manifest) in [("sealed_dir", &dir), ("sealed_single", &single)] {
        let plain = manifest_plaintext(manifest);
        out.push((
            t,
            name,
            Input::Sealed {
                nonce: [9; 24],
                pad: 5,
                plaintext: plain,
            }
            .write(),
        ));
    }
    let layout = PrivateLayout::seal(single, &key).expect("valid manifest");
    let mut stream = layout.region().to_vec();
    stream.extend_from_slice(&[0u8; 123]);
    out.push((
        t,
        "stream",
        Input::Raw {
            extra: 0,
            data: stream,
        }
        .write(),
    ));
    let link = shoal_private::private_link(
        "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567",
        &key,
    );
    out.push((t, "link", Input::Link(link.as_bytes().to_vec()).write()));
}

/// The manifest's bencoded form as described in the crate docs.
pub(super) fn manifest_plaintext(m: &Manifest) -> Vec<u8> {
    let files = m
        .entries
        .iter()
        .map(|e| {
            dict(vec![
                ("length", int(e.length as i64)),
                ("mode", int(i64::from(e.mode))),
                (
                    "path",
                    list(e.path.iter().map(|c| bytes(c.as_bytes())).collect()),
                ),
            ])
        })
        .collect();
    dict(vec![
        ("files", list(files)),
        ("name", bytes(m.root_name.as_bytes())),
    ])
    .encode()
}
