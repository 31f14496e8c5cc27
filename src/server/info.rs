//! INFO, with Redis's sections and field names, so that tools reading them
//! (redis-cli, exporters, client libraries) work unchanged.

use super::state::Hot;
use super::state::ServerState;
use crate::db::Reply;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

/// The Redis version reported (`redis_version`): clients check it to know
/// which commands they may send; the commands of Redis 7.0 are served.
pub const REDIS_VERSION: &str = "7.0.0";

const DEFAULT_SECTIONS: &[&str] =
    &["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace"];
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "commandstats",
    "latencystats",
    "keyspace",
];

/// `INFO [section …]`: `default`, `all`, `everything` or section names.
pub(crate) fn info(state: &ServerState, args: &[Vec<u8>]) -> Reply {
    let mut wanted: Vec<&str> = Vec::new();
    if args.is_empty() {
        wanted.extend(DEFAULT_SECTIONS);
    }
    for a in args {
        let a = String::from_utf8_lossy(a).to_ascii_lowercase();
        match a.as_str() {
            "default" => wanted.extend(DEFAULT_SECTIONS),
            "all" | "everything" => wanted.extend(ALL_SECTIONS),
            s => {
                if let Some(s) = ALL_SECTIONS.iter().find(|x| **x == s) {
                    wanted.push(s);
                }
            }
        }
    }
    let mut out = String::new();
    for section in ALL_SECTIONS.iter().filter(|s| wanted.contains(s)) {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let title = if *section == "cpu" { "CPU".to_string() } else { capitalize(section) };
        let _ = write!(out, "# {title}\r\n");
        section_body(state, section, &mut out);
    }
    Reply::Bulk(out.into_bytes())
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2}G", b / (1024.0 * 1024.0 * 1024.0))
    }
}

/// Resident set size from /proc (0 where unavailable).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// User and system CPU seconds of the process from /proc (0 where unavailable).
fn cpu_secs() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return (0.0, 0.0) };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return (0.0, 0.0) };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    (ticks(11), ticks(12))
}

