//! The options of `embercache-server`, read as redis-server reads them.
//!
//! [`ServerOptions::from_args`] follows redis-server's command line: an
//! optional first argument naming a config file (or `-` for standard
//! input), then `--name value…` pairs applied after the file, so they
//! override it (`--save ""` clears the save rules; `-v`/`--version` and
//! `-h`/`--help` alone). [`ServerOptions::from_config_text`] reads
//! redis.conf's syntax: one `directive arg…` per line, `#` comments,
//! double-quoted arguments with `\n \r \t \b \a \\ \" \xHH` escapes,
//! single-quoted ones with `\'`, and `include <path>`.
//!
//! Every parameter of [`config_cmd::COMPAT`](super::config_cmd::COMPAT) is accepted and reported back
//! by CONFIG GET; an unknown directive or a wrong number of arguments
//! fails with Redis's "Bad directive or wrong number of arguments" and the
//! line it is on. Parsing only records and validates: what this build
//! cannot do (TLS without the `tls` feature, daemonizing) is refused when
//! the server is made from the options ([`ServerOptions::server_builder`]).
//!
//! Beyond redis.conf: `memcached-port` adds the Memcached listener, and
//! `memcached-tls yes` makes it speak TLS (memcached's `-Z`) with the
//! certificates of `tls-cert-file`, `tls-key-file`, `tls-ca-cert-file` and
//! `tls-auth-clients`, with or without a `tls-port` for the Redis protocol.
//!
//! ```
//! use embercache::server::options::ServerOptions;
//!
//! let opts = ServerOptions::from_config_text("port 7000\nmaxmemory 1mb\nsave \"\"\n")?;
//! assert_eq!((opts.port, opts.maxmemory), (7000, 1024 * 1024));
//! assert!(opts.save.is_empty());
//! # Ok::<(), embercache::server::options::OptionsError>(())
//! ```

mod conf;
mod parser;
mod startup;
#[cfg(test)]
mod tests;

pub use startup::StartupError;

use crate::db::MaxMemoryPolicy;
use crate::persist::FsyncPolicy;
use parser::Parser;
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Redis's `save` rules when none are configured: after an hour if a key
/// changed, 5 minutes if 100 did, a minute if 10000 did.
pub const DEFAULT_SAVE: &[(u64, u64)] = &[(3600, 1), (300, 100), (60, 10000)];

/// The snapshot file name unless `dbfilename` says otherwise (not Redis's
/// `dump.rdb`: the files are embercache snapshots, not RDB).
pub const DEFAULT_DBFILENAME: &str = "dump.ember";

/// Redis's reason for an unknown directive or a wrong number of arguments.
const BAD_DIRECTIVE: &str = "Bad directive or wrong number of arguments";

/// How much the server logs (`loglevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LogLevel {
    /// Everything.
    Debug,
    /// Much, less than `debug`.
    Verbose,
    /// Start, stop, saves and warnings (the default).
    #[default]
    Notice,
    /// Warnings only.
    Warning,
    /// Nothing.
    Nothing,
}

impl LogLevel {
    /// Redis's name for the level.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Verbose => "verbose",
            LogLevel::Notice => "notice",
            LogLevel::Warning => "warning",
            LogLevel::Nothing => "nothing",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [LogLevel::Debug, LogLevel::Verbose, LogLevel::Notice, LogLevel::Warning, LogLevel::Nothing]
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
    }
}

/// Whether TLS clients must present a certificate (`tls-auth-clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsAuthClients {
    /// A client certificate is required (Redis's default).
    Yes,
    /// None is asked for.
    No,
    /// One is checked if presented.
    Optional,
}

/// The TLS options (`tls-*`), recorded for the `tls` listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsOptions {
    /// `tls-port` (0: no TLS listener).
    pub port: u16,
    /// `tls-cert-file`: the server's certificate chain (PEM).
    pub cert_file: Option<PathBuf>,
    /// `tls-key-file`: its private key (PEM).
    pub key_file: Option<PathBuf>,
    /// `tls-ca-cert-file`: the CAs client certificates are checked against.
    pub ca_cert_file: Option<PathBuf>,
    /// `tls-auth-clients`, if given.
    pub auth_clients: Option<TlsAuthClients>,
}

