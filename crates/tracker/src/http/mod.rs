//! HTTP(S) tracker codecs: announce/scrape URL building ([`announce_url`], [`scrape_url`],
//! [`scrape_query`]) and reply parsing ([`parse_announce`], [`parse_scrape`]).
//!
//! Fetching the URL is the caller's job.

mod parse;
mod urls;

pub use parse::{parse_announce, parse_scrape, DEFAULT_INTERVAL};
pub use urls::{announce_url, percent_encode, scrape_query, scrape_url};

#[cfg(test)]
mod tests;
