//! [`CacheBuilder`]: every knob of a [`Cache`], checked once in `build()`.

use super::Cache;
use super::backups::BackupSource;
use super::persist::SnapshotSource;
use crate::engine::evict::EvictionPolicy;
use crate::engine::expire::Expiry;
use crate::engine::shard::ExpiryConfig;
use crate::engine::{Engine, EngineConfig, Listener, RemovalCause, Weigher};
use crate::error::{ConfigError, SnapshotLoadError};
use crate::housekeeper;
use crate::time::{Clock, SystemClock, ms_ceil};
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// Shards are not split below this many entries each, so small caches keep
/// one policy's full view (hit ratio) rather than many tiny ones.
const MIN_ENTRIES_PER_SHARD: u64 = 256;
/// The same floor for weight-bounded caches, in weight units.
const MIN_WEIGHT_PER_SHARD: u64 = 256 * 1024;
const MAX_SHARDS: usize = 1 << 16;
/// Default shards per core. Many small shards keep two threads from writing
/// the same shard's lines at once: measured on 2 cores with a Zipf(0.99)
/// stream, 50/50 get/insert at 2 threads went from 0.36x to 1.15x
/// quick_cache's throughput when going from 4 to 32 per core (the shard
/// lock's writers read every reader stripe, so sharing a shard is costly).
const SHARDS_PER_CORE: usize = 32;
/// Default shard count ceiling (each shard costs a few KiB of fixed state).
const MAX_DEFAULT_SHARDS: usize = 1024;

/// Builds a [`Cache`]. Start from [`Cache::builder`].
///
/// ```
/// use std::time::Duration;
/// use embercache::{Cache, EvictionPolicy};
///
/// let cache: Cache<String, Vec<u8>> = Cache::builder()
///     .max_weight(64 * 1024 * 1024)
///     .weigher(|k: &String, v: &Vec<u8>| (k.len() + v.len()) as u32)
///     .time_to_live(Duration::from_secs(300))
///     .policy(EvictionPolicy::Adaptive)
///     .build()?;
/// # Ok::<(), embercache::Error>(())
/// ```
#[must_use]
pub struct CacheBuilder<K, V, S = ahash::RandomState> {
    max_capacity: Option<u64>,
    max_weight: Option<u64>,
    weigher: Option<Weigher<K, V>>,
    policy: EvictionPolicy,
    shards: Option<usize>,
    ttl: Option<Duration>,
    tti: Option<Duration>,
    expiry: Option<Arc<dyn Expiry<K, V>>>,
    listener: Option<Listener<K, V>>,
    clock: Arc<dyn Clock>,
    hasher: S,
    housekeeper: Option<Duration>,
    pub(super) snapshot: Option<SnapshotSource<K, V>>,
    pub(super) backups: Option<BackupSource<K, V>>,
    _marker: PhantomData<fn(K, V)>,
}

impl<K, V> Default for CacheBuilder<K, V> {
    fn default() -> Self {
        CacheBuilder {
            max_capacity: None,
            max_weight: None,
            weigher: None,
            policy: EvictionPolicy::default(),
            shards: None,
            ttl: None,
            tti: None,
            expiry: None,
            listener: None,
            clock: Arc::new(SystemClock::new()),
            hasher: ahash::RandomState::new(),
            housekeeper: None,
            snapshot: None,
            backups: None,
            _marker: PhantomData,
        }
    }
}

impl<K, V, S> CacheBuilder<K, V, S> {
    /// Bounds the cache to `n` entries.
    pub fn max_capacity(mut self, n: u64) -> Self {
        self.max_capacity = Some(n);
        self
    }

    /// Bounds the cache by total weight, as measured by the [`weigher`](Self::weigher).
    pub fn max_weight(mut self, weight: u64) -> Self {
        self.max_weight = Some(weight);
        self
    }

    /// Sets the weight of each entry (for instance its size in bytes).
    /// Called outside the cache's locks on `insert`, and on `compute`'s value
    /// under the lock.
    pub fn weigher(mut self, f: impl Fn(&K, &V) -> u32 + Send + Sync + 'static) -> Self {
        self.weigher = Some(Arc::new(f));
        self
    }