impl TlsOptions {
    /// Whether any TLS option was given.
    pub fn is_requested(&self) -> bool {
        *self != TlsOptions::default()
    }
}

/// `embercache-server`'s busy polling by default, in microseconds: long
/// enough to catch the next request of a client that is already sending,
/// short enough that a lightly loaded server spends little CPU on it.
pub const DEFAULT_BUSY_POLL_US: u64 = 50;

/// `embercache-server`'s CPU slice by default, in microseconds (see
/// [`ServerBuilder::cpu_slice`](super::ServerBuilder::cpu_slice)).
pub const DEFAULT_CPU_SLICE_US: u64 = super::DEFAULT_CPU_SLICE.as_micros() as u64;

/// Everything `embercache-server` is told, with redis-server's defaults
/// (see the module docs for how it is read).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServerOptions {
    /// The config file read, if any (for CONFIG REWRITE).
    pub config_file: Option<PathBuf>,
    /// `port` (default 6379; 0: no TCP listener).
    pub port: u16,
    /// `bind`: the addresses to listen on (default `127.0.0.1`; the first
    /// is served). A leading `-` (optional address) is kept as written.
    pub bind: Vec<String>,
    /// `requirepass` (an empty one is none).
    pub requirepass: Option<String>,
    /// `aclfile`.
    pub aclfile: Option<PathBuf>,
    /// `maxmemory` in bytes (0: none); units as redis.conf writes them.
    pub maxmemory: u64,
    /// `maxmemory-policy` (default `noeviction`).
    pub maxmemory_policy: MaxMemoryPolicy,
    /// `databases` (default 16).
    pub databases: usize,
    /// `dir`: where snapshots and the journal go (default `.`).
    pub dir: PathBuf,
    /// `dbfilename` (default [`DEFAULT_DBFILENAME`]).
    pub dbfilename: String,
    /// `save` rules: (seconds, changes) pairs (default [`DEFAULT_SAVE`];
    /// empty: no scheduled snapshots, and none at shutdown).
    pub save: Vec<(u64, u64)>,
    /// `appendonly`: database 0 journals every write in `<dir>/<appenddirname>`.
    pub appendonly: bool,
    /// `appendfsync`: `always`, `everysec` (default) or `no`.
    pub appendfsync: FsyncPolicy,
    /// `timeout`: seconds before an idle client is closed (0: never).
    pub timeout: u64,
    /// `maxclients` (default 10000).
    pub maxclients: usize,
    /// `notify-keyspace-events` flags (default none).
    pub notify_keyspace_events: String,
    /// `protected-mode` (default yes): refuse clients from other hosts
    /// while no password is set.
    pub protected_mode: bool,
    /// The `tls-*` options.
    pub tls: TlsOptions,
    /// `memcached-port` (0, the default: no Memcached listener).
    pub memcached_port: u16,
    /// `memcached-tls` (default no): the Memcached listener speaks TLS
    /// with `tls-cert-file`, `tls-key-file` and, for client certificates,
    /// `tls-ca-cert-file` and `tls-auth-clients` (as memcached's `-Z`).
    pub memcached_tls: bool,
    /// `busy-poll-us` (default [`DEFAULT_BUSY_POLL_US`]): how long, in
    /// microseconds, a serving thread keeps polling its sockets after some
    /// work before it sleeps (0: never polls; see
    /// [`ServerBuilder::busy_poll`](super::ServerBuilder::busy_poll)).
    pub busy_poll_us: u64,
    /// `cpu-slice-us` (default [`DEFAULT_CPU_SLICE_US`]): how long, in
    /// microseconds, a serving thread holds its core without a break before
    /// it yields it to threads waiting for it (0: never yields; see
    /// [`ServerBuilder::cpu_slice`](super::ServerBuilder::cpu_slice)).
    pub cpu_slice_us: u64,
    /// `loglevel`.
    pub loglevel: LogLevel,
    /// `logfile` (`None`, written `""`: standard error).
    pub logfile: Option<PathBuf>,
    /// `daemonize`.
    pub daemonize: bool,
    /// `pidfile`: written at start, removed at exit.
    pub pidfile: Option<PathBuf>,
    /// `proto-max-bulk-len` (default 512 MiB).
    pub proto_max_bulk_len: usize,
    /// `client-query-buffer-limit` (default 1 GiB).
    pub client_query_buffer_limit: usize,
    /// Parameters kept for CONFIG GET, as it reports them: those of
    /// [`config_cmd::COMPAT`](super::config_cmd::COMPAT) given, and `slowlog-*`.
    pub params: BTreeMap<String, String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            config_file: None,
            port: 6379,
            bind: vec!["127.0.0.1".into()],
            requirepass: None,
            aclfile: None,
            maxmemory: 0,
            maxmemory_policy: MaxMemoryPolicy::NoEviction,
            databases: super::DEFAULT_DATABASES,
            dir: PathBuf::from("."),
            dbfilename: DEFAULT_DBFILENAME.into(),
            save: DEFAULT_SAVE.to_vec(),
            appendonly: false,
            appendfsync: FsyncPolicy::EverySecond,
            timeout: 0,
            maxclients: super::DEFAULT_MAX_CLIENTS,
            notify_keyspace_events: String::new(),
            protected_mode: true,
            tls: TlsOptions::default(),
            memcached_port: 0,
            memcached_tls: false,
            busy_poll_us: DEFAULT_BUSY_POLL_US,
            cpu_slice_us: DEFAULT_CPU_SLICE_US,
            loglevel: LogLevel::Notice,
            logfile: None,
            daemonize: false,
            pidfile: None,
            proto_max_bulk_len: super::resp::ParseLimits::default().max_bulk_len,
            client_query_buffer_limit: super::DEFAULT_QUERY_BUFFER_LIMIT,
            params: BTreeMap::new(),
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Startup {
    /// Serve with these options.
    Serve(Box<ServerOptions>),
    /// Print the version (`-v`, `--version`).
    Version,
    /// Print the usage (`-h`, `--help`).
    Help,
}

