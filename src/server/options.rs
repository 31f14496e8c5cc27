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
//! Every parameter of [`config_cmd::COMPAT`] is accepted and reported back
//! by CONFIG GET; an unknown directive or a wrong number of arguments
//! fails with Redis's "Bad directive or wrong number of arguments" and the
//! line it is on. Parsing only records and validates: what this build
//! cannot do (AUTH, TLS, the Memcached listener, daemonizing) is refused
//! when the server is made from the options ([`ServerOptions::server_builder`]).
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
mod startup;
#[cfg(test)]
mod tests;

pub use startup::StartupError;

use super::config_cmd::{self, COMPAT, parse_memory};
use crate::db::MaxMemoryPolicy;
use crate::db::notify::ChannelEvents;
use crate::persist::FsyncPolicy;
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

/// The most nested `include`s (a file including itself stops here).
const MAX_INCLUDE_DEPTH: usize = 16;

/// The most databases (each has its own shards and housekeeping).
const MAX_DATABASES: usize = 1 << 16;

/// Parameters whose arguments may come as one space-separated string.
const MULTI_ARG: &[&str] = &["save", "bind", "client-output-buffer-limit", "oom-score-adj-values"];

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
    /// [`config_cmd::COMPAT`] given, and `slowlog-*`.
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

/// Applies directives over the defaults.
#[derive(Default)]
struct Parser {
    opts: ServerOptions,
    /// The first `save` replaces the default rules; later ones add to them.
    save_seen: bool,
    depth: usize,
}