    /// Chooses the eviction policy (default: [`EvictionPolicy::Adaptive`]).
    pub fn policy(mut self, policy: EvictionPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the number of shards (1 to 65,536). By default it is 32 per
    /// core (at most 1024), fewer for small caches so each shard keeps at least 256 entries
    /// (or 256 Ki weight units). Each shard holds its share of the bound, so
    /// the count is capped at the bound itself.
    pub fn shards(mut self, n: usize) -> Self {
        self.shards = Some(n);
        self
    }

    /// Entries expire this long after they were last written.
    pub fn time_to_live(mut self, d: Duration) -> Self {
        self.ttl = Some(d);
        self
    }

    /// Entries expire this long after they were last read or written.
    pub fn time_to_idle(mut self, d: Duration) -> Self {
        self.tti = Some(d);
        self
    }

    /// Sets a per-entry expiry policy.
    pub fn expiry(mut self, policy: impl Expiry<K, V> + 'static) -> Self {
        self.expiry = Some(Arc::new(policy));
        self
    }

    /// Calls `f(key, value, cause)` for every entry that leaves the cache,
    /// after the cache's locks are released.
    pub fn eviction_listener(mut self, f: impl Fn(K, V, RemovalCause) + Send + Sync + 'static) -> Self {
        self.listener = Some(Arc::new(f));
        self
    }

    /// Sets the clock expiry reads (default: [`SystemClock`]); tests use a
    /// [`ManualClock`](crate::time::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Runs `run_pending_tasks` on a background thread every `interval`,
    /// so expired entries are reclaimed even when nobody writes. The thread
    /// ends when the last handle to the cache is dropped.
    pub fn housekeeper(mut self, interval: Duration) -> Self {
        self.housekeeper = Some(interval);
        self
    }

    /// Uses another hasher.
    pub fn hasher<S2: BuildHasher>(self, hasher: S2) -> CacheBuilder<K, V, S2> {
        CacheBuilder {
            max_capacity: self.max_capacity,
            max_weight: self.max_weight,
            weigher: self.weigher,
            policy: self.policy,
            shards: self.shards,
            ttl: self.ttl,
            tti: self.tti,
            expiry: self.expiry,
            listener: self.listener,
            clock: self.clock,
            hasher,
            housekeeper: self.housekeeper,
            snapshot: self.snapshot,
            backups: self.backups,
            _marker: PhantomData,
        }
    }

    fn check(&self) -> Result<(u64, usize), ConfigError> {
        let max = match (self.max_capacity, self.max_weight, self.weigher.is_some()) {
            (Some(_), Some(_), _) => return Err(ConfigError::CapacityAndWeight),
            (None, Some(_), false) => return Err(ConfigError::WeightWithoutWeigher),
            (_, None, true) => return Err(ConfigError::WeigherWithoutWeight),
            (Some(n), None, _) => n,
            (None, Some(w), true) => w,
            (None, None, _) => u64::MAX,
        };
        let backups = self.backups.as_ref().and_then(BackupSource::every);
        for (name, d) in [
            ("time_to_live", self.ttl),
            ("time_to_idle", self.tti),
            ("housekeeper interval", self.housekeeper),
            ("backup interval", backups),
        ] {
            if d == Some(Duration::ZERO) {
                return Err(ConfigError::ZeroDuration(name));
            }
        }
        let shards = match self.shards {
            Some(n) if n == 0 || n > MAX_SHARDS => return Err(ConfigError::Shards(n)),
            // Never more shards than entries of capacity: a shard whose
            // share of the bound is zero could hold nothing.
            Some(n) => n.min(usize::try_from(max.max(1)).unwrap_or(usize::MAX)),
            None => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                let mut n = (cores * SHARDS_PER_CORE).min(MAX_DEFAULT_SHARDS);
                let floor = if self.max_weight.is_some() { MIN_WEIGHT_PER_SHARD } else { MIN_ENTRIES_PER_SHARD };
                while n > 1 && max / (n as u64) < floor {
                    n /= 2;
                }
                if self.max_capacity.is_some() { fit_tables(max, n) } else { n }
            }
        };
        Ok((max, shards))
    }
}

/// For a cache bounded at `max` entries and about `n` shards, the shard
/// count (at most `n`) whose full shards fill their hash tables best.
///
/// A `hashbrown` table has a power-of-two number of buckets and holds up to
/// 7/8 of them; a shard of 15,625 entries (a million over 64 shards) needs
/// 32,768 buckets and leaves half of them empty. Choosing the count so that
/// each shard's share sits just under 7/8 of a power of two keeps the table
/// at 5.7 bytes per entry instead of up to 10.5.
fn fit_tables(max: u64, n: usize) -> usize {
    let per_shard = (max / n.max(1) as u64).max(1);
    // Smallest power-of-two bucket count whose 7/8 holds `per_shard`.
    let mut buckets = 8u64;
    while buckets / 8 * 7 < per_shard {
        buckets *= 2;
    }
    let fill = buckets / 8 * 7;
    usize::try_from(max.div_ceil(fill)).map_or(n, |m| m.clamp(1, n))
}

