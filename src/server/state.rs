//! What the connections of one server share: the numbered databases, the
//! registry of clients (for CLIENT LIST/KILL, tracking and MONITOR), the
//! settings CONFIG SET changes at run time, statistics, the slow log, and
//! the gate that makes EXEC atomic.

use super::Config;
use super::multi::WatchRegistry;
use super::tracking::Tracking;
use crate::db::Db;
use crate::db::Reply;
use crate::db::observe::Observer;
use crate::stats::Striped;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, watch};

/// The most push messages (invalidations, MONITOR lines) queued for one
/// client; a client that falls further behind is disconnected, as Redis
/// does on its output buffer limit.
pub(crate) const PUSH_QUEUE_LIMIT: usize = 64 * 1024;

/// A message the server sends a client unasked.
#[derive(Debug)]
pub(crate) enum Push {
    /// A push message (RESP3 `>`, an array in RESP2): invalidations.
    Message(Vec<Reply>),
    /// A status line (MONITOR's lines).
    Status(String),
}

/// One connected client, as others see it.
pub(crate) struct ClientInfo {
    pub(crate) id: u64,
    pub(crate) addr: SocketAddr,
    pub(crate) laddr: SocketAddr,
    pub(crate) created: Instant,
    /// Milliseconds since `created` of the last command.
    pub(crate) last_active_ms: AtomicU64,
    pub(crate) name: Mutex<Option<Vec<u8>>>,
    pub(crate) lib: Mutex<(String, String)>,
    pub(crate) db: AtomicUsize,
    pub(crate) last_cmd: Mutex<String>,
    /// Subscriptions (channels, patterns), for CLIENT LIST.
    pub(crate) subs: AtomicUsize,
    pub(crate) psubs: AtomicUsize,
    /// In MULTI: the number of queued commands + 1 (0: not in MULTI).
    pub(crate) multi: AtomicI64,
    pub(crate) no_evict: AtomicBool,
    /// Waiting in a blocking command (exempt from `timeout`, as in Redis).
    pub(crate) blocked: AtomicBool,
    /// Set by CLIENT KILL (or an overflowing push queue): the connection
    /// closes at its next wake-up.
    pub(crate) killed: AtomicBool,
    /// Messages the server pushes to this client (invalidations, MONITOR).
    pub(crate) pushes: Mutex<Vec<Push>>,
    /// The protocol version (2 or 3), for CLIENT LIST.
    pub(crate) resp: AtomicUsize,
    /// Wakes the connection's task: a push arrived, or it was killed.
    /// Shared so that a pump can wait on it (`Notify::notified_owned`).
    pub(crate) wake: Arc<Notify>,
    /// Raised while this client runs a command (see [`super::gate`]).
    pub(crate) busy: super::gate::Busy,
}

impl ClientInfo {
    pub(crate) fn new(id: u64, addr: SocketAddr, laddr: SocketAddr) -> Self {
        ClientInfo {
            id,
            addr,
            laddr,
            created: Instant::now(),
            last_active_ms: AtomicU64::new(0),
            name: Mutex::new(None),
            lib: Mutex::new((String::new(), String::new())),
            db: AtomicUsize::new(0),
            last_cmd: Mutex::new("NULL".into()),
            subs: AtomicUsize::new(0),
            psubs: AtomicUsize::new(0),
            multi: AtomicI64::new(0),
            no_evict: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            pushes: Mutex::new(Vec::new()),
            resp: AtomicUsize::new(2),
            wake: Arc::new(Notify::new()),
            busy: Default::default(),
        }
    }

    /// Queues a push message; a client too far behind is killed instead.
    pub(crate) fn push(&self, msg: Push) {
        let mut q = self.pushes.lock();
        if q.len() >= PUSH_QUEUE_LIMIT {
            self.killed.store(true, Ordering::Relaxed);
        } else {
            q.push(msg);
        }
        drop(q);
        self.wake.notify_one();
    }

    /// Closes this client's connection at its next wake-up.
    pub(crate) fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    pub(crate) fn name_string(&self) -> String {
        self.name.lock().as_deref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default()
    }
}

/// Counters behind INFO stats.
pub(crate) struct Stats {
    pub(crate) connections_received: AtomicU64,
    pub(crate) rejected_connections: AtomicU64,
    /// The counters every batch adds to, striped by thread (see [`Hot`]).
    hot: Striped<HOT>,
    /// Per command (lowercase name): calls, microseconds, failed calls;
    /// one table per stripe of threads, merged when read.
    commands: Box<[Mutex<HashMap<String, CommandStat>>]>,
}

