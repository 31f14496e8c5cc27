//! Serve a [`Db`] over the Redis protocol (feature `server`).
//!
//! RESP2 and RESP3 over TCP, on the caller's tokio runtime or on threads
//! of the server's own ([`ServerBuilder::io_threads`], see `workers.rs`),
//! which may poll for the next request before they sleep
//! ([`ServerBuilder::busy_poll`], see `busy_poll.rs`); a thread's
//! plain-TCP connections are served in rounds by one task per protocol
//! (see `pump.rs`). Requests are
//! parsed by [`resp`] (multibulk and inline, with Redis's protocol errors
//! and limits); every command the [`Db`] knows runs through
//! [`Db::execute`]; the server answers the rest itself:
//!
//! - connection: `PING`, `ECHO`, `QUIT`, `RESET`, `HELLO [2|3]`, `SELECT`
//!   over numbered databases ([`ServerBuilder::databases`], 16 by default;
//!   they share pub/sub, as Redis's do), `CLIENT` (`ID`, `GETNAME`,
//!   `SETNAME`, `SETINFO`, `LIST`, `INFO`, `KILL`, `NO-EVICT`, `TRACKING`,
//!   `CACHING`, `GETREDIR`, `TRACKINGINFO`); `MOVE`, `SWAPDB` and
//!   `COPY … DB` between the databases (see `databases.rs`);
//! - transactions: `MULTI`, `EXEC`, `DISCARD`, `WATCH`, `UNWATCH` (see
//!   `multi.rs` for the guarantees: EXEC holds every other client of the
//!   server off, WATCH sees every change including expiry);
//! - pub/sub: `SUBSCRIBE`, `PSUBSCRIBE`, `UNSUBSCRIBE`, `PUNSUBSCRIBE`
//!   (pushes in RESP3, arrays in RESP2), and keyspace notifications on
//!   `__keyspace@N__`/`__keyevent@N__` per `notify-keyspace-events`;
//! - client-side caching: `CLIENT TRACKING` in default, BCAST, OPTIN,
//!   OPTOUT, NOLOOP and REDIRECT modes, with `invalidate` pushes;
//! - administration: `INFO` (Redis's sections and field names), `CONFIG
//!   GET/SET/RESETSTAT/REWRITE` ([`config_cmd`]), `DBSIZE`, `FLUSHDB`,
//!   `FLUSHALL`, `SAVE`, `BGSAVE`, `LASTSAVE` (snapshots, see
//!   [`Persistence`]), `SLOWLOG`, `TIME`, `SHUTDOWN`, `MONITOR`.
//!
//! Commands that may block (`BLPOP`, `BZPOPMIN`, …) run on tokio's blocking
//! pool; a client that leaves while blocked cancels its wait. Per
//! connection, everything a read brought is parsed, every complete command
//! is run, and their replies go out in one write (pipelining).
//!
//! Limits on what a peer controls: the number of clients (further ones get
//! `ERR max number of clients reached`), the bulk and multibulk lengths
//! ([`ServerBuilder::max_bulk_len`], [`ServerBuilder::max_multibulk_len`]),
//! the unparsed input kept per client
//! ([`ServerBuilder::query_buffer_limit`]; over it the connection is
//! closed), idle clients ([`ServerBuilder::timeout`]), and slow readers: a
//! subscriber whose queue of unsent messages overflows is disconnected, as
//! Redis's `client-output-buffer-limit pubsub` does. Requests are arrays of
//! bulk strings, so RESP3's nesting cannot be used to exhaust the parser.
//!
//! With the `tls` feature, [`ServerBuilder::tls_bind`] adds a TLS listener
//! (Redis's `tls-port`) beside the plain one or instead of it, with
//! certificates from PEM files and mutual TLS ([`tls`]).
//!
//! Protected mode (Redis's `protected-mode yes`, on by default): while no
//! password protects the default user, [`ServerBuilder::build`] refuses to
//! listen on any address but loopback; bind loopback, set a password, or
//! call [`ServerBuilder::protected_mode`]`(false)` on a trusted network.
//!
//! Access control is Redis's ([`crate::acl`]): connections start as the
//! `default` user and must `AUTH` (or `HELLO … AUTH`) first if it has a
//! password ([`ServerBuilder::requirepass`], [`ServerBuilder::aclfile`],
//! [`ServerBuilder::acl`]); every command is checked against the user's
//! permissions (`NOPERM`); `ACL …` manages the users and `COMMAND …`
//! describes the commands.
//!
//! With [`ServerBuilder::memcached_bind`] the server also speaks the
//! Memcached text and meta protocols on a port of their own, over database
//! 0 ([`memcache`]), sharing the client limit and the shutdown.
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

