//! [`DbBuilder`]: the settings of a [`Db`], and [`MaxMemoryPolicy`].

use super::{Db, Shared};
use crate::engine::evict::EvictionPolicy;
use crate::engine::shard::ExpiryConfig;
use crate::engine::{Engine, EngineConfig};
use crate::error::{ConfigError, SnapshotLoadError};
use crate::housekeeper;
use crate::time::{Clock, SystemClock};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a `Db` does when a write would go over `maxmemory`: Redis's
/// `maxmemory-policy`, plus embercache's adaptive policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MaxMemoryPolicy {
    /// Refuse writes that may grow memory with Redis's OOM error (Redis's default).
    #[default]
    NoEviction,
    /// Evict the least recently used key.
    AllKeysLru,
    /// Evict the least frequently used key.
    AllKeysLfu,
    /// Evict a random key.
    AllKeysRandom,
    /// Evict by embercache's adaptive W-TinyLFU policy (best hit ratio on
    /// mixed workloads; not a Redis policy).
    AllKeysAdaptive,
    /// Evict the least recently used key among keys with an expiry.
    VolatileLru,
    /// Evict the least frequently used key among keys with an expiry.
    VolatileLfu,
    /// Evict a random key among keys with an expiry.
    VolatileRandom,
    /// Evict the key with an expiry closest to its deadline.
    VolatileTtl,
}

impl MaxMemoryPolicy {
    /// Every policy.
    pub const ALL: [MaxMemoryPolicy; 9] = [
        MaxMemoryPolicy::NoEviction,
        MaxMemoryPolicy::AllKeysLru,
        MaxMemoryPolicy::AllKeysLfu,
        MaxMemoryPolicy::AllKeysRandom,
        MaxMemoryPolicy::AllKeysAdaptive,
        MaxMemoryPolicy::VolatileLru,
        MaxMemoryPolicy::VolatileLfu,
        MaxMemoryPolicy::VolatileRandom,
        MaxMemoryPolicy::VolatileTtl,
    ];

    /// Redis's name for the policy (`allkeys-lru`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            MaxMemoryPolicy::NoEviction => "noeviction",
            MaxMemoryPolicy::AllKeysLru => "allkeys-lru",
            MaxMemoryPolicy::AllKeysLfu => "allkeys-lfu",
            MaxMemoryPolicy::AllKeysRandom => "allkeys-random",
            MaxMemoryPolicy::AllKeysAdaptive => "allkeys-adaptive",
            MaxMemoryPolicy::VolatileLru => "volatile-lru",
            MaxMemoryPolicy::VolatileLfu => "volatile-lfu",
            MaxMemoryPolicy::VolatileRandom => "volatile-random",
            MaxMemoryPolicy::VolatileTtl => "volatile-ttl",
        }
    }

    /// Whether the policy counts accesses in LFU counters (OBJECT FREQ
    /// works; OBJECT IDLETIME does not, as in Redis).
    pub fn is_lfu(self) -> bool {
        matches!(self, MaxMemoryPolicy::AllKeysLfu | MaxMemoryPolicy::VolatileLfu)
    }

    /// The engine policy that orders this policy's victims.
    fn engine_policy(self) -> EvictionPolicy {
        match self {
            MaxMemoryPolicy::AllKeysLru | MaxMemoryPolicy::VolatileLru => EvictionPolicy::Lru,
            MaxMemoryPolicy::AllKeysLfu | MaxMemoryPolicy::VolatileLfu => EvictionPolicy::Lfu,
            MaxMemoryPolicy::AllKeysAdaptive => EvictionPolicy::Adaptive,
            // No order to keep: random victims, or the soonest deadline.
            MaxMemoryPolicy::NoEviction
            | MaxMemoryPolicy::AllKeysRandom
            | MaxMemoryPolicy::VolatileRandom
            | MaxMemoryPolicy::VolatileTtl => EvictionPolicy::Random,
        }
    }
}

impl fmt::Display for MaxMemoryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of Redis's `maxmemory-policy` values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown maxmemory-policy '{0}'")]
pub struct UnknownPolicy(pub String);

impl FromStr for MaxMemoryPolicy {
    type Err = UnknownPolicy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MaxMemoryPolicy::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownPolicy(s.to_string()))
    }
}

