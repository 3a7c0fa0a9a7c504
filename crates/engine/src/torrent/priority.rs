//! What the user wants of a torrent's pieces — per-file priorities, sequential order,
//! the bytes a streaming reader waits for — turned into the picker's wanted set and
//! priority list.
//!
//! Wanted: a piece is wanted when any non-skipped file overlaps it, so a piece shared
//! by a skipped and a wanted file is still downloaded. Priority list, most urgent first:
//! the streaming reader's pieces, the store's own (a private stream's header), pieces of
//! high-priority files, then a window of the next missing pieces in index order when
//! sequential. `Low` is downloaded like `Normal`, after everything prioritised.

use crate::config::FilePriority;
use shoal_metainfo::Metainfo;
use shoal_swarm::Picker;
use std::ops::Range;

/// Missing pieces, from the first, kept in the sequential window: more than a deep
/// request pipeline holds, so extra requests do not fall back to rarest-first.
const SEQUENTIAL_WINDOW: usize = 1024;
/// Most pieces of high-priority files put ahead of the others at a time.
const HIGH_FILE_PIECES: usize = 1024;

/// The inputs of the picker's wanted set and priority list.
/// Fields are public to the torrent: set at creation (`create.rs`), changed only by
/// this module's functions under the torrent's lock.
#[derive(Debug, Default)]
pub(crate) struct Wishes {
    /// Per file in metainfo order; empty = all `Normal`.
    pub files: Vec<FilePriority>,
    pub sequential: bool,
    /// Per streaming reader (by id): the pieces it asked for, most urgent first.
    pub streams: std::collections::BTreeMap<u64, Vec<u32>>,
    /// The id the next streaming reader gets.
    pub next_stream: u64,
    /// Below this index every wanted piece is had (where the sequential scan starts).
    pub cursor: u32,
}

impl Wishes {
    pub(crate) fn priority_of(&self, file: usize) -> FilePriority {
        self.files.get(file).copied().unwrap_or_default()
    }

    /// Every streaming reader's pieces taken in turn (each reader's most urgent first,
    /// then each one's second, …), without repeats.
    pub(crate) fn stream_pieces(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let longest = self.streams.values().map(Vec::len).max().unwrap_or(0);
        for i in 0..longest {
            for pieces in self.streams.values() {
                if let Some(p) = pieces.get(i) {
                    if seen.insert(*p) {
                        out.push(*p);
                    }
                }
            }
        }
        out
    }

    /// Whether the priority list changes as pieces are verified.
    pub(crate) fn needs_refresh_on_verify(&self) -> bool {
        self.sequential
    }
}

/// The pieces overlapping `file` of `meta` (empty for an empty file).
pub(crate) fn file_pieces(meta: &Metainfo, file: usize) -> Range<u32> {
    let Some(f) = meta.info.files.get(file) else {
        return 0..0;
    };
    byte_pieces(meta, f.offset..f.offset.saturating_add(f.length))
}

/// The pieces covering `bytes` of the torrent's stream (clamped to its length).
pub(crate) fn byte_pieces(meta: &Metainfo, bytes: Range<u64>) -> Range<u32> {
    let total = meta.info.total_length;
    let end = bytes.end.min(total);
    if bytes.start >= end {
        return 0..0;
    }
    let pl = u64::from(meta.info.piece_length.max(1));
    let first = u32::try_from(bytes.start / pl).unwrap_or(u32::MAX);
    let last = u32::try_from((end - 1) / pl).unwrap_or(u32::MAX);
    first..last.saturating_add(1).min(meta.info.num_pieces())
}

/// Marks pieces wanted or not from the file priorities.
pub(crate) fn apply_wanted(meta: &Metainfo, picker: &mut Picker, wishes: &mut Wishes) {
    let n = meta.info.num_pieces();
    if wishes.files.iter().all(|p| *p != FilePriority::Skip) {
        for piece in 0..n {
            picker.set_wanted(piece, true);
        }
    } else {
        let mut wanted = vec![false; n as usize];
        for (i, f) in meta.info.files.iter().enumerate() {
            if f.pad || wishes.priority_of(i) == FilePriority::Skip {
                continue;
            }
            for piece in file_pieces(meta, i) {
                if let Some(w) = wanted.get_mut(piece as usize) {
                    *w = true;
                }
            }
        }
        for (piece, w) in wanted.into_iter().enumerate() {
            picker.set_wanted(piece as u32, w);
        }
    }
    wishes.cursor = 0;
}

/// Rebuilds the picker's priority list; `store_first` are the store's own urgent pieces.
pub(crate) fn refresh_priority(
    meta: &Metainfo,
    picker: &mut Picker,
    wishes: &mut Wishes,
    store_first: Range<u32>,
) {
    let mut list: Vec<u32> = wishes.stream_pieces();
    list.extend(store_first);
    let mut high = 0;
    for (i, f) in meta.info.files.iter().enumerate() {
        if high >= HIGH_FILE_PIECES {
            break;
        }
        if f.pad || wishes.priority_of(i) != FilePriority::High {
            continue;
        }
        for piece in file_pieces(meta, i) {
            if high >= HIGH_FILE_PIECES {
                break;
            }
            if !picker.have().get(piece as usize) {
                list.push(piece);
                high += 1;
            }
        }
    }
    if wishes.sequential {
        let n = picker.num_pieces();
        let mut piece = wishes.cursor;
        let mut found = 0;
        let mut first_missing = None;
        while piece < n && found < SEQUENTIAL_WINDOW {
            if picker.is_wanted(piece) && !picker.have().get(piece as usize) {
                first_missing.get_or_insert(piece);
                list.push(piece);
                found += 1;
            }
            piece += 1;
        }
        wishes.cursor = first_missing.unwrap_or(n);
    }
    picker.set_priority(list);
}

#[cfg(test)]
mod tests {
    use super::Wishes;

    #[test]
    fn stream_pieces_take_readers_in_turn_without_repeats() {
        let mut w = Wishes::default();
        assert!(w.stream_pieces().is_empty());
        w.streams.insert(0, vec![10, 11, 12, 13]);
        w.streams.insert(1, vec![50, 51]);
        w.streams.insert(2, vec![11, 60]);
        assert_eq!(w.stream_pieces(), [10, 50, 11, 51, 60, 12, 13]);
        w.streams.remove(&0);
        assert_eq!(w.stream_pieces(), [50, 11, 51, 60]);
    }
}
