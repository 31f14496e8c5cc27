//! [`LoadingCacheBuilder`]: the loader, the freshness options and the
//! inner cache's bound, checked once in `build()`.

use super::freshness::{Freshness, Jitter};
use super::refresh::RefreshPool;
use super::source::{AsyncFnLoader, AsyncLoader, FnLoader, Loader, Source, Spawn};
use super::stats::Counters;
use super::{ErrorListener, LoadingCache, Shared};
use crate::cache::{Cache, CacheBuilder};
use crate::engine::evict::EvictionPolicy;
use crate::error::ConfigError;
use crate::time::{Clock, ms_ceil};
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// Default cap on the threads refreshing a sync loader's values at once:
/// refreshes are I/O-bound and rare next to reads, and a few in parallel
/// keep one slow key from holding up the others.
const DEFAULT_REFRESH_THREADS: usize = 4;

/// The loader of a builder that has none yet (an error type no value has).
#[derive(Clone, Copy)]
pub enum NoLoader {}

/// Builds a [`LoadingCache`]. Start from [`LoadingCache::builder`], set the
/// loader first, then the options.
///
/// ```
/// use std::time::Duration;
/// use embercache::LoadingCache;
///
/// let cache: LoadingCache<u64, String, std::io::Error> = LoadingCache::builder()
///     .loader_fn(|id: &u64| Ok(Some(format!("user {id}"))))
///     .max_capacity(10_000)
///     .time_to_live(Duration::from_secs(60))
///     .refresh_after(Duration::from_secs(45))
///     .stale_if_error(Duration::from_secs(300))
///     .negative_ttl(Duration::from_secs(5))
///     .ttl_jitter(0.1)
///     .build()?;
/// assert_eq!(cache.get(&1)?.as_deref(), Some("user 1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub struct LoadingCacheBuilder<K, V, E = NoLoader> {
    cache: CacheBuilder<K, Option<V>>,
    source: Option<Source<K, V, E>>,
    ttl: Option<Duration>,
    refresh_after: Option<Duration>,
    stale_while_revalidate: Option<Duration>,
    stale_if_error: Option<Duration>,
    negative_ttl: Option<Duration>,
    jitter: f64,
    refresh_threads: usize,
    spawner: Option<Arc<dyn Spawn>>,
    error_listener: Option<ErrorListener<K, E>>,
}

impl<K, V> Default for LoadingCacheBuilder<K, V, NoLoader> {
    fn default() -> Self {
        LoadingCacheBuilder {
            cache: CacheBuilder::default(),
            source: None,
            ttl: None,
            refresh_after: None,
            stale_while_revalidate: None,
            stale_if_error: None,
            negative_ttl: None,
            jitter: 0.0,
            refresh_threads: DEFAULT_REFRESH_THREADS,
            spawner: None,
            error_listener: None,
        }
    }
}

impl<K, V, E> fmt::Debug for LoadingCacheBuilder<K, V, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadingCacheBuilder")
            .field("has_loader", &self.source.is_some())
            .field("ttl", &self.ttl)
            .field("refresh_after", &self.refresh_after)
            .field("stale_while_revalidate", &self.stale_while_revalidate)
            .field("stale_if_error", &self.stale_if_error)
            .field("negative_ttl", &self.negative_ttl)
            .field("jitter", &self.jitter)
            .finish_non_exhaustive()
    }
}

