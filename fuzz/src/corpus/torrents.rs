//! Seeds of the bencode, metainfo and magnet targets.

use shoal_bencode::OwnedValue;

use super::*;

pub(super) fn single_file_torrent() -> Vec<u8> {
    let info = dict(vec![
        ("length", int(40_000)),
        ("name", bytes(b"hello.txt")),
        ("piece length", int(16_384)),
        ("pieces", bytes(&[0xab; 60])),
    ]);
    dict(vec![
        ("announce", bytes(b"http://127.0.0.1:6969/announce")),
        ("comment", bytes(b"a test torrent")),
        ("created by", bytes(b"shoal")),
        ("creation date", int(1_700_000_000)),
        ("info", info),
    ])
    .encode()
}

pub(super) fn file(path: &[&[u8]], length: i64, attr: Option<&[u8]>) -> OwnedValue {
    let mut entries = vec![
        ("length", int(length)),
        ("path", list(path.iter().map(|p| bytes(p)).collect())),
    ];
    if let Some(a) = attr {
        entries.push(("attr", bytes(a)));
    }
    dict(entries)
}

pub(super) fn multi_file_torrent() -> Vec<u8> {
    let files = list(vec![
        file(&[b"a", b"one.bin"], 20_000, None),
        file(&[b".pad", b"12768"], 12_768, Some(b"p")),
        file(&[b"b.bin"], 0, None),
        file(&[b"run.sh"], 100, Some(b"x")),
    ]);
    let info = dict(vec![
        ("files", files),
        ("name", bytes(b"folder")),
        ("piece length", int(32_768)),
        ("pieces", bytes(&[1; 40])),
        ("private", int(1)),
    ]);
    dict(vec![
        ("announce", bytes(b"udp://127.0.0.1:6969")),
        (
            "announce-list",
            list(vec![
                list(vec![bytes(b"udp://127.0.0.1:6969")]),
                list(vec![
                    bytes(b"http://127.0.0.1/announce"),
                    bytes(b"http://[::1]/announce"),
                ]),
            ]),
        ),
        ("info", info),
        ("url-list", list(vec![bytes(b"http://127.0.0.1/seed/")])),
    ])
    .encode()
}

/// Paths a hostile torrent might use; all must be confined.
pub(super) fn hostile_torrent() -> Vec<u8> {
    let files = list(vec![
        file(&[b"..", b"..", b"etc", b"passwd"], 10, None),
        file(&[b"/abs", b"x"], 10, None),
        file(&[b"CON"], 10, None),
        file(&[b"a\x00b", b"c/d"], 10, None),
        file(&[b"dup"], 10, None),
        file(&[b"dup"], 10, None),
        file(&[b"dup", b"inner"], 10, None),
        file(&[b".", b""], 10, None),
    ]);
    let info = dict(vec![
        ("files", files),
        ("name", bytes(b"..")),
        ("piece length", int(64)),
        ("pieces", bytes(&[2; 40])),
    ]);
    dict(vec![("info", info)]).encode()
}

pub(super) fn bencode(out: &mut Vec<Seed>) {
    let t = "bencode";
    out.push((t, "int", b"i42e".to_vec()));
    out.push((t, "negative", b"i-9223372036854775808e".to_vec()));
    out.push((t, "string", b"4:spam".to_vec()));
    out.push((t, "list", b"l4:spami42eli-1e0:ee".to_vec()));
    out.push((t, "dict", b"d3:cow3:moo4:spam4:eggse".to_vec()));
    out.push((t, "unsorted", b"d1:bi1e1:ad1:xle1:ci0eee".to_vec()));
    out.push((t, "torrent", single_file_torrent()));
}

pub(super) fn metainfo(out: &mut Vec<Seed>) {
    let t = "metainfo";
    out.push((t, "single", single_file_torrent()));
    out.push((t, "multi", multi_file_torrent()));
    out.push((t, "hostile_paths", hostile_torrent()));
    let info = dict(vec![
        ("length", int(5)),
        ("name", bytes(b"five")),
        ("piece length", int(16_384)),
        ("pieces", bytes(&[3; 20])),
    ]);
    out.push((t, "bare_info", info.encode()));
}

pub(super) fn magnet(out: &mut Vec<Seed>) {
    let t = "magnet";
    let hex = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";
    out.push((
        t,
        "full",
        format!(
            "magnet:?xt=urn:btih:{hex}&dn=Some+File%20Name&tr=udp%3A%2F%2F127.0.0.1%3A6969\
             &tr.1=http://127.0.0.1/a?b&x.pe=127.0.0.1:6881&so=0,2,4-6&ws=http%3A%2F%2Fw"
        )
        .into_bytes(),
    ));
    out.push((
        t,
        "base32",
        b"MAGNET:?XT=URN:BTIH:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK".to_vec(),
    ));
    out.push((
        t,
        "hybrid",
        format!(
            "magnet:?xt=urn:btmh:1220{}&xt=urn:btih:{hex}&dn=%E2%9C%93",
            "ab".repeat(32)
        )
        .into_bytes(),
    ));
    out.push((
        t,
        "v2_only",
        format!("magnet:?xt=urn:btmh:1220{}", "cd".repeat(32)).into_bytes(),
    ));
}
