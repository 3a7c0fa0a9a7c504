//! Tests of sealing and opening the region: incremental opening, wrong keys, tampering
//! and hostile manifests sealed with the real key.

use crate::header::seal_plaintext;
use crate::{
    open_header, ContentKey, Manifest, ManifestEntry, ManifestError, OpenError, Opened,
    PrivateLayout, HEADER_LEN, MAX_SEALED_LEN,
};

fn key() -> ContentKey {
    ContentKey::from_bytes([42; 32])
}

fn sample() -> Manifest {
    Manifest {
        root_name: "holiday".into(),
        entries: vec![
            ManifestEntry {
                path: vec!["a.jpg".into()],
                length: 1000,
                mode: 0o644,
            },
            ManifestEntry {
                path: vec!["sub".into(), "b.jpg".into()],
                length: 24,
                mode: 0o600,
            },
        ],
    }
}

fn sealed() -> PrivateLayout {
    PrivateLayout::seal(sample(), &key()).unwrap()
}

fn open_all(region: &[u8], stream_len: u64, key: &ContentKey) -> Result<Opened, OpenError> {
    open_header(region, stream_len, key)
}

#[test]
fn opens_incrementally() {
    let layout = sealed();
    let region = layout.region();
    let len = layout.stream_len();
    for given in [0, 1, 8, 31] {
        assert!(matches!(
            open_header(&region[..given], len, &key()),
            Ok(Opened::NeedBytes(n)) if n == HEADER_LEN as u64
        ));
    }
    for given in [32, 56, region.len() - 1] {
        assert!(matches!(
            open_header(&region[..given], len, &key()),
            Ok(Opened::NeedBytes(n)) if n == region.len() as u64
        ));
    }
    let mut more = region.to_vec();
    more.extend_from_slice(&[0xee; 100]);
    let Ok(Opened::Ready(opened)) = open_header(&more, len, &key()) else {
        panic!("not ready");
    };
    assert_eq!(opened.manifest(), &sample());
    assert_eq!(opened.region(), region);
    assert_eq!(opened.stream_len(), len);
    assert_eq!(opened.data_offset(), layout.data_offset());
}

#[test]
fn sealing_is_deterministic_per_key() {
    assert_eq!(sealed().region(), sealed().region());
    let other = PrivateLayout::seal(sample(), &ContentKey::from_bytes([1; 32])).unwrap();
    assert_ne!(other.region(), sealed().region());
    assert_ne!(other.stream_name(), sealed().stream_name());
}

#[test]
fn wrong_key_detected_from_first_32_bytes() {
    let layout = sealed();
    let wrong = ContentKey::from_bytes([43; 32]);
    for given in [32, layout.region().len()] {
        assert_eq!(
            open_header(&layout.region()[..given], layout.stream_len(), &wrong).unwrap_err(),
            OpenError::WrongKey
        );
    }
}

#[test]
fn tampering_detected() {
    let layout = sealed();
    let len = layout.stream_len();
    let flip = |at: usize| {
        let mut r = layout.region().to_vec();
        r[at] ^= 0x01;
        open_all(&r, len, &key())
    };
    assert_eq!(flip(0).unwrap_err(), OpenError::NotPrivateContent);
    assert_eq!(flip(11).unwrap_err(), OpenError::UnsupportedVersion(0));
    assert_eq!(flip(20).unwrap_err(), OpenError::WrongKey);
    assert_eq!(flip(40).unwrap_err(), OpenError::CorruptManifest);
    assert_eq!(
        flip(HEADER_LEN + 3).unwrap_err(),
        OpenError::CorruptManifest
    );
    let last = layout.region().len() - 1;
    assert_eq!(flip(last).unwrap_err(), OpenError::CorruptManifest);
    // A shorter sealed length is covered by the AAD.
    assert_eq!(flip(14).unwrap_err(), OpenError::CorruptManifest);
    assert_eq!(
        open_all(b"d8:announce", 1 << 20, &key()).unwrap_err(),
        OpenError::NotPrivateContent
    );
}

#[test]
fn lengths_checked() {
    let layout = sealed();
    let region = layout.region();
    assert_eq!(
        open_all(region, layout.stream_len() + 1, &key()).unwrap_err(),
        OpenError::LengthMismatch {
            stream: layout.stream_len() + 1,
            manifest: layout.stream_len()
        }
    );
    assert!(matches!(
        open_all(&region[..32], 100, &key()),
        Err(OpenError::LengthMismatch { .. })
    ));
    assert_eq!(
        open_all(&region[..8], 10, &key()).unwrap_err(),
        OpenError::NotPrivateContent
    );
    let mut huge = region[..HEADER_LEN].to_vec();
    huge[12..16].copy_from_slice(&(MAX_SEALED_LEN + 1).to_be_bytes());
    assert_eq!(
        open_all(&huge, u64::MAX, &key()).unwrap_err(),
        OpenError::BadSealedLength(MAX_SEALED_LEN + 1)
    );
    huge[12..16].copy_from_slice(&15u32.to_be_bytes());
    assert_eq!(
        open_all(&huge, u64::MAX, &key()).unwrap_err(),
        OpenError::BadSealedLength(15)
    );
}

#[test]
fn oversized_manifest_refused_when_sealing() {
    let plain = vec![0u8; MAX_SEALED_LEN as usize];
    assert!(matches!(
        seal_plaintext(&plain, &key()),
        Err(ManifestError::TooLarge(_))
    ));
}

/// Seals `plain` as a manifest with the real key and opens it.
fn open_forged(plain: &[u8]) -> Result<Opened, OpenError> {
    let region = seal_plaintext(plain, &key()).unwrap();
    open_header(&region, region.len() as u64 + 10, &key())
}

#[test]
fn hostile_manifests_refused() {
    let cases: &[(&[u8], &str)] = &[
        (b"d5:filesld6:lengthi10e4:modei0e4:pathl2:..eee4:name1:re", "dotdot"),
        (b"d5:filesld6:lengthi10e4:modei0e4:pathl4:/etceee4:name1:re", "absolute"),
        (b"d5:filesld6:lengthi10e4:modei0e4:pathl3:a\0beee4:name1:re", "nul"),
        (b"d5:filesld6:lengthi10e4:modei0e4:pathl0:eee4:name1:re", "empty"),
        (b"d5:filesld6:lengthi10e4:modei0e4:pathleee4:name2:..e", "root dotdot"),
        (b"d5:filesld6:lengthi10e4:modei0e4:pathleee4:name4:/tmpe", "root absolute"),
        (
            b"d5:filesld6:lengthi5e4:modei0e4:pathl1:xeed6:lengthi5e4:modei0e4:pathl1:xeee4:name1:re",
            "duplicate",
        ),
        (
            b"d5:filesld6:lengthi5e4:modei0e4:pathl1:xeed6:lengthi5e4:modei0e4:pathl1:x1:yeee4:name1:re",
            "file used as directory",
        ),
        (b"d5:filesld6:lengthi10e4:modei0e4:pathl1:aeee4:name1:re\x01", "dirty padding"),
        (b"not bencode", "garbage"),
    ];
    for (plain, what) in cases {
        match open_forged(plain) {
            Err(OpenError::Manifest(_)) => {}
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn forged_but_valid_manifest_opens() {
    let plain = b"d5:extrai1e5:filesld6:lengthi10e4:modei420e4:pathl1:aeee4:name1:re";
    assert!(matches!(open_forged(plain), Ok(Opened::Ready(_))));
}
