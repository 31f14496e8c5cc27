//! Serve a [`Db`] over the Redis protocol (feature `server`).
//!
//! This is the first part of the server: RESP2 and RESP3 over TCP, on the
//! caller's tokio runtime. Requests are parsed by [`resp`] (multibulk and
//! inline, with Redis's protocol errors and limits), every command the
//! [`Db`] knows runs through [`Db::execute`], and the server answers the
//! connection commands itself: `PING`, `ECHO`, `QUIT`, `HELLO [2|3]`,
//! `SELECT 0`, `CLIENT ID|GETNAME|SETNAME|SETINFO`. Commands that may block
//! (`BLPOP`, `BZPOPMIN`, …) run on tokio's blocking pool.
//!
//! Per connection, everything a read brought is parsed, every complete
//! command is run, and their replies go out in one write (pipelining).
//! Limits: the number of clients (further ones get
//! `ERR max number of clients reached`), the bulk and multibulk lengths
//! ([`ServerBuilder::max_bulk_len`], [`ServerBuilder::max_multibulk_len`]),
//! and the unparsed input kept per client
//! ([`ServerBuilder::query_buffer_limit`]; over it the connection is closed).
//!
//! With [`ServerBuilder::memcached_bind`] the server also speaks the
//! Memcached text and meta protocols on a port of their own, over the same
//! `Db` ([`memcache`]), sharing the client limit and the shutdown.
//!
//! Not yet: AUTH/ACL, TLS, pub/sub delivery, MULTI/EXEC.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use embercache::Db;
//! use embercache::server::Server;
//!
//! let server = Server::builder().bind("127.0.0.1:6379").build()?;
//! let handle = server.spawn(Db::new())?;
//! println!("listening on {}", handle.local_addr());
//! // … later:
//! handle.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod commands;
mod connection;
pub mod memcache;
pub mod resp;

use crate::db::Db;
use resp::ParseLimits;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Redis's `maxclients` default.
pub const DEFAULT_MAX_CLIENTS: usize = 10_000;
/// Redis's `client-query-buffer-limit` default: 1 GiB.
pub const DEFAULT_QUERY_BUFFER_LIMIT: usize = 1024 * 1024 * 1024;
/// The address a server binds unless told otherwise: loopback only.
pub const DEFAULT_BIND: &str = "127.0.0.1:6379";

/// Settings shared by the connections of one server.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) parse_limits: ParseLimits,
    pub(crate) max_clients: usize,
    pub(crate) query_buffer_limit: usize,
    /// The largest Memcached item (key and value bytes).
    pub(crate) memcached_max_item_size: usize,
}

/// Configures a [`Server`]; from [`Server::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ServerBuilder {
    addr: String,
    memcached_addr: Option<String>,
    config: Config,
}

impl ServerBuilder {
    /// The address to listen on (default [`DEFAULT_BIND`]); port 0 picks a free one.
    pub fn bind(mut self, addr: impl Into<String>) -> Self {
        self.addr = addr.into();
        self
    }

    /// The most clients connected at once (default [`DEFAULT_MAX_CLIENTS`]).
    pub fn max_clients(mut self, n: usize) -> Self {
        self.config.max_clients = n;
        self
    }

    /// The longest bulk argument accepted (default 512 MiB, Redis's `proto-max-bulk-len`).
    pub fn max_bulk_len(mut self, bytes: usize) -> Self {
        self.config.parse_limits.max_bulk_len = bytes;
        self
    }

    /// The most arguments of one command (default 1024 × 1024).
    pub fn max_multibulk_len(mut self, n: usize) -> Self {
        self.config.parse_limits.max_multibulk_len = n;
        self
    }

    /// The most unparsed input kept for one client before its connection is
    /// closed (default [`DEFAULT_QUERY_BUFFER_LIMIT`]).
    pub fn query_buffer_limit(mut self, bytes: usize) -> Self {
        self.config.query_buffer_limit = bytes;
        self
    }

    /// Also serves the Memcached text and meta protocols on `addr` (port 0
    /// picks a free one), over the same `Db`; off by default.
    pub fn memcached_bind(mut self, addr: impl Into<String>) -> Self {
        self.memcached_addr = Some(addr.into());
        self
    }

    /// The largest Memcached item, key and value bytes (default
    /// [`memcache::DEFAULT_MAX_ITEM_SIZE`], 1 MiB, as memcached's `-I`).
    pub fn memcached_max_item_size(mut self, bytes: usize) -> Self {
        self.config.memcached_max_item_size = bytes;
        self
    }

