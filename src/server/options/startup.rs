//! From [`ServerOptions`] to a running server: the [`ServerBuilder`], the
//! databases loaded from `dir`, and the refusal of what this build cannot
//! do (TLS without the `tls` feature, `daemonize yes`), each part (AUTH/ACL,
//! TLS, the Memcached listener) in a small function of its own.

use super::ServerOptions;
use crate::db::{BackupOptions, Db};
use crate::persist::{FsyncPolicy, PersistError, SnapshotOptions};
use crate::server::{Persistence, Server, ServerBuilder};
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Redis's `appenddirname` default.
const DEFAULT_APPENDDIRNAME: &str = "appendonlydir";

/// How often the journaled database 0 is snapshotted, so that its journal
/// is replayed from a recent point at start (Redis rewrites its AOF on
/// growth instead).
const JOURNAL_REWRITE_EVERY: Duration = Duration::from_secs(3600);

/// Why the server cannot start with the options given.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// An option asks for something this build does not do yet.
    #[error("cannot start with '{option}': {why}")]
    NotSupported {
        /// The option (directive name).
        option: &'static str,
        /// What to do instead.
        why: &'static str,
    },
    /// The TLS certificate or key did not load.
    #[error("{0}")]
    Tls(io::Error),
    /// `port 0` and no other listener.
    #[error("port 0 disables the TCP listener, and this build has no other listener (TLS, unix socket) to serve")]
    NoListener,
    /// `dir` is not a directory that can be used.
    #[error("Can't use the working directory '{}': {source}", path.display())]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A database's snapshot or journal did not load.
    #[error("loading database {db}: {source}")]
    Load {
        /// The database.
        db: usize,
        /// Why (naming the file).
        source: crate::Error,
    },
    /// Database 0's snapshot could not be copied into its new journal
    /// directory.
    #[error("starting the journal in {} from {}: {source}", dir.display(), snapshot.display())]
    SeedJournal {
        /// The journal directory.
        dir: PathBuf,
        /// The snapshot.
        snapshot: PathBuf,
        /// Why.
        source: PersistError,
    },
}

impl ServerOptions {
    /// The address served: the first `bind` address (without the leading
    /// `-` that marks an optional one; `*` is every IPv4 interface, `::*`
    /// every IPv6 one) with `port`.
    pub fn listen_address(&self) -> Result<String, StartupError> {
        if self.port == 0 {
            return Err(StartupError::NoListener);
        }
        Ok(self.address(self.port))
    }

