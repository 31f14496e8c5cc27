#![cfg(feature = "tls")]
//! The server over TLS (feature `tls`): a CA, a server and client
//! certificates made at run time with rcgen; the `redis` crate, a
//! tokio-rustls client speaking raw RESP, and redis-cli; mutual TLS,
//! clients that are not TLS or never finish the handshake; protected mode.

use embercache::Db;
use embercache::server::tls::{ClientAuth, TlsConfig};
use embercache::server::{Server, ServerBuilder, ServerHandle};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A CA, a server certificate for localhost / 127.0.0.1 and a client
/// certificate, all signed by the CA, as PEM files in a fresh directory.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("embercache-tls-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pki = Pki { dir };
        let ca = pki.ca("ca");
        pki.leaf("server", &ca, vec!["localhost".into(), "127.0.0.1".into()]);
        pki.leaf("client", &ca, Vec::new());
        // A client certificate from a CA the server does not trust.
        let rogue = pki.ca("rogue-ca");
        pki.leaf("rogue", &rogue, Vec::new());
        pki
    }

    fn ca(&self, name: &str) -> Issuer<'static, KeyPair> {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, format!("embercache test {name}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(self.path(&format!("{name}.crt")), cert.pem()).unwrap();
        Issuer::new(params, key)
    }

    fn leaf(&self, name: &str, issuer: &Issuer<'static, KeyPair>, sans: Vec<String>) {
        let mut params = CertificateParams::new(sans).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, issuer).unwrap();
        std::fs::write(self.path(&format!("{name}.crt")), cert.pem()).unwrap();
        std::fs::write(self.path(&format!("{name}.key")), key.serialize_pem()).unwrap();
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    fn read(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.path(file)).unwrap()
    }

    /// The server's TLS settings: mutual TLS against the test CA.
    fn server_config(&self) -> TlsConfig {
        let ca = self.path("ca.crt");
        TlsConfig::from_pem_files(self.path("server.crt"), self.path("server.key"), Some(&ca)).unwrap()
    }

    /// A rustls client trusting the test CA, presenting `cert` ("client",
    /// "rogue") if given.
    fn connector(&self, cert: Option<&str>) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(&self.read("ca.crt")) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let config = match cert {
            None => builder.with_no_client_auth(),
            Some(name) => {
                let chain = CertificateDer::pem_slice_iter(&self.read(&format!("{name}.crt")))
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap();
                let key = PrivateKeyDer::from_pem_slice(&self.read(&format!("{name}.key"))).unwrap();
                builder.with_client_auth_cert(chain, key).unwrap()
            }
        };
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }

    /// The `redis` crate's client for `rediss://localhost:port`, with the
    /// client certificate.
    fn redis_client(&self, addr: SocketAddr) -> redis::Client {
        let certs = redis::TlsCertificates {
            client_tls: Some(redis::ClientTlsConfig {
                client_cert: self.read("client.crt"),
                client_key: self.read("client.key"),
            }),
            root_cert: Some(self.read("ca.crt")),
        };
        redis::Client::build_with_tls(format!("rediss://localhost:{}/", addr.port()), certs).unwrap()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server on its own runtime.
struct TlsServer {
    rt: tokio::runtime::Runtime,
    handle: Option<ServerHandle>,
}

impl TlsServer {
    fn start(builder: ServerBuilder) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let server = builder.build().unwrap();
        let handle = {
            let _enter = rt.enter();
            server.spawn(Db::new()).unwrap()
        };
        TlsServer { rt, handle: Some(handle) }
    }

    fn tls_addr(&self) -> SocketAddr {
        self.handle.as_ref().unwrap().tls_addr().expect("a TLS listener")
    }

    fn local_addr(&self) -> SocketAddr {
        self.handle.as_ref().unwrap().local_addr()
    }

    /// Connects with rustls, sends `request`, and reads until `want.len()`
    /// bytes came or the connection ends (an error counts as the end).
    fn exchange(&self, connector: &tokio_rustls::TlsConnector, request: &[u8], want: usize) -> Vec<u8> {
        let addr = self.tls_addr();
        let connector = connector.clone();
        let request = request.to_vec();
        self.rt.block_on(async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let name = ServerName::try_from("localhost").unwrap();
            // In TLS 1.3 the client finishes before the server has checked
            // its certificate: a refusal shows on the first read.
            let Ok(mut tls) = connector.connect(name, tcp).await else { return Vec::new() };
            if tls.write_all(&request).await.is_err() {
                return Vec::new();
            }
            let mut got = Vec::new();
            let mut chunk = [0u8; 1024];
            while got.len() < want {
                match tokio::time::timeout(Duration::from_secs(10), tls.read(&mut chunk)).await {
                    Ok(Ok(n)) if n > 0 => got.extend_from_slice(&chunk[..n]),
                    _ => break,
                }
            }
            got
        })
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.rt.block_on(handle.shutdown()).unwrap();
        }
    }
}

