//! TLS for the server (feature `tls`): rustls with the `ring` provider.
//!
//! [`TlsConfig`] is loaded from PEM files as redis-server's `tls-cert-file`,
//! `tls-key-file` and `tls-ca-cert-file` are, and given to
//! [`ServerBuilder::tls`](super::ServerBuilder::tls); the TLS listener is
//! [`ServerBuilder::tls_bind`](super::ServerBuilder::tls_bind) (Redis's
//! `tls-port`), beside the plain one or instead of it.
//!
//! With a CA file, clients must present a certificate it signed (mutual
//! TLS, Redis's default `tls-auth-clients yes`); [`ClientAuth`] relaxes
//! that. The handshake runs in the connection's own task, holding one of
//! the `maxclients` slots, and is abandoned after
//! [`TlsConfig::handshake_timeout`]: a client that never finishes it
//! cannot keep its slot. A failed handshake closes that connection only.
//!
//! TLS 1.2 and 1.3 are offered, with rustls's safe default cipher suites.

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// How long a client has to finish the TLS handshake by default.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether clients must present a certificate (Redis's `tls-auth-clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `yes`: a certificate signed by the CA is required (mutual TLS).
    Required,
    /// `optional`: a certificate is asked for and, if sent, must be signed
    /// by the CA; a client without one is accepted too.
    Optional,
    /// `no`: no certificate is asked for.
    Off,
}

/// Certificates and keys for [`ServerBuilder::tls`](super::ServerBuilder::tls),
/// as redis-server's `tls-*` options give them.
#[derive(Clone)]
pub struct TlsConfig {
    material: Arc<Material>,
    client_auth: ClientAuth,
    handshake_timeout: Duration,
}

/// What the PEM files held (shared by clones).
struct Material {
    cert_file: PathBuf,
    key_file: PathBuf,
    ca_file: Option<PathBuf>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    roots: Option<Arc<RootCertStore>>,
}

impl TlsConfig {
    /// Loads the server's certificate chain (`tls-cert-file`), its private
    /// key (`tls-key-file`: PKCS#8, PKCS#1 or SEC1) and, for client
    /// certificates, the CA certificates that sign them (`tls-ca-cert-file`).
    ///
    /// With a CA file clients must present a certificate
    /// ([`ClientAuth::Required`]), without one none is asked for. The
    /// error names the file that could not be read or holds nothing usable.
    pub fn from_pem_files(
        cert_file: impl AsRef<Path>,
        key_file: impl AsRef<Path>,
        ca_cert_file: Option<&Path>,
    ) -> io::Result<Self> {
        let (cert_file, key_file) = (cert_file.as_ref(), key_file.as_ref());
        let chain = read_certs(cert_file, "tls-cert-file")?;
        let key_pem = read(key_file, "tls-key-file")?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| pem_error(key_file, "tls-key-file", "private key", &e))?;
        let ca_file = ca_cert_file.map(Path::to_path_buf);
        let roots = match &ca_file {
            None => None,
            Some(path) => {
                let mut roots = RootCertStore::empty();
                for cert in read_certs(path, "tls-ca-cert-file")? {
                    roots.add(cert).map_err(|e| invalid(format!("tls-ca-cert-file {}: {e}", path.display())))?;
                }
                Some(Arc::new(roots))
            }
        };
        let client_auth = if roots.is_some() { ClientAuth::Required } else { ClientAuth::Off };
        let material = Material {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            ca_file,
            chain,
            key,
            roots,
        };
        let config =
            TlsConfig { material: Arc::new(material), client_auth, handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT };
        // Catches a key that does not match the certificate now, naming the files.
        config.server_config()?;
        Ok(config)
    }

    /// `true`: clients must present a certificate signed by the CA
    /// ([`ClientAuth::Required`], needs a CA file); `false`: none is asked
    /// for ([`ClientAuth::Off`]).
    #[must_use]
    pub fn require_client_cert(self, required: bool) -> Self {
        self.client_auth(if required { ClientAuth::Required } else { ClientAuth::Off })
    }

    /// Whether and how clients authenticate with a certificate; anything
    /// but [`ClientAuth::Off`] needs a CA file (checked by
    /// [`ServerBuilder::build`](super::ServerBuilder::build)).
    #[must_use]
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = auth;
        self
    }

    /// How long a client has to finish the handshake before its connection
    /// is closed (default [`DEFAULT_HANDSHAKE_TIMEOUT`]).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The client certificate policy in force.
    pub fn client_auth_mode(&self) -> ClientAuth {
        self.client_auth
    }

    /// The rustls configuration, with the `ring` provider named explicitly
    /// (so an application that also enables aws-lc-rs does not make rustls
    /// refuse to pick a default).
    fn server_config(&self) -> io::Result<Arc<rustls::ServerConfig>> {
        let m = &*self.material;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS: {e}")))?;
        let builder = match (self.client_auth, &m.roots) {
            (ClientAuth::Off, _) => builder.with_no_client_auth(),
            (auth, Some(roots)) => builder.with_client_cert_verifier(client_verifier(roots, provider, auth, m)?),
            (_, None) => {
                return Err(invalid(
                    "TLS: client certificates are required but no tls-ca-cert-file was given to verify them; \
                     pass one to TlsConfig::from_pem_files or call require_client_cert(false)"
                        .into(),
                ));
            }
        };
        let mut config = builder.with_single_cert(m.chain.clone(), m.key.clone_key()).map_err(|e| {
            invalid(format!("tls-cert-file {} with tls-key-file {}: {e}", m.cert_file.display(), m.key_file.display()))
        })?;
        // RESP has no ALPN id; clients that send one are not refused.
        config.alpn_protocols.clear();
        Ok(Arc::new(config))
    }

    /// The acceptor handed to the server, built once in `build()`.
    pub(super) fn acceptor(&self) -> io::Result<Acceptor> {
        Ok(Acceptor { inner: tokio_rustls::TlsAcceptor::from(self.server_config()?), timeout: self.handshake_timeout })
    }
}