/// Builds a [`Db`]. Start from [`Db::builder`].
///
/// ```
/// use embercache::Db;
/// use embercache::db::MaxMemoryPolicy;
///
/// let db = Db::builder()
///     .maxmemory(64 * 1024 * 1024)
///     .maxmemory_policy(MaxMemoryPolicy::AllKeysLru)
///     .build()?;
/// # Ok::<(), embercache::Error>(())
/// ```
#[must_use]
pub struct DbBuilder {
    maxmemory: u64,
    policy: MaxMemoryPolicy,
    shards: Option<usize>,
    clock: Arc<dyn Clock>,
    housekeeper: Option<Duration>,
    /// The database whose housekeeper also reclaims this one's keys.
    housekept_by: Option<Arc<super::Shared>>,
    memory_with: Option<Arc<super::Shared>>,
    backups: Option<(std::path::PathBuf, super::BackupOptions)>,
    snapshot: Option<(std::path::PathBuf, crate::persist::SnapshotOptions)>,
    pubsub: Option<Arc<super::pubsub::Hub>>,
}

impl fmt::Debug for DbBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbBuilder")
            .field("maxmemory", &self.maxmemory)
            .field("policy", &self.policy)
            .field("shards", &self.shards)
            .finish_non_exhaustive()
    }
}

impl Default for DbBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// Default shards per core (multi-key commands lock a few; SCAN walks one
/// at a time).
const SHARDS_PER_CORE: usize = 16;

impl DbBuilder {
    /// The defaults: unbounded, `noeviction`, the system clock.
    pub fn new() -> Self {
        DbBuilder {
            maxmemory: 0,
            policy: MaxMemoryPolicy::NoEviction,
            shards: None,
            clock: Arc::new(SystemClock::new()),
            housekeeper: None,
            housekept_by: None,
            memory_with: None,
            backups: None,
            snapshot: None,
            pubsub: None,
        }
    }

    /// Shares `db`'s pub/sub channels: a message published on either
    /// reaches the subscribers of both, as with Redis's numbered databases
    /// (pub/sub belongs to the server, not to a database).
    pub fn share_pubsub(mut self, db: &Db) -> Self {
        self.pubsub = Some(Arc::clone(&db.inner.pubsub));
        self
    }

    /// The memory bound in bytes (0, the default: none).
    pub fn maxmemory(mut self, bytes: u64) -> Self {
        self.maxmemory = bytes;
        self
    }

    /// What to do at the bound (default `noeviction`).
    pub fn maxmemory_policy(mut self, policy: MaxMemoryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The number of shards (default: 16 per core, at least 16, at most 1024).
    pub fn shards(mut self, n: usize) -> Self {
        self.shards = Some(n);
        self
    }

    /// The clock expiry reads (a [`ManualClock`](crate::time::ManualClock) in tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Starts a background thread that reclaims expired keys every
    /// `interval` (Redis's active expiry; default: none, reclaiming then
    /// happens on writes and in [`Db::run_pending_tasks`]). The thread ends
    /// with the last handle.
    pub fn housekeeper(mut self, interval: Duration) -> Self {
        self.housekeeper = Some(interval);
        self
    }

    /// Leaves this database's active expiry to `db`'s housekeeper thread
    /// (which must have one, see [`housekeeper`](Self::housekeeper)),
    /// rather than a thread of its own: numbered databases served together
    /// need one thread between them, as Redis's one cron serves them all.
    /// It holds this database weakly: it stops reclaiming it when the last
    /// handle goes, and reclaims it no more if `db` goes first.
    pub fn share_housekeeper(mut self, db: &Db) -> Self {
        self.housekept_by = Some(Arc::clone(&db.inner));
        self
    }

    /// Bounds this database's memory together with `db`'s (and with every
    /// other database that shares `db`'s bound): the `maxmemory` of each
    /// is checked against what they all hold, as Redis's `maxmemory`
    /// bounds all of a server's numbered databases. A write over the bound
    /// evicts from the largest database first, by its policy, then from the
    /// next largest. Give them all the same `maxmemory` (the bound a write
    /// checks is its own database's).
    ///
    /// ```
    /// use embercache::Db;
    /// use embercache::db::MaxMemoryPolicy;
    ///
    /// let first = Db::builder().maxmemory(64 * 1024).maxmemory_policy(MaxMemoryPolicy::AllKeysLru).build()?;
    /// let second = Db::builder()
    ///     .maxmemory(64 * 1024)
    ///     .maxmemory_policy(MaxMemoryPolicy::AllKeysLru)
    ///     .share_memory(&first)
    ///     .build()?;
    /// let value = vec![b'x'; 1000];
    /// for i in 0..200 {
    ///     first.set(format!("a{i}").as_bytes(), &value, Default::default())?;
    ///     second.set(format!("b{i}").as_bytes(), &value, Default::default())?;
    /// }
    /// // The bound is checked before each write, as Redis does: the two are
    /// // over it by the last write at most.
    /// assert!(first.used_memory() + second.used_memory() <= 64 * 1024 + 1100);
    /// assert!(first.dbsize() > 0 && second.dbsize() > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn share_memory(mut self, db: &Db) -> Self {
        self.memory_with = Some(Arc::clone(&db.inner));
        self
    }

