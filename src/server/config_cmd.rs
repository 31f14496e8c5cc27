//! CONFIG GET/SET/RESETSTAT/REWRITE.
//!
//! Parameters with an effect here: `maxmemory` (every database),
//! `maxmemory-policy` (read; set only to the policy the store was built
//! with, since the eviction structure is chosen at start),
//! `notify-keyspace-events`, `timeout`, `maxclients`,
//! `slowlog-log-slower-than`, `slowlog-max-len`; read-only: `port`, `bind`,
//! `databases`, `dir`, `dbfilename`, `save`, `appendonly`, `appendfsync`,
//! `proto-max-bulk-len`, `client-query-buffer-limit`, `busy-poll-us`, `cpu-slice-us`.
//!
//! Parameters of redis.conf with no meaning here (encoding thresholds such
//! as `hash-max-listpack-entries`, `activerehashing`, `hz`, lazy-free
//! switches, `io-threads-do-reads`, …, listed in [`COMPAT`]) are accepted, kept and
//! reported back, so scripts and tools that set them keep working.

use super::state::ServerState;
use crate::db::glob;
use crate::db::notify::ChannelEvents;
use crate::db::{MaxMemoryPolicy, Reply};
use std::sync::atomic::Ordering;

/// Accepted for compatibility, with Redis 7's defaults; no effect.
pub const COMPAT: &[(&str, &str)] = &[
    ("acllog-max-len", "128"),
    ("active-expire-effort", "1"),
    ("activedefrag", "no"),
    ("activerehashing", "yes"),
    ("always-show-logo", "no"),
    ("aof-load-truncated", "yes"),
    ("aof-rewrite-incremental-fsync", "yes"),
    ("aof-timestamp-enabled", "no"),
    ("aof-use-rdb-preamble", "yes"),
    ("appenddirname", "appendonlydir"),
    ("appendfilename", "appendonly.aof"),
    ("auto-aof-rewrite-min-size", "67108864"),
    ("auto-aof-rewrite-percentage", "100"),
    ("busy-reply-threshold", "5000"),
    ("client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
    ("cluster-enabled", "no"),
    ("daemonize", "no"),
    ("disable-thp", "yes"),
    ("dynamic-hz", "yes"),
    ("hash-max-listpack-entries", "128"),
    ("hash-max-listpack-value", "64"),
    ("hash-max-ziplist-entries", "128"),
    ("hash-max-ziplist-value", "64"),
    ("hll-sparse-max-bytes", "3000"),
    ("hz", "10"),
    ("io-threads", "1"),
    ("io-threads-do-reads", "no"),
    ("jemalloc-bg-thread", "yes"),
    ("latency-monitor-threshold", "0"),
    ("latency-tracking", "yes"),
    ("lazyfree-lazy-eviction", "no"),
    ("lazyfree-lazy-expire", "no"),
    ("lazyfree-lazy-server-del", "no"),
    ("lazyfree-lazy-user-del", "no"),
    ("lazyfree-lazy-user-flush", "no"),
    ("lfu-decay-time", "1"),
    ("lfu-log-factor", "10"),
    ("list-compress-depth", "0"),
    ("list-max-listpack-size", "-2"),
    ("list-max-ziplist-size", "-2"),
    ("logfile", ""),
    ("loglevel", "notice"),
    ("lua-time-limit", "5000"),
    ("maxmemory-eviction-tenacity", "10"),
    ("maxmemory-samples", "5"),
    ("min-replicas-to-write", "0"),
    ("no-appendfsync-on-rewrite", "no"),
    ("oom-score-adj", "no"),
    ("oom-score-adj-values", "0 200 800"),
    ("pidfile", ""),
    ("proc-title-template", "{title} {listen-addr} {server-mode}"),
    ("rdb-del-sync-files", "no"),
    ("rdb-save-incremental-fsync", "yes"),
    ("rdbchecksum", "yes"),
    ("rdbcompression", "yes"),
    ("repl-backlog-size", "1048576"),
    ("repl-disable-tcp-nodelay", "no"),
    ("repl-diskless-load", "disabled"),
    ("repl-diskless-sync", "yes"),
    ("repl-diskless-sync-delay", "5"),
    ("repl-diskless-sync-max-replicas", "0"),
    ("replica-lazy-flush", "no"),
    ("replica-priority", "100"),
    ("replica-read-only", "yes"),
    ("replica-serve-stale-data", "yes"),
    ("sanitize-dump-payload", "no"),
    ("set-max-intset-entries", "512"),
    ("set-max-listpack-entries", "128"),
    ("set-max-listpack-value", "64"),
    ("set-proc-title", "yes"),
    ("stop-writes-on-bgsave-error", "yes"),
    ("stream-node-max-bytes", "4096"),
    ("stream-node-max-entries", "100"),
    ("supervised", "no"),
    ("tcp-backlog", "511"),
    ("tcp-keepalive", "300"),
    ("zset-max-listpack-entries", "128"),
    ("zset-max-listpack-value", "64"),
    ("zset-max-ziplist-entries", "128"),
    ("zset-max-ziplist-value", "64"),
];

/// Parameters with an effect or a fixed value, in CONFIG GET's order.
const OWN: &[&str] = &[
    "busy-poll-us",
    "cpu-slice-us",
    "maxmemory",
    "maxmemory-policy",
    "notify-keyspace-events",
    "timeout",
    "maxclients",
    "slowlog-log-slower-than",
    "slowlog-max-len",
    "port",
    "bind",
    "databases",
    "dir",
    "dbfilename",
    "save",
    "appendonly",
    "appendfsync",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "protected-mode",
    "requirepass",
    "tls-port",
];

/// Parses a memory amount as redis.conf writes it: `1gb`, `100mb`, `64k`,
/// `1024` (k/m/g are powers of 1000, kb/mb/gb of 1024).
pub fn parse_memory(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(digits);
    let n: u64 = num.parse().ok()?;
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mul)
}