/// The counters of [`Stats`] that connections add to after every batch.
#[derive(Debug, Clone, Copy)]
#[repr(usize)]
pub(crate) enum Hot {
    CommandsProcessed,
    NetInputBytes,
    NetOutputBytes,
    KeyspaceHits,
    KeyspaceMisses,
    ErrorReplies,
    /// Writes since the last save (`rdb_changes_since_last_save`).
    Changes,
}

const HOT: usize = Hot::Changes as usize + 1;

impl Default for Stats {
    fn default() -> Self {
        Stats {
            connections_received: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            hot: Striped::default(),
            commands: (0..crate::stats::STRIPES).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl Stats {
    #[inline]
    pub(crate) fn add(&self, c: Hot, n: u64) {
        if n > 0 {
            self.hot.add(c as usize, n);
        }
    }

    pub(crate) fn get(&self, c: Hot) -> u64 {
        self.hot.get(c as usize)
    }

    /// Zeroes `c` (a save zeroes `Changes`).
    pub(crate) fn zero(&self, c: Hot) {
        self.hot.zero(c as usize);
    }

    /// CONFIG RESETSTAT: every counter but the changes since the save.
    pub(crate) fn reset(&self) {
        let changes = self.get(Hot::Changes);
        self.hot.reset();
        self.add(Hot::Changes, changes);
        self.connections_received.store(0, Ordering::Relaxed);
        self.rejected_connections.store(0, Ordering::Relaxed);
        for table in self.commands.iter() {
            table.lock().clear();
        }
    }

    /// This thread's table of command statistics, to add a batch's to.
    pub(crate) fn commands_here(&self) -> parking_lot::MutexGuard<'_, HashMap<String, CommandStat>> {
        self.commands[crate::stats::stripe() % self.commands.len()].lock()
    }

    /// Every thread's command statistics, merged.
    pub(crate) fn commands(&self) -> HashMap<String, CommandStat> {
        let mut all: HashMap<String, CommandStat> = HashMap::new();
        for table in self.commands.iter() {
            for (name, stat) in table.lock().iter() {
                all.entry(name.clone()).or_default().merge(stat);
            }
        }
        all
    }
}

/// One row of INFO commandstats and latencystats.
#[derive(Debug, Default, Clone)]
pub(crate) struct CommandStat {
    pub(crate) calls: u64,
    pub(crate) usec: u64,
    pub(crate) failed: u64,
    pub(crate) latency: Histogram,
}

impl CommandStat {
    /// Adds `other`'s figures.
    pub(crate) fn merge(&mut self, other: &CommandStat) {
        self.calls += other.calls;
        self.usec += other.usec;
        self.failed += other.failed;
        self.latency.merge(&other.latency);
    }

    /// Back to zero, keeping the histogram's room.
    pub(crate) fn clear(&mut self) {
        self.calls = 0;
        self.usec = 0;
        self.failed = 0;
        self.latency.clear();
    }
}

/// Sub-buckets per power of two: latencies are kept within 1/8 (12.5%).
const SUB: u32 = 8;

/// A log-linear histogram of microseconds, for latency percentiles.
#[derive(Debug, Default, Clone)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Histogram {
    fn bucket(us: u64) -> usize {
        if us < u64::from(SUB) {
            return us as usize;
        }
        let octave = 63 - us.leading_zeros();
        let sub = (us >> (octave - 3)) & u64::from(SUB - 1);
        ((octave - 2) * SUB) as usize + sub as usize
    }

    /// The smallest value of bucket `i`.
    fn lower(i: usize) -> u64 {
        let sub = SUB as usize;
        if i < sub {
            return i as u64;
        }
        let octave = (i / sub + 2) as u32;
        let within = (i % sub) as u64;
        (1u64 << octave) + (within << (octave - 3))
    }

    pub(crate) fn record(&mut self, us: u64) {
        let b = Self::bucket(us);
        if self.counts.len() <= b {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] += 1;
        self.total += 1;
    }

    /// Forgets every count, keeping the room.
    pub(crate) fn clear(&mut self) {
        self.counts.fill(0);
        self.total = 0;
    }

    /// Adds `other`'s counts.
    pub(crate) fn merge(&mut self, other: &Histogram) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    /// The `p`th percentile (0–100), in microseconds.
    pub(crate) fn percentile(&self, p: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                // The middle of the bucket.
                return (Self::lower(i) + Self::lower(i + 1)) as f64 / 2.0;
            }
        }
        Self::lower(self.counts.len()) as f64
    }
}

/// One SLOWLOG entry.
#[derive(Debug, Clone)]
pub(crate) struct SlowEntry {
    pub(crate) id: u64,
    pub(crate) unix_secs: i64,
    pub(crate) micros: u64,
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) client: String,
    pub(crate) name: String,
}

