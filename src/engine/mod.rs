//! The engine: a sharded map with expiry and eviction, knowing nothing of
//! Redis and nothing of the typed or keyspace faces built on it.
//!
//! - A fixed number of [`shard::Shard`]s, each behind a
//!   [`lock::ShardLock`] (a reader-writer lock whose readers count
//!   themselves in per-thread stripes) and padded to its own cache lines. A key
//!   is hashed once (the cache's `BuildHasher`, `ahash` by default); the
//!   middle bits pick the shard, the rest address the shard's table.
//! - Lookups take the read lock, which writes only the calling thread's
//!   stripe, and write no other shared state in the common case: the
//!   adaptive policy's bookkeeping is a per-entry referenced bit (written
//!   when it flips) and a frequency sketch counted at that flip; LRU uses a
//!   lossy read buffer drained by writers.
//! - Writes take the write lock and evict synchronously, so a shard never
//!   holds more than its share of the bound after a write: eviction is never
//!   lazier than the writes, and the cache never overshoots.
//! - Expired entries are never returned (lookups compare deadlines with the
//!   [`Clock`]) and are reclaimed by each shard's [`expire::wheel`]:
//!   amortised on writes, precisely by [`Engine::run_pending_tasks`].
//! - Removed entries are collected under the lock and handed to the
//!   listener after it is released.

pub(crate) mod direct;
pub(crate) mod evict;
pub(crate) mod expire;
pub(crate) mod home;
pub(crate) mod lock;
mod outcome;
pub(crate) mod prefetch;
pub(crate) mod read_buffer;
pub(crate) mod shard;
pub(crate) mod slab;

pub use outcome::{CompResult, Op, RemovalCause};

use crate::stats::{CacheStats, Counter, Stats};
use crate::time::{Clock, now_ms};
use crossbeam_utils::CachePadded;
use evict::EvictionPolicy;
use lock::ShardLock;
use shard::{Ctx, ExpiryConfig, Inserted, Shard, Ttl};
use slab::{Entry, NEVER};
use smallvec::SmallVec;
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Entries removed during a locked section, delivered after unlocking.
pub(crate) type Removed<K, V> = SmallVec<[(K, V, RemovalCause); 1]>;

/// A function from an entry to its weight.
pub(crate) type Weigher<K, V> = Arc<dyn Fn(&K, &V) -> u32 + Send + Sync>;
/// The eviction listener.
pub(crate) type Listener<K, V> = Arc<dyn Fn(K, V, RemovalCause) + Send + Sync>;

struct Slot<K, V> {
    lock: ShardLock<Shard<K, V>>,
    /// Mirrors of the shard's size, written under the write lock (same cache
    /// line as the lock word), read without locking.
    len: AtomicU64,
    weight: AtomicU64,
}

impl<K, V> Slot<K, V> {
    /// Whether the shard holds no entry, read without its lock (the mirror
    /// its writers publish).
    #[inline]
    fn is_empty(&self) -> bool {
        self.len.load(Ordering::Relaxed) == 0
    }

    /// Publishes the shard's size (under its write lock); a change of
    /// weight is added to the engine's pool too, if it counts into one.
    #[inline]
    fn publish(&self, len: usize, weight: u64, pool: Option<&Pool>) {
        self.len.store(len as u64, Ordering::Relaxed);
        match pool {
            None => self.weight.store(weight, Ordering::Relaxed),
            Some(pool) => {
                // Only the holder of the shard's write lock writes it.
                let old = self.weight.load(Ordering::Relaxed);
                self.weight.store(weight, Ordering::Relaxed);
                if old != weight {
                    // Two's complement: a shrink subtracts.
                    pool.total.fetch_add(weight.wrapping_sub(old), Ordering::Relaxed);
                    pool.own.fetch_add(weight.wrapping_sub(old), Ordering::Relaxed);
                }
            }
        }
    }
}

/// A total of weights several engines count into (see [`Engine::join_pool`]),
/// and this engine's part of it.
struct Pool {
    total: Arc<AtomicU64>,
    own: AtomicU64,
}

