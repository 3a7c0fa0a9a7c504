//! Links to give others: a torrent's magnet link carrying our reachable addresses
//! (`x.pe`), optionally with a private link's key, and its QR code as SVG.

use qrcode::render::svg;
use qrcode::QrCode;
use shoal_metainfo::{Magnet, Metainfo};
use std::net::{IpAddr, SocketAddr};

/// Addresses others may reach `listen` at: the address itself when it is specific,
/// otherwise every non-loopback address of this host's interfaces (loopback only when
/// there is nothing else).
pub fn reachable_addrs(listen: SocketAddr) -> Vec<SocketAddr> {
    if !listen.ip().is_unspecified() {
        return vec![listen];
    }
    let want_v6 = listen.is_ipv6();
    let mut out: Vec<SocketAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|iface| iface.ip())
        .filter(|ip| !ip.is_loopback() && usable(ip, want_v6))
        .map(|ip| SocketAddr::new(ip, listen.port()))
        .collect();
    out.sort();
    out.dedup();
    if out.is_empty() {
        let lo: IpAddr = if want_v6 {
            std::net::Ipv6Addr::LOCALHOST.into()
        } else {
            std::net::Ipv4Addr::LOCALHOST.into()
        };
        out.push(SocketAddr::new(lo, listen.port()));
    }
    out
}

/// A dual-stack listener (`[::]`) is reachable over both families; link-local IPv6
/// addresses need a scope id a link cannot carry, so they are left out.
fn usable(ip: &IpAddr, want_v6: bool) -> bool {
    match ip {
        IpAddr::V4(_) => true,
        IpAddr::V6(v6) => want_v6 && (v6.segments()[0] & 0xffc0) != 0xfe80,
    }
}

/// The torrent's magnet link carrying `peers` as `x.pe`.
pub fn magnet_with_peers(meta: &Metainfo, peers: &[SocketAddr]) -> Magnet {
    let mut magnet = meta.magnet();
    magnet.peers = peers.iter().map(|p| p.to_string()).collect();
    magnet
}

/// The QR code of `text` as an SVG document, `None` if the text is too long.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(256, 256)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specific_listen_address_is_used_as_is() {
        let a: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        assert_eq!(reachable_addrs(a), vec![a]);
    }

    #[test]
    fn qr_svg_is_an_svg() {
        let svg = qr_svg("magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567").unwrap();
        assert!(svg.contains("<svg"), "{svg}");
        assert!(svg.contains("</svg>"));
    }
}