    /// `port` on the first `bind` address.
    fn address(&self, port: u16) -> String {
        let host = self.bind.first().map_or("127.0.0.1", |b| b.strip_prefix('-').unwrap_or(b));
        let host = match host {
            "*" => "0.0.0.0",
            "::*" => "::",
            h => h,
        };
        match host.parse::<IpAddr>() {
            Ok(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
            _ => format!("{host}:{port}"),
        }
    }

    /// The `bind` addresses after the first, which are not served.
    pub fn ignored_binds(&self) -> &[String] {
        self.bind.get(1..).unwrap_or_default()
    }

    /// Where snapshots go, and the `save` schedule.
    pub fn persistence(&self) -> Persistence {
        let mut p = Persistence::new(&self.dir, &self.dbfilename).save_rules(self.save_rules());
        p.appendfsync = match self.appendfsync {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySecond => "everysec",
            FsyncPolicy::Os => "no",
        }
        .into();
        p
    }

    /// The journal directory of database 0 (`<dir>/<appenddirname>`).
    pub fn append_dir(&self) -> PathBuf {
        self.dir.join(self.param("appenddirname").unwrap_or(DEFAULT_APPENDDIRNAME))
    }

    /// The server these options describe (not yet bound), or why this
    /// build cannot run it.
    pub fn server_builder(&self) -> Result<ServerBuilder, StartupError> {
        if self.daemonize {
            return Err(StartupError::NotSupported {
                option: "daemonize",
                why: "not supported; run embercache-server in the foreground under a supervisor (systemd, a container runtime) with 'daemonize no'",
            });
        }
        let mut builder = Server::builder();
        if self.port != 0 || self.tls.port == 0 {
            builder = builder.bind(self.listen_address()?);
        }
        let mut builder = builder
            .max_clients(self.maxclients)
            .timeout(self.timeout)
            .notify_keyspace_events(self.notify_keyspace_events.clone())
            .databases(self.databases)
            .max_bulk_len(self.proto_max_bulk_len)
            .query_buffer_limit(self.client_query_buffer_limit)
            .protected_mode(self.protected_mode)
            .busy_poll(Duration::from_micros(self.busy_poll_us))
            .cpu_slice(Duration::from_micros(self.cpu_slice_us))
            .persistence(self.persistence());
        if let Some(file) = &self.config_file {
            builder = builder.config_file(file);
        }
        for (name, value) in &self.params {
            builder = builder.config_param(name, value);
        }
        let builder = apply_security(self, builder)?;
        let builder = apply_tls(self, builder)?;
        apply_memcached(self, builder)
    }

    /// The databases to serve, each loaded from its snapshot in `dir`
    /// (`dbfilename`, `dbfilename.1`, …) when there is one; with
    /// `appendonly`, database 0 is recovered from and journaled in
    /// [`append_dir`](Self::append_dir) instead (seeded from its snapshot
    /// the first time). All share database 0's pub/sub, memory bound and
    /// policy, and its housekeeper thread, which reclaims expired keys in
    /// every database `hz` times a second.
    pub fn open_databases(&self) -> Result<Vec<Db>, StartupError> {
        let dir_err = |source| StartupError::Dir { path: self.dir.clone(), source };
        if !std::fs::metadata(&self.dir).map_err(dir_err)?.is_dir() {
            return Err(dir_err(io::Error::new(io::ErrorKind::NotADirectory, "not a directory")));
        }
        let persistence = self.persistence();
        let hz = self.param("hz").and_then(|h| h.parse::<u64>().ok()).unwrap_or(10).clamp(1, 500);
        let base = || Db::builder().maxmemory(self.maxmemory).maxmemory_policy(self.maxmemory_policy);
        // One housekeeper thread, database 0's, reclaims every database.
        let housekeeper = Duration::from_millis(1000 / hz);
        let snapshot = |i: usize| Some(persistence.snapshot_path(i)).filter(|p| p.is_file());
        let failed = |db: usize| move |source: crate::Error| StartupError::Load { db, source };

        let first = if self.appendonly {
            let dir = self.append_dir();
            let opts = BackupOptions::new().fsync(self.appendfsync).every(JOURNAL_REWRITE_EVERY);
            let db = base().housekeeper(housekeeper).backups(&dir, opts).build().map_err(failed(0))?;
            if let Some(path) = snapshot(0) {
                seed_journal(&db, &path).map_err(|source| StartupError::SeedJournal { dir, snapshot: path, source })?;
            }
            db
        } else {
            let mut b = base().housekeeper(housekeeper);
            if let Some(path) = snapshot(0) {
                b = b.load_snapshot(path, SnapshotOptions::default());
            }
            b.build().map_err(failed(0))?
        };
        let mut dbs = vec![first];
        for i in 1..self.databases {
            let mut b = base().share_pubsub(&dbs[0]).share_housekeeper(&dbs[0]);
            if self.maxmemory > 0 {
                // One bound for all; without one, no accounting to pay for
                // (CONFIG SET maxmemory groups them then).
                b = b.share_memory(&dbs[0]);
            }
            if let Some(path) = snapshot(i) {
                b = b.load_snapshot(path, SnapshotOptions::default());
            }
            dbs.push(b.build().map_err(failed(i))?);
        }
        Ok(dbs)
    }
}

/// A journal directory found empty starts from database 0's snapshot, if
/// there is one (then snapshotted into the directory, so the journal
/// covers it), rather than from nothing.
fn seed_journal(db: &Db, snapshot: &std::path::Path) -> Result<(), PersistError> {
    let Some(backups) = db.backups() else { return Ok(()) };
    let r = backups.recovery();
    if r.snapshot.is_some() || r.entries_replayed > 0 || r.keys > 0 {
        return Ok(());
    }
    db.load_snapshot(snapshot, &SnapshotOptions::default())?;
    backups.snapshot_now()?;
    Ok(())
}

/// AUTH and ACL: where `requirepass` and `aclfile` are handed to the
/// server. The server has no authentication yet, so either is refused
/// rather than ignored: a server its operator believes protected would be
/// open.
fn apply_security(opts: &ServerOptions, mut builder: ServerBuilder) -> Result<ServerBuilder, StartupError> {
    if let Some(file) = &opts.aclfile {
        builder = builder.aclfile(file);
    }
    if let Some(pw) = opts.requirepass.as_deref().filter(|p| !p.is_empty()) {
        builder = builder.requirepass(pw);
    }
    Ok(builder)
}

/// TLS (`tls-port`, `tls-cert-file`, …, and `memcached-tls`): one
/// certificate configuration for the Redis protocol's TLS listener and the
/// Memcached listener; either needs `tls-cert-file` and `tls-key-file`.
#[cfg(feature = "tls")]
fn apply_tls(opts: &ServerOptions, mut builder: ServerBuilder) -> Result<ServerBuilder, StartupError> {
    use super::TlsAuthClients;
    use crate::server::tls::{ClientAuth, TlsConfig};
    let tls = &opts.tls;
    if tls.port == 0 && !opts.memcached_tls {
        return Ok(builder);
    }
    let option = if tls.port != 0 { "tls-port" } else { "memcached-tls" };
    let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) else {
        return Err(StartupError::NotSupported { option, why: "needs tls-cert-file and tls-key-file" });
    };
    let mut config = TlsConfig::from_pem_files(cert, key, tls.ca_cert_file.as_deref()).map_err(StartupError::Tls)?;
    if let Some(auth) = tls.auth_clients {
        config = config.client_auth(match auth {
            TlsAuthClients::Yes => ClientAuth::Required,
            TlsAuthClients::No => ClientAuth::Off,
            TlsAuthClients::Optional => ClientAuth::Optional,
        });
    }
    builder = builder.tls(config);
    if tls.port != 0 {
        builder = builder.tls_bind(opts.address(tls.port));
    }
    Ok(builder.memcached_tls(opts.memcached_tls))
}

#[cfg(not(feature = "tls"))]
fn apply_tls(opts: &ServerOptions, builder: ServerBuilder) -> Result<ServerBuilder, StartupError> {
    const NO_TLS: &str =
        "this build has no TLS listener (build with the `tls` feature), or terminate TLS in front of the server";
    if opts.tls.port != 0 {
        return Err(StartupError::NotSupported { option: "tls-port", why: NO_TLS });
    }
    if opts.memcached_tls {
        return Err(StartupError::NotSupported { option: "memcached-tls", why: NO_TLS });
    }
    Ok(builder)
}

/// The Memcached listener (`memcached-port`; over TLS with `memcached-tls`,
/// see [`apply_tls`]).
fn apply_memcached(opts: &ServerOptions, builder: ServerBuilder) -> Result<ServerBuilder, StartupError> {
    if opts.memcached_port == 0 {
        if opts.memcached_tls {
            return Err(StartupError::NotSupported {
                option: "memcached-tls",
                why: "needs memcached-port (the Memcached listener to secure)",
            });
        }
        return Ok(builder);
    }
    Ok(builder.memcached_bind(opts.address(opts.memcached_port)))
}
