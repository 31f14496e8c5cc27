//! [`WriteThrough`]: the database first, then the cache, under the
//! [handshake](super::handshake) that keeps racing writes and loads from
//! leaving a stale value cached.

use super::Writer;
use super::handshake::{Handshake, Stripe, StripeLock, WriteTicket};
use crate::Cache;
use std::fmt;
use std::hash::Hash;

/// Stripes of the handshake per cache shard: enough that unrelated keys
/// rarely share one (sharing only costs a store, never correctness).
const STRIPES_PER_SHARD: usize = 64;

/// A [`Cache`] kept in step with a database: every write goes to the
/// [`Writer`] first, and reaches the cache only once the database took it.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use embercache::Cache;
/// use embercache::cache::write::{WriteThrough, Writer};
///
/// #[derive(Default)]
/// struct Table(Mutex<HashMap<u32, String>>);
/// impl Writer<u32, String> for Table {
///     type Error = std::convert::Infallible;
///     fn write(&self, k: &u32, v: &String) -> Result<(), Self::Error> {
///         self.0.lock().unwrap().insert(*k, v.clone());
///         Ok(())
///     }
///     fn delete(&self, k: &u32) -> Result<(), Self::Error> {
///         self.0.lock().unwrap().remove(k);
///         Ok(())
///     }
/// }
///
/// let db = std::sync::Arc::new(Table::default());
/// struct Shared(std::sync::Arc<Table>);
/// # impl Writer<u32, String> for Shared {
/// #     type Error = std::convert::Infallible;
/// #     fn write(&self, k: &u32, v: &String) -> Result<(), Self::Error> { self.0.write(k, v) }
/// #     fn delete(&self, k: &u32) -> Result<(), Self::Error> { self.0.delete(k) }
/// # }
/// let users = WriteThrough::new(Cache::new(1_000), Shared(db.clone()));
/// users.put(1, "Ada".to_string())?;
/// assert_eq!(users.cache().get(&1).as_deref(), Some("Ada"));
///
/// // Reads that miss load from the database through the same handshake.
/// db.0.lock().unwrap().insert(2, "Grace".to_string());
/// let v = users.get_or_load(&2, |k| Ok::<_, std::convert::Infallible>(db.0.lock().unwrap().get(k).cloned()))?;
/// assert_eq!(v.as_deref(), Some("Grace"));
/// # Ok::<(), std::convert::Infallible>(())
/// ```
///
/// # Guarantees
///
/// For the writes made by [`put`](Self::put) and [`remove`](Self::remove)
/// and the loads made by [`get_or_load`](Self::get_or_load), whatever the
/// interleaving of threads:
///
/// - once all of them have returned, each key's cached value, if any, is
///   the last value written to the database for that key (the last write
///   call to return there, if the writer's calls to one key take effect
///   while they run);
/// - after `put(k, v)` returns `Ok`, the cache holds `v` for `k`, nothing,
///   or the value of a write or load that began later;
/// - after a failed `put` or any `remove` returns, `k` is not cached (until
///   a later write or load stores it): a failed write may or may not have
///   reached the database, so the cache keeps neither the old nor the new
///   value.
///
/// The price: a write that overlaps another write of the same stripe
/// (a small group of keys) removes the key instead of storing its value,
/// and a load that overlaps a write returns its value without caching it,
/// so a hot key written by several threads at once is re-read more often.
///
/// Not covered: values put straight into [`cache()`](Self::cache) (for
/// instance by its own `get_or_insert_with`), writes that reach the
/// database by another path, and database calls whose effect lands after
/// they returned (a timed-out request applied later). The cache's eviction
/// listener must not call back into this `WriteThrough`: the cache is
/// updated under the handshake's stripe lock.
pub struct WriteThrough<K, V, W> {
    inner: Through<K, V, W, parking_lot::Mutex<Stripe>>,
}

impl<K, V, W> WriteThrough<K, V, W>
where
    K: Hash + Eq + Clone,
    V: Clone,
    W: Writer<K, V>,
{
    /// Puts `cache` in front of the database `writer`. On a successful
    /// write the cache is updated with the new value (see
    /// [`invalidate_on_write`](Self::invalidate_on_write) to remove it instead).
    pub fn new(cache: Cache<K, V>, writer: W) -> Self {
        WriteThrough { inner: Through::new(cache, writer) }
    }

    /// With `true`, a successful write removes the key from the cache
    /// instead of storing the new value (the next read loads it): for
    /// values that the database transforms on write, or that are rarely
    /// read back. Default `false`.
    #[must_use]
    pub fn invalidate_on_write(mut self, yes: bool) -> Self {
        self.inner.invalidate_on_write = yes;
        self
    }

    /// The cache, for reads (`get`, `peek`, stats). Writes made to it
    /// directly bypass the database and the guarantees above.
    pub fn cache(&self) -> &Cache<K, V> {
        &self.inner.cache
    }

    /// The database writer.
    pub fn writer(&self) -> &W {
        &self.inner.writer
    }

    /// Writes `value` to the database, then (if that succeeded and no other
    /// write of the key's stripe overlapped) stores it in the cache. On an
    /// error the key is removed from the cache and the error returned.
    pub fn put(&self, key: K, value: V) -> Result<(), W::Error> {
        self.inner.put(key, value)
    }

    /// Deletes `key` from the database, then removes it from the cache
    /// (whether the delete succeeded or not).
    pub fn remove(&self, key: &K) -> Result<(), W::Error> {
        self.inner.remove(key)
    }

    /// Returns `key`'s cached value, or on a miss calls `load` (a read of
    /// the database) and caches what it found, unless a write overlapped
    /// the read (then the value is returned but not cached). `Ok(None)`
    /// from `load` (not in the database) is returned and caches nothing;
    /// an error is returned and caches nothing.
    ///
    /// Concurrent misses of one key each call `load` (no coalescing: use
    /// this where a duplicate read is cheaper than a stale value).
    pub fn get_or_load<E>(&self, key: &K, load: impl FnOnce(&K) -> Result<Option<V>, E>) -> Result<Option<V>, E> {
        self.inner.get_or_load(key, load)
    }
}