/// Everything the engine is built from (filled in by the builders).
pub(crate) struct EngineConfig<K, V, S> {
    pub(crate) shards: usize,
    pub(crate) max_weight: u64,
    pub(crate) policy: EvictionPolicy,
    pub(crate) hasher: S,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) expiry: ExpiryConfig<K, V>,
    pub(crate) weigher: Option<Weigher<K, V>>,
    pub(crate) listener: Option<Listener<K, V>>,
    /// Capacity in entries, when bounded by count (sizes the sketch).
    pub(crate) entries_hint: Option<u64>,
}

/// The sharded store behind `Cache`.
pub(crate) struct Engine<K, V, S> {
    shards: Box<[CachePadded<Slot<K, V>>]>,
    /// Number of shards (any count: the index is a multiply-shift).
    count: u64,
    hasher: S,
    clock: Arc<dyn Clock>,
    expiry: ExpiryConfig<K, V>,
    weigher: Option<Weigher<K, V>>,
    listener: Option<Listener<K, V>>,
    stats: Stats,
    read_clock: bool,
    max_weight: AtomicU64,
    /// Whether writes must read the clock: set when the cache has expiry
    /// configured, and from the first write with a per-entry TTL on.
    timed: AtomicBool,
    /// A total of weights this engine's count into, with other engines'
    /// (see [`Engine::join_pool`]).
    pool: std::sync::OnceLock<Pool>,
}

impl<K, V, S> Engine<K, V, S> {
    /// The pool this engine counts its weight into, if any.
    #[inline]
    fn pool(&self) -> Option<&Pool> {
        self.pool.get()
    }
}

impl<K, V, S> Drop for Engine<K, V, S> {
    /// Takes this engine's weight out of its pool.
    fn drop(&mut self) {
        if let Some(pool) = self.pool() {
            let weight: u64 = self.shards.iter().map(|s| s.weight.load(Ordering::Relaxed)).sum();
            pool.total.fetch_sub(weight, Ordering::Relaxed);
        }
    }
}

/// Splits `total` over `n` shards; shard `i` gets its share.
fn share(total: u64, n: usize, i: usize) -> u64 {
    if total == u64::MAX {
        return u64::MAX;
    }
    let n = n as u64;
    total / n + u64::from((i as u64) < total % n)
}

