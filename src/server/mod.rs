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
//! Not yet: AUTH/ACL, TLS, pub/sub delivery, MULTI/EXEC, the Memcached
//! protocols.
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

mod admin;
mod commands;
pub mod config_cmd;
mod connection;
mod info;
mod multi;
pub mod options;
pub mod resp;
mod session;
mod state;
mod subscribe;
mod tracking;

use crate::db::Db;
pub use info::REDIS_VERSION;
use resp::ParseLimits;
use state::ServerState;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
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
/// Redis's `databases` default.
pub const DEFAULT_DATABASES: usize = 16;

/// Where SAVE, BGSAVE, SHUTDOWN and the `save` schedule write snapshots.
#[derive(Debug, Clone)]
pub struct Persistence {
    /// The directory (`dir`).
    pub dir: PathBuf,
    /// Database 0's file name (`dbfilename`); database N's is `<name>.N`.
    pub dbfilename: String,
    /// Redis's `save` rules as written (`"3600 1 300 100"`; empty: none).
    pub save: String,
    /// `appendfsync`, reported by CONFIG GET.
    pub appendfsync: String,
    /// Whether SHUTDOWN saves unless told NOSAVE (Redis: when `save` rules exist).
    pub save_on_shutdown: bool,
}

impl Persistence {
    /// Snapshots in `dir`, database 0's named `dbfilename`, no schedule.
    pub fn new(dir: impl Into<PathBuf>, dbfilename: impl Into<String>) -> Self {
        Persistence {
            dir: dir.into(),
            dbfilename: dbfilename.into(),
            save: String::new(),
            appendfsync: "everysec".into(),
            save_on_shutdown: false,
        }
    }

    /// The `save` rules (`"<seconds> <changes>"` pairs): a snapshot is taken
    /// when at least `changes` writes happened in the last `seconds`.
    pub fn save_rules(mut self, rules: impl Into<String>) -> Self {
        self.save = rules.into();
        self.save_on_shutdown = !self.save.trim().is_empty();
        self
    }

    /// The snapshot file of database `index`: `dbfilename` for database 0,
    /// `dbfilename.N` for database N.
    pub fn snapshot_path(&self, index: usize) -> PathBuf {
        let file = if index == 0 { self.dbfilename.clone() } else { format!("{}.{index}", self.dbfilename) };
        self.dir.join(file)
    }

    /// Saves a snapshot of every non-empty database of `dbs` (database N
    /// to [`snapshot_path(N)`](Self::snapshot_path)) and removes the files
    /// of the other databases that are empty, as SAVE does.
    pub fn save_databases(&self, dbs: &[Db]) -> io::Result<()> {
        for (i, db) in dbs.iter().enumerate() {
            let path = self.snapshot_path(i);
            if db.dbsize() == 0 && i > 0 {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            db.save_snapshot(&path, &crate::persist::SnapshotOptions::default())
                .map_err(|e| io::Error::other(format!("saving {} failed: {e}", path.display())))?;
        }
        Ok(())
    }

    /// The parsed `save` rules; `None` if malformed.
    pub fn parse_rules(rules: &str) -> Option<Vec<(u64, u64)>> {
        let nums: Option<Vec<u64>> = rules.split_whitespace().map(|n| n.parse().ok()).collect();
        let nums = nums?;
        if nums.len() % 2 != 0 {
            return None;
        }
        Some(nums.chunks(2).map(|c| (c[0], c[1])).collect())
    }
}

/// Settings shared by the connections of one server.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) parse_limits: ParseLimits,
    pub(crate) max_clients: usize,
    pub(crate) query_buffer_limit: usize,
    pub(crate) databases: usize,
    pub(crate) port: u16,
    pub(crate) bind_host: String,
    pub(crate) timeout_secs: u64,
    pub(crate) notify_keyspace_events: String,
    pub(crate) persistence: Option<Persistence>,
    pub(crate) config_file: Option<PathBuf>,
    pub(crate) protected_mode: bool,
    pub(crate) tls_port: u16,
    /// Parameters seeded for CONFIG GET (see [`ServerBuilder::config_param`]).
    pub(crate) params: Vec<(String, String)>,
}