fn section_body(state: &ServerState, section: &str, out: &mut String) {
    let uptime = state.started.elapsed().as_secs();
    let mut line = |k: &str, v: &dyn std::fmt::Display| {
        let _ = write!(out, "{k}:{v}\r\n");
    };
    match section {
        "server" => {
            line("redis_version", &REDIS_VERSION);
            line("embercache_version", &env!("CARGO_PKG_VERSION"));
            line("redis_mode", &"standalone");
            line("os", &format!("{} {}", std::env::consts::OS, std::env::consts::ARCH));
            line("arch_bits", &(usize::BITS));
            line("multiplexing_api", &"tokio");
            line("process_id", &std::process::id());
            line("run_id", &state.run_id);
            line("tcp_port", &state.config.port);
            line("server_time_usec", &{
                let (s, us) = super::state::unix_now();
                s * 1_000_000 + i64::from(us)
            });
            line("uptime_in_seconds", &uptime);
            line("uptime_in_days", &(uptime / 86_400));
            line("hz", &10);
            line("configured_hz", &10);
            line("executable", &std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default());
            line(
                "config_file",
                &state.config.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            );
        }
        "clients" => {
            line("connected_clients", &state.clients.lock().len());
            line("cluster_connections", &0);
            line("maxclients", &state.config.max_clients);
            line("blocked_clients", &state.blocked.load(Ordering::Relaxed));
            line("tracking_clients", &state.tracking.tracking_clients());
            line(
                "pubsub_clients",
                &state
                    .clients
                    .lock()
                    .values()
                    .filter(|c| c.subs.load(Ordering::Relaxed) + c.psubs.load(Ordering::Relaxed) > 0)
                    .count(),
            );
            line("watching_clients", &0);
            line("clients_in_timeout_table", &0);
            line("total_watched_keys", &state.watches.iter().map(|w| w.watched_keys()).sum::<usize>());
        }
        "memory" => {
            let used: u64 = state.dbs.all().iter().map(|d| d.used_memory()).sum();
            let peak = state.peak_memory.fetch_max(used, Ordering::Relaxed).max(used);
            let rss = rss_bytes();
            let maxmemory = state.dbs.get(0).map_or(0, |d| d.maxmemory());
            line("used_memory", &used);
            line("used_memory_human", &human(used));
            line("used_memory_rss", &rss);
            line("used_memory_rss_human", &human(rss));
            line("used_memory_peak", &peak);
            line("used_memory_peak_human", &human(peak));
            line("maxmemory", &maxmemory);
            line("maxmemory_human", &human(maxmemory));
            line("maxmemory_policy", &state.dbs.get(0).map_or("noeviction", |d| d.maxmemory_policy().as_str()));
            line("mem_fragmentation_ratio", &format!("{:.2}", if used == 0 { 0.0 } else { rss as f64 / used as f64 }));
            line("mem_allocator", &"system");
        }
        "persistence" => {
            let bg = state.bgsave_running.load(Ordering::Relaxed);
            line("loading", &0);
            line("async_loading", &0);
            line("rdb_changes_since_last_save", &state.stats.get(Hot::Changes));
            line("rdb_bgsave_in_progress", &u8::from(bg));
            line("rdb_last_save_time", &state.lastsave.load(Ordering::Relaxed));
            line("rdb_last_bgsave_status", &if state.last_save_ok.load(Ordering::Relaxed) { "ok" } else { "err" });
            line("aof_enabled", &u8::from(state.dbs.get(0).is_some_and(|d| d.backups().is_some())));
            line("aof_rewrite_in_progress", &0);
        }
        "stats" => {
            let s = &state.stats;
            let ld = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
            line("total_connections_received", &ld(&s.connections_received));
            line("total_commands_processed", &s.get(Hot::CommandsProcessed));
            line("instantaneous_ops_per_sec", &state.ops_per_sec());
            line("total_net_input_bytes", &s.get(Hot::NetInputBytes));
            line("total_net_output_bytes", &s.get(Hot::NetOutputBytes));
            line("rejected_connections", &ld(&s.rejected_connections));
            line("expired_keys", &0);
            line("evicted_keys", &0);
            line("keyspace_hits", &s.get(Hot::KeyspaceHits));
            line("keyspace_misses", &s.get(Hot::KeyspaceMisses));
            line("pubsub_channels", &state.dbs.get(0).map_or(0, |d| d.pubsub_channels(None).len()));
            line("pubsub_patterns", &state.dbs.get(0).map_or(0, |d| d.pubsub_numpat()));
            line("tracking_total_keys", &state.tracking.tracked_keys());
            line("total_error_replies", &s.get(Hot::ErrorReplies));
        }
        "replication" => {
            line("role", &"master");
            line("connected_slaves", &0);
            line("master_failover_state", &"no-failover");
            line("master_replid", &state.run_id);
            line("master_replid2", &"0000000000000000000000000000000000000000");
            line("master_repl_offset", &0);
            line("repl_backlog_active", &0);
        }
        "cpu" => {
            let (user, sys) = cpu_secs();
            line("used_cpu_sys", &format!("{sys:.6}"));
            line("used_cpu_user", &format!("{user:.6}"));
        }
        "commandstats" => {
            let stats = state.stats.commands();
            let mut names: Vec<&String> = stats.keys().collect();
            names.sort();
            for name in names {
                let c = &stats[name];
                let per = if c.calls == 0 { 0.0 } else { c.usec as f64 / c.calls as f64 };
                line(
                    &format!("cmdstat_{name}"),
                    &format!(
                        "calls={},usec={},usec_per_call={per:.2},rejected_calls=0,failed_calls={}",
                        c.calls, c.usec, c.failed
                    ),
                );
            }
        }
        "latencystats" => {
            let stats = state.stats.commands();
            let mut names: Vec<&String> = stats.keys().collect();
            names.sort();
            for name in names {
                let h = &stats[name].latency;
                line(
                    &format!("latency_percentiles_usec_{name}"),
                    &format!(
                        "p50={:.3},p99={:.3},p99.9={:.3}",
                        h.percentile(50.0),
                        h.percentile(99.0),
                        h.percentile(99.9)
                    ),
                );
            }
        }
        "keyspace" => {
            for (i, db) in state.dbs.all().iter().enumerate() {
                let keys = db.dbsize();
                if keys > 0 {
                    line(&format!("db{i}"), &format!("keys={keys},expires={},avg_ttl=0", db.expires_count()));
                }
            }
        }
        _ => {}
    }
}