impl<K, V, S> CacheBuilder<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    /// Checks the configuration and builds the cache, then loads the
    /// snapshot given to [`load_snapshot`](Self::load_snapshot), if any
    /// (failing with [`ConfigError::Snapshot`] if it cannot be loaded), or
    /// opens the directory given to [`backups`](Self::backups) and starts
    /// its schedule.
    pub fn build(self) -> Result<Cache<K, V, S>, ConfigError> {
        let (max_weight, shards) = self.check()?;
        let engine = Engine::new(EngineConfig {
            shards,
            max_weight,
            policy: self.policy,
            hasher: self.hasher,
            clock: self.clock,
            expiry: ExpiryConfig { ttl: self.ttl.map(ms_ceil), tti: self.tti.map(ms_ceil), policy: self.expiry },
            weigher: self.weigher,
            listener: self.listener,
            entries_hint: self.max_capacity,
        });
        let cache = Cache::from_engine(engine);
        let fail = |path: &std::path::Path, e| ConfigError::Snapshot(SnapshotLoadError::new(path.to_path_buf(), e));
        match (self.backups, self.snapshot) {
            (Some(backups), _) => {
                let dir = backups.dir().to_path_buf();
                backups.attach(&cache).map_err(|e| fail(&dir, e))?;
            }
            (None, Some(source)) => {
                let path = source.path().to_path_buf();
                source.load_into(&cache).map_err(|e| fail(&path, e))?;
            }
            (None, None) => {}
        }
        if let Some(interval) = self.housekeeper {
            let work = |inner: &Arc<super::Inner<K, V, S>>| inner.engine.run_pending_tasks();
            if let Ok(stop) = housekeeper::spawn("embercache-housekeeper", &cache.inner, interval, work) {
                cache.inner.threads.lock().push(stop);
            }
        }
        Ok(cache)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_configurations() {
        let e = Cache::<u64, u64>::builder().max_capacity(1).max_weight(1).build().err();
        assert_eq!(e, Some(ConfigError::CapacityAndWeight));
        let e = Cache::<u64, u64>::builder().max_weight(1).build().err();
        assert_eq!(e, Some(ConfigError::WeightWithoutWeigher));
        let e = Cache::<u64, u64>::builder().weigher(|_, _| 1).build().err();
        assert_eq!(e, Some(ConfigError::WeigherWithoutWeight));
        let e = Cache::<u64, u64>::builder().shards(0).build().err();
        assert_eq!(e, Some(ConfigError::Shards(0)));
        let e = Cache::<u64, u64>::builder().time_to_live(Duration::ZERO).build().err();
        assert_eq!(e, Some(ConfigError::ZeroDuration("time_to_live")));
    }

    #[test]
    fn shard_counts_fill_tables() {
        // A million entries over about 64 shards: 35 shards of at most
        // 28,572 entries, each under 7/8 of 32,768 buckets.
        assert_eq!(fit_tables(1_000_000, 64), 35);
        for (max, n) in [(100_000u64, 64usize), (1_000, 4), (12_345_678, 1024), (300, 1)] {
            let m = fit_tables(max, n);
            assert!((1..=n).contains(&m), "{max} over {n}: {m}");
            let per = max.div_ceil(m as u64);
            let buckets = (per * 8).div_ceil(7).next_power_of_two();
            assert!(per * 2 > buckets / 8 * 7 || buckets <= 16, "{max} over {m}: {per} in {buckets}");
        }
    }

    #[test]
    fn small_caches_get_few_shards() {
        let c = Cache::<u64, u64>::builder().max_capacity(100).build().unwrap();
        assert_eq!(c.shard_count(), 1);
        let c = Cache::<u64, u64>::builder().max_capacity(100).shards(4).build().unwrap();
        assert_eq!(c.shard_count(), 4);
        let c = Cache::<u64, u64>::builder().max_capacity(3).shards(8).build().unwrap();
        assert_eq!(c.shard_count(), 3, "never more shards than entries");
        let c = Cache::<u64, u64>::builder().max_capacity(100).shards(7).build().unwrap();
        assert_eq!(c.shard_count(), 7, "any count works");
    }
}
