//! Hostile torrents downloaded for real by the `shoal` binary from a `shoal` seeder:
//!
//! - paths that try to escape the download directory (`..`, absolute paths, empty and
//!   dot components, separators inside a component): every byte lands inside the
//!   output directory and nothing is written anywhere else;
//! - names invalid on common file systems (Windows device names, trailing dots and
//!   spaces, components over 255 bytes, invalid UTF-8), duplicate paths and a file
//!   where another entry needs a directory, with a piece length that is neither a power
//!   of two nor a multiple of 16 KiB: every file arrives intact under a sanitised,
//!   unique name;
//! - an output directory that already holds symlinks where the torrent's directory or
//!   files go: `shoal get` fails with an error naming the unsafe path and writes
//!   nothing through the links.
#![allow(clippy::unwrap_used)]

use sha1::{Digest, Sha1};
use shoal_bencode::OwnedValue;
use shoal_metainfo::Metainfo;
use std::io::{BufRead, BufReader};
use std::path::{Component, Path};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn path_list(parts: &[&str]) -> OwnedValue {
    OwnedValue::List(parts.iter().map(|p| OwnedValue::from(*p)).collect())
}

fn all_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let ty = entry.file_type().unwrap();
        if ty.is_dir() {
            all_files(&entry.path(), out);
        } else {
            out.push(entry.path());
        }
    }
}

