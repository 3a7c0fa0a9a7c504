//! End-to-end tests with real files: scan → source → ciphertext stream → sink in random
//! chunk orders and sizes, the ciphertext hides names and contents, wrong keys and
//! hostile output directories write nothing.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::{
    open_header, scan_path, ContentKey, OpenError, Opened, PrivateLayout, PrivateSink,
    PrivateSource,
};

const PATTERN: &[u8] = b"KNOWN-PLAINTEXT-PATTERN-";
const SECRET_NAME: &str = "secret-diary-name.txt";

fn write(path: &Path, data: &[u8], mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A tree with nested directories, empty files and a multi-MB file.
fn make_tree(root: &Path) -> Vec<(PathBuf, u32)> {
    let big: Vec<u8> = PATTERN.iter().copied().cycle().take(3 << 20).collect();
    let mut rng = StdRng::seed_from_u64(1);
    let noise: Vec<u8> = (0..100_000).map(|_| rng.gen()).collect();
    let files: Vec<(&str, Vec<u8>, u32)> = vec![
        ("big.bin", big, 0o644),
        ("a/b/c/deep.txt", b"deep file contents".to_vec(), 0o600),
        ("a/empty", Vec::new(), 0o644),
        ("a/noise", noise, 0o755),
        (SECRET_NAME, PATTERN.repeat(3), 0o444),
        ("z/zero", Vec::new(), 0o700),
    ];
    files
        .into_iter()
        .map(|(rel, data, mode)| {
            let path = root.join(rel);
            write(&path, &data, mode);
            (PathBuf::from(rel), mode)
        })
        .collect()
}

/// The whole ciphertext stream, read from the source in random chunk sizes.
fn read_all(source: &PrivateSource, rng: &mut StdRng) -> Vec<u8> {
    let len = source.layout().stream_len() as usize;
    let mut out = vec![0u8; len];
    let mut at = 0;
    while at < len {
        let n = rng.gen_range(1..=70_000).min(len - at);
        source.read_stream(at as u64, &mut out[at..at + n]).unwrap();
        at += n;
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Opens the stream like a receiver: feed growing prefixes until the layout is ready.
fn open(stream: &[u8], key: &ContentKey) -> Result<PrivateLayout, OpenError> {
    let mut have = 16_384.min(stream.len());
    loop {
        match open_header(&stream[..have], stream.len() as u64, key)? {
            Opened::Ready(layout) => return Ok(layout),
            Opened::NeedBytes(n) => {
                assert!(n as usize > have && n as usize <= stream.len());
                have = n as usize;
            }
        }
    }
}

/// Writes `stream` into `sink` as shuffled chunks of random sizes.
fn write_shuffled(sink: &PrivateSink, stream: &[u8], rng: &mut StdRng) {
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < stream.len() {
        let n = rng.gen_range(1..=50_000).min(stream.len() - at);
        chunks.push(at..at + n);
        at += n;
    }
    chunks.shuffle(rng);
    for chunk in chunks {
        sink.write_stream(chunk.start as u64, &stream[chunk])
            .unwrap();
    }
}

#[test]
fn directory_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let src_root = tmp.path().join("share");
    let files = make_tree(&src_root);
    let out = tmp.path().join("out");
    let key = ContentKey::generate();
    let mut rng = StdRng::seed_from_u64(7);

    let report = scan_path(&src_root).unwrap();
    assert!(report.skipped.is_empty());
    let source = PrivateSource::new(&src_root, report.manifest, &key).unwrap();
    let stream = read_all(&source, &mut rng);
    assert_eq!(stream.len() as u64, source.layout().stream_len());

    assert!(!contains(&stream, SECRET_NAME.as_bytes()));
    assert!(!contains(&stream, b"deep.txt"));
    assert!(!contains(&stream, b"share"));
    assert!(!contains(&stream, &PATTERN[..16]));
    assert!(!source.layout().stream_name().contains("share"));

    let layout = open(&stream, &key).unwrap();
    assert_eq!(layout.manifest(), source.layout().manifest());
    let sink = PrivateSink::new(&out, layout, &key);
    assert!(!out.exists(), "opening must not touch the disk");
    write_shuffled(&sink, &stream, &mut rng);
    sink.finish().unwrap();

    for (rel, mode) in &files {
        let got = out.join("share").join(rel);
        assert_eq!(
            fs::read(&got).unwrap(),
            fs::read(src_root.join(rel)).unwrap()
        );
        let applied = fs::metadata(&got).unwrap().permissions().mode() & 0o7777;
        assert_eq!(applied, *mode, "{}", rel.display());
    }

    // Re-seeding: the sink serves the same ciphertext from its plaintext files.
    for _ in 0..50 {
        let start = rng.gen_range(0..stream.len());
        let end = rng.gen_range(start..=stream.len().min(start + 200_000));
        let mut buf = vec![0u8; end - start];
        sink.read_stream(start as u64, &mut buf).unwrap();
        assert_eq!(buf, &stream[start..end]);
    }

    // A restarted sender with the same key and files produces the same stream.
    let again =
        PrivateSource::new(&src_root, scan_path(&src_root).unwrap().manifest, &key).unwrap();
    assert_eq!(read_all(&again, &mut rng), stream);
}

#[test]
fn single_file_round_trip_and_mode_mask() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("movie.mkv");
    write(&file, &PATTERN.repeat(1000), 0o4777);
    let key = ContentKey::generate();
    let mut rng = StdRng::seed_from_u64(3);

    let manifest = scan_path(&file).unwrap().manifest;
    assert_eq!(manifest.entries[0].mode, 0o4777);
    let source = PrivateSource::new(&file, manifest, &key).unwrap();
    let stream = read_all(&source, &mut rng);
    let out = tmp.path().join("out");
    let sink = PrivateSink::new(&out, open(&stream, &key).unwrap(), &key);
    assert_eq!(sink.target_path(), out.join("movie.mkv"));
    write_shuffled(&sink, &stream, &mut rng);
    sink.finish().unwrap();
    let got = out.join("movie.mkv");
    assert_eq!(fs::read(&got).unwrap(), fs::read(&file).unwrap());
    assert_eq!(
        fs::metadata(&got).unwrap().permissions().mode() & 0o7777,
        0o755
    );
}

#[test]
fn empty_directory_share() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nothing");
    fs::create_dir(&dir).unwrap();
    let key = ContentKey::generate();
    let source = PrivateSource::new(&dir, scan_path(&dir).unwrap().manifest, &key).unwrap();
    let stream = read_all(&source, &mut StdRng::seed_from_u64(0));
    let out = tmp.path().join("out");
    let sink = PrivateSink::new(&out, open(&stream, &key).unwrap(), &key);
    sink.write_stream(0, &stream).unwrap();
    sink.finish().unwrap();
    assert!(out.join("nothing").is_dir());
}

