//! Validation of a decoded `info` dictionary into an [`Info`].

use std::path::PathBuf;

use shoal_bencode::{Dict, Value};

use crate::error::MetainfoError;
use crate::info::{MAX_FILES, MAX_PATH_DEPTH, MAX_PIECE_LENGTH};
use crate::limits::MAX_PIECES;
use crate::sanitize::{sanitize_component, sanitize_elements, PathDeduper};
use crate::{FileEntry, Info, InfoHash};

/// Name used for a file whose every path element was dropped.
const EMPTY_PATH_NAME: &str = "_";

/// Prefers the `<key>.utf-8` variant (some old clients) when it is valid UTF-8 bytes.
fn get_bytes_utf8<'a>(dict: &Dict<'a>, key: &[u8], utf8_key: &[u8]) -> Option<&'a [u8]> {
    dict.get_bytes(utf8_key)
        .filter(|b| std::str::from_utf8(b).is_ok())
        .or_else(|| dict.get_bytes(key))
}

/// Parses and validates `info`. `info_hash` names the torrent if `name` is unusable.
pub(crate) fn parse_info(dict: &Dict<'_>, info_hash: InfoHash) -> Result<Info, MetainfoError> {
    let piece_length = parse_piece_length(dict)?;
    let pieces = parse_pieces(dict)?;
    let private = dict.get_int(b"private") == Some(1);

    let name = get_bytes_utf8(dict, b"name", b"name.utf-8")
        .and_then(sanitize_component)
        .unwrap_or_else(|| info_hash.to_hex());

    let (files, multi_file) = match (dict.get(b"length"), dict.get(b"files")) {
        (Some(_), Some(_)) => return Err(MetainfoError::BothLengthAndFiles),
        (None, None) => return Err(MetainfoError::NoLengthOrFiles),
        (Some(length), None) => (vec![single_file(dict, length, &name)?], false),
        (None, Some(list)) => (multi_files(list, &name)?, true),
    };

    let mut total_length: u64 = 0;
    for f in &files {
        total_length = total_length
            .checked_add(f.length)
            .ok_or(MetainfoError::LengthOverflow)?;
    }
    if total_length == 0 {
        return Err(MetainfoError::EmptyTorrent);
    }
    let expected = total_length.div_ceil(u64::from(piece_length));
    let actual = pieces.len() as u64;
    if expected != actual {
        return Err(MetainfoError::PieceCountMismatch { expected, actual });
    }
    Ok(Info {
        name,
        piece_length,
        pieces,
        files,
        total_length,
        private,
        multi_file,
    })
}

fn parse_piece_length(dict: &Dict<'_>) -> Result<u32, MetainfoError> {
    const FIELD: &str = "info.piece length";
    let raw = dict
        .get(b"piece length")
        .ok_or(MetainfoError::Missing { field: FIELD })?
        .as_int()
        .ok_or(MetainfoError::Invalid {
            field: FIELD,
            reason: "not an integer",
        })?;
    u32::try_from(raw)
        .ok()
        .filter(|&n| n > 0 && n <= MAX_PIECE_LENGTH)
        .ok_or(MetainfoError::Invalid {
            field: FIELD,
            reason: "must be between 1 byte and 256 MiB",
        })
}

