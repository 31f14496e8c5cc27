//! What the code of `#[cached]` calls: not a public API (it changes with
//! the macro), hidden from the docs.
//!
//! A [`CachedFn`] is the static of one function: its cache, built on first
//! use from a configuration the macro wrote, and registered by name.

use crate::{Cache, CacheBuilder};
use std::borrow::Borrow;
use std::future::Future;
use std::hash::Hash;
use std::sync::OnceLock;

/// A load that stored nothing: an `Err` (its error stays with its caller)
/// or a `None` (shared with the waiters: it carries no data).
struct NotStored;

/// The cache of one `#[cached]` function. The bounds are on the type, so
/// that a key or value that misses one is reported once, at the static.
pub struct CachedFn<K, V>
where
    K: Clone + Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    name: &'static str,
    configure: fn(CacheBuilder<K, V>) -> CacheBuilder<K, V>,
    cache: OnceLock<Cache<K, V>>,
}

impl<K, V> CachedFn<K, V>
where
    K: Clone + Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A function's cache, to be built on first use by `configure`.
    pub const fn new(name: &'static str, configure: fn(CacheBuilder<K, V>) -> CacheBuilder<K, V>) -> Self {
        CachedFn { name, configure, cache: OnceLock::new() }
    }
}

impl<K, V> CachedFn<K, V>
where
    K: Clone + Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The cache: one atomic load once built.
    #[inline]
    pub fn cache(&'static self) -> &'static Cache<K, V> {
        self.cache.get_or_init(|| {
            let cache = (self.configure)(Cache::builder())
                .build()
                // The macro only sets a capacity above zero, a ttl above
                // zero and a clock: a configuration `build` always accepts.
                .unwrap_or_else(|e| unreachable!("#[cached] configuration of {} refused: {e}", self.name));
            super::register(self.name, Box::new(cache.clone()));
            cache
        })
    }

    /// The value of a key, by any form it borrows as, if cached. The
    /// generated code asks this first, without making an owned key; a miss
    /// is counted by the `call` that follows.
    #[inline]
    pub fn hit<Q>(&'static self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.cache().get_hit(key)
    }

    /// A plain function: every value is stored.
    #[inline]
    pub fn call(&'static self, key: K, body: impl FnOnce() -> V) -> V {
        self.cache().get_or_insert_with(key, body)
    }

    /// `option = true`: `Some` is stored; `None` is returned to the caller
    /// and to the callers waiting on the same load.
    #[inline]
    pub fn call_option(&'static self, key: K, body: impl FnOnce() -> Option<V>) -> Option<V> {
        self.cache().try_get_or_insert_with(key, || body().ok_or(NotStored)).ok()
    }

    /// `result = true`: `Ok` is stored; an `Err` is returned to the caller
    /// whose body produced it, and the callers that were waiting on that
    /// load try again.
    pub fn call_result<E>(&'static self, key: K, body: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        let mut body = Some(body);
        let mut failure = None;
        loop {
            // A caller leads at most once: after leading it returns, with
            // its value or its error (`settle`); `body` is always there.
            let attempt = || match body.take() {
                Some(f) => f().map_err(keep_error(&mut failure)),
                None => Err(NotStored),
            };
            let r = self.cache().try_get_or_insert_with(key.clone(), attempt);
            if let Some(r) = settle(r, &mut failure) {
                return r;
            }
        }
    }

    /// Async [`call`](Self::call).
    pub async fn call_async(&'static self, key: K, body: impl Future<Output = V>) -> V {
        self.cache().get_or_insert_with_async(key, body).await
    }

    /// Async [`call_option`](Self::call_option).
    pub async fn call_option_async(&'static self, key: K, body: impl Future<Output = Option<V>>) -> Option<V> {
        self.cache().try_get_or_insert_with_async(key, async { body.await.ok_or(NotStored) }).await.ok()
    }

    /// Async [`call_result`](Self::call_result).
    pub async fn call_result_async<E>(&'static self, key: K, body: impl Future<Output = Result<V, E>>) -> Result<V, E> {
        let mut body = Some(body);
        let mut failure = None;
        loop {
            let attempt = async {
                match body.take() {
                    Some(fut) => fut.await.map_err(keep_error(&mut failure)),
                    None => Err(NotStored),
                }
            };
            let r = self.cache().try_get_or_insert_with_async(key.clone(), attempt).await;
            if let Some(r) = settle(r, &mut failure) {
                return r;
            }
        }
    }
}

/// Keeps a leader's error for its own caller (the cache sees `NotStored`).
fn keep_error<E>(failure: &mut Option<E>) -> impl FnOnce(E) -> NotStored + '_ {
    move |e| {
        *failure = Some(e);
        NotStored
    }
}

/// What a `result = true` caller does with the cache's answer: `Some` to
/// return it, `None` to try again (it waited on a load that failed).
fn settle<V, E>(r: Result<V, std::sync::Arc<NotStored>>, failure: &mut Option<E>) -> Option<Result<V, E>> {
    match r {
        Ok(v) => Some(Ok(v)),
        Err(_) => failure.take().map(Err),
    }
}

/// Fixes an async body's output type to the function's return type, so
/// that `?` inside it converts errors as it would in the function.
#[inline]
pub fn typed_future<R, F: Future<Output = R>>(f: F) -> F {
    f
}