impl<K, V, W> fmt::Debug for WriteThrough<K, V, W>
where
    K: Hash + Eq,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteThrough")
            .field("cache", &self.inner.cache)
            .field("invalidate_on_write", &self.inner.invalidate_on_write)
            .finish_non_exhaustive()
    }
}

/// The logic of [`WriteThrough`], generic over the handshake's lock so the
/// model test runs it under `shuttle`.
pub(crate) struct Through<K, V, W, L> {
    pub(crate) cache: Cache<K, V>,
    pub(crate) writer: W,
    pub(crate) handshake: Handshake<L>,
    invalidate_on_write: bool,
}

impl<K, V, W, L> Through<K, V, W, L>
where
    K: Hash + Eq + Clone,
    V: Clone,
    W: Writer<K, V>,
    L: StripeLock,
{
    pub(crate) fn new(cache: Cache<K, V>, writer: W) -> Self {
        let handshake = Handshake::new(cache.shard_count().saturating_mul(STRIPES_PER_SHARD));
        Through { cache, writer, handshake, invalidate_on_write: false }
    }

    pub(crate) fn put(&self, key: K, value: V) -> Result<(), W::Error> {
        let hash = self.cache.inner.engine.hash(&key);
        let write = InFlight::begin(self, hash, &key);
        let result = self.writer.write(&key, &value);
        let ticket = write.disarm();
        let store = result.is_ok() && !self.invalidate_on_write;
        self.handshake.end_write(ticket, |alone| {
            if store && alone {
                self.cache.insert(key, value);
            } else {
                self.cache.remove(&key);
            }
        });
        result
    }

    pub(crate) fn remove(&self, key: &K) -> Result<(), W::Error> {
        let hash = self.cache.inner.engine.hash(key);
        let write = InFlight::begin(self, hash, key);
        let result = self.writer.delete(key);
        drop(write); // ends the write, removing the key
        result
    }

    pub(crate) fn get_or_load<E>(
        &self,
        key: &K,
        load: impl FnOnce(&K) -> Result<Option<V>, E>,
    ) -> Result<Option<V>, E> {
        if let Some(v) = self.cache.get(key) {
            return Ok(Some(v));
        }
        let hash = self.cache.inner.engine.hash(key);
        let ticket = self.handshake.begin_load(hash);
        let found = load(key)?;
        if let Some(v) = &found {
            self.handshake.end_load(ticket, || {
                self.cache.insert(key.clone(), v.clone());
            });
        }
        Ok(found)
    }
}

/// A write between `begin_write` and `end_write`. Dropped without
/// [`disarm`](Self::disarm) (a delete, or a writer that panicked), it ends
/// the write by removing the key, so the stripe is never left counting a
/// write that will not end.
struct InFlight<'a, K: Hash + Eq, V: Clone, W, L: StripeLock> {
    through: &'a Through<K, V, W, L>,
    key: &'a K,
    ticket: Option<WriteTicket>,
}

impl<'a, K, V, W, L> InFlight<'a, K, V, W, L>
where
    K: Hash + Eq,
    V: Clone,
    L: StripeLock,
{
    fn begin(through: &'a Through<K, V, W, L>, hash: u64, key: &'a K) -> Self {
        InFlight { through, key, ticket: Some(through.handshake.begin_write(hash)) }
    }

    /// Hands the ticket over to the caller, who must end the write.
    fn disarm(mut self) -> WriteTicket {
        match self.ticket.take() {
            Some(t) => t,
            None => unreachable!("the ticket is taken only here, once"),
        }
    }
}

impl<K: Hash + Eq, V: Clone, W, L: StripeLock> Drop for InFlight<'_, K, V, W, L> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            let (cache, key) = (&self.through.cache, self.key);
            self.through.handshake.end_write(ticket, |_| {
                cache.remove(key);
            });
        }
    }
}

#[cfg(test)]
impl<K, V, W, L: StripeLock> Through<K, V, W, L> {
    /// Test only: the same logic with the handshake's checks switched off.
    pub(crate) fn unchecked(self) -> Self {
        Through { handshake: self.handshake.unchecked(), ..self }
    }
}