/// Reads until the server closes the connection; panics if it does not
/// within 10 s.
fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                panic!("the server did not close the connection")
            }
            // Reset by the server: closed too.
            Err(_) => return out,
        }
    }
}

fn tls_only(pki: &Pki, config: TlsConfig) -> ServerBuilder {
    let _ = pki;
    Server::builder().tls(config).tls_bind("127.0.0.1:0")
}

#[test]
fn redis_crate_runs_commands_over_mutual_tls() {
    let pki = Pki::new();
    let server = TlsServer::start(tls_only(&pki, pki.server_config()));
    let tls_addr = server.tls_addr();
    assert_eq!(server.local_addr(), tls_addr, "TLS only: local_addr is the TLS listener's");

    // The synchronous client.
    let mut con = pki.redis_client(tls_addr).get_connection().unwrap();
    let () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "v");
    let n: i64 = redis::cmd("INCRBY").arg("n").arg(41).query(&mut con).unwrap();
    assert_eq!(n, 41);
    let tls_port: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("tls-port").query(&mut con).unwrap();
    assert_eq!(tls_port, ["tls-port".to_string(), tls_addr.port().to_string()]);
    let port: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("port").query(&mut con).unwrap();
    assert_eq!(port, ["port", "0"], "no plain listener");

    // The async client, on the server's runtime.
    let client = pki.redis_client(tls_addr);
    server.rt.block_on(async move {
        let mut con = client.get_multiplexed_async_connection().await.unwrap();
        let v: String = redis::cmd("GET").arg("k").query_async(&mut con).await.unwrap();
        assert_eq!(v, "v");
        let len: i64 = redis::cmd("RPUSH").arg("l").arg("a").arg("b").query_async(&mut con).await.unwrap();
        assert_eq!(len, 2);
    });
}

#[test]
fn rustls_client_speaks_raw_resp_and_plain_listener_serves_beside_it() {
    let pki = Pki::new();
    let server = TlsServer::start(tls_only(&pki, pki.server_config()).bind("127.0.0.1:0"));
    assert_ne!(server.local_addr(), server.tls_addr());
    let connector = pki.connector(Some("client"));
    // Pipelined: three commands in one write.
    let want = "+OK\r\n$3\r\nbar\r\n+PONG\r\n";
    let got =
        server.exchange(&connector, b"*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\nGET foo\r\nPING\r\n", want.len());
    assert_eq!(String::from_utf8_lossy(&got), want);

    // The same database over plain text.
    let mut plain = TcpStream::connect(server.local_addr()).unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    plain.write_all(b"GET foo\r\nCONFIG GET tls-port\r\n").unwrap();
    let port = server.tls_addr().port().to_string();
    let want = format!("$3\r\nbar\r\n*2\r\n$8\r\ntls-port\r\n${}\r\n{port}\r\n", port.len());
    let mut got = vec![0; want.len()];
    plain.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), want);
}

#[test]
fn mutual_tls_refuses_clients_without_a_trusted_certificate() {
    let pki = Pki::new();
    let server = TlsServer::start(tls_only(&pki, pki.server_config()));
    let ping = b"PING\r\n";
    assert_eq!(server.exchange(&pki.connector(None), ping, 7), b"", "no client certificate");
    assert_eq!(server.exchange(&pki.connector(Some("rogue")), ping, 7), b"", "a certificate from another CA");
    assert_eq!(server.exchange(&pki.connector(Some("client")), ping, 7), b"+PONG\r\n", "the server still serves");
}

#[test]
fn optional_and_no_client_auth() {
    let pki = Pki::new();
    let optional = TlsServer::start(tls_only(&pki, pki.server_config().client_auth(ClientAuth::Optional)));
    assert_eq!(optional.exchange(&pki.connector(None), b"PING\r\n", 7), b"+PONG\r\n");
    assert_eq!(optional.exchange(&pki.connector(Some("client")), b"PING\r\n", 7), b"+PONG\r\n");
    assert_eq!(optional.exchange(&pki.connector(Some("rogue")), b"PING\r\n", 7), b"", "a certificate sent is checked");

    let off = TlsServer::start(tls_only(&pki, pki.server_config().require_client_cert(false)));
    assert_eq!(off.exchange(&pki.connector(None), b"PING\r\n", 7), b"+PONG\r\n");

    // Server authentication only: no CA file.
    let config = TlsConfig::from_pem_files(pki.path("server.crt"), pki.path("server.key"), None).unwrap();
    assert_eq!(config.client_auth_mode(), ClientAuth::Off);
    let no_ca = TlsServer::start(tls_only(&pki, config));
    assert_eq!(no_ca.exchange(&pki.connector(None), b"PING\r\n", 7), b"+PONG\r\n");
}