/// Redis's slow log: commands slower than a bound, newest first, bounded.
#[derive(Default)]
pub(crate) struct SlowLog {
    pub(crate) next_id: u64,
    pub(crate) entries: std::collections::VecDeque<SlowEntry>,
}

/// Settings CONFIG SET changes while the server runs.
#[derive(Debug, Clone)]
pub(crate) struct Runtime {
    pub(crate) slowlog_max_len: usize,
    /// Parameters accepted for compatibility and reported back (see
    /// [`super::admin::config`]).
    pub(crate) extra: HashMap<String, String>,
}

/// Everything the connections of one server share.
pub(crate) struct ServerState {
    /// The numbered databases (SWAPDB swaps two).
    pub(crate) dbs: super::databases::Databases,
    pub(crate) config: Arc<Config>,
    pub(crate) runtime: RwLock<Runtime>,
    pub(crate) clients: Mutex<HashMap<u64, Arc<ClientInfo>>>,
    pub(crate) next_id: AtomicU64,
    pub(crate) stats: Stats,
    pub(crate) slowlog: Mutex<SlowLog>,
    /// Clients in MONITOR mode.
    pub(crate) monitors: Mutex<Vec<Arc<ClientInfo>>>,
    pub(crate) monitoring: AtomicBool,
    /// Commands pass it while they run; EXEC closes it, so no other
    /// client's command runs in the middle of a transaction.
    pub(crate) gate: super::gate::Gate,
    /// One WATCH registry per database index.
    pub(crate) watches: Vec<Arc<WatchRegistry>>,
    pub(crate) tracking: Arc<Tracking>,
    pub(crate) started: Instant,
    /// Unix seconds of the last successful SAVE/BGSAVE (start time if none).
    pub(crate) lastsave: AtomicI64,
    pub(crate) bgsave_running: AtomicBool,
    pub(crate) last_save_ok: AtomicBool,
    /// Sending `true` stops the server (SHUTDOWN).
    pub(crate) stop: watch::Sender<bool>,
    /// INFO's `run_id` and `master_replid`: 40 random hex digits.
    pub(crate) run_id: String,
    /// Clients waiting in a blocking command.
    pub(crate) blocked: AtomicUsize,
    pub(crate) peak_memory: AtomicU64,
    /// `maxclients`.
    pub(crate) max_clients: AtomicUsize,
    /// Close clients idle this many seconds (0: never), Redis's `timeout`
    /// (an atomic: every connection reads it before each read).
    pub(crate) timeout_secs: AtomicU64,
    /// `slowlog-log-slower-than` in µs (negative: off).
    pub(crate) slowlog_slower_than: AtomicI64,
    /// (when, commands processed) at the previous ops/sec sample.
    ops_sample: Mutex<(Instant, u64)>,
}

pub(crate) fn unix_now() -> (i64, u32) {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (i64::try_from(d.as_secs()).unwrap_or(i64::MAX), d.subsec_micros())
}

