//! The server's listening sockets: the plain one (Redis's `port`), the TLS
//! one (`tls-port`, feature `tls`), or both; binding them, Redis's
//! protected mode, and accepting from whichever has a client waiting.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use tokio::net::{TcpListener, TcpStream};

#[cfg(feature = "tls")]
pub(super) use super::tls::Acceptor;
/// Without the `tls` feature no connection is TLS.
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone)]
pub(super) enum Acceptor {}

/// Resolves `addr` (a host name may give several addresses).
pub(super) fn resolve(addr: &str) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve listen address '{addr}': {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("listen address '{addr}' resolves to nothing"),
        ));
    }
    Ok(addrs)
}

/// Binds a non-blocking listener on the first of `addrs` that works.
pub(super) fn bind(addrs: &[SocketAddr]) -> io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addrs)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Redis's protected mode: listening beyond loopback is refused while the
/// default user has no password, unless protected mode is off.
pub(super) fn check_protected_mode(addrs: &[SocketAddr], default_user_protected: bool) -> io::Result<()> {
    if default_user_protected {
        return Ok(());
    }
    let Some(open) = addrs.iter().find(|a| !a.ip().to_canonical().is_loopback()) else {
        return Ok(());
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "protected mode: refusing to listen on {open}, which is not a loopback address, while the default \
             user has no password (anyone who can reach it could read and change every key). Either bind a \
             loopback address (127.0.0.1 or [::1]) and reach the server through it, or protect the default \
             user with a password, or, if every host that can reach this address is trusted, turn protected \
             mode off with ServerBuilder::protected_mode(false). TLS client certificates do not count as a \
             password here, as in Redis."
        ),
    ))
}

/// The bound sockets of a server that is not serving yet.
#[derive(Debug)]
pub(super) struct Bound {
    pub(super) plain: Option<std::net::TcpListener>,
    pub(super) tls: Option<(std::net::TcpListener, Acceptor)>,
}

impl Bound {
    /// The plain listener's address, else the TLS one's.
    pub(super) fn local_addr(&self) -> io::Result<SocketAddr> {
        match (&self.plain, &self.tls) {
            (Some(l), _) | (None, Some((l, _))) => l.local_addr(),
            (None, None) => Err(io::Error::new(io::ErrorKind::NotFound, "the server has no listener")),
        }
    }

    /// The TLS listener's address.
    pub(super) fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// Hands the sockets to the current tokio runtime.
    pub(super) fn into_tokio(self) -> io::Result<Listeners> {
        Ok(Listeners {
            plain: self.plain.map(TcpListener::from_std).transpose()?,
            tls: self.tls.map(|(l, a)| TcpListener::from_std(l).map(|l| (l, a))).transpose()?,
        })
    }
}

/// The listeners of a serving server.
pub(super) struct Listeners {
    plain: Option<TcpListener>,
    tls: Option<(TcpListener, Acceptor)>,
}

impl Listeners {
    /// The next connection on either listener, with the acceptor that must
    /// run its handshake if it came to the TLS one.
    pub(super) async fn accept(&self) -> io::Result<(TcpStream, SocketAddr, Option<Acceptor>)> {
        tokio::select! {
            r = accept_on(self.plain.as_ref()) => r.map(|(s, a)| (s, a, None)),
            r = accept_on(self.tls.as_ref().map(|(l, _)| l)) => {
                let acceptor = self.tls.as_ref().map(|(_, a)| a.clone());
                r.map(|(s, a)| (s, a, acceptor))
            }
        }
    }
}

/// Accepts on `listener`; never completes without one.
async fn accept_on(listener: Option<&TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(s: &str) -> Vec<SocketAddr> {
        vec![s.parse().unwrap()]
    }

    #[test]
    fn loopback_passes_and_anything_else_needs_protection() {
        assert!(check_protected_mode(&addrs("127.0.0.1:6379"), false).is_ok());
        assert!(check_protected_mode(&addrs("[::1]:6379"), false).is_ok());
        assert!(check_protected_mode(&addrs("[::ffff:127.0.0.1]:6379"), false).is_ok());
        for open in ["0.0.0.0:6379", "[::]:6379", "10.1.2.3:6379"] {
            let err = check_protected_mode(&addrs(open), false).unwrap_err();
            assert!(err.to_string().contains("protected_mode(false)"), "{err}");
            assert!(check_protected_mode(&addrs(open), true).is_ok());
        }
    }
}
