//! Where a session's sockets leave from: the address it was bound to (`--bind`, when
//! not the unspecified one) and the network device (`--interface`, Linux's
//! `SO_BINDTODEVICE`: nothing leaves through another interface even if the routes
//! change). The peer listener, outgoing peer connections and the LSD socket are made
//! here; the announcer's HTTP and UDP sockets and the DHT's socket get the same two
//! settings through their own configurations.

use std::io;
use std::net::{IpAddr, SocketAddr};
use tokio::net::{TcpListener, TcpSocket};

/// Pending connections the kernel queues for the peer listener.
const LISTEN_BACKLOG: u32 = 1024;

/// The source address and device of a session's sockets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SourceBinding {
    /// `None`: the unspecified address (the kernel picks per route).
    ip: Option<IpAddr>,
    device: Option<String>,
}

impl SourceBinding {
    /// Sockets leave from `listen` (unless it is the unspecified address) and through
    /// `device` when one is named.
    pub(crate) fn new(listen: IpAddr, device: Option<String>) -> Self {
        SourceBinding {
            ip: (!listen.is_unspecified()).then_some(listen),
            device: device.filter(|d| !d.is_empty()),
        }
    }

    /// The address sockets are bound to, if one was given.
    pub(crate) fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The network device sockets are bound to, if one was given.
    pub(crate) fn device(&self) -> Option<&str> {
        self.device.as_deref()
    }

    /// The peer listener on `addr`, bound to the device when one is named.
    pub(crate) fn tcp_listener(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = new_tcp(addr)?;
        socket.set_reuseaddr(true)?;
        self.bind_device(&socket)?;
        socket.bind(addr)?;
        socket.listen(LISTEN_BACKLOG)
    }

    /// A TCP socket for a connection to `peer`, bound to our address (port 0) and
    /// device. A peer of the other address family than the bound address cannot be
    /// reached from it: an error, not a connection from another address.
    pub(crate) fn tcp_for(&self, peer: SocketAddr) -> io::Result<TcpSocket> {
        let socket = new_tcp(peer)?;
        self.bind_device(&socket)?;
        if let Some(ip) = self.ip {
            if ip.is_ipv4() != peer.is_ipv4() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    FamilyMismatch { bound: ip, peer },
                ));
            }
            // The port is picked at connect (by the 4-tuple, from connect's half of the
            // range) rather than reserved for good at bind: bound dials then use no
            // more ports than unbound ones and do not take ports others bind to.
            let _ = nix::sys::socket::setsockopt(
                &socket,
                nix::sys::socket::sockopt::IpBindAddressNoPort,
                &true,
            );
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        Ok(socket)
    }

    /// The kernel's index of the device, if one is named.
    pub(crate) fn device_index(&self) -> io::Result<Option<u32>> {
        let Some(device) = &self.device else {
            return Ok(None);
        };
        let path = std::path::Path::new("/sys/class/net")
            .join(device)
            .join("ifindex");
        let text = std::fs::read_to_string(path)?;
        text.trim()
            .parse()
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// The same binding for the announcer's HTTP and UDP sockets.
    pub(crate) fn for_announces(&self) -> shoal_announce::SourceBinding {
        shoal_announce::SourceBinding {
            ip: self.ip,
            interface: self.device.clone(),
        }
    }

    /// Binds `socket` to the device, if one is named.
    pub(crate) fn bind_device(&self, socket: &impl std::os::fd::AsFd) -> io::Result<()> {
        match &self.device {
            Some(device) => socket2::SockRef::from(socket).bind_device(Some(device.as_bytes())),
            None => Ok(()),
        }
    }
}

/// Longest network device name (Linux's `IFNAMSIZ` less the terminating zero).
const MAX_DEVICE_NAME: usize = 15;

/// Checks that `name` names a network device of this host, so a typo is a clear error
/// at start rather than every socket failing with "no such device".
pub(crate) fn check_device(name: &str) -> io::Result<()> {
    let valid = !name.is_empty()
        && name.len() <= MAX_DEVICE_NAME
        && !name.contains(['/', '\0'])
        && !name.chars().any(char::is_whitespace)
        && name != "."
        && name != "..";
    if !valid {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a network device name",
        ));
    }
    if std::path::Path::new("/sys/class/net").join(name).exists() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no such network device on this host",
        ))
    }
}

fn new_tcp(addr: SocketAddr) -> io::Result<TcpSocket> {
    match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
}

/// A peer that the bound address cannot reach (another address family).
#[derive(Debug, thiserror::Error)]
#[error("bound to {bound}: cannot reach {peer} (another address family)")]
struct FamilyMismatch {
    bound: IpAddr,
    peer: SocketAddr,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_means_unbound() {
        let any = SourceBinding::new("0.0.0.0".parse().unwrap(), Some(String::new()));
        assert_eq!(any, SourceBinding::default());
        let bound = SourceBinding::new("127.0.0.2".parse().unwrap(), Some("lo".into()));
        assert_eq!(bound.ip(), Some("127.0.0.2".parse().unwrap()));
        assert_eq!(bound.device(), Some("lo"));
    }

    #[test]
    fn device_names_are_checked() {
        assert!(check_device("lo").is_ok());
        for bad in ["", "no-such-dev0", "../lo", "a b", "sixteen-chars-xx"] {
            assert!(check_device(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn connections_leave_from_the_bound_address() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let to = listener.local_addr().unwrap();
        let bound = SourceBinding::new("127.0.0.3".parse().unwrap(), None);
        let socket = bound.tcp_for(to).unwrap();
        let deferred =
            nix::sys::socket::getsockopt(&socket, nix::sys::socket::sockopt::IpBindAddressNoPort);
        assert_eq!(deferred.ok(), Some(true), "the port is reserved at bind");
        let _stream = socket.connect(to).await.unwrap();
        let (_s, from) = listener.accept().await.unwrap();
        assert_eq!(from.ip(), "127.0.0.3".parse::<IpAddr>().unwrap());
        let v6 = "[::1]:6881".parse().unwrap();
        let err = bound.tcp_for(v6).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrNotAvailable);
    }
}