impl Parser {
    fn file(&mut self, path: &Path) -> Result<(), OptionsError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| OptionsError::Read { path: path.to_path_buf(), source })?;
        self.text(&text, &Origin::File(path.to_path_buf()))
    }

    fn text(&mut self, text: &str, origin: &Origin) -> Result<(), OptionsError> {
        for line in conf::lines(text) {
            let err = |reason: String| OptionsError::Directive {
                origin: origin.clone(),
                line: line.number,
                text: line.text.to_string(),
                reason,
            };
            let words = line.args.map_err(|_| err("Unbalanced quotes in configuration line".into()))?;
            self.directive(words, &err)?;
        }
        Ok(())
    }

    /// One directive (name first); `err` places a failure.
    fn directive(&mut self, words: Vec<Vec<u8>>, err: &dyn Fn(String) -> OptionsError) -> Result<(), OptionsError> {
        let Some((name, args)) = words.split_first() else { return Ok(()) };
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let args: Vec<String> = match args.iter().map(|a| String::from_utf8(a.clone())).collect() {
            Ok(a) => a,
            Err(_) => return Err(err("Arguments must be valid UTF-8".into())),
        };
        if name == "include" {
            let [path] = &args[..] else { return Err(err(BAD_DIRECTIVE.into())) };
            if self.depth >= MAX_INCLUDE_DEPTH {
                return Err(err(format!("include nested more than {MAX_INCLUDE_DEPTH} deep")));
            }
            self.depth += 1;
            let r = self.file(Path::new(path));
            self.depth -= 1;
            return r;
        }
        self.set(&name, &args).map_err(err)
    }

    fn param(&mut self, name: &str, value: impl Into<String>) {
        self.opts.params.insert(name.to_string(), value.into());
    }

    /// Sets one parameter; the error is the reason, in Redis's words where
    /// it has some.
    fn set(&mut self, name: &str, args: &[String]) -> Result<(), String> {
        // Redis's multi-argument parameters take their arguments as one
        // quoted string too (`--save "60 1"`).
        let split: Vec<String>;
        let args = match args {
            [one] if MULTI_ARG.contains(&name) && !one.is_empty() => {
                split = one.split_whitespace().map(str::to_string).collect();
                &split[..]
            }
            _ => args,
        };
        let one = || match args {
            [v] => Ok(v.as_str()),
            _ => Err(BAD_DIRECTIVE.to_string()),
        };
        let o = &mut self.opts;
        match name {
            "port" => o.port = port(one()?)?,
            "bind" if !args.is_empty() => o.bind = args.to_vec(),
            "requirepass" => o.requirepass = Some(one()?.to_string()).filter(|p| !p.is_empty()),
            "aclfile" => o.aclfile = Some(PathBuf::from(one()?)).filter(|p| !p.as_os_str().is_empty()),
            "maxmemory" => o.maxmemory = memory(one()?)?,
            "maxmemory-policy" => {
                o.maxmemory_policy = one()?.parse().map_err(|_| {
                    let names: Vec<&str> = MaxMemoryPolicy::ALL.iter().map(|p| p.as_str()).collect();
                    format!("argument(s) must be one of the following: {}", names.join(", "))
                })?;
            }
            "databases" => o.databases = int_in(one()?, 1, MAX_DATABASES as i64)? as usize,
            "dir" => {
                let dir = one()?;
                if dir.is_empty() {
                    return Err("dir can't be empty".into());
                }
                o.dir = PathBuf::from(dir);
            }
            "dbfilename" => o.dbfilename = base_name(one()?, "dbfilename")?,
            "save" => self.save(args)?,
            "appendonly" => o.appendonly = yes_no(one()?)?,
            "appendfsync" => {
                o.appendfsync = match one()?.to_ascii_lowercase().as_str() {
                    "always" => FsyncPolicy::Always,
                    "everysec" => FsyncPolicy::EverySecond,
                    "no" => FsyncPolicy::Os,
                    _ => return Err("argument(s) must be one of the following: always, everysec, no".into()),
                };
            }
            "timeout" => o.timeout = int_in(one()?, 0, i64::from(i32::MAX))? as u64,
            "maxclients" => o.maxclients = int_in(one()?, 1, i64::from(u32::MAX))? as usize,
            "notify-keyspace-events" => {
                let flags = one()?;
                ChannelEvents::parse(flags).map_err(|_| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
                o.notify_keyspace_events = flags.to_string();
            }
            "protected-mode" => o.protected_mode = yes_no(one()?)?,
            "tls-port" => o.tls.port = port(one()?)?,
            "tls-cert-file" => o.tls.cert_file = Some(one()?.into()),
            "tls-key-file" => o.tls.key_file = Some(one()?.into()),
            "tls-ca-cert-file" => o.tls.ca_cert_file = Some(one()?.into()),
            "tls-auth-clients" => {
                o.tls.auth_clients = Some(match one()?.to_ascii_lowercase().as_str() {
                    "yes" => TlsAuthClients::Yes,
                    "no" => TlsAuthClients::No,
                    "optional" => TlsAuthClients::Optional,
                    _ => return Err("argument(s) must be one of the following: no, yes, optional".into()),
                });
            }
            "memcached-port" => o.memcached_port = port(one()?)?,
            "loglevel" => {
                let level = LogLevel::parse(one()?)
                    .ok_or("argument(s) must be one of the following: debug, verbose, notice, warning, nothing")?;
                o.loglevel = level;
                self.param(name, level.as_str());
            }
            "logfile" => {
                let file = one()?.to_string();
                o.logfile = Some(PathBuf::from(&file)).filter(|_| !file.is_empty());
                self.param(name, file);
            }
            "daemonize" => {
                o.daemonize = yes_no(one()?)?;
                let v = if o.daemonize { "yes" } else { "no" };
                self.param(name, v);
            }
            "pidfile" => {
                let file = one()?.to_string();
                o.pidfile = Some(PathBuf::from(&file)).filter(|_| !file.is_empty());
                self.param(name, file);
            }
            "proto-max-bulk-len" => o.proto_max_bulk_len = usize_memory(one()?, 1024 * 1024)?,
            "client-query-buffer-limit" => o.client_query_buffer_limit = usize_memory(one()?, 1024 * 1024)?,
            "slowlog-log-slower-than" => {
                let n = int_in(one()?, -1, i64::MAX)?;
                self.param(name, n.to_string());
            }
            "slowlog-max-len" => {
                let n = int_in(one()?, 0, i64::from(i32::MAX))?;
                self.param(name, n.to_string());
            }
            "appenddirname" => {
                let dir = base_name(one()?, "appenddirname")?;
                self.param(name, dir);
            }
            "client-output-buffer-limit" => {
                let current = self.opts.params.get(name).map(String::as_str).unwrap_or_else(|| compat_default(name));
                let merged = output_buffer_limit(current, args)?;
                self.param(name, merged);
            }
            "cluster-enabled" if yes_no(one()?)? => return Err("cluster mode is not supported".into()),
            _ => match COMPAT.iter().find(|(n, _)| *n == name) {
                Some((_, default)) if !args.is_empty() => {
                    let v = compat_value(name, default, args)?;
                    self.param(name, v);
                }
                _ => return Err(BAD_DIRECTIVE.into()),
            },
        }
        Ok(())
    }

    /// `save <seconds> <changes> […]` or `save ""`.
    fn save(&mut self, args: &[String]) -> Result<(), String> {
        if !self.save_seen {
            self.save_seen = true;
            self.opts.save.clear();
        }
        if let [only] = args
            && only.is_empty()
        {
            self.opts.save.clear();
            return Ok(());
        }
        if args.is_empty() || !args.len().is_multiple_of(2) {
            return Err("Invalid save parameters".into());
        }
        for pair in args.chunks(2) {
            match (pair[0].parse::<u64>(), pair[1].parse::<u64>()) {
                (Ok(secs), Ok(changes)) => self.opts.save.push((secs, changes)),
                _ => return Err("Invalid save parameters".into()),
            }
        }
        Ok(())
    }
}