mod acl_commands;
mod admin;
mod busy_poll;
mod client_cmd;
mod command_info;
mod commands;
pub mod config_cmd;
mod connection;
mod cpu_slice;
mod databases;
mod dormant;
mod gate;
mod info;
mod listen;
pub mod memcache;
mod multi;
pub mod options;
mod pump;
mod pumped;
mod replies;
pub mod resp;
mod session;
mod state;
mod subscribe;
#[cfg(feature = "tls")]
pub mod tls;
mod tracking;
mod workers;

use crate::acl::Acl;
use crate::db::Db;
pub use info::REDIS_VERSION;
use resp::ParseLimits;
use state::Hot;
use state::ServerState;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use workers::Workers;

/// Redis's `maxclients` default.
pub const DEFAULT_MAX_CLIENTS: usize = 10_000;
/// Redis's `client-query-buffer-limit` default: 1 GiB.
pub const DEFAULT_QUERY_BUFFER_LIMIT: usize = 1024 * 1024 * 1024;
/// The address a server binds unless told otherwise: loopback only.
pub const DEFAULT_BIND: &str = "127.0.0.1:6379";
/// Redis's `databases` default.
pub const DEFAULT_DATABASES: usize = 16;
/// How long a serving thread holds its core without a break before it
/// yields it, by default (see [`ServerBuilder::cpu_slice`]).
pub const DEFAULT_CPU_SLICE: Duration = Duration::from_micros(1000);

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
    /// The largest Memcached item (key and value bytes).
    pub(crate) memcached_max_item_size: usize,
    /// Threads of its own that serve connections (0: the caller's runtime).
    pub(crate) io_threads: usize,
    /// How long a serving thread polls for more work before it sleeps.
    pub(crate) busy_poll: Duration,
    /// How long a serving thread holds its core without a break before it yields it.
    pub(crate) cpu_slice: Duration,
    /// The users clients authenticate as.
    pub(crate) acl: Acl,
    /// Parameters seeded for CONFIG GET (see [`ServerBuilder::config_param`]).
    pub(crate) params: Vec<(String, String)>,
}

/// Configures a [`Server`]; from [`Server::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ServerBuilder {
    /// The plain listener's address; `None`: [`DEFAULT_BIND`], unless a
    /// TLS address is set (then there is no plain listener).
    addr: Option<String>,
    #[cfg(feature = "tls")]
    tls_addr: Option<String>,
    #[cfg(feature = "tls")]
    tls: Option<tls::TlsConfig>,
    memcached_addr: Option<String>,
    /// The Memcached listener speaks TLS (with the [`tls`] configuration).
    #[cfg(feature = "tls")]
    memcached_tls: bool,
    config: Config,
    requirepass: Option<Vec<u8>>,
    aclfile: Option<std::path::PathBuf>,
}

impl ServerBuilder {
    /// The address of the plain-text listener (default [`DEFAULT_BIND`]);
    /// port 0 picks a free one.
    ///
    /// With [`tls_bind`](Self::tls_bind) (feature `tls`) and no `bind`,
    /// the server listens for TLS only (redis.conf's `port 0`); with both,
    /// on both.
    pub fn bind(mut self, addr: impl Into<String>) -> Self {
        self.addr = Some(addr.into());
        self
    }

    /// The address of the TLS listener (Redis's `tls-port`; port 0 picks a
    /// free one); needs [`tls`](Self::tls). Beside the plain listener if
    /// [`bind`](Self::bind) is called too, instead of it otherwise.
    #[cfg(feature = "tls")]
    pub fn tls_bind(mut self, addr: impl Into<String>) -> Self {
        self.tls_addr = Some(addr.into());
        self
    }

