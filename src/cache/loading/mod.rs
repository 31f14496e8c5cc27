//! [`LoadingCache<K, V, E>`]: a cache that knows how to load its values.
//!
//! The loader is given once, to the builder: a sync [`Loader`], an
//! [`AsyncLoader`], or a closure. A read that misses loads the key, and
//! concurrent misses of one key share that one load (the flights of
//! [`Cache::get_or_insert_with`], which this builds on), errors included
//! (as `Arc<E>`). On top come the freshness options of
//! [`LoadingCacheBuilder`]: background refresh after an age, serving stale
//! values while revalidating or when the backend fails, caching absences,
//! and jittered time-to-live.
//!
//! Values live in an inner [`Cache<K, Option<V>>`](Cache) (`None`: a
//! known absence). The inner cache's per-entry time-to-live is the outer
//! bound (time-to-live plus the longest stale window) and its timer keeps
//! the write time; freshness is judged from those on read, so a hit costs
//! one cache lookup and a comparison of times, and an entry no more memory
//! than in a plain `Cache`.
//!
//! # Guarantees
//!
//! - For each key, at most one load runs at a time, whoever started it
//!   (`get`, `get_async`, `get_many` or a background refresh); every
//!   caller that needs the key meanwhile waits for that load and gets its
//!   value or its error. Loads of different keys run in parallel.
//! - A read never waits for a refresh: within `refresh_after` and
//!   `stale_while_revalidate` it returns the current value at once.
//! - A loader that panics, or a load future that is dropped, leaves the
//!   key loadable: one of its waiters loads again.
//! - A value removed or replaced ([`invalidate`](LoadingCache::invalidate),
//!   [`insert`](LoadingCache::insert)) while a load of its key runs may be
//!   overwritten by that load when it ends.
//!
//! # Executors
//!
//! Nothing here needs a runtime: async waits use wakers, the sync API
//! drives the same code on the calling thread, sync loaders refresh on a
//! few threads of the cache's own ([`refresh_threads`]), and async loaders
//! refresh on the executor the user hands in ([`spawner`]).
//!
//! [`refresh_threads`]: LoadingCacheBuilder::refresh_threads
//! [`spawner`]: LoadingCacheBuilder::spawner

mod batch;
mod builder;
mod freshness;
mod refresh;
mod source;
mod stats;
#[cfg(test)]
mod tests;

pub use builder::{LoadingCacheBuilder, NoLoader};
pub use source::{AsyncLoader, Loader, RefreshTask, Spawn};
pub use stats::LoadingStats;

use super::Cache;
use super::loader::{Join, Leader, settle};
use crate::stats::CacheStats;
use freshness::{Freshness, Hit};
use refresh::{RefreshPool, block_on};
use source::Source;
use stats::Counters;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

type ErrorListener<K, E> = Arc<dyn Fn(&K, &E) + Send + Sync>;
type SlotLeader<K, V> = Leader<K, Option<V>, ahash::RandomState>;

/// A concurrent cache that loads missing values itself, with request
/// coalescing and freshness options. Cheap to clone (a handle).
///
/// ```
/// use std::time::Duration;
/// use embercache::LoadingCache;
///
/// let squares: LoadingCache<u64, u64, std::convert::Infallible> = LoadingCache::builder()
///     .loader_fn(|k: &u64| Ok(Some(k * k)))
///     .max_capacity(1_000)
///     .time_to_live(Duration::from_secs(60))
///     .build()?;
/// assert_eq!(squares.get(&12), Ok(Some(144)));
/// assert_eq!(squares.get_many(&[2, 3]), Ok(vec![Some(4), Some(9)]));
/// assert_eq!(squares.stats().loads, 2);
/// # Ok::<(), embercache::ConfigError>(())
/// ```
pub struct LoadingCache<K, V, E> {
    /// The inner cache, also in `shared`: a copy of the handle here saves
    /// the hit path one dependent load.
    cache: Cache<K, Option<V>>,
    shared: Arc<Shared<K, V, E>>,
}

struct Shared<K, V, E> {
    cache: Cache<K, Option<V>>,
    source: Source<K, V, E>,
    fresh: Freshness,
    counters: Counters,
    pool: RefreshPool,
    spawner: Option<Arc<dyn Spawn>>,
    error_listener: Option<ErrorListener<K, E>>,
}

impl<K, V, E> Clone for LoadingCache<K, V, E> {
    fn clone(&self) -> Self {
        LoadingCache { cache: self.cache.clone(), shared: Arc::clone(&self.shared) }
    }
}