#[test]
fn plain_text_client_on_the_tls_port_is_closed() {
    let pki = Pki::new();
    let server = TlsServer::start(tls_only(&pki, pki.server_config()));
    let mut s = TcpStream::connect(server.tls_addr()).unwrap();
    s.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
    let got = read_until_closed(&mut s);
    assert!(!got.windows(4).any(|w| w == b"PONG"), "{got:?}");
    // Garbage that looks like the start of a TLS record, then the end.
    let mut s = TcpStream::connect(server.tls_addr()).unwrap();
    s.write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00]).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    read_until_closed(&mut s);
    assert_eq!(server.exchange(&pki.connector(Some("client")), b"PING\r\n", 7), b"+PONG\r\n");
}

#[test]
fn stalled_handshake_holds_a_client_slot_until_the_timeout() {
    let pki = Pki::new();
    let config = pki.server_config().handshake_timeout(Duration::from_millis(500));
    let server = TlsServer::start(tls_only(&pki, config).bind("127.0.0.1:0").max_clients(1));
    // A client that connects to the TLS port and says nothing holds the
    // only slot: a plain client is turned away. (Retried: if the plain
    // client is accepted first, it takes the slot and the silent one is
    // turned away instead.)
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stalled = loop {
        assert!(Instant::now() < deadline, "the stalled handshake never held the slot");
        let stalled = TcpStream::connect(server.tls_addr()).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let mut plain = TcpStream::connect(server.local_addr()).unwrap();
        plain.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        plain.write_all(b"PING\r\n").unwrap();
        // The server answers, then closes on the end of input.
        let _ = plain.shutdown(std::net::Shutdown::Write);
        let mut reply = Vec::new();
        let _ = plain.read_to_end(&mut reply);
        match String::from_utf8_lossy(&reply).as_ref() {
            "-ERR max number of clients reached\r\n" => break stalled,
            // The plain client was first and got the slot.
            other => assert!(other.is_empty() || other == "+PONG\r\n", "{other:?}"),
        }
        drop(stalled);
        std::thread::sleep(Duration::from_millis(100));
    };

    // After the timeout the server drops it, and the slot is free again.
    assert_eq!(read_until_closed(&mut stalled), b"");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = server.exchange(&pki.connector(Some("client")), b"PING\r\n", 7);
        if got == b"+PONG\r\n" {
            break;
        }
        // Closed unanswered: the slot's guard is dropped just after the socket.
        assert!(got.is_empty() && Instant::now() < deadline, "{got:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn redis_cli_over_mutual_tls() {
    let cli = Path::new("/usr/bin/redis-cli");
    let cli = if cli.exists() { cli.to_path_buf() } else { PathBuf::from("redis-cli") };
    let help = std::process::Command::new(&cli).arg("--help").output();
    let supports_tls = help.as_ref().is_ok_and(|o| {
        String::from_utf8_lossy(&o.stdout).contains("--tls") || String::from_utf8_lossy(&o.stderr).contains("--tls")
    });
    if !supports_tls {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "redis-cli with --tls is needed under CI");
        eprintln!("!!! redis-cli with TLS support not found: redis_cli_over_mutual_tls SKIPPED");
        return;
    }
    let pki = Pki::new();
    let server = TlsServer::start(tls_only(&pki, pki.server_config()));
    let port = server.tls_addr().port().to_string();
    let run = |with_cert: bool, args: &[&str]| {
        let mut cmd = std::process::Command::new(&cli);
        cmd.args(["--tls", "--cacert"]).arg(pki.path("ca.crt"));
        if with_cert {
            cmd.arg("--cert").arg(pki.path("client.crt")).arg("--key").arg(pki.path("client.key"));
        }
        cmd.args(["-h", "127.0.0.1", "-p", &port]).args(args);
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string() + &String::from_utf8_lossy(&out.stderr)
    };
    assert_eq!(run(true, &["PING"]), "PONG");
    assert_eq!(run(true, &["SET", "k", "over tls"]), "OK");
    assert_eq!(run(true, &["GET", "k"]), "over tls");
    assert_ne!(run(false, &["PING"]), "PONG", "without a client certificate");
}