    /// The certificates of the TLS listener (see [`tls`]).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: tls::TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Redis's `protected-mode` (default on): while no password protects
    /// the default user, [`build`](Self::build) refuses to listen on any
    /// address but loopback. Turn it off only when every host that can
    /// reach the address is trusted.
    pub fn protected_mode(mut self, on: bool) -> Self {
        self.config.protected_mode = on;
        self
    }

    /// Whether a password protects the default user (or it is disabled),
    /// which protected mode consults.
    fn default_user_protected(&self) -> bool {
        self.requirepass.is_some() || self.config.acl.auth_required()
    }

    /// Also serves the Memcached text and meta protocols on `addr` (port 0
    /// picks a free one), over database 0; off by default. Its clients
    /// answer to the same [`acl`](Self::acl) and password as the Redis
    /// clients (see [`memcache`]).
    pub fn memcached_bind(mut self, addr: impl Into<String>) -> Self {
        self.memcached_addr = Some(addr.into());
        self
    }

    /// The Memcached listener speaks TLS with the certificates of
    /// [`tls`](Self::tls) (as memcached's `-Z`); the TLS address of the
    /// Redis protocol ([`tls_bind`](Self::tls_bind)) is then optional.
    #[cfg(feature = "tls")]
    pub fn memcached_tls(mut self, on: bool) -> Self {
        self.memcached_tls = on;
        self
    }

    /// The largest Memcached item, key and value bytes (default
    /// [`memcache::DEFAULT_MAX_ITEM_SIZE`], 1 MiB, as memcached's `-I`).
    pub fn memcached_max_item_size(mut self, bytes: usize) -> Self {
        self.config.memcached_max_item_size = bytes;
        self
    }

    /// Serves connections on `n` threads of the server's own, each running a
    /// tokio current-thread runtime; a connection stays on the thread it is
    /// handed when accepted (round robin). The listeners stay on the
    /// runtime that awaits the server. 0, the default, serves connections
    /// on that runtime too.
    ///
    /// On a multi-thread runtime every read and wake-up of a connection
    /// pays for work stealing; on a host whose cores serve the clients,
    /// `io_threads(cores)` on a current-thread runtime is the faster shape
    /// (it is `embercache-server`'s: see its `io-threads` option).
    ///
    /// On each of these threads, and on a current-thread runtime serving
    /// without them, one task per protocol (a *pump*) serves all the
    /// plain-TCP connections in rounds, as memcached's worker threads and
    /// redis-server's event loop do: it reads every socket that is ready,
    /// then answers them all, the lookups of their `GET`s warmed together.
    /// A RESP connection that has to wait (a blocking command such as
    /// `BLPOP`, or pushes: pub/sub messages, invalidations, `MONITOR`)
    /// moves to a task of its own from then on. Elsewhere (TLS, a
    /// multi-thread runtime) each connection is a task of its own.
    pub fn io_threads(mut self, n: usize) -> Self {
        self.config.io_threads = n;
        self
    }

    /// Busy polling (default off): after a connection has done some work,
    /// its thread keeps polling the sockets without blocking for `budget`
    /// before it sleeps in the kernel, which spares the next request the
    /// wake-up of a sleeping thread (see the `busy_poll` module). It costs
    /// up to `budget` of CPU time per request under a light load and
    /// nothing when idle; `embercache-server` turns it on (`busy-poll-us`,
    /// 50 µs by default).
    ///
    /// Applies to the [`io_threads`](Self::io_threads), and to the runtime
    /// that awaits the server when that is a current-thread runtime and
    /// there are no I/O threads; a multi-thread runtime is not made to spin.
    pub fn busy_poll(mut self, budget: Duration) -> Self {
        self.config.busy_poll = budget;
        self
    }

