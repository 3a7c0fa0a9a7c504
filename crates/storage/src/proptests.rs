//! Property tests: random layouts and random block writes against a `Vec<u8>` model.

use proptest::prelude::*;
use sha1::{Digest, Sha1};

use crate::tests::hashes;
use crate::{FileSpec, Layout, Storage, StorageError};

struct Model {
    data: Vec<u8>,
    ends: Vec<u64>,
    files: Vec<FileSpec>,
    created: Vec<bool>,
}

impl Model {
    fn file_at(&self, pos: u64) -> usize {
        self.ends.partition_point(|&e| e <= pos)
    }

    fn write(&mut self, offset: u64, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            let pos = offset + i as u64;
            let f = self.file_at(pos);
            if !self.files[f].pad {
                self.data[pos as usize] = b;
                self.created[f] = true;
            }
        }
    }

    /// Whether every byte of `[start, end)` is readable (pad or in a created file).
    fn readable(&self, start: u64, end: u64) -> bool {
        (start..end).all(|p| {
            let f = self.file_at(p);
            self.files[f].pad || self.created[f]
        })
    }
}

fn layout_strategy() -> impl Strategy<Value = (u32, Vec<(u64, bool)>)> {
    (
        1u32..=40,
        prop::collection::vec((0u64..=60, prop::bool::weighted(0.2)), 1..=7),
    )
}

fn build(pl: u32, files: &[(u64, bool)]) -> Layout {
    let files: Vec<FileSpec> = files
        .iter()
        .enumerate()
        .map(|(i, &(length, pad))| FileSpec {
            path: if pad {
                format!(".pad/{length}")
            } else {
                format!("d{}/f{i}", i % 2)
            }
            .into(),
            length,
            pad,
        })
        .collect();
    let total = files.iter().map(|f| f.length).sum();
    Layout {
        piece_length: pl,
        total_length: total,
        files,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn writes_read_back_like_model(
        (pl, files) in layout_strategy(),
        ops in prop::collection::vec((any::<u32>(), any::<u32>(), any::<u32>(), any::<u8>()), 0..24),
    ) {
        let layout = build(pl, &files);
        let n = layout.num_pieces();
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::new(dir.path(), layout.clone(), vec![[0; 20]; n as usize]).unwrap();
        let mut model = Model {
            data: vec![0; layout.total_length as usize],
            ends: crate::layout::file_ends(&layout.files),
            files: layout.files.clone(),
            created: vec![false; layout.files.len()],
        };

        for &(rp, rb, rl, seed) in &ops {
            if n == 0 {
                break;
            }
            let piece = rp % n;
            let size = layout.piece_size(piece);
            let begin = rb % size;
            let len = 1 + rl % (size - begin);
            let block: Vec<u8> = (0..len).map(|i| seed.wrapping_add(i as u8) | 1).collect();
            storage.write_block(piece, begin, &block).unwrap();
            model.write(layout.piece_offset(piece) + u64::from(begin), &block);
        }

        for piece in 0..n {
            let start = layout.piece_offset(piece);
            let size = layout.piece_size(piece) as usize;
            let mut buf = vec![0xEE; size];
            let res = storage.read_block(piece, 0, &mut buf);
            let expect = &model.data[start as usize..start as usize + size];
            if model.readable(start, start + size as u64) {
                prop_assert!(res.is_ok(), "{res:?}");
                prop_assert_eq!(&buf[..], expect);
                let h: [u8; 20] = Sha1::digest(expect).into();
                prop_assert_eq!(storage.hash_piece(piece).unwrap(), h);
            } else {
                prop_assert!(matches!(res, Err(StorageError::Missing { .. })), "{res:?}");
            }
        }

        // Files on disk match the model; pad files never exist.
        prop_assert!(!dir.path().join(".pad").exists());
        for (i, f) in layout.files.iter().enumerate().filter(|(_, f)| !f.pad) {
            let path = dir.path().join(&f.path);
            prop_assert_eq!(path.exists(), model.created[i]);
            if model.created[i] {
                let start = (model.ends[i] - f.length) as usize;
                prop_assert_eq!(std::fs::read(&path).unwrap(), &model.data[start..start + f.length as usize]);
            }
        }

        // A re-check with the model's hashes finds exactly the readable pieces.
        let checker = Storage::new(dir.path(), layout.clone(), hashes(&model.data, pl)).unwrap();
        let have = checker.check_existing(3, &|_| {}).unwrap();
        for piece in 0..n {
            let start = layout.piece_offset(piece);
            let end = start + u64::from(layout.piece_size(piece));
            prop_assert_eq!(have.get(piece as usize), model.readable(start, end), "piece {}", piece);
        }
    }

    #[test]
    fn arbitrary_requests_never_panic(
        (pl, files) in layout_strategy(),
        piece in any::<u32>(), begin in any::<u32>(), len in 0usize..200,
    ) {
        let layout = build(pl, &files);
        let n = layout.num_pieces();
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::new(dir.path(), layout.clone(), vec![[0; 20]; n as usize]).unwrap();
        // Small values are more interesting than uniformly random ones.
        let (piece, begin) = (piece % (n + 2), begin % (pl + 4));
        let in_range = piece < n && u64::from(begin) + len as u64 <= u64::from(layout.piece_size(piece));
        let data = vec![7u8; len];
        let w = storage.write_block(piece, begin, &data);
        prop_assert_eq!(w.is_ok(), in_range, "{:?}", w);
        let mut buf = vec![0u8; len];
        let r = storage.read_block(piece, begin, &mut buf);
        prop_assert_eq!(r.is_ok(), in_range, "{:?}", r);
        if !in_range {
            prop_assert!(matches!(r, Err(StorageError::OutOfRange { .. })), "{:?}", r);
        }
        let _ = storage.hash_piece(piece);
        let _ = storage.verify_piece(piece);
    }
}
