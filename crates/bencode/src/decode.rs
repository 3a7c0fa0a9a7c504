//! The strict, zero-copy bencode decoder.

use std::collections::HashSet;

use crate::value::{Dict, Value};

/// Default bound on list/dictionary nesting. Real torrents nest a handful of levels.
pub const MAX_DEPTH: usize = 64;

/// Why input was refused. `at` is the byte offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input stops inside a value.
    #[error("input ends early at byte {at}")]
    UnexpectedEof {
        /// Offset of the end of the input.
        at: usize,
    },
    /// A byte that cannot start or continue a value here.
    #[error("unexpected byte {byte:#04x} at {at}")]
    InvalidByte {
        /// Offset of the byte.
        at: usize,
        /// The byte itself.
        byte: u8,
    },
    /// `i03e` or `03:abc`: not canonical.
    #[error("integer or length with a leading zero at {at}")]
    LeadingZero {
        /// Offset of the first digit.
        at: usize,
    },
    /// `i-0e`: not canonical.
    #[error("negative zero at {at}")]
    NegativeZero {
        /// Offset of the number.
        at: usize,
    },
    /// An integer or a string length too large to represent.
    #[error("integer or length overflows at {at}")]
    Overflow {
        /// Offset of the number.
        at: usize,
    },
    /// A byte string longer than the rest of the input.
    #[error("string length at {at} runs past the end of the input")]
    LengthBeyondInput {
        /// Offset of the length prefix.
        at: usize,
    },
    /// Lists and dictionaries nested deeper than [`DecodeOptions::max_depth`].
    #[error("nesting deeper than {max} levels at {at}")]
    TooDeep {
        /// Offset of the list or dictionary one level too deep.
        at: usize,
        /// The depth allowed.
        max: usize,
    },
    /// A dictionary key smaller than the one before it (when keys must be sorted).
    #[error("dictionary keys out of order at {at}")]
    UnsortedKeys {
        /// Offset of the key.
        at: usize,
    },
    /// A dictionary key that appeared before in the same dictionary.
    #[error("duplicate dictionary key at {at}")]
    DuplicateKey {
        /// Offset of the repeated key.
        at: usize,
    },
    /// Bytes after a complete value where the input should end.
    #[error("trailing data after the value at {at}")]
    TrailingData {
        /// Offset of the first extra byte.
        at: usize,
    },
}

/// Decoder settings.
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// Deepest allowed nesting of lists and dictionaries.
    pub max_depth: usize,
    /// Refuse dictionaries whose keys are not in ascending byte order (BEP 3 requires it).
    pub require_sorted_keys: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_depth: MAX_DEPTH,
            require_sorted_keys: true,
        }
    }
}

/// Decodes exactly one canonical value spanning the whole input.
pub fn decode(input: &[u8]) -> Result<Value<'_>, DecodeError> {
    whole(input, &DecodeOptions::default())
}

/// Like [`decode`], but tolerates dictionary keys out of order (duplicates are still
/// refused). Some real-world torrents and trackers produce unsorted dictionaries.
pub fn decode_lenient(input: &[u8]) -> Result<Value<'_>, DecodeError> {
    whole(
        input,
        &DecodeOptions {
            require_sorted_keys: false,
            ..DecodeOptions::default()
        },
    )
}

/// Decodes one strict value at the start of `input` and returns it with the number of
/// bytes it used; whatever follows is left to the caller (ut_metadata appends raw data).
pub fn decode_prefix(input: &[u8]) -> Result<(Value<'_>, usize), DecodeError> {
    decode_with(input, &DecodeOptions::default())
}

/// Decodes one value at the start of `input` with explicit options.
pub fn decode_with<'a>(
    input: &'a [u8],
    opts: &DecodeOptions,
) -> Result<(Value<'a>, usize), DecodeError> {
    let mut parser = Parser {
        input,
        pos: 0,
        opts,
    };
    let value = parser.value(0)?;
    Ok((value, parser.pos))
}

fn whole<'a>(input: &'a [u8], opts: &DecodeOptions) -> Result<Value<'a>, DecodeError> {
    let (value, used) = decode_with(input, opts)?;
    if used != input.len() {
        return Err(DecodeError::TrailingData { at: used });
    }
    Ok(value)
}

/// Keys of the dictionary being decoded, once they stopped ascending (lenient mode).
#[derive(Default)]
struct SeenKeys<'a> {
    set: Option<HashSet<&'a [u8]>>,
}

struct Parser<'a, 'o> {
    input: &'a [u8],
    pos: usize,
    opts: &'o DecodeOptions,
}