    /// The CPU slice (default [`DEFAULT_CPU_SLICE`], zero: none): a serving
    /// thread that has held its core for this long, running requests
    /// without sleeping and without being preempted, yields it
    /// (`sched_yield`) before its next round, so that the threads waiting
    /// for that core (clients on the same host, the application's own) run
    /// first. Under a steady load a serving thread never sleeps, and
    /// without the yield the kernel may let it run on while a client whose
    /// reply is written waits for the core (see the `cpu_slice` module).
    /// It costs a `getrusage` call per slice, and for a slice held whole a
    /// second one and a `sched_yield`, which returns at once where nothing
    /// else wants the core (BENCHMARKS.md has the figures). With a slice,
    /// a thread that [busy polls](Self::busy_poll) also yields on each
    /// turn of its polling, where it has nothing of its own to run.
    ///
    /// Applies where [`busy_poll`](Self::busy_poll) does: the
    /// [`io_threads`](Self::io_threads), and the runtime that awaits the
    /// server when that is a current-thread runtime and there are no I/O
    /// threads.
    pub fn cpu_slice(mut self, slice: Duration) -> Self {
        self.config.cpu_slice = slice;
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

    /// The users clients authenticate as (default: a new [`Acl`] whose
    /// `default` user is `on nopass ~* &* +@all`, so no one needs to).
    /// The server shares it: changes made through the handle apply to
    /// connected clients.
    pub fn acl(mut self, acl: Acl) -> Self {
        self.config.acl = acl;
        self
    }

    /// Redis's `requirepass`: the `default` user's password, which clients
    /// then give with `AUTH` (applied after [`ServerBuilder::aclfile`]).
    pub fn requirepass(mut self, password: impl AsRef<[u8]>) -> Self {
        self.requirepass = Some(password.as_ref().to_vec());
        self
    }

    /// Redis's `aclfile`: users are loaded from it when the server is
    /// built (a bad or missing file fails [`ServerBuilder::build`]), and
    /// `ACL LOAD`/`ACL SAVE` read and write it.
    pub fn aclfile(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.aclfile = Some(path.into());
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
    /// Redis's `timeout`), checked once a second. Subscribers, monitors
    /// and clients waiting in a blocking command are exempt, as in Redis.
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

    /// Seeds the value CONFIG GET reports for `name`, one of the
    /// compatibility parameters ([`config_cmd::COMPAT`]) or
    /// `slowlog-log-slower-than` / `slowlog-max-len` (which take effect);
    /// `build` refuses other names and bad slowlog values. As redis.conf
    /// does for `embercache-server`.
    pub fn config_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.params.push((name.into().to_ascii_lowercase(), value.into()));
        self
    }

    /// Binds the listening sockets. Needs no runtime; serving does.
    ///
    /// Fails on an invalid setting, on an address that cannot be bound,
    /// with TLS on a certificate the key does not match, and in protected
    /// mode on an address beyond loopback while no password protects the
    /// default user (see [`protected_mode`](Self::protected_mode)).
    pub fn build(mut self) -> io::Result<Server> {
        if let Some(path) = &self.aclfile {
            self.config.acl.load_file(path).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            self.config.acl.set_acl_file(Some(path.clone()));
        }
        if let Some(pw) = &self.requirepass {
            self.config.acl.set_requirepass(Some(pw));
        }
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
        let protected = !self.config.protected_mode || self.default_user_protected();
        let plain_addr = self.plain_addr();
        let plain = match plain_addr.as_deref().map(listen::resolve).transpose()? {
            Some(addrs) => {
                listen::check_protected_mode(&addrs, protected)?;
                Some(addrs)
            }
            None => None,
        };
        let tls = self.tls_listener(protected)?;
        let memcached = match self.memcached_addr.as_deref().map(listen::resolve).transpose()? {
            Some(addrs) => {
                listen::check_protected_mode(&addrs, protected)?;
                Some((listen::bind(&addrs)?, self.memcached_acceptor()?))
            }
            None => None,
        };
        let plain = plain.as_deref().map(listen::bind).transpose()?;
        let bound = listen::Bound { plain, tls };
        let local = bound.local_addr()?;
        self.config.port = match &bound.plain {
            Some(l) => l.local_addr()?.port(),
            None => 0,
        };
        self.config.tls_port = bound.tls_addr().map_or(0, |a| a.port());
        self.config.bind_host = local.ip().to_string();
        Ok(Server { bound, memcached, config: Arc::new(self.config) })
    }

    /// The plain listener's address, if there is to be one.
    fn plain_addr(&self) -> Option<String> {
        #[cfg(feature = "tls")]
        if self.addr.is_none() && self.tls_addr.is_some() {
            return None;
        }
        Some(self.addr.clone().unwrap_or_else(|| DEFAULT_BIND.to_string()))
    }

    /// Binds the TLS listener, if one is configured.
    #[cfg(feature = "tls")]
    fn tls_listener(&self, protected: bool) -> io::Result<Option<(std::net::TcpListener, listen::Acceptor)>> {
        match (&self.tls_addr, &self.tls) {
            (None, None) => Ok(None),
            (Some(addr), Some(config)) => {
                let addrs = listen::resolve(addr)?;
                listen::check_protected_mode(&addrs, protected)?;
                let acceptor = config.acceptor()?;
                Ok(Some((listen::bind(&addrs)?, acceptor)))
            }
            (Some(_), None) => {
                Err(io::Error::new(io::ErrorKind::InvalidInput, "tls_bind needs a TlsConfig: call ServerBuilder::tls"))
            }
            (None, Some(_)) if self.memcached_tls => Ok(None),
            (None, Some(_)) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a TlsConfig was given but no TLS address: call ServerBuilder::tls_bind",
            )),
        }
    }

    #[cfg(not(feature = "tls"))]
    fn tls_listener(&self, _protected: bool) -> io::Result<Option<(std::net::TcpListener, listen::Acceptor)>> {
        Ok(None)
    }

    /// The TLS side of the Memcached listener, if it speaks TLS.
    #[cfg(feature = "tls")]
    fn memcached_acceptor(&self) -> io::Result<Option<listen::Acceptor>> {
        match (&self.tls, self.memcached_tls) {
            (_, false) => Ok(None),
            (Some(config), true) => config.acceptor().map(Some),
            (None, true) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "memcached_tls needs a TlsConfig: call ServerBuilder::tls",
            )),
        }
    }

    #[cfg(not(feature = "tls"))]
    fn memcached_acceptor(&self) -> io::Result<Option<listen::Acceptor>> {
        Ok(None)
    }
}