/// Configures a [`Server`]; from [`Server::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ServerBuilder {
    addr: String,
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

    /// The number of databases SELECT can reach (default
    /// [`DEFAULT_DATABASES`]; at least 1). The `Db` given to
    /// [`Server::serve`] is database 0; the others are made like it and
    /// share its pub/sub.
    pub fn databases(mut self, n: usize) -> Self {
        self.config.databases = n.max(1);
        self
    }

    /// Closes a client idle for `secs` seconds (0, the default: never;
    /// Redis's `timeout`). Subscribers are exempt.
    pub fn timeout(mut self, secs: u64) -> Self {
        self.config.timeout_secs = secs;
        self
    }

    /// Keyspace notifications on Redis's channels (`notify-keyspace-events`,
    /// e.g. `"KEA"`); empty, the default, publishes none.
    pub fn notify_keyspace_events(mut self, flags: impl Into<String>) -> Self {
        self.config.notify_keyspace_events = flags.into();
        self
    }

    /// Where SAVE, BGSAVE and SHUTDOWN write snapshots, and the `save` schedule.
    pub fn persistence(mut self, p: Persistence) -> Self {
        self.config.persistence = Some(p);
        self
    }

    /// The config file CONFIG REWRITE updates.
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.config_file = Some(path.into());
        self
    }

    /// Redis's `protected-mode` (default on): while no password is set,
    /// clients connecting from another host than the loopback interface
    /// are refused with Redis's `-DENIED` error. Matters only when bound to
    /// a non-loopback address.
    pub fn protected_mode(mut self, on: bool) -> Self {
        self.config.protected_mode = on;
        self
    }

    /// Seeds the value CONFIG GET reports for `name`, one of the
    /// compatibility parameters ([`config_cmd::COMPAT`]) or
    /// `slowlog-log-slower-than` / `slowlog-max-len` (which take effect);
    /// `build` refuses other names and bad slowlog values. As redis.conf
    /// does for `embercache-server`.
    pub fn config_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.params.push((name.into().to_ascii_lowercase(), value.into()));
        self
    }

    /// Binds the listening socket. Needs no runtime; serving does.
    pub fn build(mut self) -> io::Result<Server> {
        for (name, value) in &self.config.params {
            let ok = match name.as_str() {
                "slowlog-log-slower-than" => value.parse::<i64>().is_ok_and(|n| n >= -1),
                "slowlog-max-len" => value.parse::<usize>().is_ok(),
                n => config_cmd::COMPAT.iter().any(|(c, _)| *c == n),
            };
            if !ok {
                let msg = format!("invalid config parameter '{name}' = '{value}'");
                return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
            }
        }
        if let Some(events) = Some(&self.config.notify_keyspace_events).filter(|e| !e.is_empty())
            && crate::db::notify::ChannelEvents::parse(events).is_err()
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid notify-keyspace-events '{events}'"),
            ));
        }
        let listener = std::net::TcpListener::bind(&self.addr)?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        self.config.port = local.port();
        self.config.bind_host = local.ip().to_string();
        Ok(Server { listener, config: Arc::new(self.config) })
    }
}

/// A bound RESP server, ready to serve a [`Db`].
#[derive(Debug)]
pub struct Server {
    listener: std::net::TcpListener,
    config: Arc<Config>,
}

impl Server {
    /// A builder with the defaults: loopback port 6379, Redis's limits, 16 databases.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            addr: DEFAULT_BIND.to_string(),
            config: Config {
                parse_limits: ParseLimits::default(),
                max_clients: DEFAULT_MAX_CLIENTS,
                query_buffer_limit: DEFAULT_QUERY_BUFFER_LIMIT,
                databases: DEFAULT_DATABASES,
                port: 6379,
                bind_host: "127.0.0.1".into(),
                timeout_secs: 0,
                notify_keyspace_events: String::new(),
                persistence: None,
                config_file: None,
                protected_mode: true,
                tls_port: 0,
                params: Vec::new(),
            },
        }
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The databases served: `db` as database 0, the rest made like it
    /// (same memory bound and policy) and sharing its pub/sub.
    fn databases(&self, db: Db) -> Vec<Db> {
        let mut dbs = vec![db];
        for _ in 1..self.config.databases {
            let first = &dbs[0];
            let built = Db::builder()
                .maxmemory(first.maxmemory())
                .maxmemory_policy(first.maxmemory_policy())
                .share_pubsub(first)
                .build();
            match built {
                Ok(d) => dbs.push(d),
                Err(_) => break,
            }
        }
        dbs
    }

    /// Serves `db` until an accept error; must be awaited on a tokio runtime.
    pub async fn serve(self, db: Db) -> io::Result<()> {
        self.serve_until(db, std::future::pending()).await
    }

    /// Serves `db` until `shutdown` completes (or a client sends SHUTDOWN),
    /// then stops accepting, closes every connection (each after the batch
    /// it is running) and returns.
    pub async fn serve_until(self, db: Db, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let dbs = self.databases(db);
        self.serve_databases(dbs, shutdown).await
    }

    /// Serves `dbs` as databases 0, 1, … (at least one; they should share
    /// pub/sub, see [`DbBuilder::share_pubsub`](crate::db::DbBuilder::share_pubsub))
    /// until `shutdown` completes or a client sends SHUTDOWN.
    pub async fn serve_databases(self, dbs: Vec<Db>, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        if dbs.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no database to serve"));
        }
        let listener = TcpListener::from_std(self.listener)?;
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let state = ServerState::new(dbs, Arc::clone(&self.config), stop_tx);
        let clients = Arc::new(AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        if let Some(rules) = self.config.persistence.as_ref().and_then(|p| Persistence::parse_rules(&p.save))
            && !rules.is_empty()
        {
            tasks.spawn(save_schedule(Arc::clone(&state), rules, stop_rx.clone()));
        }
        let result = loop {
            let (mut stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    // Per-connection failures (the peer reset before accept, …).
                    Err(e) if is_transient(&e) => continue,
                    Err(e) => break Err(e),
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
                () = &mut shutdown => break Ok(()),
                _ = stop_rx.wait_for(|&stop| stop) => break Ok(()),
            };
            if clients.load(Ordering::Acquire) >= state.max_clients.load(Ordering::Relaxed) {
                state.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
                tasks.spawn(async move {
                    let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
                });
                continue;
            }
            if refused_by_protected_mode(&self.config, peer) {
                state.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
                tasks.spawn(async move {
                    let _ = stream.write_all(PROTECTED_MODE_DENIED).await;
                });
                continue;
            }
            let _ = stream.set_nodelay(true);
            let local = stream.local_addr().unwrap_or(peer);
            let guard = ClientSlot::take(&clients);
            let (state, stop) = (Arc::clone(&state), stop_rx.clone());
            tasks.spawn(async move {
                let _guard = guard;
                connection::serve(stream, (peer, local), state, stop).await;
            });
        };
        drop(listener);
        let _ = state.stop.send(true);
        while tasks.join_next().await.is_some() {}
        result
    }

    /// Serves `db` in a task on the current tokio runtime (panics outside
    /// one, as `tokio::spawn` does); the handle shuts it down.
    pub fn spawn(self, db: Db) -> io::Result<ServerHandle> {
        let local_addr = self.local_addr()?;
        let (tx, mut rx) = watch::channel(false);
        let task = tokio::spawn(self.serve_until(db, async move {
            let _ = rx.wait_for(|&stop| stop).await;
        }));
        Ok(ServerHandle { local_addr, stop: tx, task })
    }
}