#[test]
fn hostile_paths_stay_inside_the_output_directory() {
    let sandbox = tempfile::tempdir().unwrap();
    let abs_target = sandbox.path().join("absolute-target");
    let abs_target_str = abs_target.to_str().unwrap().to_string();
    let specs: Vec<(Vec<&str>, usize)> = vec![
        (vec!["..", "..", "evil.txt"], 1000),
        (vec![abs_target_str.as_str()], 2000),
        (vec!["a", "", ".", "..", "b"], 3000),
        (vec!["c/../../d"], 500),
        (vec!["/etc/passwd"], 700),
        (vec!["nul\0byte"], 300),
    ];
    let total: usize = specs.iter().map(|(_, len)| len).sum();
    let data: Vec<u8> = (0..total).map(|i| (i * 7 + i / 251) as u8).collect();
    let piece_length = 4096usize;
    let mut pieces = Vec::new();
    for chunk in data.chunks(piece_length) {
        pieces.extend_from_slice(&Sha1::digest(chunk));
    }
    let mut files = Vec::new();
    for (parts, len) in &specs {
        let mut f = OwnedValue::dict();
        f.insert("length", *len as u64);
        f.insert("path", path_list(parts));
        files.push(f);
    }
    let mut info = OwnedValue::dict();
    info.insert("name", "../../escape");
    info.insert("piece length", piece_length as u64);
    info.insert("pieces", pieces);
    info.insert("files", OwnedValue::List(files));
    let mut torrent = OwnedValue::dict();
    torrent.insert("info", info);
    let torrent_bytes = torrent.encode();
    let torrent_path = sandbox.path().join("hostile.torrent");
    std::fs::write(&torrent_path, &torrent_bytes).unwrap();

    // What shoal makes of those paths: only plain components.
    let meta = Metainfo::from_bytes(&torrent_bytes).unwrap();
    for f in &meta.info.files {
        assert!(
            f.path
                .components()
                .all(|c| matches!(c, Component::Normal(_))),
            "unsafe path {:?}",
            f.path
        );
    }

    // The seeder's copy, laid out where shoal itself resolves the paths.
    let seed_dir = sandbox.path().join("seed/inner");
    let mut offset = 0;
    for f in &meta.info.files {
        let p = seed_dir.join(&f.path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &data[offset..offset + f.length as usize]).unwrap();
        offset += f.length as usize;
    }

    let shoal = env!("CARGO_BIN_EXE_shoal");
    let mut seeder = KillOnDrop(
        Command::new(shoal)
            .args([
                "seed",
                torrent_path.to_str().unwrap(),
                "-d",
                seed_dir.to_str().unwrap(),
            ])
            .args(["--port", "0", "--bind", "127.0.0.1", "--no-trackers", "-q"])
            .args(["--no-dht", "--no-lsd"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(seeder.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();

    let out_dir = sandbox.path().join("leech/deeper/out");
    let mut get = KillOnDrop(
        Command::new(shoal)
            .args([
                "get",
                torrent_path.to_str().unwrap(),
                "-o",
                out_dir.to_str().unwrap(),
            ])
            .args([
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--no-trackers",
                "--no-dht",
                "--no-lsd",
                "-q",
                "--peer",
                &addr,
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = get.0.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "download timed out");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "shoal get failed: {status}");

    // Everything the leecher wrote is inside out_dir, and holds the right bytes.
    let mut written = Vec::new();
    all_files(&sandbox.path().join("leech"), &mut written);
    assert_eq!(written.len(), specs.len(), "files written: {written:?}");
    for p in &written {
        assert!(
            p.starts_with(&out_dir),
            "{} escaped the output directory",
            p.display()
        );
    }
    let mut offset = 0;
    for f in &meta.info.files {
        let got = std::fs::read(out_dir.join(&f.path)).unwrap();
        assert_eq!(got, &data[offset..offset + f.length as usize]);
        offset += f.length as usize;
    }
    assert!(!abs_target.exists(), "absolute path was written");
    assert!(!sandbox.path().join("evil.txt").exists());
    assert!(!sandbox.path().join("leech/evil.txt").exists());
}

/// A multi-file torrent named `name` over `specs` (raw path elements, length) with
/// deterministic content; returns the torrent bytes and the content.
fn build_torrent(
    name: &[u8],
    specs: &[(Vec<Vec<u8>>, usize)],
    piece_length: usize,
) -> (Vec<u8>, Vec<u8>) {
    let total: usize = specs.iter().map(|(_, len)| len).sum();
    let data: Vec<u8> = (0..total).map(|i| (i * 13 + i / 509) as u8).collect();
    let mut pieces = Vec::new();
    for chunk in data.chunks(piece_length) {
        pieces.extend_from_slice(&Sha1::digest(chunk));
    }
    let mut files = Vec::new();
    for (parts, len) in specs {
        let mut f = OwnedValue::dict();
        f.insert("length", *len as u64);
        f.insert(
            "path",
            OwnedValue::List(
                parts
                    .iter()
                    .map(|p| OwnedValue::from(p.as_slice()))
                    .collect(),
            ),
        );
        files.push(f);
    }
    let mut info = OwnedValue::dict();
    info.insert("name", name);
    info.insert("piece length", piece_length as u64);
    info.insert("pieces", pieces);
    info.insert("files", OwnedValue::List(files));
    let mut torrent = OwnedValue::dict();
    torrent.insert("info", info);
    (torrent.encode(), data)
}

/// Lays the content out under `dir` where shoal resolves the paths.
fn write_content(meta: &Metainfo, data: &[u8], dir: &Path) {
    let mut offset = 0;
    for f in &meta.info.files {
        let p = dir.join(&f.path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &data[offset..offset + f.length as usize]).unwrap();
        offset += f.length as usize;
    }
}

/// Starts `shoal seed` and returns it with its listening address.
fn seed(torrent: &Path, dir: &Path) -> (KillOnDrop, String) {
    let mut seeder = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_shoal"))
            .args([
                "seed",
                torrent.to_str().unwrap(),
                "-d",
                dir.to_str().unwrap(),
            ])
            .args(["--port", "0", "--bind", "127.0.0.1", "--no-trackers", "-q"])
            .args(["--no-dht", "--no-lsd"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(seeder.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    (seeder, addr)
}

/// Runs `shoal get` against `peer` until it exits (at most 60 s); returns whether it
/// succeeded and its stderr.
fn get(torrent: &Path, out_dir: &Path, peer: &str) -> (bool, String) {
    let sandbox_err = out_dir.with_extension("stderr");
    std::fs::create_dir_all(out_dir.parent().unwrap()).unwrap();
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_shoal"))
            .args([
                "get",
                torrent.to_str().unwrap(),
                "-o",
                out_dir.to_str().unwrap(),
            ])
            .args(["--port", "0", "--bind", "127.0.0.1", "--no-trackers"])
            .args(["--no-dht", "--no-lsd", "-q", "--peer", peer])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&sandbox_err).unwrap())
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "shoal get did not exit within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    (
        status.success(),
        std::fs::read_to_string(&sandbox_err).unwrap_or_default(),
    )
}

#[test]
fn invalid_names_duplicates_and_odd_piece_length_download_intact() {
    let sandbox = tempfile::tempdir().unwrap();
    let el = |s: &[u8]| s.to_vec();
    let long = vec![b'L'; 300];
    let specs: Vec<(Vec<Vec<u8>>, usize)> = vec![
        (vec![el(b"CON")], 1000),
        (vec![el(b"nul.txt")], 1500),
        (vec![el(b"aux"), el(b"com1.tar.gz")], 2500),
        (vec![el(b"trailing. . ")], 700),
        (vec![el(b" lead and trail ")], 900),
        (vec![long.clone()], 3000),
        (vec![el(b"dir"), long], 1200),
        (vec![el(b"bad\xff\xfeutf8")], 800),
        (vec![el(b"dup")], 1100),
        (vec![el(b"dup")], 1300),
        (vec![el(b"DUP")], 600),
        (vec![el(b"x")], 400),
        (vec![el(b"x"), el(b"y")], 20_500),
        (vec![el(b"x"), el(b"y"), el(b"z")], 40_000),
        (vec![el(b"a\\b")], 100),
    ];
    // 20,000 bytes: not a power of two, not a multiple of the 16 KiB block.
    let piece_length = 20_000;
    let (torrent_bytes, data) = build_torrent(b"odd names. ", &specs, piece_length);
    let torrent_path = sandbox.path().join("names.torrent");
    std::fs::write(&torrent_path, &torrent_bytes).unwrap();
    let meta = Metainfo::from_bytes(&torrent_bytes).unwrap();
    assert_eq!(meta.info.name, "odd names");
    let mut seen = std::collections::HashSet::new();
    for f in &meta.info.files {
        assert!(seen.insert(f.path.clone()), "duplicate {:?}", f.path);
        for c in f.path.components() {
            let Component::Normal(c) = c else {
                panic!("unsafe path {:?}", f.path)
            };
            let c = c.to_str().expect("sanitised names are UTF-8");
            assert!(c.len() <= 255, "{c:?} is {} bytes", c.len());
            assert!(
                !c.ends_with('.') && !c.ends_with(' ') && !c.starts_with(' '),
                "{c:?}"
            );
            let stem = c.split('.').next().unwrap().to_ascii_uppercase();
            assert!(
                !["CON", "NUL", "AUX", "COM1"].contains(&stem.as_str()),
                "{c:?}"
            );
        }
    }
    for (i, p) in seen.iter().enumerate() {
        for (j, q) in seen.iter().enumerate() {
            assert!(i == j || !q.starts_with(p), "{p:?} is a directory of {q:?}");
        }
    }

    let seed_dir = sandbox.path().join("seed");
    write_content(&meta, &data, &seed_dir);
    let (_seeder, addr) = seed(&torrent_path, &seed_dir);
    let out_dir = sandbox.path().join("leech/out");
    let (ok, stderr) = get(&torrent_path, &out_dir, &addr);
    assert!(ok, "shoal get failed: {stderr}");

    let mut written = Vec::new();
    all_files(&sandbox.path().join("leech"), &mut written);
    written.retain(|p| p.extension().is_none_or(|e| e != "stderr"));
    assert_eq!(written.len(), specs.len(), "files written: {written:?}");
    let mut offset = 0;
    for f in &meta.info.files {
        let got = std::fs::read(out_dir.join(&f.path)).unwrap();
        assert!(
            got == data[offset..offset + f.length as usize],
            "{:?} differs",
            f.path
        );
        offset += f.length as usize;
    }
}

#[test]
fn symlinks_in_the_output_directory_are_not_followed() {
    let sandbox = tempfile::tempdir().unwrap();
    let specs: Vec<(Vec<Vec<u8>>, usize)> = vec![
        (vec![b"inner".to_vec(), b"f.bin".to_vec()], 50_000),
        (vec![b"g.bin".to_vec()], 30_000),
    ];
    let (torrent_bytes, data) = build_torrent(b"content", &specs, 16384);
    let torrent_path = sandbox.path().join("t.torrent");
    std::fs::write(&torrent_path, &torrent_bytes).unwrap();
    let meta = Metainfo::from_bytes(&torrent_bytes).unwrap();
    let seed_dir = sandbox.path().join("seed");
    write_content(&meta, &data, &seed_dir);
    let (_seeder, addr) = seed(&torrent_path, &seed_dir);

    let outside = sandbox.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let secret = outside.join("secret");
    std::fs::write(&secret, b"do not overwrite").unwrap();
    let snapshot = |dir: &Path| {
        let mut files = Vec::new();
        all_files(dir, &mut files);
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).unwrap();
                (p, bytes)
            })
            .collect::<Vec<_>>()
    };
    let before = snapshot(&outside);

    // 1. The torrent's top directory is a symlink to a directory outside.
    let out1 = sandbox.path().join("out1");
    std::fs::create_dir_all(&out1).unwrap();
    std::os::unix::fs::symlink(&outside, out1.join("content")).unwrap();
    let (ok, stderr) = get(&torrent_path, &out1, &addr);
    assert!(!ok, "shoal get followed a symlinked torrent directory");
    assert!(
        stderr.contains("content"),
        "error does not name the path: {stderr}"
    );
    println!("symlinked directory: {}", stderr.trim());

    // 2. A subdirectory is a symlink.
    let out2 = sandbox.path().join("out2");
    std::fs::create_dir_all(out2.join("content")).unwrap();
    std::os::unix::fs::symlink(&outside, out2.join("content/inner")).unwrap();
    let (ok, stderr) = get(&torrent_path, &out2, &addr);
    assert!(!ok, "shoal get followed a symlinked subdirectory");
    assert!(
        stderr.contains("inner"),
        "error does not name the path: {stderr}"
    );

    // 3. A file is a symlink to a file outside (and a dangling one to a new file).
    let out3 = sandbox.path().join("out3");
    std::fs::create_dir_all(out3.join("content/inner")).unwrap();
    std::os::unix::fs::symlink(&secret, out3.join("content/g.bin")).unwrap();
    std::os::unix::fs::symlink(outside.join("created"), out3.join("content/inner/f.bin")).unwrap();
    let (ok, stderr) = get(&torrent_path, &out3, &addr);
    assert!(!ok, "shoal get followed a symlinked file");
    assert!(
        stderr.contains(".bin"),
        "error does not name the path: {stderr}"
    );

    assert_eq!(snapshot(&outside), before, "something was written outside");
    assert_eq!(std::fs::read(&secret).unwrap(), b"do not overwrite");
}
