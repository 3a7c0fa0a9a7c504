//! Path safety: turns hostile path elements from a torrent into safe relative file names.
//!
//! Every element of `name` and `files[].path` passes through [`sanitize_component`]; the
//! resulting path therefore only ever has `Component::Normal` parts and can never resolve
//! outside the download directory. [`PathDeduper`] then makes the paths within one torrent
//! unique (see its docs for the renaming rule).

use std::collections::HashMap;

/// Longest file-name element we produce, in bytes (the common filesystem limit).
pub const MAX_COMPONENT_BYTES: usize = 255;

/// Extensions up to this many bytes (including the dot) survive length truncation.
const MAX_KEPT_EXTENSION: usize = 32;

/// Device names Windows reserves in any directory, with or without an extension.
const WINDOWS_RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "COM¹", "COM²", "COM³", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8",
    "LPT9", "LPT¹", "LPT²", "LPT³", "CONIN$", "CONOUT$",
];

/// Sanitises one raw path element. `None` means "drop this element".
///
/// Rules, in order: invalid UTF-8 is converted lossily; NUL, `/`, `\` and control
/// characters become `_`; the element is cut to [`MAX_COMPONENT_BYTES`] on a char boundary
/// (keeping a short extension); leading whitespace and trailing whitespace/dots are trimmed
/// (Windows silently strips the latter); what is then empty (this includes `.`, `..`) is
/// dropped; Windows reserved device names (`CON`, `nul.txt`, `COM1` …) get `_` appended to
/// their stem (`CON` → `CON_`, `nul.txt` → `nul_.txt`).
///
/// Characters that are merely invalid on Windows (`<>:"|?*`) are kept, so names match what
/// other clients write on Unix.
pub fn sanitize_component(raw: &[u8]) -> Option<String> {
    let lossy = String::from_utf8_lossy(raw);
    let mapped: String = lossy
        .chars()
        .map(|c| match c {
            '\0' | '/' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let cut = truncate_owned(&mapped, MAX_COMPONENT_BYTES);
    let trimmed = trim_windows(&cut);
    if trimmed.is_empty() {
        return None;
    }
    let mut out = escape_reserved(trimmed);
    if out.len() > MAX_COMPONENT_BYTES {
        // Only possible after a reserved-name fix added a byte; the fix sits in the stem,
        // which is short, so cutting from the end keeps it.
        let end = floor_char_boundary(&out, MAX_COMPONENT_BYTES);
        out.truncate(end);
        let len = trim_windows(&out).len();
        out.truncate(len);
    }
    Some(out)
}

/// True if `name` survives [`sanitize_component`] unchanged (used when creating torrents).
pub fn is_safe_component(name: &str) -> bool {
    sanitize_component(name.as_bytes()).as_deref() == Some(name)
}

fn trim_windows(s: &str) -> &str {
    s.trim_start()
        .trim_end_matches(|c: char| c.is_whitespace() || c == '.')
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut i = max;
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Cuts `s` to at most `max` bytes, preserving a short trailing extension when possible.
fn truncate_owned(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    if let Some(dot) = s.rfind('.') {
        let ext = &s[dot..];
        if dot > 0 && ext.len() <= MAX_KEPT_EXTENSION && ext.len() < max {
            let stem = &s[..floor_char_boundary(&s[..dot], max - ext.len())];
            return format!("{stem}{ext}");
        }
    }
    s[..floor_char_boundary(s, max)].to_owned()
}

fn escape_reserved(s: &str) -> String {
    let stem_end = s.find('.').unwrap_or(s.len());
    let stem = s[..stem_end].trim_end();
    let reserved = WINDOWS_RESERVED
        .iter()
        .any(|r| r.len() == stem.len() && r.eq_ignore_ascii_case(stem));
    if reserved {
        let at = stem.len();
        format!("{}_{}", &s[..at], &s[at..])
    } else {
        s.to_owned()
    }
}

/// Sanitises a whole list of raw elements, dropping unusable ones.
pub(crate) fn sanitize_elements<'a>(raw: impl IntoIterator<Item = &'a [u8]>) -> Vec<String> {
    raw.into_iter().filter_map(sanitize_component).collect()
}

/// Makes the sanitised paths of one torrent unique, in file order.
///
/// When a file's path equals an earlier file's path, or an earlier directory, its last
/// element gets a `.1`, `.2` … suffix (`a/b.txt` → `a/b.txt.1`). When one of its directory
/// elements names an earlier *file*, that directory element is renamed the same way. The
/// first file to claim a name keeps it. Comparison is exact (case-sensitive).
#[derive(Default)]
pub(crate) struct PathDeduper {
    root: DirNode,
}

#[derive(Default)]
struct DirNode {
    children: HashMap<String, Node>,
    /// Next suffix to try per base name, so many duplicates stay linear.
    next_suffix: HashMap<String, u64>,
}

/// A claimed name: a file (its `dir` stays empty) or a directory.
#[derive(Default)]
struct Node {
    is_file: bool,
    dir: DirNode,
}

impl PathDeduper {
    /// Registers `comps` (already sanitised) and returns the unique version.
    pub(crate) fn claim(&mut self, mut comps: Vec<String>) -> Vec<String> {
        let Some(last_idx) = comps.len().checked_sub(1) else {
            return comps;
        };
        let mut dir = &mut self.root;
        for comp in comps.iter_mut().take(last_idx) {
            if dir.children.get(comp.as_str()).is_some_and(|n| n.is_file) {
                *comp = dir.fresh_name(comp);
            }
            dir = &mut dir.children.entry(comp.clone()).or_default().dir;
        }
        if let Some(last) = comps.last_mut() {
            if dir.children.contains_key(last.as_str()) {
                *last = dir.fresh_name(last);
            }
            dir.children.insert(
                last.clone(),
                Node {
                    is_file: true,
                    dir: DirNode::default(),
                },
            );
        }
        comps
    }
}

impl DirNode {
    /// Returns `base.N` for the smallest unused N (tracked per base name).
    fn fresh_name(&mut self, base: &str) -> String {
        let counter = self.next_suffix.entry(base.to_owned()).or_insert(1);
        loop {
            let suffix = format!(".{}", *counter);
            *counter += 1;
            let keep = floor_char_boundary(base, MAX_COMPONENT_BYTES - suffix.len());
            let candidate = format!("{}{}", &base[..keep], suffix);
            if !self.children.contains_key(&candidate) {
                return candidate;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(raw: &[u8]) -> Option<String> {
        sanitize_component(raw)
    }

    #[test]
    fn plain_names_unchanged() {
        for n in [
            "file.txt",
            "Ubuntu 22.04.iso",
            "ä ö ü",
            "a:b",
            ".hidden",
            "x",
        ] {
            assert_eq!(s(n.as_bytes()).as_deref(), Some(n), "{n}");
            assert!(is_safe_component(n));
        }
    }

    #[test]
    fn dropped() {
        for n in ["", ".", "..", "...", "   ", " . ", ".. ", "\u{3000}"] {
            assert_eq!(s(n.as_bytes()), None, "{n:?}");
        }
    }

    #[test]
    fn separators_and_controls() {
        assert_eq!(s(b"/etc/passwd").as_deref(), Some("_etc_passwd"));
        assert_eq!(s(b"..\\..\\win").as_deref(), Some(".._.._win"));
        assert_eq!(s(b"a\0b").as_deref(), Some("a_b"));
        assert_eq!(s(b"\t").as_deref(), Some("_"));
        assert_eq!(s(b"a\nb\x7f").as_deref(), Some("a_b_"));
        assert_eq!(s(b"../x").as_deref(), Some(".._x"));
    }

    #[test]
    fn invalid_utf8_lossy() {
        assert_eq!(s(b"a\xffb").as_deref(), Some("a\u{fffd}b"));
    }

    #[test]
    fn trims() {
        assert_eq!(s(b"  name. . ").as_deref(), Some("name"));
        assert_eq!(s(b"file.").as_deref(), Some("file"));
    }

    #[test]
    fn reserved_names() {
        assert_eq!(s(b"CON").as_deref(), Some("CON_"));
        assert_eq!(s(b"con").as_deref(), Some("con_"));
        assert_eq!(s(b"nul.txt").as_deref(), Some("nul_.txt"));
        assert_eq!(s(b"com1.tar.gz").as_deref(), Some("com1_.tar.gz"));
        assert_eq!(s("LPT¹".as_bytes()).as_deref(), Some("LPT¹_"));
        assert_eq!(s(b"CONSOLE").as_deref(), Some("CONSOLE"));
        assert_eq!(s(b"COM10").as_deref(), Some("COM10"));
        assert!(!is_safe_component("aux"));
    }

    #[test]
    fn long_names_capped_on_char_boundary() {
        let long = "é".repeat(300);
        let out = s(long.as_bytes()).unwrap();
        assert!(out.len() <= MAX_COMPONENT_BYTES);
        assert!(out.chars().all(|c| c == 'é'));
        let with_ext = format!("{}.mkv", "a".repeat(400));
        let out = sanitize_component(with_ext.as_bytes()).unwrap();
        assert_eq!(out.len(), MAX_COMPONENT_BYTES);
        assert!(out.ends_with("a.mkv") || out.ends_with(".mkv"));
        // Reserved stem plus max length still fits.
        let reserved_long = format!("CON.{}", "b".repeat(300));
        let out = s(reserved_long.as_bytes()).unwrap();
        assert!(out.starts_with("CON_."));
        assert!(out.len() <= MAX_COMPONENT_BYTES);
        // Truncation exposing a reserved name is still caught.
        let tricky = format!("CON{}x", " ".repeat(300));
        assert_eq!(s(tricky.as_bytes()).as_deref(), Some("CON_"));
    }

    fn check_output(raw: &[u8]) {
        if let Some(out) = sanitize_component(raw) {
            assert!(!out.is_empty() && out != "." && out != "..");
            assert!(out.len() <= MAX_COMPONENT_BYTES);
            assert!(!out.chars().any(|c| c == '/' || c == '\\' || c.is_control()));
            assert!(!out.ends_with('.') && out.trim() == out);
            assert!(is_safe_component(&out), "not idempotent: {out:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_give_safe_stable_names(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)
        ) {
            check_output(&raw);
        }

        #[test]
        fn tricky_characters_give_safe_stable_names(raw in "[ .CONULPTcom1\\\\/:\\x00\\x7fé]{0,300}") {
            check_output(raw.as_bytes());
        }
    }

    #[test]
    fn truncate_owned_keeps_extension() {
        let t = truncate_owned(&format!("{}.mkv", "a".repeat(400)), 20);
        assert_eq!(t, format!("{}.mkv", "a".repeat(16)));
    }

    fn v(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dedup_files() {
        let mut d = PathDeduper::default();
        assert_eq!(d.claim(v(&["n", "a"])), v(&["n", "a"]));
        assert_eq!(d.claim(v(&["n", "a"])), v(&["n", "a.1"]));
        assert_eq!(d.claim(v(&["n", "a.1"])), v(&["n", "a.1.1"]));
        assert_eq!(d.claim(v(&["n", "a"])), v(&["n", "a.2"]));
    }

    #[test]
    fn dedup_file_vs_dir() {
        let mut d = PathDeduper::default();
        assert_eq!(d.claim(v(&["n", "x", "y"])), v(&["n", "x", "y"]));
        // A file where a directory already is.
        assert_eq!(d.claim(v(&["n", "x"])), v(&["n", "x.1"]));
        // A directory where a file already is: the directory element is renamed.
        assert_eq!(d.claim(v(&["n", "x.1", "z"])), v(&["n", "x.1.1", "z"]));
        // Later files under the renamed directory merge into the original directory.
        assert_eq!(d.claim(v(&["n", "x", "w"])), v(&["n", "x", "w"]));
    }

    #[test]
    fn dedup_many_identical_is_fast() {
        let mut d = PathDeduper::default();
        for i in 0..20_000u64 {
            let got = d.claim(v(&["n", "same"]));
            if i > 0 {
                assert_eq!(got[1], format!("same.{i}"));
            }
        }
    }

    #[test]
    fn dedup_respects_length_cap() {
        let mut d = PathDeduper::default();
        let long = "a".repeat(MAX_COMPONENT_BYTES);
        d.claim(v(&[&long]));
        let got = d.claim(v(&[&long]));
        assert!(got[0].len() <= MAX_COMPONENT_BYTES);
        assert!(got[0].ends_with(".1"));
    }
}
