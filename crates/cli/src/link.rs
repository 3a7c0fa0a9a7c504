//! Turning a shared torrent into something to give a friend: the magnet link with our
//! reachable addresses (`x.pe`), and its QR code for the terminal.

use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;
/// Shared with the daemon (`shoal_daemon::link`).
pub use shoal_daemon::link::{magnet_with_peers, reachable_addrs};

/// The QR code of `text` drawn with half-block characters (two rows per line), with
/// the quiet zone scanners need. `None` if the text is too long for a QR code.
pub fn qr_text(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    #[test]
    fn specific_listen_address_is_used_as_is() {
        let a: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        assert_eq!(reachable_addrs(a), vec![a]);
    }

    #[test]
    fn unspecified_listen_address_lists_real_interfaces() {
        let addrs = reachable_addrs("0.0.0.0:7000".parse().unwrap());
        assert!(!addrs.is_empty());
        assert!(addrs
            .iter()
            .all(|a| a.port() == 7000 && !a.ip().is_unspecified()));
    }

    #[test]
    fn qr_code_is_drawn() {
        let qr = qr_text("magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567").unwrap();
        assert!(qr.lines().count() > 10);
        assert!(qr.contains('█') || qr.contains('▀') || qr.contains('▄'));
    }
}