    /// Binds the listening sockets. Needs no runtime; serving does.
    pub fn build(self) -> io::Result<Server> {
        let bind = |addr: &str| {
            let listener = std::net::TcpListener::bind(addr)?;
            listener.set_nonblocking(true)?;
            Ok::<_, io::Error>(listener)
        };
        let listener = bind(&self.addr)?;
        let memcached = self.memcached_addr.as_deref().map(bind).transpose()?;
        Ok(Server { listener, memcached, config: Arc::new(self.config) })
    }
}

/// A bound RESP server, ready to serve a [`Db`].
#[derive(Debug)]
pub struct Server {
    listener: std::net::TcpListener,
    memcached: Option<std::net::TcpListener>,
    config: Arc<Config>,
}

impl Server {
    /// A builder with the defaults: loopback port 6379, Redis's limits.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            addr: DEFAULT_BIND.to_string(),
            memcached_addr: None,
            config: Config {
                parse_limits: ParseLimits::default(),
                max_clients: DEFAULT_MAX_CLIENTS,
                query_buffer_limit: DEFAULT_QUERY_BUFFER_LIMIT,
                memcached_max_item_size: memcache::DEFAULT_MAX_ITEM_SIZE,
            },
        }
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address the Memcached listener listens on, if there is one.
    pub fn memcached_addr(&self) -> io::Result<Option<SocketAddr>> {
        self.memcached.as_ref().map(std::net::TcpListener::local_addr).transpose()
    }

    /// Serves `db` until an accept error; must be awaited on a tokio runtime.
    pub async fn serve(self, db: Db) -> io::Result<()> {
        self.serve_until(db, std::future::pending()).await
    }

    /// Serves `db` until `shutdown` completes, then stops accepting, closes
    /// every connection (each after the batch it is running) and returns.
    pub async fn serve_until(self, db: Db, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let listener = TcpListener::from_std(self.listener)?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let clients = Arc::new(AtomicUsize::new(0));
        let next_id = AtomicU64::new(1);
        let mut tasks = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        if let Some(memcached) = self.memcached {
            let listener = TcpListener::from_std(memcached)?;
            let cfg = &self.config;
            let shared = memcache::shared(&db, cfg.memcached_max_item_size, cfg.max_clients);
            let (db, clients, stop) = (db.clone(), Arc::clone(&clients), stop_rx.clone());
            tasks.spawn(memcache::serve_listener(listener, db, shared, clients, cfg.max_clients, stop));
        }
        let result = loop {
            let (mut stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    // Per-connection failures (the peer reset before accept, …).
                    Err(e) if is_transient(&e) => continue,
                    Err(e) => break Err(e),
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
                () = &mut shutdown => break Ok(()),
            };
            if clients.load(Ordering::Acquire) >= self.config.max_clients {
                tasks.spawn(async move {
                    let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
                });
                continue;
            }
            let guard = ClientSlot::take(&clients);
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            let (db, config, stop) = (db.clone(), Arc::clone(&self.config), stop_rx.clone());
            tasks.spawn(async move {
                let _guard = guard;
                connection::serve(stream, db, config, id, stop).await;
            });
        };
        drop(listener);
        let _ = stop_tx.send(true);
        while tasks.join_next().await.is_some() {}
        result
    }

    /// Serves `db` in a task on the current tokio runtime (panics outside
    /// one, as `tokio::spawn` does); the handle shuts it down.
    pub fn spawn(self, db: Db) -> io::Result<ServerHandle> {
        let local_addr = self.local_addr()?;
        let memcached_addr = self.memcached_addr()?;
        let (tx, mut rx) = watch::channel(false);
        let task = tokio::spawn(self.serve_until(db, async move {
            let _ = rx.wait_for(|&stop| stop).await;
        }));
        Ok(ServerHandle { local_addr, memcached_addr, stop: tx, task })
    }
}

/// Accept errors that concern one connection, not the listener.
fn is_transient(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted)
}

/// One connected client, counted while alive.
struct ClientSlot(Arc<AtomicUsize>);

impl ClientSlot {
    fn take(clients: &Arc<AtomicUsize>) -> Self {
        clients.fetch_add(1, Ordering::AcqRel);
        ClientSlot(Arc::clone(clients))
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A server running in a task, from [`Server::spawn`]. Dropping the handle
/// stops the server too (without waiting for it).
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    memcached_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address the Memcached listener listens on (`None` without
    /// [`ServerBuilder::memcached_bind`]).
    pub fn memcached_addr(&self) -> Option<SocketAddr> {
        self.memcached_addr
    }

    /// Stops accepting, closes every connection, and waits for the server
    /// task to finish.
    pub async fn shutdown(self) -> io::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.map_err(io::Error::other)?
    }
}