/// A bound RESP server, ready to serve a [`Db`].
#[derive(Debug)]
pub struct Server {
    bound: listen::Bound,
    memcached: Option<(std::net::TcpListener, Option<listen::Acceptor>)>,
    config: Arc<Config>,
}

impl Server {
    /// A builder with the defaults: loopback port 6379, Redis's limits, 16 databases.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            addr: None,
            #[cfg(feature = "tls")]
            tls_addr: None,
            #[cfg(feature = "tls")]
            tls: None,
            memcached_addr: None,
            #[cfg(feature = "tls")]
            memcached_tls: false,
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
                memcached_max_item_size: memcache::DEFAULT_MAX_ITEM_SIZE,
                io_threads: 0,
                busy_poll: Duration::ZERO,
                cpu_slice: DEFAULT_CPU_SLICE,
                acl: Acl::new(),
                params: Vec::new(),
            },
            requirepass: None,
            aclfile: None,
        }
    }

    /// The address of the plain listener; of the TLS one if that is the
    /// only one.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.bound.local_addr()
    }

    /// The address of the TLS listener, if there is one.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.bound.tls_addr()
    }

    /// The address of the Memcached listener, if there is one.
    pub fn memcached_addr(&self) -> io::Result<Option<SocketAddr>> {
        self.memcached.as_ref().map(|(l, _)| l.local_addr()).transpose()
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
        let listeners = self.bound.into_tokio()?;
        let cfg = &self.config;
        let workers = Arc::new(Workers::start(cfg.io_threads, cfg.busy_poll, cfg.cpu_slice)?);
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let clients = Arc::new(AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        let own_thread =
            tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread;
        // The slice of the thread that serves without I/O threads, while it serves.
        let _slice = (cfg.io_threads == 0 && own_thread).then(|| cpu_slice::set(cfg.cpu_slice));
        if self.config.io_threads == 0 && own_thread && !self.config.busy_poll.is_zero() {
            let (budget, mut stop) = (self.config.busy_poll, stop_rx.clone());
            tasks.spawn(async move {
                tokio::select! {
                    () = busy_poll::spin(budget) => {}
                    _ = stop.wait_for(|&s| s) => {}
                }
            });
        }
        let state = ServerState::new(dbs, Arc::clone(&self.config), stop_tx);
        if let Some((memcached, acceptor)) = self.memcached {
            let listener = tokio::net::TcpListener::from_std(memcached)?;
            let cfg = &self.config;
            let shared = memcache::shared(&state, cfg.memcached_max_item_size);
            let db = state.dbs.get(0).unwrap_or_default();
            let (clients, stop) = (Arc::clone(&clients), stop_rx.clone());
            let workers = Arc::clone(&workers);
            tasks.spawn(memcache::serve_listener(
                listener,
                acceptor,
                db,
                shared,
                clients,
                cfg.max_clients,
                stop,
                workers,
            ));
        }
        tasks.spawn(client_cron(Arc::clone(&state), stop_rx.clone()));
        // A pump per serving thread for the plain-TCP connections (see `pump`).
        let pumps = pump::Pumps::start(workers.handles(), &mut tasks, &stop_rx);
        let mut shutdown = std::pin::pin!(shutdown);
        if let Some(rules) = self.config.persistence.as_ref().and_then(|p| Persistence::parse_rules(&p.save))
            && !rules.is_empty()
        {
            tasks.spawn(save_schedule(Arc::clone(&state), rules, stop_rx.clone()));
        }
        let result = loop {
            let (mut stream, peer, tls) = tokio::select! {
                accepted = listeners.accept() => match accepted {
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
                // A TLS client is closed without a handshake, which would
                // cost a task for as long as the peer cares to stall it.
                if tls.is_none() {
                    tasks.spawn(async move {
                        let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
                    });
                }
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
            if tls.is_none() && !pumps.is_empty() {
                let session = session::Session::new(Arc::clone(&state), state.connect(peer, local));
                let conn = pumped::RespConn::new(session, stop_rx.clone(), guard);
                pumps.send(workers.next_thread(), stream, conn);
                continue;
            }
            let (state, stop) = (Arc::clone(&state), stop_rx.clone());
            workers.spawn(&mut tasks, stream, move |stream| async move {
                // The slot is held through the TLS handshake too.
                let _guard = guard;
                match tls {
                    None => connection::serve(stream, (peer, local), state, stop).await,
                    #[cfg(feature = "tls")]
                    Some(acceptor) => tls::serve(&acceptor, stream, (peer, local), state, stop).await,
                    #[cfg(not(feature = "tls"))]
                    Some(never) => match never {},
                }
            });
        };
        drop(listeners);
        let _ = state.stop.send(true);
        while tasks.join_next().await.is_some() {}
        result
    }

    /// Serves `db` in a task on the current tokio runtime (panics outside
    /// one, as `tokio::spawn` does); the handle shuts it down.
    pub fn spawn(self, db: Db) -> io::Result<ServerHandle> {
        let local_addr = self.local_addr()?;
        let tls_addr = self.tls_addr();
        let memcached_addr = self.memcached_addr()?;
        let (tx, mut rx) = watch::channel(false);
        let task = tokio::spawn(self.serve_until(db, async move {
            let _ = rx.wait_for(|&stop| stop).await;
        }));
        Ok(ServerHandle { local_addr, tls_addr, memcached_addr, stop: tx, task })
    }
}

/// Once a second, closes the clients idle past `timeout` (Redis checks
/// them in its client cron too): on the listener's runtime, so that the
/// serving threads keep no timer of their own.
async fn client_cron(state: Arc<ServerState>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|&s| s) => return,
        }
        state.close_idle();
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
        let changes = state.stats.get(Hot::Changes);
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
/// on, the default user has no password (now: ACL SETUSER may have changed
/// it since the server started) and the peer is not on the loopback
/// interface. `build` already refuses to listen beyond loopback in that
/// state; this covers a password removed later.
fn refused_by_protected_mode(config: &Config, peer: SocketAddr) -> bool {
    let ip = match peer.ip() {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    };
    config.protected_mode && !config.acl.auth_required() && !ip.is_loopback()
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
    tls_addr: Option<SocketAddr>,
    memcached_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

impl ServerHandle {
    /// The address of the plain listener; of the TLS one if that is the
    /// only one.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the TLS listener, if there is one.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// The address of the Memcached listener, if there is one.
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
        config.acl.set_requirepass(Some(b"secret"));
        assert!(!refused_by_protected_mode(&config, peer("10.0.0.2:5000")), "a password lifts it");
        config.acl.set_requirepass(None);
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
