//! [`WriteBehind`]: the cache first, the database later, in batches.
//!
//! `put` and `remove` update the cache and record the write in a queue of
//! distinct keys (a newer write of a queued key replaces it: coalescing),
//! both under the queue's lock so the cache and the queue agree on each
//! key's latest value. A `std` thread, the flusher, takes queued writes in
//! batches and hands them to [`Writer::write_many`]; it never holds the
//! lock while the database runs. One batch is written at a time, so writes
//! of one key reach the database in the order they were made.

mod error;
mod flusher;
mod options;

pub use error::{FailedBatch, WriteBehindError, WriteFailure};
pub use options::{FullQueue, RetryPolicy, WriteBehindBuilder};

use super::Writer;
use crate::Cache;
use hashbrown::HashMap;
use options::Config;
use parking_lot::{Condvar, Mutex};
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A batch taken by the flusher: `Some` writes, `None` deletes.
type Batch<K, V> = Arc<[(K, Option<V>)]>;

/// The error callback, shared with the flusher thread.
type ErrorCallback<K, V, E> = Arc<dyn Fn(&FailedBatch<'_, K, V, E>) + Send + Sync>;

/// Load stamps, one per group of keys: enough groups that a write rarely
/// stops an unrelated load from caching its value.
const STAMPS: usize = 1024;

/// A [`Cache`] whose writes reach the database later, batched and
/// coalesced by a background thread.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
/// use embercache::Cache;
/// use embercache::cache::write::{WriteBehind, Writer};
///
/// #[derive(Clone, Default)]
/// struct Table(Arc<Mutex<HashMap<u32, u64>>>);
/// impl Writer<u32, u64> for Table {
///     type Error = std::convert::Infallible;
///     fn write(&self, k: &u32, v: &u64) -> Result<(), Self::Error> {
///         self.0.lock().unwrap().insert(*k, *v);
///         Ok(())
///     }
///     fn delete(&self, k: &u32) -> Result<(), Self::Error> {
///         self.0.lock().unwrap().remove(k);
///         Ok(())
///     }
/// }
///
/// let db = Table::default();
/// let counters = WriteBehind::builder(Cache::new(1_000), db.clone()).build()?;
/// for n in 1..=100 {
///     counters.put(7, n)?; // cached at once, written later
/// }
/// assert_eq!(counters.cache().get(&7), Some(100));
/// counters.flush()?;
/// assert_eq!(db.0.lock().unwrap().get(&7), Some(&100));
/// assert_eq!(counters.stats().written, 1); // 100 puts, one write
/// # Ok::<(), embercache::cache::write::WriteBehindError>(())
/// ```
///
/// # Guarantees
///
/// - Each key's writes reach the database in order, and coalesced: only
///   the latest value queued when a batch is taken is written.
/// - The cache holds each key's latest `put` (unless evicted or expired);
///   [`get_or_load`](Self::get_or_load) answers a miss from the queue
///   before the database, and caches a value read from the database only
///   if no write of the key was queued or made meanwhile, so a load never
///   brings back a value the queue is about to overwrite.
/// - [`flush`](Self::flush) returns once every write made before it was
///   called has been handed to the database (written, or given up after
///   the retries and reported).
/// - [`shutdown`](Self::shutdown), and dropping the `WriteBehind`, flush
///   everything queued and stop the thread.
/// - A batch that still fails after [`RetryPolicy::max_retries`] retries
///   goes to the error callback and is counted in
///   [`WriteBehindStats::failures`]; its keys are removed from the cache
///   (unless written again since), so the cache does not keep values the
///   database never got.
///
/// Not covered: writes lost if the process dies before a flush (the queue
/// is in memory), and order across keys. The cache's eviction listener
/// must not call back into this `WriteBehind`: the cache is updated under
/// the queue's lock.
pub struct WriteBehind<K, V, W: Writer<K, V>> {
    shared: Arc<Shared<K, V, W>>,
    flusher: Mutex<Option<JoinHandle<()>>>,
}

/// The counters of a [`WriteBehind`] (a snapshot, from
/// [`WriteBehind::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteBehindStats {
    /// Writes taken by `put` and `remove`.
    pub queued: u64,
    /// Of those, writes that replaced a queued write of the same key.
    pub coalesced: u64,
    /// Writes handed to the database in successful batches.
    pub written: u64,
    /// Successful `write_many` calls.
    pub batches: u64,
    /// Batches given up after their retries (each reported to the callback).
    pub failures: u64,
    /// Attempts made again after a failed one.
    pub retries: u64,
    /// Writes in the batches given up.
    pub dropped: u64,
    /// Keys queued now (not counting the batch being written).
    pub pending: u64,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    coalesced: AtomicU64,
    written: AtomicU64,
    batches: AtomicU64,
    failures: AtomicU64,
    retries: AtomicU64,
    dropped: AtomicU64,
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// What the queue's lock protects.
struct State<K, V> {
    /// The latest queued write of each key: `Some` writes, `None` deletes.
    pending: HashMap<K, Option<V>, ahash::RandomState>,
    /// The batch the flusher is writing, for lookups.
    in_flight: Option<Batch<K, V>>,
    /// Writes made per group of keys, for loads (see `get_or_load`).
    stamps: Box<[u64]>,
    /// Flushes asked for, and done (the flusher sets `done` to the
    /// `requested` it saw when it took the whole queue).
    requested: u64,
    done: u64,
    /// `shutdown` was called.
    closing: bool,
    /// The flusher thread runs.
    running: bool,
}

impl<K: Hash + Eq, V: Clone> State<K, V> {
    /// The latest queued write of `key`: `Some(Some(v))` a value,
    /// `Some(None)` a delete, `None` nothing queued.
    fn queued(&self, key: &K) -> Option<Option<V>> {
        if let Some(v) = self.pending.get(key) {
            return Some(v.clone());
        }
        let batch = self.in_flight.as_deref()?;
        batch.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    fn stamp(&mut self, hash: u64) -> &mut u64 {
        let i = (hash >> 8) as usize & (self.stamps.len() - 1);
        &mut self.stamps[i]
    }
}

/// What the handle and the flusher thread share.
struct Shared<K, V, W: Writer<K, V>> {
    cache: Cache<K, V>,
    writer: W,
    config: Config,
    on_error: Option<ErrorCallback<K, V, W::Error>>,
    state: Mutex<State<K, V>>,
    /// Wakes the flusher: a batch is ready, a flush or shutdown asked for.
    wake: Condvar,
    /// Wakes writers waiting for room in the queue.
    room: Condvar,
    /// Wakes `flush` callers: a flush is done, or the flusher stopped.
    flushed: Condvar,
    counters: Counters,
}

impl<K, V, W> WriteBehind<K, V, W>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    W: Writer<K, V>,
    W::Error: 'static,
{
    /// Starts a [`WriteBehindBuilder`] for `cache` in front of `writer`.
    pub fn builder(cache: Cache<K, V>, writer: W) -> WriteBehindBuilder<K, V, W> {
        WriteBehindBuilder::new(cache, writer)
    }

    fn start(
        cache: Cache<K, V>,
        writer: W,
        config: Config,
        on_error: Option<ErrorCallback<K, V, W::Error>>,
    ) -> Result<Self, WriteBehindError> {
        let state = State {
            pending: HashMap::default(),
            in_flight: None,
            stamps: vec![0; STAMPS].into_boxed_slice(),
            requested: 0,
            done: 0,
            closing: false,
            running: true,
        };
        let shared = Arc::new(Shared {
            cache,
            writer,
            config,
            on_error,
            state: Mutex::new(state),
            wake: Condvar::new(),
            room: Condvar::new(),
            flushed: Condvar::new(),
            counters: Counters::default(),
        });
        let handle = flusher::spawn(Arc::clone(&shared)).map_err(|e| WriteBehindError::Spawn(Arc::new(e)))?;
        Ok(WriteBehind { shared, flusher: Mutex::new(Some(handle)) })
    }

    /// The cache, for reads. Writes made to it directly bypass the queue.
    pub fn cache(&self) -> &Cache<K, V> {
        &self.shared.cache
    }

    /// Stores `value` in the cache and queues its write. Waits or fails
    /// when the queue is full, as [`FullQueue`] says; on an error nothing
    /// changed.
    pub fn put(&self, key: K, value: V) -> Result<(), WriteBehindError> {
        self.enqueue(key, Some(value))
    }

    /// Removes `key` from the cache and queues its delete (like
    /// [`put`](Self::put) for a full queue).
    pub fn remove(&self, key: K) -> Result<(), WriteBehindError> {
        self.enqueue(key, None)
    }

    fn enqueue(&self, key: K, value: Option<V>) -> Result<(), WriteBehindError> {
        let shared = &*self.shared;
        let hash = shared.cache.inner.engine.hash(&key);
        let mut s = shared.state.lock();
        let started = Instant::now();
        loop {
            if s.closing {
                return Err(WriteBehindError::ShutDown);
            }
            if !s.running {
                return Err(WriteBehindError::Stopped);
            }
            if s.pending.len() < shared.config.capacity || s.pending.contains_key(&key) {
                break;
            }
            let FullQueue::Block(timeout) = shared.config.when_full else {
                return Err(WriteBehindError::QueueFull { waited: Duration::ZERO });
            };
            shared.wake.notify_one();
            if shared.room.wait_until(&mut s, started + timeout).timed_out() {
                return Err(WriteBehindError::QueueFull { waited: started.elapsed() });
            }
        }
        *s.stamp(hash) += 1;
        match &value {
            Some(v) => {
                shared.cache.insert(key.clone(), v.clone());
            }
            None => {
                shared.cache.remove(&key);
            }
        }
        bump(&shared.counters.queued, 1);
        if s.pending.insert(key, value).is_some() {
            bump(&shared.counters.coalesced, 1);
        }
        if s.pending.len() >= shared.config.batch_size.min(shared.config.capacity) {
            shared.wake.notify_one();
        }
        Ok(())
    }

    /// Returns `key`'s value: from the cache, else from the queue (a
    /// queued delete answers `None`), else from `load` (a read of the
    /// database), caching what it found unless a write of the key was
    /// made during the read. An error from `load` is returned and caches
    /// nothing.
    pub fn get_or_load<E>(&self, key: &K, load: impl FnOnce(&K) -> Result<Option<V>, E>) -> Result<Option<V>, E> {
        let shared = &*self.shared;
        if let Some(v) = shared.cache.get(key) {
            return Ok(Some(v));
        }
        let hash = shared.cache.inner.engine.hash(key);
        let stamp = {
            let mut s = shared.state.lock();
            if let Some(queued) = s.queued(key) {
                return Ok(queued);
            }
            *s.stamp(hash)
        };
        let found = load(key)?;
        if let Some(v) = &found {
            let mut s = shared.state.lock();
            if *s.stamp(hash) == stamp && s.queued(key).is_none() {
                shared.cache.insert(key.clone(), v.clone());
            }
        }
        Ok(found)
    }

    /// Writes everything queued now, and returns once it has been handed
    /// to the database (written, or given up after its retries: see the
    /// stats and the error callback).
    pub fn flush(&self) -> Result<(), WriteBehindError> {
        let shared = &*self.shared;
        let mut s = shared.state.lock();
        if !s.running {
            return if s.pending.is_empty() { Ok(()) } else { Err(WriteBehindError::Stopped) };
        }
        s.requested += 1;
        let target = s.requested;
        shared.wake.notify_one();
        while s.done < target && s.running {
            shared.flushed.wait(&mut s);
        }
        if s.done >= target { Ok(()) } else { Err(WriteBehindError::Stopped) }
    }

    /// Flushes everything queued, stops the flusher thread and waits for
    /// it. Later writes fail with [`WriteBehindError::ShutDown`]. Calling
    /// it again does nothing. Also done on drop.
    pub fn shutdown(&self) {
        self.close();
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> WriteBehindStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WriteBehindStats {
            queued: get(&c.queued),
            coalesced: get(&c.coalesced),
            written: get(&c.written),
            batches: get(&c.batches),
            failures: get(&c.failures),
            retries: get(&c.retries),
            dropped: get(&c.dropped),
            pending: self.shared.state.lock().pending.len() as u64,
        }
    }
}

impl<K, V, W: Writer<K, V>> WriteBehind<K, V, W> {
    /// Refuses further writes, lets the flusher write what is queued and
    /// waits for it to end.
    fn close(&self) {
        self.shared.state.lock().closing = true;
        self.shared.wake.notify_one();
        self.shared.room.notify_all();
        if let Some(handle) = self.flusher.lock().take() {
            // The flusher catches the writer's and the callback's panics;
            // any other one has already stopped it, and shows as `Stopped`.
            let _ = handle.join();
        }
    }
}

impl<K, V, W: Writer<K, V>> Drop for WriteBehind<K, V, W> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<K, V, W> fmt::Debug for WriteBehind<K, V, W>
where
    K: Hash + Eq,
    W: Writer<K, V>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteBehind")
            .field("cache", &self.shared.cache)
            .field("pending", &self.shared.state.lock().pending.len())
            .finish_non_exhaustive()
    }
}