fn compat_default(name: &str) -> &'static str {
    COMPAT.iter().find(|(n, _)| *n == name).map_or("", |(_, d)| *d)
}

/// A compatibility parameter's value, checked against the kind its default
/// shows: yes/no, an integer (memory units allowed), or free text.
fn compat_value(name: &str, default: &str, args: &[String]) -> Result<String, String> {
    let value = args.join(" ");
    let one_of = |allowed: &[&str]| {
        let v = value.to_ascii_lowercase();
        if allowed.contains(&v.as_str()) {
            Ok(v)
        } else {
            Err(format!("argument(s) must be one of the following: {}", allowed.join(", ")))
        }
    };
    match name {
        "oom-score-adj" => return one_of(&["no", "yes", "relative", "absolute"]),
        "supervised" => return one_of(&["upstart", "systemd", "auto", "no"]),
        _ => {}
    }
    if default == "yes" || default == "no" {
        return yes_no(&value).map(|b| if b { "yes" } else { "no" }.to_string());
    }
    if default.parse::<i64>().is_ok() {
        if let Ok(n) = value.parse::<i64>() {
            return Ok(n.to_string());
        }
        return parse_memory(&value)
            .map(|n| n.to_string())
            .ok_or_else(|| "argument couldn't be parsed into an integer".to_string());
    }
    Ok(value)
}

/// Merges `client-output-buffer-limit <class> <hard> <soft> <seconds> […]`
/// into the current value (all three classes, as CONFIG GET shows them).
fn output_buffer_limit(current: &str, args: &[String]) -> Result<String, String> {
    if args.is_empty() || !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let words: Vec<&str> = current.split_whitespace().collect();
    let mut classes: Vec<[String; 4]> =
        words.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]].map(str::to_string)).collect();
    for group in args.chunks(4) {
        let class = match group[0].to_ascii_lowercase().as_str() {
            "normal" => "normal",
            "replica" | "slave" => "slave",
            "pubsub" => "pubsub",
            _ => return Err("Invalid client class specified in buffer limit configuration.".into()),
        };
        let bad = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.".to_string();
        let hard = parse_memory(&group[1]).ok_or_else(bad)?;
        let soft = parse_memory(&group[2]).ok_or_else(bad)?;
        let secs = group[3].parse::<u64>().map_err(|_| bad())?;
        let entry = [class.to_string(), hard.to_string(), soft.to_string(), secs.to_string()];
        match classes.iter_mut().find(|c| c[0] == class) {
            Some(c) => *c = entry,
            None => classes.push(entry),
        }
    }
    Ok(classes.iter().map(|c| c.join(" ")).collect::<Vec<_>>().join(" "))
}

fn yes_no(v: &str) -> Result<bool, String> {
    if v.eq_ignore_ascii_case("yes") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("no") {
        Ok(false)
    } else {
        Err("argument must be 'yes' or 'no'".into())
    }
}

fn port(v: &str) -> Result<u16, String> {
    v.parse::<u16>().map_err(|_| "argument must be between 0 and 65535 inclusive".into())
}

fn int_in(v: &str, min: i64, max: i64) -> Result<i64, String> {
    match v.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        Ok(_) => Err(format!("argument must be between {min} and {max} inclusive")),
        Err(_) => Err("argument couldn't be parsed into an integer".into()),
    }
}

fn memory(v: &str) -> Result<u64, String> {
    config_cmd::parse_memory(v).ok_or_else(|| "argument must be a memory value".into())
}

fn usize_memory(v: &str, min: u64) -> Result<usize, String> {
    let n = memory(v)?;
    if n < min {
        return Err(format!("argument must be at least {min} bytes"));
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// A file name with no directory part.
fn base_name(v: &str, what: &str) -> Result<String, String> {
    if v.is_empty() || v.contains('/') || v == "." || v == ".." {
        return Err(format!("{what} can't be a path, just a filename"));
    }
    Ok(v.to_string())
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