impl<K, V, S> Engine<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    pub(crate) fn new(cfg: EngineConfig<K, V, S>) -> Self {
        let n = cfg.shards.max(1);
        let timed = cfg.expiry.ttl.is_some() || cfg.expiry.tti.is_some() || cfg.expiry.policy.is_some();
        let now = now_ms(cfg.clock.as_ref());
        let hint = cfg.entries_hint.map_or(4096, |e| (e / n as u64).clamp(64, 1 << 22));
        let shards = (0..n)
            .map(|i| {
                let max = share(cfg.max_weight, n, i);
                let mut shard = Shard::new(evict::Policy::new(cfg.policy, hint), max, now);
                if cfg.weigher.is_none() {
                    // Bounded by count: the slab never needs more than `max` slots.
                    shard.slab.set_limit(usize::try_from(max).unwrap_or(usize::MAX));
                }
                CachePadded::new(Slot {
                    lock: ShardLock::new(shard),
                    len: AtomicU64::new(0),
                    weight: AtomicU64::new(0),
                })
            })
            .collect();
        Engine {
            shards,
            count: n as u64,
            hasher: cfg.hasher,
            clock: cfg.clock,
            read_clock: cfg.expiry.reads_move_deadlines(),
            expiry: cfg.expiry,
            weigher: cfg.weigher,
            listener: cfg.listener,
            stats: Stats::default(),
            max_weight: AtomicU64::new(cfg.max_weight),
            timed: AtomicBool::new(timed),
            pool: std::sync::OnceLock::new(),
        }
    }

    #[inline]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn slot(&self, hash: u64) -> &Slot<K, V> {
        // Multiply-shift ("fastrange") on bits 20..52, so any shard count
        // works and the bits hashbrown uses (the low ones for the bucket,
        // the top seven for its tag) stay independent of the shard.
        &self.shards[((((hash >> 20) & 0xFFFF_FFFF) * self.count) >> 32) as usize]
    }

    #[inline]
    pub(crate) fn now(&self) -> u64 {
        now_ms(self.clock.as_ref())
    }

    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Whether shard `i` holds no entry (read without its lock). An empty
    /// shard has no timer to run and nothing to evict: housekeeping skips
    /// it without taking its lock.
    pub(crate) fn shard_is_empty(&self, i: usize) -> bool {
        self.shards.get(i).is_none_or(|s| s.is_empty())
    }

    pub(crate) fn weigh(&self, key: &K, value: &V) -> u32 {
        self.weigher.as_ref().map_or(1, |w| w(key, value))
    }

    /// Looks `key` up. With `touch`, the lookup counts (stats, policy,
    /// time-to-idle); without, it is invisible. Calls `f` on the live entry
    /// under the read lock.
    #[inline]
    pub(crate) fn read<Q, R>(
        &self,
        key: &Q,
        touch: bool,
        f: impl FnOnce(u32, &Entry<K, V>, &Shard<K, V>, u64) -> R,
    ) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lookup(key, touch, touch, f)
    }

    /// [`read`](Self::read), counting a miss only with `count_miss`: a
    /// caller whose miss leads to a slow path that looks again (and counts
    /// the miss there) passes `false`.
    #[inline]
    pub(crate) fn lookup<Q, R>(
        &self,
        key: &Q,
        touch: bool,
        count_miss: bool,
        f: impl FnOnce(u32, &Entry<K, V>, &Shard<K, V>, u64) -> R,
    ) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lookup_with(key, touch, count_miss, |_| {}, f)
    }

    /// [`lookup`](Self::lookup), calling `candidate` on each entry whose
    /// tag matches before its key is compared (see [`Shard::find_with`]).
    #[inline]
    pub(crate) fn lookup_with<Q, R>(
        &self,
        key: &Q,
        touch: bool,
        count_miss: bool,
        candidate: impl Fn(&Entry<K, V>),
        f: impl FnOnce(u32, &Entry<K, V>, &Shard<K, V>, u64) -> R,
    ) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let slot = self.slot(hash);
        let shard = slot.lock.read();
        let found = shard.find_with(hash, key, candidate).and_then(|i| Some((i, shard.slab.get(i)?)));
        let Some((i, e)) = found else {
            if count_miss {
                drop(shard);
                self.stats.add(Counter::Miss, 1);
            }
            return None;
        };
        let expiring = e.timed();
        let now = if self.read_clock || expiring { self.now() } else { 0 };
        if expiring && shard.deadline_of(i, e) <= now {
            drop(shard);
            if count_miss {
                self.stats.add(Counter::Miss, 1);
            }
            return None;
        }
        let mut drain = false;
        let mut needs_timer = None;
        if touch {
            if self.read_clock {
                needs_timer = self.touch_deadline(&shard, i, e, now);
            }
            drain = shard.policy.record_read(e, i, hash);
        }
        let r = f(i, e, &shard, now);
        drop(shard);
        if touch {
            self.stats.add(Counter::Hit, 1);
            if drain || needs_timer.is_some() {
                self.write_shard(hash, |s, _, _| {
                    s.policy.drain_reads(&mut s.slab);
                    if let Some(deadline) = needs_timer {
                        s.adopt_deadline(hash, key, deadline);
                    }
                });
            }
        }
        Some(r)
    }

    /// Applies time-to-idle and `Expiry::expire_after_read` to an entry being
    /// read. Returns the new deadline when the entry gained one it has no
    /// timer for (the caller then schedules it under the write lock).
    fn touch_deadline(&self, shard: &Shard<K, V>, i: u32, e: &Entry<K, V>, now: u64) -> Option<u64> {
        let node = shard.wheel.node(i).filter(|_| e.timed());
        let current = node.map_or(NEVER, |n| n.deadline());
        let mut new = node.map_or(NEVER, |n| n.hard_deadline);
        if let Some(p) = self.expiry.policy.as_ref().filter(|p| p.reads_matter()) {
            let left = (current != NEVER).then(|| Duration::from_millis(current.saturating_sub(now)));
            let written = node.map_or(now, |n| n.written_at);
            let ttl_part = self.expiry.ttl.map_or(NEVER, |t| written.saturating_add(t));
            new = match p.expire_after_read(&e.key, &e.value, left) {
                Some(d) => ttl_part.min(now.saturating_add(crate::time::ms_ceil(d))),
                None => ttl_part,
            };
        }
        if let Some(tti) = self.expiry.tti {
            new = new.min(now.saturating_add(tti));
        }
        match node {
            Some(n) => {
                if new != current {
                    n.deadline.store(new, Ordering::Relaxed);
                }
                None
            }
            None => (new != NEVER).then_some(new),
        }
    }

    /// Runs `f` on the shard of `hash` under its write lock, then delivers
    /// what it removed.
    pub(crate) fn write_shard<R>(
        &self,
        hash: u64,
        f: impl FnOnce(&mut Shard<K, V>, &Ctx<'_, K, V>, &mut Removed<K, V>) -> R,
    ) -> R {
        self.write_slot(self.slot(hash), f)
    }

    fn write_slot<R>(
        &self,
        slot: &Slot<K, V>,
        f: impl FnOnce(&mut Shard<K, V>, &Ctx<'_, K, V>, &mut Removed<K, V>) -> R,
    ) -> R {
        // A cache that has never seen a deadline does not need the time
        // (about 25 ns a read here): its writes record time 0, "unknown".
        let now = if self.timed.load(Ordering::Relaxed) { self.now() } else { 0 };
        self.write_slot_at(slot, now, f)
    }

    fn write_slot_at<R>(
        &self,
        slot: &Slot<K, V>,
        now: u64,
        f: impl FnOnce(&mut Shard<K, V>, &Ctx<'_, K, V>, &mut Removed<K, V>) -> R,
    ) -> R {
        let mut out = Removed::new();
        let hash_of = |k: &K| self.hasher.hash_one(k);
        let ctx = Ctx { now, expiry: &self.expiry, hash_of: &hash_of };
        let r = {
            let mut shard = slot.lock.write();
            let r = f(&mut shard, &ctx, &mut out);
            slot.publish(shard.len(), shard.weight, self.pool());
            r
        };
        self.deliver(out);
        r
    }

    /// Counts and hands removed entries to the listener (no lock held).
    pub(crate) fn deliver(&self, out: Removed<K, V>) {
        if out.is_empty() {
            return;
        }
        match &self.listener {
            Some(l) => {
                for (k, v, cause) in out {
                    self.count_removal(cause);
                    l(k, v, cause);
                }
            }
            None => {
                for (_, _, cause) in &out {
                    self.count_removal(*cause);
                }
            }
        }
    }

    fn count_removal(&self, cause: RemovalCause) {
        let c = match cause {
            RemovalCause::Expired => Counter::Expired,
            RemovalCause::Size => Counter::EvictedSize,
            RemovalCause::Explicit => Counter::Explicit,
            RemovalCause::Replaced => return,
        };
        self.stats.add(c, 1);
    }

    /// Inserts or replaces. Returns what happened.
    pub(crate) fn insert(&self, key: K, value: V, ttl: Ttl) -> Inserted {
        let hash = self.hash(&key);
        let weight = self.weigh(&key, &value);
        if matches!(ttl, Ttl::Fixed(_)) && !self.timed.load(Ordering::Relaxed) {
            self.timed.store(true, Ordering::Relaxed);
        }
        let r = self.write_shard(hash, |s, ctx, out| s.insert(ctx, hash, key, value, weight, ttl, out));
        match r {
            Inserted::New => self.stats.add(Counter::Insert, 1),
            Inserted::Updated => self.stats.add(Counter::Update, 1),
            Inserted::Rejected => {}
        }
        r
    }

    /// Atomic read-modify-write (see [`Shard::compute`]).
    pub(crate) fn compute(&self, key: K, f: impl FnOnce(Option<&V>) -> Op<V>) -> CompResult<V>
    where
        V: Clone,
    {
        let hash = self.hash(&key);
        let weigh = |k: &K, v: &V| self.weigh(k, v);
        let r = self.write_shard(hash, |s, ctx, out| s.compute(ctx, hash, key, &weigh, f, out));
        match &r {
            CompResult::Inserted(_) => self.stats.add(Counter::Insert, 1),
            CompResult::ReplacedWith(_) => self.stats.add(Counter::Update, 1),
            _ => {}
        }
        r
    }

    /// Removes `key`, returning the live entry that was there.
    pub(crate) fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        let hash = self.hash(key);
        let slot = self.slot(hash);
        let now = if self.timed.load(Ordering::Relaxed) { self.now() } else { 0 };
        // Take the removed entries out of the locked section ourselves, so the
        // value can be moved to the caller rather than cloned.
        let (removed, mut taken) =
            self.write_slot_at(slot, now, |s, _, out| (s.remove(hash, key, now, out), std::mem::take(out)));
        // The live entry is the one removed explicitly (an expired one does
        // not count). Without a listener its value moves out; with one, the
        // listener gets it and the caller a clone.
        let at = taken.iter().position(|(_, _, c)| *c == RemovalCause::Explicit).filter(|_| removed);
        let value = match (at, &self.listener) {
            (Some(i), None) => {
                let (_, v, cause) = taken.remove(i);
                self.count_removal(cause);
                Some(v)
            }
            (Some(i), Some(_)) => Some(taken[i].1.clone()),
            (None, _) => None,
        };
        self.deliver(taken);
        value
    }

    /// Drains read buffers, reclaims every expired entry and evicts down to
    /// the bound, shard by shard.
    pub(crate) fn run_pending_tasks(&self) {
        for slot in self.shards.iter().filter(|s| !s.is_empty()) {
            self.write_slot_at(slot, self.now(), |s, ctx, out| s.maintain(ctx, out));
        }
    }

    /// Removes entries for which `keep` is false.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        for slot in self.shards.iter() {
            self.write_slot(slot, |s, ctx, out| s.retain(ctx, &mut keep, out));
        }
    }

    /// Removes everything.
    pub(crate) fn clear(&self) {
        for slot in self.shards.iter() {
            self.write_slot(slot, |s, ctx, out| s.clear(ctx.now, out));
        }
    }

    /// Entries, counting expired ones not yet reclaimed.
    pub(crate) fn len(&self) -> u64 {
        self.shards.iter().map(|s| s.len.load(Ordering::Relaxed)).sum()
    }

    pub(crate) fn weighted_size(&self) -> u64 {
        self.shards.iter().map(|s| s.weight.load(Ordering::Relaxed)).sum()
    }

    /// From now on this engine's weight also counts in `pool`, a total
    /// other engines count into too (what it weighs now is added; it is
    /// taken out again when the engine is dropped). Once per engine, before
    /// it is shared or with every shard locked (nothing publishes while it
    /// joins): a second call is ignored.
    pub(crate) fn join_pool(&self, pool: Arc<AtomicU64>) {
        let weight = self.weighted_size();
        if self.pool.set(Pool { total: Arc::clone(&pool), own: AtomicU64::new(weight) }).is_ok() {
            pool.fetch_add(weight, Ordering::Relaxed);
        }
    }

    /// The pool's total, if the engine counts into one.
    pub(crate) fn pooled_size(&self) -> Option<u64> {
        self.pool.get().map(|p| p.total.load(Ordering::Relaxed))
    }

    /// This engine's part of its pool ([`Engine::weighted_size`] in one
    /// load), if it counts into one.
    pub(crate) fn pooled_own(&self) -> Option<u64> {
        self.pool.get().map(|p| p.own.load(Ordering::Relaxed))
    }

    pub(crate) fn max_weight(&self) -> u64 {
        self.max_weight.load(Ordering::Relaxed)
    }

    /// Changes the bound and evicts down to it at once.
    pub(crate) fn set_max_weight(&self, max: u64) {
        self.max_weight.store(max, Ordering::Relaxed);
        let n = self.shards.len();
        for (i, slot) in self.shards.iter().enumerate() {
            self.write_slot(slot, |s, ctx, out| {
                s.max_weight = share(max, n, i);
                if self.weigher.is_none() {
                    s.slab.set_limit(usize::try_from(s.max_weight).unwrap_or(usize::MAX));
                }
                s.evict(ctx, out);
            });
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        self.stats.snapshot(self.len(), self.weighted_size())
    }

    pub(crate) fn reset_stats(&self) {
        self.stats.reset();
    }

    pub(crate) fn count(&self, c: Counter, n: u64) {
        self.stats.add(c, n);
    }

    /// Calls `f` with each shard under its read lock, in order.
    pub(crate) fn for_each_shard(&self, mut f: impl FnMut(&Shard<K, V>)) {
        for slot in self.shards.iter() {
            f(&slot.lock.read());
        }
    }

    /// Visits every live entry with its deadline ([`slab::NEVER`]: none) and
    /// the time of the visit, shard by shard, a slice at a time: a slice
    /// runs under its shard's read lock and ends after `slice` entries, after
    /// `4 * slice` slots, or once `visit` returns `Ok(false)` (its buffer is
    /// full); `between` runs after each slice with no lock held. Entries are
    /// found by slab position, which is fixed for an entry's life: one
    /// present for the whole walk is visited once (snapshots).
    pub(crate) fn walk_live<T, E>(
        &self,
        state: &mut T,
        slice: usize,
        mut visit: impl FnMut(&mut T, &slab::Entry<K, V>, u64, u64) -> Result<bool, E>,
        mut between: impl FnMut(&mut T) -> Result<(), E>,
    ) -> Result<(), E> {
        let span = u32::try_from(slice.saturating_mul(4)).unwrap_or(u32::MAX);
        for slot in self.shards.iter() {
            let mut pos = 0u32;
            loop {
                let now = self.now();
                let (next, done) = {
                    let s = slot.lock.read();
                    let end = u32::try_from(s.slab.capacity()).unwrap_or(u32::MAX);
                    let stop = pos.saturating_add(span).min(end);
                    let (mut i, mut n, mut more) = (pos, 0, true);
                    while i < stop && n < slice && more {
                        if let Some(e) = s.slab.get(i)
                            && !s.is_expired(i, e, now)
                        {
                            more = visit(state, e, s.deadline_of(i, e), now)?;
                            n += 1;
                        }
                        i += 1;
                    }
                    (i, i >= end)
                };
                between(state)?;
                if done {
                    break;
                }
                pos = next;
            }
        }
        Ok(())
    }

    /// Calls `f` with shard `i` under its read lock, if it exists.
    pub(crate) fn with_shard<R>(&self, i: usize, f: impl FnOnce(&Shard<K, V>) -> R) -> Option<R> {
        self.shards.get(i).map(|slot| f(&slot.lock.read()))
    }

    /// Checks every shard's invariants (tests, fuzzing).
    #[cfg(any(test, fuzzing, debug_assertions))]
    pub(crate) fn validate(&self) {
        let hash_of = |k: &K| self.hasher.hash_one(k);
        let mut len = 0;
        for slot in self.shards.iter() {
            let s = slot.lock.read();
            s.validate(&hash_of);
            assert_eq!(slot.len.load(Ordering::Relaxed), s.len() as u64);
            len += s.len() as u64;
        }
        assert_eq!(len, self.len());
    }
}
