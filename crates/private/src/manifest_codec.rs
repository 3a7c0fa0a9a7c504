//! Bencode form of the manifest (the plaintext inside the sealed region):
//!
//! ```text
//! d
//!   5:files l
//!     d 6:length i<bytes>e 4:mode i<perm bits>e 4:path l <component>... e e
//!     ...
//!   e
//!   4:name <root name>
//! e
//! ```
//!
//! followed by zero bytes of padding up to the end of the plaintext. Keys are sorted (the
//! decoder is strict); unknown keys are ignored so fields can be added later.

use shoal_bencode::{decode_prefix, OwnedValue, Value};

use crate::manifest::{Manifest, ManifestEntry, ManifestError, MAX_ENTRIES};

/// The canonical bencode of a manifest (no padding). Does not validate.
pub(crate) fn encode_manifest(manifest: &Manifest) -> Vec<u8> {
    let files = manifest
        .entries
        .iter()
        .map(|e| {
            let mut d = OwnedValue::dict();
            // Valid manifests keep lengths ≤ 2^60 and modes ≤ 0o7777, both fit in i64.
            d.insert(
                "length",
                OwnedValue::Int(e.length.min(i64::MAX as u64) as i64),
            );
            d.insert("mode", OwnedValue::Int(i64::from(e.mode)));
            let path = e
                .path
                .iter()
                .map(|c| OwnedValue::Bytes(c.as_bytes().to_vec()))
                .collect();
            d.insert("path", OwnedValue::List(path));
            d
        })
        .collect();
    let mut root = OwnedValue::dict();
    root.insert("files", OwnedValue::List(files));
    root.insert(
        "name",
        OwnedValue::Bytes(manifest.root_name.as_bytes().to_vec()),
    );
    root.encode()
}

/// Decodes and validates a manifest plaintext (bencode followed by zero padding).
pub(crate) fn decode_manifest(plaintext: &[u8]) -> Result<Manifest, ManifestError> {
    let (value, used) = decode_prefix(plaintext)?;
    if plaintext
        .get(used..)
        .is_some_and(|pad| pad.iter().any(|b| *b != 0))
    {
        return Err(ManifestError::BadPadding);
    }
    let dict = value.as_dict().ok_or(ManifestError::BadField("manifest"))?;
    let root_name = dict
        .get_str(b"name")
        .ok_or(ManifestError::BadField("name"))?
        .to_owned();
    let files = dict
        .get_list(b"files")
        .ok_or(ManifestError::BadField("files"))?;
    if files.len() > MAX_ENTRIES {
        return Err(ManifestError::TooManyEntries(files.len()));
    }
    let entries = files
        .iter()
        .map(decode_entry)
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = Manifest { root_name, entries };
    manifest.validate()?;
    Ok(manifest)
}

fn decode_entry(value: &Value<'_>) -> Result<ManifestEntry, ManifestError> {
    let dict = value.as_dict().ok_or(ManifestError::BadField("files"))?;
    let length = dict
        .get_int(b"length")
        .ok_or(ManifestError::BadField("length"))?;
    let length = u64::try_from(length).map_err(|_| ManifestError::BadLength(length))?;
    let mode = dict
        .get_int(b"mode")
        .ok_or(ManifestError::BadField("mode"))?;
    let mode = u32::try_from(mode).map_err(|_| ManifestError::BadMode(mode))?;
    let raw_path = dict
        .get_list(b"path")
        .ok_or(ManifestError::BadField("path"))?;
    if raw_path.len() > crate::manifest::MAX_PATH_DEPTH {
        return Err(ManifestError::PathTooLong);
    }
    let path = raw_path
        .iter()
        .map(|c| {
            c.as_str()
                .map(str::to_owned)
                .ok_or(ManifestError::BadField("path"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ManifestEntry { path, length, mode })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            root_name: "photos".into(),
            entries: vec![
                ManifestEntry {
                    path: vec!["a".into(), "b.jpg".into()],
                    length: 1234,
                    mode: 0o644,
                },
                ManifestEntry {
                    path: vec!["empty".into()],
                    length: 0,
                    mode: 0o755,
                },
            ],
        }
    }

    #[test]
    fn round_trip_with_padding() {
        let m = sample();
        let mut bytes = encode_manifest(&m);
        assert_eq!(decode_manifest(&bytes).unwrap(), m);
        bytes.extend_from_slice(&[0; 100]);
        assert_eq!(decode_manifest(&bytes).unwrap(), m);
        bytes.push(1);
        assert_eq!(decode_manifest(&bytes), Err(ManifestError::BadPadding));
    }

    #[test]
    fn exact_encoding() {
        let m = Manifest {
            root_name: "f".into(),
            entries: vec![ManifestEntry {
                path: vec![],
                length: 3,
                mode: 0o600,
            }],
        };
        assert_eq!(
            encode_manifest(&m),
            b"d5:filesld6:lengthi3e4:modei384e4:pathleee4:name1:fe".to_vec()
        );
    }

    #[test]
    fn bad_fields_refused() {
        let cases: &[&[u8]] = &[
            b"le",
            b"d4:name1:fe",
            b"d5:filesle4:namei1ee",
            b"d5:fileslde4:name1:fe",
            b"d5:filesld6:lengthi-1e4:modei0e4:pathl1:aeee4:name1:fe",
            b"d5:filesld6:lengthi1e4:modei-1e4:pathl1:aeee4:name1:fe",
            b"d5:filesld6:lengthi1e4:modei0e4:pathli1eeee4:name1:fe",
            b"d5:filesld6:lengthi1e4:modei0e4:pathl2:..eee4:name1:fe",
            b"d5:filesld6:lengthi1e4:modei0e4:pathl1:aeed6:lengthi1e4:modei0e4:pathl1:aeee4:name1:fe",
            b"d5:filesle4:name2:\xff\xfee",
        ];
        for case in cases {
            assert!(
                decode_manifest(case).is_err(),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
    }
}