/// The current value of `name`, if it is a parameter.
pub(crate) fn get(state: &ServerState, name: &str) -> Option<String> {
    let c = &state.config;
    let rt = state.runtime.read();
    let db0 = state.dbs.get(0);
    let db0 = db0.as_ref();
    Some(match name {
        "maxmemory" => db0.map_or(0, |d| d.maxmemory()).to_string(),
        "maxmemory-policy" => db0.map_or("noeviction", |d| d.maxmemory_policy().as_str()).to_string(),
        "notify-keyspace-events" => db0.map(|d| d.notify_keyspace_events().to_flags()).unwrap_or_default(),
        "timeout" => state.timeout_secs.load(Ordering::Relaxed).to_string(),
        "maxclients" => state.max_clients.load(Ordering::Relaxed).to_string(),
        "slowlog-log-slower-than" => state.slowlog_slower_than.load(Ordering::Relaxed).to_string(),
        "slowlog-max-len" => rt.slowlog_max_len.to_string(),
        "port" => c.port.to_string(),
        "bind" => c.bind_host.clone(),
        "databases" => state.dbs.len().to_string(),
        "dir" => c.persistence.as_ref().map(|p| p.dir.display().to_string()).unwrap_or_default(),
        "dbfilename" => c.persistence.as_ref().map(|p| p.dbfilename.clone()).unwrap_or_default(),
        "save" => c.persistence.as_ref().map(|p| p.save.clone()).unwrap_or_default(),
        "appendonly" => yes_no(db0.is_some_and(|d| d.backups().is_some())),
        "appendfsync" => c.persistence.as_ref().map_or("everysec".into(), |p| p.appendfsync.clone()),
        "proto-max-bulk-len" => c.parse_limits.max_bulk_len.to_string(),
        "client-query-buffer-limit" => c.query_buffer_limit.to_string(),
        "busy-poll-us" => c.busy_poll.as_micros().to_string(),
        "cpu-slice-us" => c.cpu_slice.as_micros().to_string(),
        "protected-mode" => yes_no(c.protected_mode),
        "requirepass" => String::new(),
        "tls-port" => c.tls_port.to_string(),
        _ => match rt.extra.get(name) {
            Some(v) => v.clone(),
            None => COMPAT.iter().find(|(n, _)| *n == name)?.1.to_string(),
        },
    })
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// Every parameter name.
fn names() -> impl Iterator<Item = &'static str> {
    OWN.iter().copied().chain(COMPAT.iter().map(|(n, _)| *n))
}

