//! The typed face: [`Cache<K, V>`], the in-process cache a Rust program
//! reaches for instead of moka or quick_cache.
//!
//! `Cache` is a cheap handle (`Clone`, `Send + Sync`) over the shared
//! engine. Values are the user's own types; `get` returns a
//! clone, so wrap big values in `Arc`.

pub mod backups;
mod builder;
mod inspect;
mod iter;
mod loader;
pub mod loading;
pub mod persist;
pub mod write;

pub use backups::{CacheBackupOptions, CacheBackupStats, CacheBackups, CacheRecovery};
pub use builder::CacheBuilder;
pub use inspect::{EntryInfo, PolicyView};
pub use iter::Iter;

use crate::engine::shard::{Inserted, Ttl};
use crate::engine::{CompResult, Engine, Op};
use crate::stats::CacheStats;
use crate::time::ms_ceil;
use loader::Flights;
use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;
use std::time::Duration;

/// A concurrent, bounded, expiring cache of `K -> V`.
///
/// ```
/// use embercache::Cache;
///
/// let cache: Cache<String, u64> = Cache::new(10_000);
/// cache.insert("answer".to_string(), 42);
/// assert_eq!(cache.get("answer"), Some(42));
/// assert_eq!(cache.get("question"), None);
/// ```
pub struct Cache<K, V, S = ahash::RandomState> {
    inner: Arc<Inner<K, V, S>>,
}

pub(crate) struct Inner<K, V, S> {
    pub(crate) engine: Engine<K, V, S>,
    flights: Flights<K, V>,
    /// Stop signals of the background threads (housekeeper, backup
    /// schedule): dropping them, with the last handle, stops the threads.
    threads: parking_lot::Mutex<Vec<std::sync::mpsc::Sender<()>>>,
    /// The backup directory, if the builder was given one.
    backups: std::sync::OnceLock<CacheBackups>,
}

impl<K, V, S> Clone for Cache<K, V, S> {
    fn clone(&self) -> Self {
        Cache { inner: Arc::clone(&self.inner) }
    }
}

impl<K, V, S> fmt::Debug for Cache<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("len", &self.inner.engine.len())
            .field("weighted_size", &self.inner.engine.weighted_size())
            .field("max_weight", &self.inner.engine.max_weight())
            .finish_non_exhaustive()
    }
}

