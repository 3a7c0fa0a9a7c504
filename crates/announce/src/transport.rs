//! Where a tracker URL points ([`Endpoint`]) and one announce over the right transport.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use shoal_tracker::{AnnounceRequest, AnnounceResponse};

use crate::http::HttpTransport;
use crate::udp::UdpHandle;
use crate::AnnounceError;

/// A parsed tracker URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `http://` or `https://`: the URL is used as is.
    Http,
    /// `udp://host:port[/...]`.
    Udp { host: UdpHost, port: u16 },
    /// Not usable; the text says why.
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UdpHost {
    Ip(IpAddr),
    Name(String),
}

impl Endpoint {
    pub(crate) fn parse(url: &str) -> Endpoint {
        let parsed = match url::Url::parse(url) {
            Ok(u) => u,
            Err(e) => return Endpoint::Invalid(format!("{url}: {e}")),
        };
        match parsed.scheme() {
            "http" | "https" => Endpoint::Http,
            "udp" => {
                let host = match parsed.host() {
                    Some(url::Host::Ipv4(ip)) => UdpHost::Ip(ip.into()),
                    Some(url::Host::Ipv6(ip)) => UdpHost::Ip(ip.into()),
                    // Hosts of non-special schemes stay opaque, so IPv4 literals land here.
                    Some(url::Host::Domain(d)) => match d.parse::<IpAddr>() {
                        Ok(ip) => UdpHost::Ip(ip),
                        Err(_) => UdpHost::Name(d.to_owned()),
                    },
                    None => return Endpoint::Invalid(format!("{url}: no host")),
                };
                match parsed.port() {
                    Some(port) if port != 0 => Endpoint::Udp { host, port },
                    _ => Endpoint::Invalid(format!("{url}: no port")),
                }
            }
            other => Endpoint::Invalid(format!("{url}: unsupported scheme {other}")),
        }
    }
}

/// The transports, cheap to clone so announces can run in spawned tasks (`stopped`).
#[derive(Debug, Clone)]
pub(crate) struct Transports {
    pub(crate) http: HttpTransport,
    pub(crate) udp: UdpHandle,
    pub(crate) resolve_timeout: Duration,
}

impl Transports {
    /// One announce to one tracker.
    pub(crate) async fn announce(
        &self,
        url: &str,
        endpoint: &Endpoint,
        req: AnnounceRequest,
    ) -> Result<AnnounceResponse, AnnounceError> {
        match endpoint {
            Endpoint::Http => self.http.announce(url, &req).await,
            Endpoint::Udp { host, port } => {
                let addr = self.resolve(host, *port).await?;
                self.udp.announce(addr, req).await
            }
            Endpoint::Invalid(why) => Err(AnnounceError::BadUrl(why.clone())),
        }
    }

    /// Resolves a UDP tracker host, preferring IPv4 (the usual reachable family).
    async fn resolve(&self, host: &UdpHost, port: u16) -> Result<SocketAddr, AnnounceError> {
        let name = match host {
            UdpHost::Ip(ip) => return Ok(SocketAddr::new(*ip, port)),
            UdpHost::Name(n) => n,
        };
        let lookup = tokio::net::lookup_host((name.as_str(), port));
        let addrs: Vec<SocketAddr> = match tokio::time::timeout(self.resolve_timeout, lookup).await
        {
            Ok(Ok(it)) => it.collect(),
            Ok(Err(e)) => return Err(AnnounceError::Resolve(format!("{name}: {e}"))),
            Err(_) => return Err(AnnounceError::Resolve(format!("{name}: timed out"))),
        };
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or_else(|| addrs.first())
            .copied()
            .ok_or_else(|| AnnounceError::Resolve(format!("{name}: no addresses")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_endpoints() {
        assert_eq!(Endpoint::parse("http://t.example/announce"), Endpoint::Http);
        assert_eq!(Endpoint::parse("https://t.example/a?k=1"), Endpoint::Http);
        assert_eq!(
            Endpoint::parse("udp://tracker.example:1337/announce"),
            Endpoint::Udp {
                host: UdpHost::Name("tracker.example".into()),
                port: 1337
            }
        );
        assert_eq!(
            Endpoint::parse("udp://[::1]:80"),
            Endpoint::Udp {
                host: UdpHost::Ip("::1".parse().unwrap()),
                port: 80
            }
        );
        assert_eq!(
            Endpoint::parse("udp://127.0.0.1:6969"),
            Endpoint::Udp {
                host: UdpHost::Ip("127.0.0.1".parse().unwrap()),
                port: 6969
            }
        );
        for bad in [
            "udp://t.example",
            "udp://t.example:0",
            "wss://t.example/",
            "nonsense",
            "",
        ] {
            assert!(
                matches!(Endpoint::parse(bad), Endpoint::Invalid(_)),
                "{bad}"
            );
        }
    }
}