impl<K, V, E> fmt::Debug for LoadingCache<K, V, E>
where
    K: Hash + Eq,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadingCache")
            .field("cache", &self.shared.cache)
            .field("freshness", &self.shared.fresh)
            .field("stats", &self.shared.counters.snapshot())
            .finish_non_exhaustive()
    }
}

impl<K, V> LoadingCache<K, V, NoLoader>
where
    K: Clone + Send + Sync + 'static,
    V: Send + 'static,
{
    /// Starts a [`LoadingCacheBuilder`]; give it a loader first.
    pub fn builder() -> LoadingCacheBuilder<K, V> {
        LoadingCacheBuilder::default()
    }
}

impl<K, V, E> LoadingCache<K, V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    /// Returns the value of `key`, loading it on a miss (`Ok(None)` if the
    /// loader says there is none). Concurrent misses of a key share one
    /// load, and its error. With an [`AsyncLoader`], a miss polls the
    /// loader's future on this thread: prefer [`get_async`](Self::get_async)
    /// there.
    #[inline]
    pub fn get(&self, key: &K) -> Result<Option<V>, Arc<E>> {
        match self.plain_hit(key) {
            Some(v) => Ok(Some(v)),
            None => self.get_slow(key),
        }
    }

    /// Everything but a plain hit: a stale or refreshing value, an absence,
    /// a miss. (The lookup has been counted by `plain_hit`.)
    #[cold]
    #[inline(never)]
    fn get_slow(&self, key: &K) -> Result<Option<V>, Arc<E>> {
        match self.probe(key, false) {
            Some(hit) => Ok(self.serve(key, hit)),
            None => block_on(self.miss(key)),
        }
    }

    /// Async [`get`](Self::get): waits for a load without blocking a
    /// thread, on any executor. With a sync [`Loader`], a miss runs the
    /// loader inside this future's poll. Dropping the future while it
    /// loads lets another caller take the load over.
    pub async fn get_async(&self, key: &K) -> Result<Option<V>, Arc<E>> {
        if let Some(v) = self.plain_hit(key) {
            return Ok(Some(v));
        }
        match self.probe(key, false) {
            Some(hit) => Ok(self.serve(key, hit)),
            None => self.miss(key).await,
        }
    }

    /// Stores `value` for `key` as if just loaded.
    pub fn insert(&self, key: K, value: V) {
        self.store(key, Some(value));
    }

    /// Removes `key` (its value or cached absence); the next read loads it.
    pub fn invalidate(&self, key: &K) {
        self.shared.cache.remove(key);
    }

    /// Removes every key.
    pub fn invalidate_all(&self) {
        self.shared.cache.clear();
    }

    /// Keys held (values and cached absences, expired ones not yet
    /// reclaimed included).
    pub fn len(&self) -> u64 {
        self.shared.cache.len()
    }

    /// Whether [`len`](Self::len) is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reclaims expired entries and applies pending policy work now (see
    /// [`Cache::run_pending_tasks`]).
    pub fn run_pending_tasks(&self) {
        self.shared.cache.run_pending_tasks();
    }

    /// Loads, failures, refreshes, stale and negative answers.
    pub fn stats(&self) -> LoadingStats {
        self.shared.counters.snapshot()
    }

    /// The inner cache's counters: hits and misses (of stored slots, stale
    /// ones included), evictions, expirations.
    pub fn cache_stats(&self) -> CacheStats {
        self.shared.cache.stats()
    }

    /// The value of `key` if it is present, fresh and due no refresh (a
    /// counted lookup).
    #[inline]
    fn plain_hit(&self, key: &K) -> Option<V> {
        let fresh = &self.shared.fresh;
        self.cache
            .inner
            .engine
            .read(key, true, |i, e, shard, now| {
                fresh.plain(&e.value, shard.deadline_of(i, e), || shard.written_at(i, e).unwrap_or(now), now)
            })
            .flatten()
    }

    /// Judges the slot of `key`, if any: `None` if a read must load.
    #[inline]
    fn probe(&self, key: &K, touch: bool) -> Option<Hit<V>> {
        let fresh = &self.shared.fresh;
        self.shared
            .cache
            .inner
            .engine
            .read(key, touch, |i, e, shard, now| {
                // A slot with a deadline has a timer, and then the engine
                // has read the clock; one without never needs it.
                let deadline = shard.deadline_of(i, e);
                fresh.judge(&e.value, deadline, || shard.written_at(i, e).unwrap_or(now), now)
            })
            .flatten()
    }

    /// Answers a read from the cache: counts it and starts the refresh it
    /// asks for.
    #[inline]
    fn serve(&self, key: &K, hit: Hit<V>) -> Option<V> {
        if hit.refresh || hit.stale || hit.value.is_none() {
            self.note(key, &hit);
        }
        hit.value
    }

    /// The rarer part of [`serve`](Self::serve), out of the hit path.
    #[cold]
    #[inline(never)]
    fn note(&self, key: &K, hit: &Hit<V>) {
        if hit.refresh {
            self.refresh(key);
        }
        if hit.stale {
            Counters::bump(&self.shared.counters.stale_serves);
        }
        if hit.value.is_none() {
            Counters::bump(&self.shared.counters.negative_hits);
        }
    }

    /// A read the cache cannot answer: wait for the key's load in
    /// progress, or lead one.
    async fn miss(&self, key: &K) -> Result<Option<V>, Arc<E>> {
        let cache = &self.shared.cache;
        let hash = cache.inner.engine.hash(key);
        loop {
            match cache.enter(key, hash, || self.probe(key, false)) {
                Join::Value(hit) => return Ok(self.serve(key, hit)),
                Join::Wait(w) => match settle::<Option<V>, E>(w.wait().await) {
                    Some(Ok(v)) => return Ok(v),
                    Some(Err(e)) => return self.fallback(key, e),
                    // The leader gave up (it panicked or was dropped).
                    None => {}
                },
                Join::Lead(leader) => {
                    let r = self.load(key).await;
                    return self.conclude(leader, key, r).or_else(|e| self.fallback(key, e));
                }
            }
        }
    }

    /// Calls the loader for one key, counting.
    async fn load(&self, key: &K) -> Result<Option<V>, E> {
        Counters::bump(&self.shared.counters.loads);
        let r = self.shared.source.load(key).await;
        if r.is_err() {
            Counters::bump(&self.shared.counters.load_failures);
        }
        r
    }

    /// Stores a load's result, then ends its flight.
    fn conclude(&self, leader: SlotLeader<K, V>, key: &K, r: Result<Option<V>, E>) -> Result<Option<V>, Arc<E>> {
        match r {
            Ok(v) => {
                self.store(key.clone(), v.clone());
                leader.succeed(v.clone());
                Ok(v)
            }
            Err(e) => {
                let e = Arc::new(e);
                self.report(key, &e);
                leader.fail(&e);
                Err(e)
            }
        }
    }

    /// Hands a failed load of `key` to the error listener.
    fn report(&self, key: &K, e: &E) {
        if let Some(listen) = &self.shared.error_listener {
            listen(key, e);
        }
    }

    /// Puts a loaded value (or absence) in the cache with its lifetime.
    /// An absence that is not cached removes the key.
    fn store(&self, key: K, value: Option<V>) {
        let cache = &self.shared.cache;
        match self.shared.fresh.keep(value.is_some()) {
            Some(ttl) => {
                cache.inner.engine.insert(key, value, ttl);
            }
            None => {
                cache.remove(&key);
            }
        }
    }

    /// A failed load's answer: the last good value while `stale_if_error`
    /// allows, else the error.
    fn fallback(&self, key: &K, e: Arc<E>) -> Result<Option<V>, Arc<E>> {
        let s = &*self.shared;
        if s.fresh.stale_if_error == 0 {
            return Err(e);
        }
        let engine = &s.cache.inner.engine;
        let stale = engine.read(key, false, |i, e, shard, now| {
            let now = if now == 0 { engine.now() } else { now };
            s.fresh.fallback(&e.value, shard.deadline_of(i, e), now)
        });
        match stale.flatten() {
            Some(v) => {
                Counters::bump(&s.counters.stale_serves);
                Ok(Some(v))
            }
            None => Err(e),
        }
    }

    /// Starts a background refresh of `key` unless one is running or the
    /// slot no longer needs it.
    fn refresh(&self, key: &K) {
        let s = &*self.shared;
        let hash = s.cache.inner.engine.hash(key);
        let needed = |_: &Cache<K, Option<V>>| self.probe(key, false).is_some_and(|h| h.refresh);
        let Some(leader) = s.cache.lead_if(key, hash, needed) else { return };
        Counters::bump(&s.counters.refreshes);
        let this = self.clone();
        let key = key.clone();
        let task = async move {
            let r = this.load(&key).await;
            // A failed refresh keeps the current value; it is reported.
            let _ = this.conclude(leader, &key, r);
        };
        if !s.source.is_async() {
            s.pool.submit(Box::new(move || block_on(task)));
        } else if let Some(spawner) = &s.spawner {
            spawner.spawn(Box::pin(task));
        }
        // (An async loader without a spawner never gets here: `build`
        // requires one for the options that refresh; were it to, the
        // dropped task would abandon its flight.)
    }
}
