//! Creating a `.torrent` from a file or directory on disk.
//!
//! Directory walking rules: every regular file below the directory is included (hidden
//! files and empty files too), sorted by their relative path compared element by element
//! as bytes. Symbolic links are followed — to files and to directories, wherever they
//! point — since the user chose the source; a link cycle is an error. Anything that is
//! neither a regular file nor a directory (FIFOs, sockets, devices, broken links) is an
//! error rather than silently skipped. A name that [`sanitize_component`] would change
//! (invalid UTF-8, `CON`, trailing dot, …) is an error too: downloaders would save it under
//! a different name, so seeding from the original files would not match.
//!
//! [`sanitize_component`]: crate::sanitize_component

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use shoal_bencode::OwnedValue;

use crate::hash::{hash_pieces, StreamFile};
use crate::info::{MAX_FILES, MAX_PIECE_LENGTH};
use crate::sanitize::is_safe_component;
use crate::{Metainfo, MetainfoError};

/// Smallest and largest automatic piece length.
const AUTO_MIN: u32 = 16 * 1024;
const AUTO_MAX: u32 = 16 * 1024 * 1024;
/// Automatic piece length doubles until there are at most this many pieces.
const AUTO_TARGET_PIECES: u64 = 2000;

/// Settings for [`create_torrent`].
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Tracker URLs; each becomes its own BEP 12 tier, the first is also `announce`.
    pub trackers: Vec<String>,
    /// Piece length: a power of two from 16 KiB to 256 MiB; `None` = [`auto_piece_length`].
    pub piece_length: Option<u32>,
    /// Set `private` = 1 (BEP 27).
    pub private: bool,
    /// `comment`.
    pub comment: Option<String>,
    /// `created by`; `None` = `shoal/<version>`.
    pub created_by: Option<String>,
    /// `creation date` (Unix seconds); `None` = now.
    pub creation_date: Option<i64>,
    /// Hashing threads; `None` = all cores.
    pub threads: Option<usize>,
}

/// Why a torrent could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    /// Reading the source failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory being read.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The source holds no data (no files, or only empty ones).
    #[error("{}: nothing to share (no data)", path.display())]
    Empty {
        /// The source path.
        path: PathBuf,
    },
    /// A name downloaders would have to rename (see the module docs).
    #[error("{}: file name is not portable (invalid UTF-8, reserved or trailing dot/space)", path.display())]
    UnsafeName {
        /// The file or directory so named.
        path: PathBuf,
    },
    /// Neither a regular file nor a directory.
    #[error("{}: not a regular file or directory", path.display())]
    UnsupportedFileType {
        /// What was found.
        path: PathBuf,
    },
    /// A symbolic link leads back into a directory being walked.
    #[error("{}: symbolic link loop", path.display())]
    SymlinkLoop {
        /// The link.
        path: PathBuf,
    },
    /// More than [`crate::MAX_FILES`] files.
    #[error("more than {max} files")]
    TooManyFiles {
        /// The limit.
        max: usize,
    },
    /// Piece length not a power of two in 16 KiB..=256 MiB.
    #[error("piece length {0} must be a power of two from 16 KiB to 256 MiB")]
    BadPieceLength(u32),
    /// A file shrank while it was being hashed.
    #[error("{}: file changed while hashing", path.display())]
    FileChanged {
        /// The file.
        path: PathBuf,
    },
    /// The generated torrent failed to parse back (a bug).
    #[error("generated torrent is invalid: {0}")]
    Invalid(#[from] MetainfoError),
}

/// Power-of-two piece length in 16 KiB..=16 MiB giving at most ~2000 pieces (and at least
/// ~1000 unless the minimum or maximum applies).
pub fn auto_piece_length(total: u64) -> u32 {
    let mut pl = AUTO_MIN;
    while pl < AUTO_MAX && total.div_ceil(u64::from(pl)) > AUTO_TARGET_PIECES {
        pl *= 2;
    }
    pl
}

/// A file found under the source path.
pub(crate) struct Source {
    pub(crate) abs: PathBuf,
    pub(crate) rel: Vec<String>,
    pub(crate) length: u64,
    pub(crate) executable: bool,
}

/// Creates a torrent from `path` (a file, or a directory of files). See the module docs
/// for which files are included.
pub fn create_torrent(path: &Path, opts: &CreateOptions) -> Result<Metainfo, CreateError> {
    create_torrent_with_progress(path, opts, &|_, _| {})
}