/// Where a directive was read, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// A config file (or one it includes).
    File(PathBuf),
    /// The config read from standard input (`-`).
    Stdin,
    /// Text given to [`ServerOptions::from_config_text`].
    Text,
    /// A `--name value…` option of the command line.
    CommandLine,
}

/// Why the options could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// A directive is unknown, has the wrong number of arguments or a bad value.
    #[error("{}", directive_message(origin, *line, text, reason))]
    Directive {
        /// Where it was read.
        origin: Origin,
        /// Its line (from 1; for the command line, the option's position).
        line: usize,
        /// The line (or option) as written.
        text: String,
        /// What is wrong, in Redis's words where it has some.
        reason: String,
    },
    /// A config file could not be read.
    #[error("Fatal error, can't open config file '{}': {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

fn directive_message(origin: &Origin, line: usize, text: &str, reason: &str) -> String {
    let place = match origin {
        Origin::File(p) => format!("Reading the configuration file {}, at line {line}", p.display()),
        Origin::Stdin => format!("Reading the configuration from standard input, at line {line}"),
        Origin::Text => format!("Reading the configuration, at line {line}"),
        Origin::CommandLine => format!("Reading the command line, at option {line}"),
    };
    format!("*** FATAL CONFIG FILE ERROR ***\n{place}\n>>> '{text}'\n{reason}")
}

impl ServerOptions {
    /// `io-threads`: how many threads serve connections; `None` when not
    /// given, for one per CPU. `embercache-server` with 1 serves everything
    /// on its main thread (as redis-server); with more, each connection
    /// is handed to one of that many threads of its own
    /// ([`ServerBuilder::io_threads`](crate::server::ServerBuilder::io_threads)),
    /// which reads, runs and writes for it, while the main thread accepts
    /// (as memcached's workers). Unlike Redis, where the main thread runs
    /// every command and `io-threads` only adds threads for socket I/O.
    pub fn io_threads(&self) -> Option<usize> {
        self.params.get("io-threads").and_then(|n| n.parse().ok())
    }

