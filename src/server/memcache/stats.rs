//! The counters `stats` reports, and the `stats` command. Each session
//! counts in plain integers and adds them once per batch of requests to
//! its thread's stripe of the listener's counters, so no two threads write
//! the same cache line (as memcached keeps per-thread stats).

use crate::db::Db;
use crate::stats::Striped;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($name:ident => $text:literal,)*) => {
        /// A counter of the `stats` command.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        #[expect(non_camel_case_types, reason = "named as the stats they report")]
        pub(crate) enum Stat { $($name,)* }

        impl Stat {
            const ALL: &[(Stat, &str)] = &[$((Stat::$name, $text),)*];
        }
    };
}

counters! {
    cmd_get => "cmd_get",
    cmd_set => "cmd_set",
    cmd_flush => "cmd_flush",
    cmd_touch => "cmd_touch",
    cmd_meta => "cmd_meta",
    get_hits => "get_hits",
    get_misses => "get_misses",
    delete_misses => "delete_misses",
    delete_hits => "delete_hits",
    incr_misses => "incr_misses",
    incr_hits => "incr_hits",
    decr_misses => "decr_misses",
    decr_hits => "decr_hits",
    cas_misses => "cas_misses",
    cas_hits => "cas_hits",
    cas_badval => "cas_badval",
    touch_hits => "touch_hits",
    touch_misses => "touch_misses",
    store_too_large => "store_too_large",
    store_no_memory => "store_no_memory",
    bytes_read => "bytes_read",
    bytes_written => "bytes_written",
    total_items => "total_items",
    auth_cmds => "auth_cmds",
    auth_errors => "auth_errors",
}

const N: usize = Stat::ALL.len();

/// A session's counts not yet added to the listener's.
#[derive(Debug, Default)]
pub(crate) struct Local([u64; N]);

impl Local {
    pub(crate) fn add(&mut self, stat: Stat, n: u64) {
        if let Some(c) = self.0.get_mut(stat as usize) {
            *c = c.wrapping_add(n);
        }
    }
}

/// The counters of one listener.
#[derive(Debug)]
pub(crate) struct Stats {
    counts: Striped<N>,
    pub(crate) curr_connections: AtomicU64,
    pub(crate) total_connections: AtomicU64,
    pub(crate) rejected_connections: AtomicU64,
    /// Unix time (ms, by the `Db`'s clock) the listener started.
    started_ms: i64,
}

impl Stats {
    pub(crate) fn new(db: &Db) -> Self {
        Stats {
            counts: Striped::default(),
            curr_connections: AtomicU64::new(0),
            total_connections: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            started_ms: db.unix_time_ms(),
        }
    }

    /// Adds a session's counts and clears them.
    pub(crate) fn merge(&self, local: &mut Local) {
        self.counts.drain_from(&mut local.0);
    }

    fn get(&self, stat: Stat) -> u64 {
        self.counts.get(stat as usize)
    }

    /// `stats reset`.
    pub(crate) fn reset(&self) {
        self.counts.reset();
        self.total_connections.store(0, Ordering::Relaxed);
        self.rejected_connections.store(0, Ordering::Relaxed);
    }

    /// The general-purpose statistics (`stats` without arguments).
    pub(crate) fn write_general(&self, db: &Db, max_connections: usize, out: &mut Vec<u8>) {
        let now_ms = db.unix_time_ms();
        let mut s = String::with_capacity(1024);
        let mut line = |name: &str, value: &dyn std::fmt::Display| {
            let _ = write!(s, "STAT {name} {value}\r\n");
        };
        line("pid", &std::process::id());
        line("uptime", &(now_ms.saturating_sub(self.started_ms) / 1000));
        line("time", &(now_ms / 1000));
        line("version", &super::VERSION);
        line("pointer_size", &usize::BITS);
        line("max_connections", &max_connections);
        line("curr_connections", &self.curr_connections.load(Ordering::Relaxed));
        line("total_connections", &self.total_connections.load(Ordering::Relaxed));
        line("rejected_connections", &self.rejected_connections.load(Ordering::Relaxed));
        for &(stat, name) in Stat::ALL {
            line(name, &self.get(stat));
        }
        line("limit_maxbytes", &db.maxmemory());
        line("threads", &std::thread::available_parallelism().map_or(1, |n| n.get()));
        line("bytes", &db.used_memory());
        line("curr_items", &db.dbsize());
        line("evictions", &db.evictions());
        s.push_str("END\r\n");
        out.extend_from_slice(s.as_bytes());
    }
}
