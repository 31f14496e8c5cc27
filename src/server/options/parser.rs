//! Applying redis.conf directives to [`ServerOptions`]: each one's
//! arguments checked and converted, with Redis's reasons when they are
//! wrong.

use super::{BAD_DIRECTIVE, LogLevel, OptionsError, Origin, ServerOptions, TlsAuthClients, conf};
use crate::db::MaxMemoryPolicy;
use crate::db::notify::ChannelEvents;
use crate::persist::FsyncPolicy;
use crate::server::config_cmd::{COMPAT, parse_memory};
use std::path::{Path, PathBuf};

/// The most nested `include`s (a file including itself stops here).
const MAX_INCLUDE_DEPTH: usize = 16;

/// The most databases (each has its own shards and housekeeping).
const MAX_DATABASES: usize = 1 << 16;

/// Parameters whose arguments may come as one space-separated string.
const MULTI_ARG: &[&str] = &["save", "bind", "client-output-buffer-limit", "oom-score-adj-values"];

/// Applies directives over the defaults.
#[derive(Default)]
pub(super) struct Parser {
    pub(super) opts: ServerOptions,
    /// The first `save` replaces the default rules; later ones add to them.
    save_seen: bool,
    depth: usize,
}

impl Parser {
    pub(super) fn file(&mut self, path: &Path) -> Result<(), OptionsError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| OptionsError::Read { path: path.to_path_buf(), source })?;
        self.text(&text, &Origin::File(path.to_path_buf()))
    }

    pub(super) fn text(&mut self, text: &str, origin: &Origin) -> Result<(), OptionsError> {
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
    pub(super) fn directive(
        &mut self,
        words: Vec<Vec<u8>>,
        err: &dyn Fn(String) -> OptionsError,
    ) -> Result<(), OptionsError> {
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
            "busy-poll-us" => o.busy_poll_us = int_in(one()?, 0, 1_000_000)?.unsigned_abs(),
            "cpu-slice-us" => o.cpu_slice_us = int_in(one()?, 0, 1_000_000)?.unsigned_abs(),
            "memcached-tls" => o.memcached_tls = yes_no(one()?)?,
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
            "io-threads" => {
                // Redis's limit; here the threads serving connections.
                let n = int_in(one()?, 1, 128)?;
                self.param(name, n.to_string());
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
    parse_memory(v).ok_or_else(|| "argument must be a memory value".into())
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