#[test]
fn protected_mode_refuses_non_loopback_without_a_password() {
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let err = Server::builder().bind(addr).build().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("protected mode"), "{msg}");
        for choice in ["loopback", "password", "protected_mode(false)"] {
            assert!(msg.contains(choice), "the message names {choice}: {msg}");
        }
    }
    // Turned off, it binds (and is dropped at once: nothing connects).
    let server = Server::builder().bind("0.0.0.0:0").protected_mode(false).build().unwrap();
    assert!(server.local_addr().unwrap().ip().is_unspecified());
    drop(server);

    // The TLS listener is held to the same rule.
    let pki = Pki::new();
    let err = Server::builder().tls(pki.server_config()).tls_bind("0.0.0.0:0").build().unwrap_err();
    assert!(err.to_string().contains("protected_mode(false)"), "{err}");
    Server::builder().tls(pki.server_config()).tls_bind("0.0.0.0:0").protected_mode(false).build().unwrap();
}

#[test]
fn bad_certificate_files_are_named_in_the_error() {
    let pki = Pki::new();
    let missing = pki.path("nope.crt");
    let err = TlsConfig::from_pem_files(&missing, pki.path("server.key"), None).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("tls-cert-file") && err.to_string().contains("nope.crt"), "{err}");

    // A key file given as the certificate, and the other way round.
    let err = TlsConfig::from_pem_files(pki.path("server.key"), pki.path("server.key"), None).unwrap_err();
    assert!(err.to_string().contains("server.key") && err.to_string().contains("no PEM certificate"), "{err}");
    let err = TlsConfig::from_pem_files(pki.path("server.crt"), pki.path("server.crt"), None).unwrap_err();
    assert!(err.to_string().contains("tls-key-file") && err.to_string().contains("no PEM private key"), "{err}");

    // A key that does not belong to the certificate.
    let err = TlsConfig::from_pem_files(pki.path("server.crt"), pki.path("client.key"), None).unwrap_err();
    assert!(err.to_string().contains("server.crt") && err.to_string().contains("client.key"), "{err}");

    let not_pem = pki.path("garbage.crt");
    std::fs::write(&not_pem, "hello").unwrap();
    let ca: &Path = &not_pem;
    let err = TlsConfig::from_pem_files(pki.path("server.crt"), pki.path("server.key"), Some(ca)).unwrap_err();
    assert!(err.to_string().contains("tls-ca-cert-file") && err.to_string().contains("garbage.crt"), "{err}");

    // Client certificates required with nothing to check them against.
    let config = TlsConfig::from_pem_files(pki.path("server.crt"), pki.path("server.key"), None).unwrap();
    let err = tls_only(&pki, config.require_client_cert(true)).build().unwrap_err();
    assert!(err.to_string().contains("tls-ca-cert-file"), "{err}");

    // A TLS address without certificates, and certificates without an address.
    let err = Server::builder().tls_bind("127.0.0.1:0").build().unwrap_err();
    assert!(err.to_string().contains("ServerBuilder::tls"), "{err}");
    let err = Server::builder().tls(pki.server_config()).build().unwrap_err();
    assert!(err.to_string().contains("tls_bind"), "{err}");
}

#[test]
fn memcached_protocol_over_tls() {
    let pki = Pki::new();
    let builder = Server::builder().tls(pki.server_config()).memcached_bind("127.0.0.1:0").memcached_tls(true);
    let server = TlsServer::start(builder);
    let addr = server.handle.as_ref().unwrap().memcached_addr().expect("a Memcached listener");
    let connector = pki.connector(Some("client"));
    let want = "STORED\r\nVALUE k 5 2\r\nhi\r\nEND\r\n";
    let got = server.rt.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut tls = connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
        tls.write_all(b"set k 5 0 2\r\nhi\r\nget k\r\n").await.unwrap();
        let mut got = Vec::new();
        let mut chunk = [0u8; 256];
        while got.len() < want.len() {
            match tokio::time::timeout(Duration::from_secs(10), tls.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => got.extend_from_slice(&chunk[..n]),
                _ => break,
            }
        }
        got
    });
    assert_eq!(String::from_utf8_lossy(&got), want);
    // Plain text on the TLS port gets no Memcached reply: the handshake fails.
    let mut plain = TcpStream::connect(addr).unwrap();
    plain.write_all(b"version\r\n").unwrap();
    assert!(!String::from_utf8_lossy(&read_until_closed(&mut plain)).contains("VERSION"));
    // Without certificates to use, the builder refuses.
    let err = Server::builder().memcached_bind("127.0.0.1:0").memcached_tls(true).build().unwrap_err();
    assert!(err.to_string().contains("memcached_tls needs a TlsConfig"), "{err}");
}