/// Like [`create_torrent`], calling `progress(bytes_hashed, total_bytes)` from the hashing
/// threads as work completes.
pub fn create_torrent_with_progress(
    path: &Path,
    opts: &CreateOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Metainfo, CreateError> {
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| CreateError::Io { path: p, source }
    };
    let root = fs::canonicalize(path).map_err(io_err(path))?;
    // The name as given (a link keeps its own name); `.` and the like use the real one.
    let name = path
        .file_name()
        .or_else(|| root.file_name())
        .and_then(|n| n.to_str())
        .filter(|n| is_safe_component(n))
        .ok_or_else(|| CreateError::UnsafeName { path: root.clone() })?
        .to_owned();
    let meta = fs::metadata(&root).map_err(io_err(&root))?;
    let (sources, multi_file) = if meta.is_dir() {
        let mut found = Vec::new();
        let mut ancestors = vec![root.clone()];
        walk(&root, &mut Vec::new(), &mut ancestors, &mut found)?;
        found.sort_by(|a, b| a.rel.cmp(&b.rel));
        (found, true)
    } else if meta.is_file() {
        let single = Source {
            abs: root.clone(),
            rel: Vec::new(),
            length: meta.len(),
            executable: is_executable(&meta),
        };
        (vec![single], false)
    } else {
        return Err(CreateError::UnsupportedFileType { path: root });
    };

    let mut files = Vec::with_capacity(sources.len());
    let mut total: u64 = 0;
    for s in &sources {
        let file = File::open(&s.abs).map_err(io_err(&s.abs))?;
        files.push(StreamFile {
            file,
            path: s.abs.clone(),
            length: s.length,
            offset: total,
        });
        total = total.saturating_add(s.length);
    }
    if total == 0 {
        return Err(CreateError::Empty { path: root });
    }
    let piece_length = match opts.piece_length {
        None => auto_piece_length(total),
        Some(pl) if pl.is_power_of_two() && (AUTO_MIN..=MAX_PIECE_LENGTH).contains(&pl) => pl,
        Some(pl) => return Err(CreateError::BadPieceLength(pl)),
    };
    let threads = opts.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let pieces = hash_pieces(&files, total, piece_length, threads, &|done| {
        progress(done, total)
    })?;
    drop(files);

    let info = build_info(
        &name,
        piece_length,
        &pieces,
        &sources,
        multi_file,
        opts.private,
    );
    let torrent = build_torrent(info.encode(), opts);
    Ok(Metainfo::from_bytes(&torrent)?)
}

pub(crate) fn build_info(
    name: &str,
    piece_length: u32,
    pieces: &[[u8; 20]],
    sources: &[Source],
    multi_file: bool,
    private: bool,
) -> OwnedValue {
    let mut info = OwnedValue::dict();
    info.insert("name", name);
    info.insert("piece length", piece_length);
    info.insert("pieces", pieces.concat());
    if private {
        info.insert("private", 1i64);
    }
    if multi_file {
        let list: Vec<OwnedValue> = sources
            .iter()
            .map(|s| {
                let mut f = OwnedValue::dict();
                f.insert("length", s.length);
                let path: Vec<OwnedValue> =
                    s.rel.iter().map(|c| OwnedValue::from(c.as_str())).collect();
                f.insert("path", path);
                if s.executable {
                    f.insert("attr", "x");
                }
                f
            })
            .collect();
        info.insert("files", list);
    } else if let Some(s) = sources.first() {
        info.insert("length", s.length);
        if s.executable {
            info.insert("attr", "x");
        }
    }
    info
}

pub(crate) fn build_torrent(info_bytes: Vec<u8>, opts: &CreateOptions) -> Vec<u8> {
    let mut root = OwnedValue::dict();
    if let Some(first) = opts.trackers.first() {
        root.insert("announce", first.as_str());
        let tiers: Vec<OwnedValue> = opts
            .trackers
            .iter()
            .map(|t| OwnedValue::List(vec![OwnedValue::from(t.as_str())]))
            .collect();
        root.insert("announce-list", tiers);
    }
    if let Some(c) = &opts.comment {
        root.insert("comment", c.as_str());
    }
    let created_by = opts
        .created_by
        .clone()
        .unwrap_or_else(|| format!("shoal/{}", env!("CARGO_PKG_VERSION")));
    root.insert("created by", created_by);
    let date = opts.creation_date.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    });
    root.insert("creation date", date);
    root.insert("info", OwnedValue::Raw(info_bytes));
    root.encode()
}

fn walk(
    dir: &Path,
    rel: &mut Vec<String>,
    ancestors: &mut Vec<PathBuf>,
    out: &mut Vec<Source>,
) -> Result<(), CreateError> {
    let io_err = |p: &Path, source| CreateError::Io {
        path: p.to_path_buf(),
        source,
    };
    let entries = fs::read_dir(dir).map_err(|e| io_err(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let path = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .ok()
            .filter(|n| is_safe_component(n))
            .ok_or_else(|| CreateError::UnsafeName { path: path.clone() })?;
        // Follows symbolic links; a dangling link fails here with NotFound.
        let meta = fs::metadata(&path).map_err(|e| io_err(&path, e))?;
        if meta.is_dir() {
            let canonical = fs::canonicalize(&path).map_err(|e| io_err(&path, e))?;
            if ancestors.contains(&canonical) {
                return Err(CreateError::SymlinkLoop { path });
            }
            ancestors.push(canonical);
            rel.push(name);
            walk(&path, rel, ancestors, out)?;
            rel.pop();
            ancestors.pop();
        } else if meta.is_file() {
            if out.len() >= MAX_FILES {
                return Err(CreateError::TooManyFiles { max: MAX_FILES });
            }
            let mut file_rel = rel.clone();
            file_rel.push(name);
            out.push(Source {
                abs: path,
                rel: file_rel,
                length: meta.len(),
                executable: is_executable(&meta),
            });
        } else {
            return Err(CreateError::UnsupportedFileType { path });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}