impl<K, V> Cache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of at most `max_capacity` entries with the default policy.
    pub fn new(max_capacity: u64) -> Self {
        Self::builder()
            .max_capacity(max_capacity)
            .build()
            .unwrap_or_else(|e| unreachable!("a capacity alone is always valid: {e}"))
    }

    /// Starts a [`CacheBuilder`].
    pub fn builder() -> CacheBuilder<K, V> {
        CacheBuilder::default()
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    pub(crate) fn from_engine(engine: Engine<K, V, S>) -> Self {
        let flights = Flights::new(engine.shard_count());
        Cache {
            inner: Arc::new(Inner {
                engine,
                flights,
                threads: parking_lot::Mutex::new(Vec::new()),
                backups: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Returns a clone of the value of `key`, if present and not expired.
    /// Counts as an access for eviction and time-to-idle.
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.inner.engine.read(key, true, |_, e, _, _| e.value.clone())
    }

    /// [`get`](Self::get) for a caller with a slow path that looks again
    /// on a miss (`#[cached]`'s generated code, before its loader): a hit
    /// counts as usual, a miss is left for the slow path to count.
    #[cfg(feature = "macros")]
    #[inline]
    pub(crate) fn get_hit<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.inner.engine.lookup(key, true, false, |_, e, _, _| e.value.clone())
    }

    /// Like [`get`](Self::get), but without any effect: no stats, no policy
    /// bookkeeping, no time-to-idle refresh.
    pub fn peek<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.inner.engine.read(key, false, |_, e, _, _| e.value.clone())
    }

    /// Whether `key` is present and not expired (no effect, like `peek`).
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.engine.read(key, false, |_, _, _, _| ()).is_some()
    }

    /// Looks up several keys; the result is in the same order.
    pub fn get_many<'a, Q, I>(&self, keys: I) -> Vec<Option<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized + 'a,
        I: IntoIterator<Item = &'a Q>,
        V: Clone,
    {
        keys.into_iter().map(|k| self.get(k)).collect()
    }

    /// Inserts or replaces `key`'s value. Evicts at once if that puts the
    /// cache over its bound. Returns `true` if a new entry was created
    /// (`false` for a replacement, or for a value heavier than the whole
    /// bound, which is not stored and is reported to the listener as
    /// [`Size`](crate::RemovalCause::Size)).
    pub fn insert(&self, key: K, value: V) -> bool {
        self.inner.engine.insert(key, value, Ttl::Policy) == Inserted::New
    }

    /// Inserts with a time-to-live of its own (capped by the cache's
    /// time-to-live and time-to-idle).
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) -> bool {
        self.inner.engine.insert(key, value, Ttl::Fixed(ms_ceil(ttl))) == Inserted::New
    }

    /// Removes `key`, returning its value if it was present and live.
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.inner.engine.remove(key)
    }

    /// Atomic read-modify-write of one key, under the shard's lock: `f` sees
    /// the current value (if live) and returns an [`Op`]. Concurrent
    /// `compute`s of the same key never lose an update.
    ///
    /// ```
    /// use embercache::{Cache, Op};
    /// let hits: Cache<&str, u64> = Cache::new(100);
    /// for _ in 0..3 {
    ///     hits.compute("page", |n| Op::Put(n.map_or(1, |n| n + 1)));
    /// }
    /// assert_eq!(hits.get("page"), Some(3));
    /// ```
    ///
    /// `f` runs under the lock: keep it short and do not touch the cache
    /// from inside it.
    pub fn compute(&self, key: K, f: impl FnOnce(Option<&V>) -> Op<V>) -> CompResult<V>
    where
        V: Clone,
    {
        self.inner.engine.compute(key, f)
    }

    /// Entries in the cache (expired entries not yet reclaimed included;
    /// call [`run_pending_tasks`](Self::run_pending_tasks) first for an exact
    /// count).
    pub fn len(&self) -> u64 {
        self.inner.engine.len()
    }

    /// Whether [`len`](Self::len) is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total weight of the entries (equals `len` without a weigher).
    pub fn weighted_size(&self) -> u64 {
        self.inner.engine.weighted_size()
    }

    /// The bound: entries for `max_capacity`, weight for `max_weight`
    /// (`u64::MAX` when unbounded).
    pub fn max_weight(&self) -> u64 {
        self.inner.engine.max_weight()
    }

    /// Changes the entry-count bound at run time, evicting down to it at
    /// once. (Same as [`set_max_weight`](Self::set_max_weight): without a
    /// weigher every entry weighs 1.) The shard count is fixed at build
    /// time and each shard keeps its share of the bound, so a bound below
    /// [`shard_count`](Self::shard_count) leaves some shards unable to hold
    /// anything.
    pub fn set_max_capacity(&self, n: u64) {
        self.inner.engine.set_max_weight(n);
    }

    /// Changes the weight bound at run time, evicting down to it at once.
    pub fn set_max_weight(&self, weight: u64) {
        self.inner.engine.set_max_weight(weight);
    }

    /// Removes every entry (the listener hears about each, as `Explicit`).
    pub fn clear(&self) {
        self.inner.engine.clear();
    }

    /// Keeps only the entries for which `keep` returns true. `keep` runs
    /// under each shard's lock in turn.
    pub fn retain(&self, keep: impl FnMut(&K, &V) -> bool) {
        self.inner.engine.retain(keep);
    }

    /// Does the deferred work now: applies buffered reads, reclaims every
    /// entry that has expired (to the millisecond) and evicts down to the
    /// bound.
    pub fn run_pending_tasks(&self) {
        self.inner.engine.run_pending_tasks();
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> CacheStats {
        self.inner.engine.stats()
    }

    /// Sets every counter back to zero.
    pub fn reset_stats(&self) {
        self.inner.engine.reset_stats();
    }

    /// The number of shards.
    pub fn shard_count(&self) -> usize {
        self.inner.engine.shard_count()
    }

    /// Iterates over a weakly consistent view of the live entries: each
    /// entry present for the whole iteration is seen once; entries added or
    /// removed meanwhile may or may not be. Locks are held only while a small
    /// batch is copied out.
    pub fn iter(&self) -> Iter<'_, K, V, S>
    where
        K: Clone,
        V: Clone,
    {
        Iter::new(self)
    }
}

impl<'a, K, V, S> IntoIterator for &'a Cache<K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    type Item = (K, V);
    type IntoIter = Iter<'a, K, V, S>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests;

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    /// Checks every internal invariant and panics if one is broken (debug
    /// builds and fuzzing only; for tests).
    #[doc(hidden)]
    #[cfg(any(test, fuzzing, debug_assertions))]
    pub fn validate(&self) {
        self.inner.engine.validate();
    }
}