/// Takes a snapshot whenever one of Redis's `save` rules is met: at least
/// `changes` writes and `seconds` since the last save.
async fn save_schedule(state: Arc<ServerState>, rules: Vec<(u64, u64)>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.wait_for(|&s| s) => return,
        }
        let changes = state.changes_since_save.load(Ordering::Relaxed);
        let since = state::unix_now().0 - state.lastsave.load(Ordering::Relaxed);
        let due =
            rules.iter().any(|&(secs, n)| changes >= n.max(1) && since >= i64::try_from(secs).unwrap_or(i64::MAX));
        if due && !state.bgsave_running.swap(true, Ordering::AcqRel) {
            let s = Arc::clone(&state);
            let _ = tokio::task::spawn_blocking(move || {
                let _ = admin::save(&s);
                s.bgsave_running.store(false, Ordering::Release);
            })
            .await;
        }
    }
}

/// Redis's reply to a client refused by protected mode.
const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. To accept connections from other hosts, restart the server with '--protected-mode no' (making sure it is not reachable from the internet), or set a password.\r\n";

/// Whether protected mode refuses a client from `peer`: protected mode is
/// on, no password is set (this server has no AUTH yet, so none ever is:
/// check the password here once it has) and the peer is not on the
/// loopback interface.
fn refused_by_protected_mode(config: &Config, peer: SocketAddr) -> bool {
    let ip = match peer.ip() {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    };
    config.protected_mode && !ip.is_loopback()
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
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, closes every connection, and waits for the server
    /// task to finish.
    pub async fn shutdown(self) -> io::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.map_err(io::Error::other)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_mode_refuses_only_other_hosts() {
        let mut config = Server::builder().config;
        let peer = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(!refused_by_protected_mode(&config, peer("127.0.0.1:5000")));
        assert!(!refused_by_protected_mode(&config, peer("[::1]:5000")));
        assert!(!refused_by_protected_mode(&config, peer("[::ffff:127.0.0.1]:5000")));
        assert!(refused_by_protected_mode(&config, peer("10.0.0.2:5000")));
        assert!(refused_by_protected_mode(&config, peer("[2001:db8::1]:5000")));
        config.protected_mode = false;
        assert!(!refused_by_protected_mode(&config, peer("10.0.0.2:5000")));
    }

    #[test]
    fn config_params_are_checked_at_build() {
        let bind = |b: ServerBuilder| b.bind("127.0.0.1:0").build().map(|_| ());
        assert!(bind(Server::builder().config_param("hz", "20").config_param("slowlog-max-len", "5")).is_ok());
        assert!(bind(Server::builder().config_param("no-such-thing", "1")).is_err());
        assert!(bind(Server::builder().config_param("slowlog-log-slower-than", "-2")).is_err());
    }
}