impl ServerState {
    pub(crate) fn new(dbs: Vec<Db>, config: Arc<Config>, stop: watch::Sender<bool>) -> Arc<Self> {
        let tracking = Arc::new(Tracking::default());
        let watches: Vec<Arc<WatchRegistry>> = dbs.iter().map(|db| Arc::new(WatchRegistry::new(db))).collect();
        for (i, db) in dbs.iter().enumerate() {
            let w: Arc<dyn Observer> = watches[i].clone();
            db.observe(&w);
            let t: Arc<dyn Observer> = tracking.clone();
            db.observe(&t);
            tracking.attach(db);
            if !config.notify_keyspace_events.is_empty() {
                let events =
                    crate::db::notify::ChannelEvents::parse(&config.notify_keyspace_events).unwrap_or_default();
                db.set_notify_keyspace_events(events, u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        let (now, _) = unix_now();
        let max_clients = config.max_clients;
        let (mut slower_than, mut slowlog_max_len) = (10_000, 128);
        let mut extra = HashMap::new();
        for (name, value) in &config.params {
            match name.as_str() {
                "slowlog-log-slower-than" => slower_than = value.parse().unwrap_or(slower_than),
                "slowlog-max-len" => slowlog_max_len = value.parse().unwrap_or(slowlog_max_len),
                _ => {
                    extra.insert(name.clone(), value.clone());
                }
            }
        }
        Arc::new(ServerState {
            runtime: RwLock::new(Runtime { slowlog_max_len, extra }),
            timeout_secs: AtomicU64::new(config.timeout_secs),
            dbs: super::databases::Databases::new(dbs),
            config,
            clients: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            stats: Stats::default(),
            slowlog: Mutex::new(SlowLog::default()),
            monitors: Mutex::new(Vec::new()),
            monitoring: AtomicBool::new(false),
            gate: Default::default(),
            watches,
            tracking,
            started: Instant::now(),
            lastsave: AtomicI64::new(now),
            bgsave_running: AtomicBool::new(false),
            last_save_ok: AtomicBool::new(true),
            stop,
            run_id: run_id(),
            blocked: AtomicUsize::new(0),
            peak_memory: AtomicU64::new(0),
            max_clients: AtomicUsize::new(max_clients),
            slowlog_slower_than: AtomicI64::new(slower_than),
            ops_sample: Mutex::new((Instant::now(), 0)),
        })
    }

    /// Commands per second since the previous call (INFO's
    /// `instantaneous_ops_per_sec`), over at least 100 ms.
    pub(crate) fn ops_per_sec(&self) -> u64 {
        let now = Instant::now();
        let total = self.stats.get(Hot::CommandsProcessed);
        let mut sample = self.ops_sample.lock();
        let secs = now.duration_since(sample.0).as_secs_f64();
        if secs < 0.1 {
            return 0;
        }
        let rate = (total.saturating_sub(sample.1)) as f64 / secs;
        *sample = (now, total);
        rate as u64
    }

    /// Registers a new client.
    pub(crate) fn connect(&self, addr: SocketAddr, laddr: SocketAddr) -> Arc<ClientInfo> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let info = Arc::new(ClientInfo::new(id, addr, laddr));
        self.clients.lock().insert(id, Arc::clone(&info));
        self.stats.connections_received.fetch_add(1, Ordering::Relaxed);
        info
    }

    /// Forgets a client that left.
    pub(crate) fn disconnect(&self, id: u64) {
        self.clients.lock().remove(&id);
        self.tracking.forget_client(id);
        let mut m = self.monitors.lock();
        m.retain(|c| c.id != id);
        self.monitoring.store(!m.is_empty(), Ordering::Relaxed);
    }

    /// Closes the clients idle for `timeout` seconds or more (none if it
    /// is 0), as Redis's client cron does: not subscribers, monitors or
    /// clients waiting in a blocking command, which wait for the server
    /// rather than for their own next command. Returns how many.
    pub(crate) fn close_idle(&self) -> usize {
        let secs = self.timeout_secs.load(Ordering::Relaxed);
        if secs == 0 {
            return 0;
        }
        let limit_ms = secs.saturating_mul(1000);
        let monitors: Vec<u64> = self.monitors.lock().iter().map(|m| m.id).collect();
        let idle: Vec<Arc<ClientInfo>> = self
            .clients
            .lock()
            .values()
            .filter(|c| {
                let now = u64::try_from(c.created.elapsed().as_millis()).unwrap_or(u64::MAX);
                now.saturating_sub(c.last_active_ms.load(Ordering::Relaxed)) >= limit_ms
                    && c.subs.load(Ordering::Relaxed) + c.psubs.load(Ordering::Relaxed) == 0
                    && !c.blocked.load(Ordering::Relaxed)
                    && !monitors.contains(&c.id)
            })
            .cloned()
            .collect();
        for c in &idle {
            c.kill();
        }
        idle.len()
    }

    pub(crate) fn client(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.clients.lock().get(&id).cloned()
    }

    /// Records a finished command for INFO commandstats and SLOWLOG.
    pub(crate) fn record_slow<A: AsRef<[u8]>>(&self, args: &[A], micros: u64, client: &ClientInfo) {
        let bound = self.slowlog_slower_than.load(Ordering::Relaxed);
        if bound < 0 || micros < u64::try_from(bound).unwrap_or(0) {
            return;
        }
        let max_len = self.runtime.read().slowlog_max_len;
        let mut log = self.slowlog.lock();
        let id = log.next_id;
        log.next_id += 1;
        // Redis keeps at most 32 arguments and 128 bytes of each.
        let mut kept: Vec<Vec<u8>> = args.iter().take(32).map(|a| clip_arg(a.as_ref())).collect();
        if args.len() > 32 {
            kept[31] = format!("... ({} more arguments)", args.len() - 31).into_bytes();
        }
        log.entries.push_front(SlowEntry {
            id,
            unix_secs: unix_now().0,
            micros,
            args: kept,
            client: client.addr.to_string(),
            name: client.name_string(),
        });
        log.entries.truncate(max_len);
    }
}

/// 40 hex digits from the process's randomness (ahash's keys are random).
fn run_id() -> String {
    let mut id = String::with_capacity(40);
    while id.len() < 40 {
        let v = ahash::RandomState::new().hash_one(id.len());
        id.push_str(&format!("{v:016x}"));
    }
    id.truncate(40);
    id
}

fn clip_arg(a: &[u8]) -> Vec<u8> {
    if a.len() > 128 {
        let mut v = a[..128].to_vec();
        v.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
        v
    } else {
        a.to_vec()
    }
}
