//! Private links: `magnet:?xt=urn:btih:…#k=<key>`.
//!
//! The key travels in the URL fragment, after the first `#`. The fragment is a list of
//! `&`-separated `name=value` parameters; `k` holds the key's 43-character base64url
//! text and must appear exactly once; other parameters are ignored (room for later
//! additions). Only the part before `#` may ever be given to peers, trackers, the DHT or
//! logs.

use zeroize::Zeroizing;

use crate::key::{ContentKey, KeyParseError};

/// Name of the fragment parameter that holds the key.
pub const KEY_PARAM: &str = "k";

/// Why a private link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// No `k=` in the fragment.
    #[error("the link has no key (expected `#k=…` after the magnet link)")]
    MissingKey,
    /// More than one `k=` in the fragment.
    #[error("the link has more than one key")]
    DuplicateKey,
    /// The key does not parse.
    #[error("bad key in link: {0}")]
    BadKey(#[from] KeyParseError),
}

/// Splits a link at its first `#`: the public part and, if present, the fragment.
pub fn split_link(link: &str) -> (&str, Option<&str>) {
    match link.split_once('#') {
        Some((public, fragment)) => (public, Some(fragment)),
        None => (link, None),
    }
}

/// Builds the private link for `magnet` (which must not contain `#`; anything from a
/// `#` on is dropped). The result holds the key, so it is wiped on drop.
pub fn private_link(magnet: &str, key: &ContentKey) -> Zeroizing<String> {
    let (public, _) = split_link(magnet);
    let key_text = key.to_link_string();
    let mut link = Zeroizing::new(String::with_capacity(public.len() + 3 + key_text.len()));
    link.push_str(public);
    link.push('#');
    link.push_str(KEY_PARAM);
    link.push('=');
    link.push_str(&key_text);
    link
}

/// The key in a link fragment (the text after `#`).
pub fn key_from_fragment(fragment: &str) -> Result<ContentKey, LinkError> {
    let mut values = fragment
        .split('&')
        .filter_map(|param| param.split_once('='))
        .filter(|(name, _)| *name == KEY_PARAM)
        .map(|(_, value)| value);
    let value = values.next().ok_or(LinkError::MissingKey)?;
    if values.next().is_some() {
        return Err(LinkError::DuplicateKey);
    }
    Ok(ContentKey::parse(value)?)
}

/// Splits a private link into its public magnet part and its key.
pub fn parse_link(link: &str) -> Result<(&str, ContentKey), LinkError> {
    let (public, fragment) = split_link(link);
    let key = key_from_fragment(fragment.ok_or(LinkError::MissingKey)?)?;
    Ok((public, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGNET: &str = "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn build_and_parse() {
        let key = ContentKey::generate();
        let link = private_link(MAGNET, &key);
        assert!(link.starts_with(MAGNET));
        assert_eq!(split_link(&link).0, MAGNET);
        let (public, parsed) = parse_link(&link).unwrap();
        assert_eq!(public, MAGNET);
        assert_eq!(parsed, key);
        // A stray fragment on the input is replaced, not kept.
        let again = private_link(&format!("{MAGNET}#junk"), &key);
        assert_eq!(*again, *link);
    }

    #[test]
    fn fragment_parameters() {
        let key = ContentKey::from_bytes([5; 32]);
        let text = key.to_link_string();
        let frag = format!("v=2&k={}&x", &*text);
        assert_eq!(key_from_fragment(&frag).unwrap(), key);
        let twice = format!("k={0}&k={0}", &*text);
        assert_eq!(key_from_fragment(&twice), Err(LinkError::DuplicateKey));
        assert_eq!(key_from_fragment("x=1"), Err(LinkError::MissingKey));
        assert!(matches!(
            key_from_fragment("k=short"),
            Err(LinkError::BadKey(_))
        ));
    }

    #[test]
    fn links_without_key() {
        assert_eq!(split_link(MAGNET), (MAGNET, None));
        assert_eq!(parse_link(MAGNET).unwrap_err(), LinkError::MissingKey);
        assert_eq!(
            parse_link(&format!("{MAGNET}#")).unwrap_err(),
            LinkError::MissingKey
        );
    }
}