#[test]
fn wrong_key_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src_root = tmp.path().join("share");
    make_tree(&src_root);
    let key = ContentKey::generate();
    let source =
        PrivateSource::new(&src_root, scan_path(&src_root).unwrap().manifest, &key).unwrap();
    let mut first = vec![0u8; 32];
    source.read_stream(0, &mut first).unwrap();
    let wrong = ContentKey::generate();
    let err = open_header(&first, source.layout().stream_len(), &wrong).unwrap_err();
    assert_eq!(err, OpenError::WrongKey);
}

#[test]
fn sink_refuses_symlinks_out_of_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let src_root = tmp.path().join("share");
    make_tree(&src_root);
    let key = ContentKey::generate();
    let source =
        PrivateSource::new(&src_root, scan_path(&src_root).unwrap().manifest, &key).unwrap();
    let stream = read_all(&source, &mut StdRng::seed_from_u64(5));

    let out = tmp.path().join("out");
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir_all(out.join("share")).unwrap();
    fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, out.join("share/a")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("big"), out.join("share/big.bin")).unwrap();

    let sink = PrivateSink::new(&out, open(&stream, &key).unwrap(), &key);
    assert!(sink.write_stream(0, &stream).is_err());
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn source_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("f");
    write(&file, &[1; 10_000], 0o644);
    let key = ContentKey::generate();
    let source = PrivateSource::new(&file, scan_path(&file).unwrap().manifest, &key).unwrap();
    let len = source.layout().stream_len();
    let mut buf = [0u8; 10];
    let err = source.read_stream(len - 5, &mut buf).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(source.read_stream(u64::MAX, &mut buf).is_err());

    let shrunk = PrivateSource::new(&file, scan_path(&file).unwrap().manifest, &key).unwrap();
    fs::write(&file, [1; 100]).unwrap();
    let err = shrunk.read_stream(len - 10, &mut buf).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
}

#[test]
fn source_and_sink_are_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PrivateSource>();
    assert_send_sync::<PrivateSink>();
    assert_send_sync::<PrivateLayout>();
}
