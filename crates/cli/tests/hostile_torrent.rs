//! A torrent whose paths try to escape the download directory (`..`, absolute paths,
//! empty and dot components, separators inside a component) is downloaded for real by
//! the `shoal` binary from a `shoal` seeder: every byte lands inside the output
//! directory and nothing is written anywhere else.
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