fn client_verifier(
    roots: &Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    auth: ClientAuth,
    m: &Material,
) -> io::Result<Arc<dyn rustls::server::danger::ClientCertVerifier>> {
    let mut verifier = WebPkiClientVerifier::builder_with_provider(Arc::clone(roots), provider);
    if auth == ClientAuth::Optional {
        verifier = verifier.allow_unauthenticated();
    }
    verifier.build().map_err(|e| {
        let file = m.ca_file.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
        invalid(format!("tls-ca-cert-file {file}: {e}"))
    })
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key itself.
        f.debug_struct("TlsConfig")
            .field("cert_file", &self.material.cert_file)
            .field("key_file", &self.material.key_file)
            .field("ca_cert_file", &self.material.ca_file)
            .field("client_auth", &self.client_auth)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish()
    }
}

/// Accepts TLS connections for the server: the rustls acceptor and the
/// handshake timeout.
#[derive(Clone)]
pub(super) struct Acceptor {
    inner: tokio_rustls::TlsAcceptor,
    timeout: Duration,
}

impl Acceptor {
    /// Runs the server side of the handshake; `None` if it failed or took
    /// longer than the timeout (the caller drops the connection).
    pub(super) async fn accept<S>(&self, stream: S) -> Option<tokio_rustls::server::TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        match tokio::time::timeout(self.timeout, self.inner.accept(stream)).await {
            Ok(Ok(tls)) => Some(tls),
            Ok(Err(_)) | Err(_) => None,
        }
    }
}

impl fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acceptor").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

fn read(path: &Path, option: &str) -> io::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("{option} {}: {e}", path.display())))
}

fn read_certs(path: &Path, option: &str) -> io::Result<Vec<CertificateDer<'static>>> {
    let pem = read(path, option)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, option, "certificate", &e))?;
    if certs.is_empty() {
        return Err(pem_error(path, option, "certificate", &pem::Error::NoItemsFound));
    }
    Ok(certs)
}

fn pem_error(path: &Path, option: &str, what: &str, e: &pem::Error) -> io::Error {
    match e {
        pem::Error::NoItemsFound => invalid(format!("{option} {}: no PEM {what} found", path.display())),
        e => invalid(format!("{option} {}: bad PEM: {e}", path.display())),
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Serves one connection accepted on the TLS listener: the handshake
/// (bounded by the timeout, abandoned at shutdown), then the session, then
/// `close_notify`.
pub(super) async fn serve(
    acceptor: &Acceptor,
    stream: tokio::net::TcpStream,
    addrs: (std::net::SocketAddr, std::net::SocketAddr),
    state: Arc<super::state::ServerState>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let handshake = tokio::select! {
        tls = acceptor.accept(stream) => tls,
        _ = stop.wait_for(|&s| s) => None,
    };
    let Some(mut tls) = handshake else { return };
    super::connection::serve(&mut tls, addrs, state, stop).await;
    // A peer that does not read cannot hold the task: one second at most.
    let _ = tokio::time::timeout(Duration::from_secs(1), tokio::io::AsyncWriteExt::shutdown(&mut tls)).await;
}