    /// Starts from the snapshot at `path` (`build` fails, building
    /// nothing, if it does not load). Ignored when [`backups`](Self::backups)
    /// is set: recovery then decides what to load.
    pub fn load_snapshot(mut self, path: impl Into<std::path::PathBuf>, opts: crate::persist::SnapshotOptions) -> Self {
        self.snapshot = Some((path.into(), opts));
        self
    }

    /// Keeps backups in `dir`: `build` recovers the keyspace from it (the
    /// newest snapshot that loads, then the journal), journals every write
    /// from then on, and runs the schedule of `opts` (see
    /// [`Backups`](super::Backups)); the handle is [`Db::backups`].
    pub fn backups(mut self, dir: impl Into<std::path::PathBuf>, opts: super::BackupOptions) -> Self {
        self.backups = Some((dir.into(), opts));
        self
    }

    /// Builds the `Db`.
    pub fn build(self) -> Result<Db, crate::Error> {
        let shards = match self.shards {
            Some(n) if !(1..=1 << 16).contains(&n) => return Err(ConfigError::Shards(n).into()),
            Some(n) => n,
            None => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                (cores * SHARDS_PER_CORE).clamp(16, 1024)
            }
        };
        let engine = Engine::new(EngineConfig {
            shards,
            max_weight: u64::MAX,
            policy: self.policy.engine_policy(),
            hasher: ahash::RandomState::new(),
            clock: Arc::clone(&self.clock),
            expiry: ExpiryConfig { ttl: None, tti: None, policy: None },
            weigher: None,
            listener: None,
            entries_hint: None,
        });
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let wall = i64::try_from(wall).unwrap_or(i64::MAX);
        let since_origin = i64::try_from(self.clock.now().as_millis()).unwrap_or(0);
        let shared = Shared {
            engine,
            unix_origin_ms: wall - since_origin,
            maxmemory: AtomicU64::new(self.maxmemory),
            policy: self.policy,
            notify: Default::default(),
            pubsub: self.pubsub.unwrap_or_default(),
            observers: Default::default(),
            blocking: Default::default(),
            coarse_secs: Default::default(),
            evict_cursor: AtomicUsize::new(0),
            housekeeper: Default::default(),
            kept: Default::default(),
            journal: Default::default(),
            backups: Default::default(),
            cas_counter: AtomicU64::new(0),
            memory: std::sync::OnceLock::new(),
        };
        let inner = Arc::new(shared);
        if let Some(interval) = self.housekeeper {
            if interval.is_zero() {
                return Err(ConfigError::ZeroDuration("housekeeper interval").into());
            }
            *inner.housekeeper.lock() =
                housekeeper::spawn("embercache-housekeeper", &inner, interval, |s| s.housekeeping()).ok();
        }
        if let Some(keeper) = self.housekept_by {
            keeper.kept.lock().push(Arc::downgrade(&inner));
        }
        if let Some(other) = &self.memory_with {
            super::memory_group::MemoryGroup::of(other).join(&inner);
        }
        let db = Db { inner };
        let fail =
            |path: std::path::PathBuf, e| crate::Error::from(ConfigError::Snapshot(SnapshotLoadError::new(path, e)));
        match (self.backups, self.snapshot) {
            (Some((dir, opts)), _) => {
                super::Backups::open(&db, &dir, opts).map_err(|e| fail(dir, e))?;
            }
            (None, Some((path, opts))) => {
                db.load_snapshot(&path, &opts).map_err(|e| fail(path, e))?;
            }
            (None, None) => {}
        }
        Ok(db)
    }
}