impl<'a> Parser<'a, '_> {
    fn peek(&self) -> Result<u8, DecodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(DecodeError::UnexpectedEof { at: self.pos })
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, DecodeError> {
        match self.peek()? {
            b'i' => {
                self.pos += 1;
                let i = self.integer(b'e')?;
                Ok(Value::Int(i))
            }
            b'0'..=b'9' => self.bytes().map(Value::Bytes),
            b'l' => {
                self.enter(depth)?;
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            b'd' => {
                self.enter(depth)?;
                let start = self.pos;
                self.pos += 1;
                let mut entries: Vec<(&'a [u8], Value<'a>)> = Vec::new();
                let mut seen = SeenKeys::default();
                while self.peek()? != b'e' {
                    let key_at = self.pos;
                    if !self.peek()?.is_ascii_digit() {
                        return Err(DecodeError::InvalidByte {
                            at: self.pos,
                            byte: self.peek()?,
                        });
                    }
                    let key = self.bytes()?;
                    self.check_key(&entries, &mut seen, key, key_at)?;
                    let value = self.value(depth + 1)?;
                    entries.push((key, value));
                }
                self.pos += 1;
                Ok(Value::Dict(Dict {
                    entries,
                    raw: &self.input[start..self.pos],
                }))
            }
            byte => Err(DecodeError::InvalidByte { at: self.pos, byte }),
        }
    }

    fn enter(&self, depth: usize) -> Result<(), DecodeError> {
        if depth >= self.opts.max_depth {
            return Err(DecodeError::TooDeep {
                at: self.pos,
                max: self.opts.max_depth,
            });
        }
        Ok(())
    }

    fn check_key(
        &self,
        entries: &[(&'a [u8], Value<'a>)],
        seen: &mut SeenKeys<'a>,
        key: &'a [u8],
        at: usize,
    ) -> Result<(), DecodeError> {
        let last = entries.last().map(|(k, _)| *k);
        if self.opts.require_sorted_keys {
            return match last {
                Some(prev) if prev == key => Err(DecodeError::DuplicateKey { at }),
                Some(prev) if prev > key => Err(DecodeError::UnsortedKeys { at }),
                _ => Ok(()),
            };
        }
        // Lenient: while keys ascend, comparing with the previous one proves them unique;
        // from the first key out of order on, a hash set of all keys does (scanning the
        // entries for every key was quadratic: seconds for a 2 MiB tracker reply).
        let fresh = match (&mut seen.set, last) {
            (Some(set), _) => set.insert(key),
            (None, None) => true,
            (None, Some(prev)) if prev < key => true,
            (None, Some(_)) => {
                let mut set: HashSet<&'a [u8]> = entries.iter().map(|(k, _)| *k).collect();
                let fresh = set.insert(key);
                seen.set = Some(set);
                fresh
            }
        };
        if fresh {
            Ok(())
        } else {
            Err(DecodeError::DuplicateKey { at })
        }
    }

    /// A byte string `<len>:<bytes>`, the length checked against the remaining input.
    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let at = self.pos;
        let len = self.integer(b':')?;
        let len = usize::try_from(len).map_err(|_| DecodeError::InvalidByte { at, byte: b'-' })?;
        let end = self
            .pos
            .checked_add(len)
            .ok_or(DecodeError::Overflow { at })?;
        if end > self.input.len() {
            return Err(DecodeError::LengthBeyondInput { at });
        }
        let out = &self.input[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// A canonical decimal integer ending in `terminator`.
    fn integer(&mut self, terminator: u8) -> Result<i64, DecodeError> {
        let start = self.pos;
        let negative = self.peek()? == b'-';
        if negative {
            if terminator == b':' {
                return Err(DecodeError::InvalidByte {
                    at: self.pos,
                    byte: b'-',
                });
            }
            self.pos += 1;
        }
        let digits_at = self.pos;
        let mut value: i64 = 0;
        loop {
            let byte = self.peek()?;
            if byte == terminator {
                break;
            }
            if !byte.is_ascii_digit() {
                return Err(DecodeError::InvalidByte { at: self.pos, byte });
            }
            let digit = i64::from(byte - b'0');
            value = value
                .checked_mul(10)
                .and_then(|v| {
                    if negative {
                        v.checked_sub(digit)
                    } else {
                        v.checked_add(digit)
                    }
                })
                .ok_or(DecodeError::Overflow { at: start })?;
            self.pos += 1;
        }
        let digits = self.pos - digits_at;
        if digits == 0 {
            return Err(DecodeError::InvalidByte {
                at: self.pos,
                byte: terminator,
            });
        }
        if digits > 1 && self.input[digits_at] == b'0' {
            return Err(DecodeError::LeadingZero { at: digits_at });
        }
        if negative && value == 0 {
            return Err(DecodeError::NegativeZero { at: start });
        }
        self.pos += 1; // terminator
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars() {
        assert_eq!(decode(b"i42e"), Ok(Value::Int(42)));
        assert_eq!(decode(b"i-7e"), Ok(Value::Int(-7)));
        assert_eq!(decode(b"i0e"), Ok(Value::Int(0)));
        assert_eq!(decode(b"4:spam"), Ok(Value::Bytes(b"spam")));
        assert_eq!(decode(b"0:"), Ok(Value::Bytes(b"")));
        assert_eq!(decode(b"i-9223372036854775808e"), Ok(Value::Int(i64::MIN)));
    }

    #[test]
    fn refuses_non_canonical_integers() {
        assert_eq!(decode(b"i03e"), Err(DecodeError::LeadingZero { at: 1 }));
        assert_eq!(decode(b"i-0e"), Err(DecodeError::NegativeZero { at: 1 }));
        assert!(matches!(
            decode(b"ie"),
            Err(DecodeError::InvalidByte { .. })
        ));
        assert!(matches!(
            decode(b"i-e"),
            Err(DecodeError::InvalidByte { .. })
        ));
        assert!(matches!(
            decode(b"i9223372036854775808e"),
            Err(DecodeError::Overflow { .. })
        ));
        assert!(matches!(
            decode(b"i1x2e"),
            Err(DecodeError::InvalidByte { .. })
        ));
        assert_eq!(decode(b"03:abc"), Err(DecodeError::LeadingZero { at: 0 }));
        assert!(matches!(
            decode(b"-3:abc"),
            Err(DecodeError::InvalidByte { .. })
        ));
    }

    #[test]
    fn refuses_lengths_past_input_without_allocating() {
        assert_eq!(
            decode(b"4294967296:x"),
            Err(DecodeError::LengthBeyondInput { at: 0 })
        );
        assert!(matches!(
            decode(b"99999999999999999999999:x"),
            Err(DecodeError::Overflow { .. })
        ));
        assert_eq!(
            decode(b"5:abc"),
            Err(DecodeError::LengthBeyondInput { at: 0 })
        );
    }

    #[test]
    fn dicts_keep_raw_span_and_order() {
        let input = b"d4:infod6:lengthi5ee3:zzzi1ee";
        let v = decode(input).unwrap();
        let d = v.as_dict().unwrap();
        assert_eq!(d.get_dict(b"info").unwrap().raw(), b"d6:lengthi5ee");
        assert_eq!(d.raw(), input);
        assert_eq!(d.get_int(b"zzz"), Some(1));
        assert_eq!(
            decode(b"d1:bi1e1:ai2ee"),
            Err(DecodeError::UnsortedKeys { at: 7 })
        );
        assert_eq!(
            decode(b"d1:ai1e1:ai2ee"),
            Err(DecodeError::DuplicateKey { at: 7 })
        );
        assert!(decode_lenient(b"d1:bi1e1:ai2ee").is_ok());
        assert_eq!(
            decode_lenient(b"d1:ai1e1:bi1e1:ai2ee"),
            Err(DecodeError::DuplicateKey { at: 13 })
        );
        assert!(matches!(
            decode(b"di1ei2ee"),
            Err(DecodeError::InvalidByte { .. })
        ));
    }

    #[test]
    fn lenient_duplicate_check_is_not_quadratic() {
        // Found by the tracker_http fuzz target: 200,000 keys in descending order took
        // over 10 s. Now linear; duplicates are still found after the switch to hashing.
        let n = 200_000;
        let mut input = b"d".to_vec();
        for i in (0..n).rev() {
            input.extend_from_slice(format!("6:{i:06}i0e").as_bytes());
        }
        let mut with_dup = input.clone();
        input.push(b'e');
        let v = decode_lenient(&input).unwrap();
        assert_eq!(v.as_dict().unwrap().len(), n);
        let at = with_dup.len();
        with_dup.extend_from_slice(b"6:100000i1ee");
        assert_eq!(
            decode_lenient(&with_dup),
            Err(DecodeError::DuplicateKey { at })
        );
        assert_eq!(
            decode_lenient(b"d1:ci1e1:ai1e1:bi1e1:ci2ee"),
            Err(DecodeError::DuplicateKey { at: 19 })
        );
    }

    #[test]
    fn depth_is_bounded() {
        let deep = format!("{}{}", "l".repeat(MAX_DEPTH + 1), "e".repeat(MAX_DEPTH + 1));
        assert!(matches!(
            decode(deep.as_bytes()),
            Err(DecodeError::TooDeep { .. })
        ));
        let ok = format!("{}{}", "l".repeat(MAX_DEPTH), "e".repeat(MAX_DEPTH));
        assert!(decode(ok.as_bytes()).is_ok());
    }

    #[test]
    fn prefix_and_trailing() {
        assert_eq!(decode(b"i1ei2e"), Err(DecodeError::TrailingData { at: 3 }));
        let (v, used) = decode_prefix(b"d1:ai1eeRAWDATA").unwrap();
        assert_eq!(used, 8);
        assert_eq!(v.as_dict().unwrap().get_int(b"a"), Some(1));
        assert!(matches!(
            decode(b""),
            Err(DecodeError::UnexpectedEof { .. })
        ));
        assert!(matches!(
            decode(b"l"),
            Err(DecodeError::UnexpectedEof { .. })
        ));
    }
}