    /// Reads redis-server's command line (without the program name): see
    /// the module docs. Reads the config file it names (and standard input
    /// for `-`).
    pub fn from_args<I>(args: I) -> Result<Startup, OptionsError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let args: Vec<String> = args.into_iter().map(|a| a.as_ref().to_string()).collect();
        match args.first().map(String::as_str) {
            Some("-v" | "--version") => return Ok(Startup::Version),
            Some("-h" | "--help") => return Ok(Startup::Help),
            _ => {}
        }
        let mut parser = Parser::default();
        let mut rest = &args[..];
        if let Some(first) = args.first()
            && !first.starts_with('-')
        {
            let path = absolute(Path::new(first));
            parser.file(&path)?;
            parser.opts.config_file = Some(path);
            rest = &args[1..];
        }
        let (options, stdin) = command_line(rest, args.len() - rest.len());
        if stdin {
            let mut text = String::new();
            io::Read::read_to_string(&mut io::stdin(), &mut text)
                .map_err(|source| OptionsError::Read { path: PathBuf::from("-"), source })?;
            parser.text(&text, &Origin::Stdin)?;
        }
        for (n, words) in options.iter().enumerate() {
            let text = format!("--{}", words.iter().map(|w| conf::quote(w)).collect::<Vec<_>>().join(" "));
            let err = |reason: String| OptionsError::Directive {
                origin: Origin::CommandLine,
                line: n + 1,
                text: text.clone(),
                reason,
            };
            parser.directive(words.clone(), &err)?;
        }
        Ok(Startup::Serve(Box::new(parser.opts)))
    }

    /// Reads a redis.conf text over the defaults (`include`d paths are
    /// read from the file system).
    pub fn from_config_text(text: &str) -> Result<ServerOptions, OptionsError> {
        let mut parser = Parser::default();
        parser.text(text, &Origin::Text)?;
        Ok(parser.opts)
    }

    /// The `save` rules as redis.conf and CONFIG GET write them (`"3600 1 300 100"`).
    pub fn save_rules(&self) -> String {
        self.save.iter().map(|(s, c)| format!("{s} {c}")).collect::<Vec<_>>().join(" ")
    }

    /// The parameter `name` as CONFIG GET would report it, for those kept
    /// in [`params`](Self::params) (`None` if not given: the default).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Groups redis-server's `--name value…` arguments into directives (each
/// a list of words, the name first), as redis-server does: a name's first
/// value is taken even if it starts with `--`, a lone `--save` means
/// `--save ""`, and `-` as the first or last argument (`first_index`: the
/// position of `args[0]` on the whole command line) means "read the
/// config from standard input".
fn command_line(args: &[String], first_index: usize) -> (Vec<Vec<Vec<u8>>>, bool) {
    let mut out: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut stdin = false;
    let mut value_pending = false;
    let total = first_index + args.len();
    for (j, arg) in args.iter().enumerate() {
        let pos = first_index + j;
        if arg == "-" && (pos == 0 || pos == total - 1) {
            stdin = true;
        } else if !value_pending && arg.starts_with("--") {
            // `--port 6380` may come as one argument.
            let name = &arg.as_bytes()[2..];
            let words = conf::split_args(name).unwrap_or_else(|_| vec![name.to_vec()]);
            value_pending = words.len() <= 1;
            let next_is_option = args.get(j + 1).is_none_or(|n| n.starts_with("--"));
            let mut words = if words.is_empty() { vec![Vec::new()] } else { words };
            if value_pending && next_is_option && words[0].eq_ignore_ascii_case(b"save") {
                words.push(Vec::new());
                value_pending = false;
            }
            out.push(words);
        } else {
            match out.last_mut() {
                Some(words) => words.push(arg.as_bytes().to_vec()),
                // A value before any option: a directive of its own, which
                // fails as a bad directive naming it.
                None => out.push(vec![arg.as_bytes().to_vec()]),
            }
            value_pending = false;
        }
    }
    (out, stdin)
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