impl<K, V> LoadingCacheBuilder<K, V, NoLoader>
where
    K: Clone + Send + Sync + 'static,
    V: Send + 'static,
{
    fn with_source<E>(self, source: Source<K, V, E>) -> LoadingCacheBuilder<K, V, E> {
        LoadingCacheBuilder {
            cache: self.cache,
            source: Some(source),
            ttl: self.ttl,
            refresh_after: self.refresh_after,
            stale_while_revalidate: self.stale_while_revalidate,
            stale_if_error: self.stale_if_error,
            negative_ttl: self.negative_ttl,
            jitter: self.jitter,
            refresh_threads: self.refresh_threads,
            spawner: self.spawner,
            error_listener: None,
        }
    }

    /// Loads with `loader`, on the calling thread (refreshes on the
    /// cache's refresh threads).
    pub fn loader<L: Loader<K, V>>(self, loader: L) -> LoadingCacheBuilder<K, V, L::Error> {
        self.with_source(Source::from_sync(loader))
    }

    /// Loads with a closure: `Ok(Some(v))`, `Ok(None)` for "no such key",
    /// or an error.
    pub fn loader_fn<E, F>(self, f: F) -> LoadingCacheBuilder<K, V, E>
    where
        F: Fn(&K) -> Result<Option<V>, E> + Send + Sync + 'static,
        E: Send + Sync + 'static,
    {
        self.with_source(Source::from_sync(FnLoader(f, PhantomData)))
    }

    /// Loads with an async `loader`. Refreshes need a
    /// [`spawner`](Self::spawner).
    pub fn async_loader<L: AsyncLoader<K, V>>(self, loader: L) -> LoadingCacheBuilder<K, V, L::Error> {
        self.with_source(Source::from_async(loader))
    }

    /// Loads with a closure returning a future (which gets its own clone
    /// of the key).
    pub fn async_loader_fn<E, F, Fut>(self, f: F) -> LoadingCacheBuilder<K, V, E>
    where
        F: Fn(K) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<V>, E>> + Send + 'static,
        E: Send + Sync + 'static,
    {
        self.with_source(Source::from_async(AsyncFnLoader(f, PhantomData)))
    }
}

impl<K, V, E> LoadingCacheBuilder<K, V, E> {
    /// Bounds the cache to `n` entries (cached absences included).
    pub fn max_capacity(mut self, n: u64) -> Self {
        self.cache = self.cache.max_capacity(n);
        self
    }

    /// Bounds the cache by total weight, as measured by the
    /// [`weigher`](Self::weigher).
    pub fn max_weight(mut self, weight: u64) -> Self {
        self.cache = self.cache.max_weight(weight);
        self
    }

    /// Sets the weight of each value; a cached absence weighs 1.
    pub fn weigher(mut self, f: impl Fn(&K, &V) -> u32 + Send + Sync + 'static) -> Self {
        self.cache = self.cache.weigher(move |k, v: &Option<V>| v.as_ref().map_or(1, |v| f(k, v)));
        self
    }

    /// Chooses the eviction policy.
    pub fn policy(mut self, policy: EvictionPolicy) -> Self {
        self.cache = self.cache.policy(policy);
        self
    }

    /// Sets the number of shards (see [`CacheBuilder::shards`]).
    pub fn shards(mut self, n: usize) -> Self {
        self.cache = self.cache.shards(n);
        self
    }