/// `CONFIG <GET|SET|RESETSTAT|REWRITE|HELP> …`.
pub(crate) fn config(state: &ServerState, args: &[Vec<u8>]) -> Reply {
    let sub = args.get(1).map(|s| s.to_ascii_lowercase()).unwrap_or_default();
    let wrong = |s: &str| Reply::Error(format!("ERR wrong number of arguments for 'config|{s}' command"));
    match sub.as_slice() {
        b"get" if args.len() >= 3 => {
            let mut pairs: Vec<(Reply, Reply)> = Vec::new();
            for pattern in &args[2..] {
                let pattern = pattern.to_ascii_lowercase();
                for name in names().filter(|n| glob::matches(&pattern, n.as_bytes())) {
                    if pairs.iter().any(|(k, _)| k.as_bytes() == Some(name.as_bytes())) {
                        continue;
                    }
                    if let Some(v) = get(state, name) {
                        pairs.push((Reply::bulk(name), Reply::bulk(v)));
                    }
                }
            }
            Reply::Map(pairs)
        }
        b"get" => wrong("get"),
        b"set" if args.len() >= 4 && args.len().is_multiple_of(2) => set(state, &args[2..]),
        b"set" => wrong("set"),
        b"resetstat" if args.len() == 2 => {
            state.stats.reset();
            Reply::OK
        }
        b"rewrite" if args.len() == 2 => match rewrite(state) {
            Ok(()) => Reply::OK,
            Err(e) => Reply::Error(format!("ERR {e}")),
        },
        b"resetstat" | b"rewrite" => wrong(&String::from_utf8_lossy(&sub)),
        b"help" => Reply::Array(
            [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>",
                "    Set the configuration <directive> to <value>.",
                "RESETSTAT",
                "    Reset statistics reported by the INFO command.",
                "REWRITE",
                "    Rewrite the configuration file.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|l| Reply::Simple(l))
            .collect(),
        ),
        _ => Reply::Error(format!(
            "ERR unknown subcommand '{}'. Try CONFIG HELP.",
            String::from_utf8_lossy(args.get(1).map_or(&[][..], |s| &s[..s.len().min(128)]))
        )),
    }
}

/// A validated change, applied only once every pair of the call is valid.
enum Change {
    MaxMemory(u64),
    Notify(ChannelEvents),
    Timeout(u64),
    MaxClients(usize),
    SlowerThan(i64),
    SlowMaxLen(usize),
    Extra(String, String),
}

fn set(state: &ServerState, pairs: &[Vec<u8>]) -> Reply {
    let mut changes = Vec::new();
    for pair in pairs.chunks(2) {
        let name = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
        let value = String::from_utf8_lossy(&pair[1]).into_owned();
        let bad =
            |why: &str| Reply::Error(format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"));
        let int = |v: &str| v.parse::<i64>().ok();
        let change = match name.as_str() {
            "maxmemory" => match parse_memory(&value) {
                Some(n) => Change::MaxMemory(n),
                None => return bad("argument must be a memory value"),
            },
            "maxmemory-policy" => match value.parse::<MaxMemoryPolicy>() {
                Ok(p) if Some(p) == state.dbs.get(0).map(|d| d.maxmemory_policy()) => continue,
                Ok(_) => return bad("the eviction policy is chosen at start (--maxmemory-policy)"),
                Err(_) => {
                    return bad(
                        "argument(s) must be one of the following: volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu, volatile-random, allkeys-random, volatile-ttl, noeviction, allkeys-adaptive",
                    );
                }
            },
            "notify-keyspace-events" => match ChannelEvents::parse(&value) {
                Ok(e) => Change::Notify(e),
                Err(_) => return bad("Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
            },
            "timeout" => match int(&value) {
                Some(n) if n >= 0 => Change::Timeout(n.unsigned_abs()),
                _ => return bad("argument couldn't be parsed into an integer"),
            },
            "maxclients" => match int(&value) {
                Some(n) if n >= 1 => Change::MaxClients(usize::try_from(n).unwrap_or(usize::MAX)),
                _ => return bad("argument must be between 1 and 4294967295 inclusive"),
            },
            "slowlog-log-slower-than" => match int(&value) {
                Some(n) if n >= -1 => Change::SlowerThan(n),
                _ => return bad("argument must be between -1 and 9223372036854775807 inclusive"),
            },
            "slowlog-max-len" => match int(&value) {
                Some(n) if n >= 0 => Change::SlowMaxLen(usize::try_from(n).unwrap_or(usize::MAX)),
                _ => return bad("argument must be between 0 and 9223372036854775807 inclusive"),
            },
            n if COMPAT.iter().any(|(c, _)| *c == n) => Change::Extra(name.clone(), value),
            n if OWN.contains(&n) => return bad("can't set immutable config"),
            _ => {
                return Reply::Error(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                    String::from_utf8_lossy(&pair[0])
                ));
            }
        };
        changes.push(change);
    }
    let mut rt = state.runtime.write();
    for change in changes {
        match change {
            Change::MaxMemory(n) => {
                let dbs = state.dbs.all();
                if n > 0
                    && let Some((first, rest)) = dbs.split_first()
                {
                    // One bound for all (as at start with a maxmemory).
                    rest.iter().for_each(|d| d.share_memory_with(first));
                }
                dbs.iter().for_each(|d| d.set_maxmemory(n));
            }
            Change::Notify(e) => {
                for (i, d) in state.dbs.all().iter().enumerate() {
                    d.set_notify_keyspace_events(e, u32::try_from(i).unwrap_or(u32::MAX));
                }
            }
            Change::Timeout(n) => state.timeout_secs.store(n, Ordering::Relaxed),
            Change::MaxClients(n) => state.max_clients.store(n, Ordering::Relaxed),
            Change::SlowerThan(n) => state.slowlog_slower_than.store(n, Ordering::Relaxed),
            Change::SlowMaxLen(n) => {
                rt.slowlog_max_len = n;
                state.slowlog.lock().entries.truncate(n);
            }
            Change::Extra(k, v) => {
                rt.extra.insert(k, v);
            }
        }
    }
    Reply::OK
}

/// CONFIG REWRITE: the config file's directives for the parameters set at
/// run time are replaced (or appended); everything else is kept as written.
fn rewrite(state: &ServerState) -> Result<(), String> {
    let Some(path) = state.config.config_file.as_ref() else {
        return Err("The server is running without a config file".into());
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("Rewriting config file: {e}"))?;
    let settable =
        ["maxmemory", "notify-keyspace-events", "timeout", "maxclients", "slowlog-log-slower-than", "slowlog-max-len"];
    let extra: Vec<String> = state.runtime.read().extra.keys().cloned().collect();
    let mut pending: Vec<String> = settable.iter().map(|s| s.to_string()).chain(extra).collect();
    let mut out = String::new();
    for line in text.lines() {
        let name = line.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
        if let Some(pos) = pending.iter().position(|p| *p == name) {
            let p = pending.remove(pos);
            if let Some(v) = get(state, &p) {
                out.push_str(&format!("{p} {}\n", quote(&v)));
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    for p in pending {
        let default = COMPAT.iter().find(|(n, _)| *n == p).map(|(_, d)| d.to_string());
        if let Some(v) = get(state, &p)
            && Some(&v) != default.as_ref()
            && !(p == "notify-keyspace-events" && v.is_empty())
        {
            out.push_str(&format!("{p} {}\n", quote(&v)));
        }
    }
    crate::persist::file::write_atomically(path, |w| {
        std::io::Write::write_all(w, out.as_bytes())?;
        Ok(())
    })
    .map_err(|e| format!("Rewriting config file: {e}"))
}

fn quote(v: &str) -> String {
    if v.is_empty() || v.contains(char::is_whitespace) || v.contains('"') {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_string()
    }
}