fn parse_pieces(dict: &Dict<'_>) -> Result<Vec<[u8; 20]>, MetainfoError> {
    const FIELD: &str = "info.pieces";
    let Some(value) = dict.get(b"pieces") else {
        if dict.get_int(b"meta version") == Some(2) {
            return Err(MetainfoError::V2Only);
        }
        return Err(MetainfoError::Missing { field: FIELD });
    };
    let bytes = value.as_bytes().ok_or(MetainfoError::Invalid {
        field: FIELD,
        reason: "not a byte string",
    })?;
    if bytes.len() % 20 != 0 {
        return Err(MetainfoError::Invalid {
            field: FIELD,
            reason: "length is not a multiple of 20",
        });
    }
    if bytes.len() / 20 > MAX_PIECES {
        return Err(MetainfoError::TooManyPieces {
            count: bytes.len() / 20,
            max: MAX_PIECES,
        });
    }
    Ok(bytes
        .chunks_exact(20)
        .map(|c| {
            let mut h = [0u8; 20];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

/// Reads a non-negative integer length.
fn length_of(value: &Value<'_>) -> Option<u64> {
    value.as_int().and_then(|n| u64::try_from(n).ok())
}

struct Attrs {
    pad: bool,
    executable: bool,
    hidden: bool,
}

fn attrs(dict: &Dict<'_>) -> Attrs {
    let a = dict.get_bytes(b"attr").unwrap_or_default();
    Attrs {
        pad: a.contains(&b'p'),
        executable: a.contains(&b'x'),
        hidden: a.contains(&b'h'),
    }
}

fn single_file(
    dict: &Dict<'_>,
    length: &Value<'_>,
    name: &str,
) -> Result<FileEntry, MetainfoError> {
    let length = length_of(length).ok_or(MetainfoError::Invalid {
        field: "info.length",
        reason: "not a non-negative integer",
    })?;
    let a = attrs(dict);
    Ok(FileEntry {
        path: PathBuf::from(name),
        length,
        offset: 0,
        pad: a.pad,
        executable: a.executable,
        hidden: a.hidden,
    })
}

fn multi_files(list: &Value<'_>, name: &str) -> Result<Vec<FileEntry>, MetainfoError> {
    let entries = list.as_list().ok_or(MetainfoError::Invalid {
        field: "info.files",
        reason: "not a list",
    })?;
    if entries.len() > MAX_FILES {
        return Err(MetainfoError::TooManyFiles {
            count: entries.len(),
            max: MAX_FILES,
        });
    }
    let mut dedup = PathDeduper::default();
    let mut files = Vec::with_capacity(entries.len());
    let mut offset: u64 = 0;
    for (index, entry) in entries.iter().enumerate() {
        let bad = |field, reason| MetainfoError::InvalidFile {
            index,
            field,
            reason,
        };
        let d = entry
            .as_dict()
            .ok_or(bad("", "entry is not a dictionary"))?;
        let length = d
            .get(b"length")
            .ok_or(bad("length", "missing"))
            .and_then(|v| length_of(v).ok_or(bad("length", "not a non-negative integer")))?;
        let raw_path =
            raw_path_elements(d).ok_or(bad("path", "missing or not a list of byte strings"))?;
        if raw_path.len() > MAX_PATH_DEPTH {
            return Err(MetainfoError::PathTooDeep {
                index,
                depth: raw_path.len(),
                max: MAX_PATH_DEPTH,
            });
        }
        let a = attrs(d);
        let pad = a.pad || raw_path.first() == Some(&b".pad".as_slice());
        let mut comps = sanitize_elements(raw_path.iter().copied());
        if comps.is_empty() {
            comps.push(EMPTY_PATH_NAME.to_owned());
        }
        let unique = dedup.claim(comps);
        let mut path = PathBuf::from(name);
        path.extend(unique);
        files.push(FileEntry {
            path,
            length,
            offset,
            pad,
            executable: a.executable,
            hidden: a.hidden,
        });
        offset = offset
            .checked_add(length)
            .ok_or(MetainfoError::LengthOverflow)?;
    }
    Ok(files)
}

/// The raw `path` (or valid `path.utf-8`) elements of a file entry.
fn raw_path_elements<'a>(d: &Dict<'a>) -> Option<Vec<&'a [u8]>> {
    let as_elements = |v: &Value<'a>| -> Option<Vec<&'a [u8]>> {
        v.as_list()?.iter().map(Value::as_bytes).collect()
    };
    let utf8 = d
        .get(b"path.utf-8")
        .and_then(as_elements)
        .filter(|els| els.iter().all(|e| std::str::from_utf8(e).is_ok()));
    utf8.or_else(|| d.get(b"path").and_then(as_elements))
}