    /// Sets the clock every freshness decision reads; tests use a
    /// [`ManualClock`](crate::time::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.cache = self.cache.clock(clock);
        self
    }

    /// Reclaims expired entries on a background thread every `interval`
    /// (see [`CacheBuilder::housekeeper`]).
    pub fn housekeeper(mut self, interval: Duration) -> Self {
        self.cache = self.cache.housekeeper(interval);
        self
    }

    /// Values go stale this long after they were loaded (then a read loads
    /// again, unless a stale window below applies).
    pub fn time_to_live(mut self, d: Duration) -> Self {
        self.ttl = Some(d);
        self
    }

    /// A read of a value loaded more than `d` ago returns it at once and
    /// starts one background refresh (however many readers see it). Reads
    /// never wait for a refresh.
    pub fn refresh_after(mut self, d: Duration) -> Self {
        self.refresh_after = Some(d);
        self
    }

    /// For `d` past the time-to-live, reads still return the stale value
    /// at once and start a background refresh. Needs a time-to-live.
    pub fn stale_while_revalidate(mut self, d: Duration) -> Self {
        self.stale_while_revalidate = Some(d);
        self
    }

    /// When a load fails, reads keep getting the last good value for up to
    /// `d` past its time-to-live (the failure is still counted and given
    /// to the [`error_listener`](Self::error_listener)). Needs a
    /// time-to-live.
    pub fn stale_if_error(mut self, d: Duration) -> Self {
        self.stale_if_error = Some(d);
        self
    }

    /// Caches "no such key" (`Ok(None)` from the loader) for `d`, so that
    /// repeated reads of absent keys do not reach the backend. Without it,
    /// absences are not cached.
    pub fn negative_ttl(mut self, d: Duration) -> Self {
        self.negative_ttl = Some(d);
        self
    }

    /// Spreads each value's time-to-live by up to ± `fraction` (in
    /// `[0, 1)`) at random, so that values loaded together do not expire
    /// together. Needs a time-to-live.
    pub fn ttl_jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction;
        self
    }

    /// Caps the threads refreshing a sync loader's values at once (default
    /// 4). The threads start on demand and end when no refresh is queued.
    pub fn refresh_threads(mut self, n: usize) -> Self {
        self.refresh_threads = n;
        self
    }

    /// Runs an async loader's background refreshes (required with an
    /// async loader and `refresh_after` or `stale_while_revalidate`). With
    /// tokio: `.spawner(|task| { tokio::spawn(task); })`.
    pub fn spawner(mut self, spawner: impl Spawn) -> Self {
        self.spawner = Some(Arc::new(spawner));
        self
    }

    /// Calls `f(key, error)` for every key of every failed load, including
    /// background refreshes and loads hidden by `stale_if_error`, whose
    /// errors reach no caller otherwise. Set it after the loader.
    pub fn error_listener(mut self, f: impl Fn(&K, &E) + Send + Sync + 'static) -> Self {
        self.error_listener = Some(Arc::new(f));
        self
    }

    fn freshness(&self) -> Result<Freshness, ConfigError> {
        for (name, d) in [
            ("time_to_live", self.ttl),
            ("refresh_after", self.refresh_after),
            ("stale_while_revalidate", self.stale_while_revalidate),
            ("stale_if_error", self.stale_if_error),
            ("negative_ttl", self.negative_ttl),
        ] {
            if d == Some(Duration::ZERO) {
                return Err(ConfigError::ZeroDuration(name));
            }
        }
        if self.ttl.is_none() {
            let needs_ttl = [
                ("stale_while_revalidate", self.stale_while_revalidate.is_some()),
                ("stale_if_error", self.stale_if_error.is_some()),
                ("ttl_jitter", self.jitter != 0.0),
            ];
            if let Some((option, _)) = needs_ttl.into_iter().find(|(_, set)| *set) {
                return Err(ConfigError::Requires { option, needs: "time_to_live" });
            }
        }
        if !(0.0..1.0).contains(&self.jitter) {
            return Err(ConfigError::OutOfRange { option: "ttl_jitter", range: "a fraction in [0, 1)" });
        }
        if self.refresh_threads == 0 {
            return Err(ConfigError::OutOfRange { option: "refresh_threads", range: "at least 1" });
        }
        let refreshes = self.refresh_after.is_some() || self.stale_while_revalidate.is_some();
        if refreshes && self.spawner.is_none() && self.source.as_ref().is_some_and(Source::is_async) {
            let option = if self.refresh_after.is_some() { "refresh_after" } else { "stale_while_revalidate" };
            return Err(ConfigError::Requires { option, needs: "a spawner with an async loader" });
        }
        let ms = |d: Option<Duration>| d.map(ms_ceil);
        Ok(Freshness::new(
            ms(self.ttl),
            ms(self.refresh_after),
            (ms(self.stale_while_revalidate).unwrap_or(0), ms(self.stale_if_error).unwrap_or(0)),
            ms(self.negative_ttl),
            Jitter::new(self.jitter),
        ))
    }
}

impl<K, V, E> LoadingCacheBuilder<K, V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    /// Checks the configuration and builds the cache: fails without a
    /// loader ([`ConfigError::MissingLoader`]), with an option that needs
    /// another ([`ConfigError::Requires`]), or with a value out of range.
    pub fn build(self) -> Result<LoadingCache<K, V, E>, ConfigError> {
        let fresh = self.freshness()?;
        let source = self.source.ok_or(ConfigError::MissingLoader)?;
        let cache: Cache<K, Option<V>> = self.cache.build()?;
        Ok(LoadingCache {
            cache: cache.clone(),
            shared: Arc::new(Shared {
                cache,
                source,
                fresh,
                counters: Counters::default(),
                pool: RefreshPool::new(self.refresh_threads),
                spawner: self.spawner,
                error_listener: self.error_listener,
            }),
        })
    }
}
