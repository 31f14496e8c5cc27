//! Direct access to a shard's entries, for a face that keeps its values in
//! place and may hold the write locks of several shards at once (the `Db`
//! keyspace): find the live entry of a key, change its weight, set or clear
//! its deadline, insert, remove, and evict one victim chosen by a
//! [`VictimRule`] (any entry, or only entries with a deadline, as Redis's
//! `allkeys-*` and `volatile-*` policies).
//!
//! [`Locked`] holds the write locks of a set of shards, taken in shard
//! order, so multi-key operations are atomic and never deadlock.

use super::evict::Policy;
use super::evict::lfu::next_random;
use super::shard::{Ctx, Shard};
use super::slab::{Entry, NEVER};
use super::{Engine, RemovalCause, Removed, Slot};
use smallvec::SmallVec;
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::Ordering;

/// Which entries may be evicted, and how the victim is picked among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VictimRule {
    /// The shard's policy picks among all entries.
    AnyEntry,
    /// Only entries with a deadline; the policy's order where it can be
    /// followed cheaply, else a sample ranked by the policy's counters.
    WithDeadline,
    /// Only entries with a deadline; the soonest to expire of a sample.
    SoonestDeadline,
}

/// Entries compared when a victim is chosen from a sample.
const SAMPLE: usize = 16;
/// Entries looked at from the cold end of an LRU list for one with a deadline.
const WALK: usize = 64;

impl<K: Hash + Eq, V> Shard<K, V> {
    /// Slab index of the live entry for `key`. An expired entry met on the
    /// way is removed (as expired) and `None` returned.
    pub(crate) fn find_live<Q>(&mut self, hash: u64, key: &Q, now: u64, out: &mut Removed<K, V>) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.find(hash, key)?;
        let e = self.slab.get(i)?;
        if self.is_expired(i, e, now) {
            self.remove_at(i, hash, RemovalCause::Expired, out);
            return None;
        }
        Some(i)
    }

    /// The live entry at `i`, for reading.
    pub(crate) fn entry(&self, i: u32) -> Option<&Entry<K, V>> {
        self.slab.get(i)
    }

    /// The value at `i`, for changing in place; call [`Shard::reweigh`]
    /// afterwards if its weight changed.
    pub(crate) fn value_mut(&mut self, i: u32) -> Option<&mut V> {
        self.slab.get_mut(i).map(|e| &mut e.value)
    }

    /// Records a write of entry `i` (an access for the policy) whose weight
    /// is now `weight`.
    pub(crate) fn reweigh(&mut self, i: u32, hash: u64, weight: u32) {
        self.policy.drain_reads(&mut self.slab);
        let Some(e) = self.slab.get_mut(i) else { return };
        let old = std::mem::replace(&mut e.weight, weight);
        self.weight = self.weight - u64::from(old) + u64::from(weight);
        self.policy.on_update(&mut self.slab, i, hash, old);
    }

    /// The deadline of entry `i` ([`NEVER`] if it has none).
    pub(crate) fn deadline_at(&self, i: u32) -> u64 {
        self.slab.get(i).map_or(NEVER, |e| self.deadline_of(i, e))
    }

    /// Sets (or with [`NEVER`], clears) the deadline of entry `i`.
    pub(crate) fn set_deadline(&mut self, i: u32, deadline: u64, now: u64) {
        if self.slab.get(i).is_some_and(|e| e.timed() || deadline != NEVER) {
            self.set_timer(i, deadline, deadline, now);
        }
    }

    /// Stores a new entry for `key`, which must not be in the shard (look it
    /// up with [`Shard::find_live`] first). Returns its index, or `None` when
    /// the shard is full (four billion entries).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert_new(
        &mut self,
        ctx: &Ctx<'_, K, V>,
        hash: u64,
        key: K,
        value: V,
        weight: u32,
        deadline: u64,
    ) -> Option<u32> {
        self.policy.drain_reads(&mut self.slab);
        self.make_room(ctx.hash_of);
        let i = self.slab.insert(Entry::new(key, value, weight))?;
        let slab = &self.slab;
        let hash_of = ctx.hash_of;
        self.table.insert_unique(hash, i, |&j| slab.get(j).map_or(0, |e| hash_of(&e.key)));
        self.adopt_new(i, hash, deadline, deadline, ctx.now);
        Some(i)
    }

    /// Makes room for `additional` more entries without rehashing (a bulk
    /// load knows how many keys each shard gets); a growth hashes the keys
    /// already in, in slab order (see [`Shard::make_room`]).
    pub(crate) fn reserve(&mut self, ctx: &Ctx<'_, K, V>, additional: usize) {
        if additional > self.table.capacity() - self.table.len() {
            self.grow_table(additional, ctx.hash_of);
        }
        self.slab.reserve(additional);
    }

    /// Reclaims expired entries that are due (amortised, as after a write).
    pub(crate) fn expire_some(&mut self, ctx: &Ctx<'_, K, V>, out: &mut Removed<K, V>) {
        self.expire(ctx, false, out);
    }

    /// Evicts one entry chosen by `rule`. Returns `false` when there is no
    /// eligible entry.
    pub(crate) fn evict_one(&mut self, ctx: &Ctx<'_, K, V>, rule: VictimRule, out: &mut Removed<K, V>) -> bool {
        self.policy.drain_reads(&mut self.slab);
        let victim = match rule {
            VictimRule::AnyEntry => {
                let max = self.weight.saturating_sub(1);
                match self.policy.victim(&mut self.slab, ctx.hash_of, max) {
                    Some((v, hash)) => {
                        let cause = self.cause_at(v, ctx.now);
                        self.forget(v, hash, cause, out);
                        return true;
                    }
                    None => None,
                }
            }
            VictimRule::WithDeadline => self.timed_victim(ctx, false),
            VictimRule::SoonestDeadline => self.timed_victim(ctx, true),
        };
        let Some(v) = victim else { return false };
        let Some(e) = self.slab.get(v) else { return false };
        let hash = (ctx.hash_of)(&e.key);
        let cause = self.cause_at(v, ctx.now);
        self.remove_at(v, hash, cause, out);
        true
    }

    fn cause_at(&self, i: u32, now: u64) -> RemovalCause {
        match self.slab.get(i) {
            Some(e) if self.is_expired(i, e, now) => RemovalCause::Expired,
            _ => RemovalCause::Size,
        }
    }

    /// Picks an entry with a deadline: the soonest of a sample, or by the
    /// policy's order.
    fn timed_victim(&self, ctx: &Ctx<'_, K, V>, soonest: bool) -> Option<u32> {
        if self.wheel.is_empty() {
            return None;
        }
        if !soonest && let Policy::Lru(p) = &self.policy {
            let found = p.list.iter(&self.slab).take(WALK).find(|&i| self.slab.get(i).is_some_and(|e| e.timed()));
            if found.is_some() {
                return found;
            }
        }
        let sample = self.sample_timed(SAMPLE);
        let rank = |i: &u32| -> u64 {
            let Some(e) = self.slab.get(*i) else { return u64::MAX };
            if soonest {
                return self.deadline_of(*i, e);
            }
            match &self.policy {
                Policy::Lfu(_) => u64::from(e.freq()),
                Policy::Adaptive(p) => u64::from(p.sketch.frequency((ctx.hash_of)(&e.key))),
                // LRU (past the walked prefix) and random: any sampled entry.
                _ => 0,
            }
        };
        sample.iter().copied().min_by_key(rank)
    }

    /// Up to `n` distinct entries with a deadline, picked at random.
    pub(crate) fn sample_timed(&self, n: usize) -> SmallVec<[u32; SAMPLE]> {
        let mut got: SmallVec<[u32; SAMPLE]> = SmallVec::new();
        let span = self.slab.capacity();
        if span == 0 || self.wheel.is_empty() {
            return got;
        }
        let timed = self.wheel.active().max(1);
        // Expected probes per hit is `span / timed`; bound the total.
        let budget = (n * 4).saturating_mul(span / timed + 1).min(4096);
        for _ in 0..budget {
            let i = (next_random() % span as u64) as u32;
            if self.slab.get(i).is_some_and(|e| e.timed()) && !got.contains(&i) {
                got.push(i);
                if got.len() == n {
                    return got;
                }
            }
        }
        if got.is_empty() {
            // Few entries have deadlines: walk from a random point.
            let start = (next_random() % span as u64) as usize;
            for k in 0..span {
                let i = ((start + k) % span) as u32;
                if self.slab.get(i).is_some_and(|e| e.timed()) {
                    got.push(i);
                    if got.len() == n {
                        break;
                    }
                }
            }
        }
        got
    }

    /// A random live entry (a uniform sample of the slab's slots).
    pub(crate) fn random_entry(&self) -> Option<u32> {
        let span = self.slab.capacity();
        if self.len() == 0 {
            return None;
        }
        for _ in 0..64 {
            let i = (next_random() % span as u64) as u32;
            if self.slab.get(i).is_some() {
                return Some(i);
            }
        }
        self.slab.iter().next().map(|(i, _)| i)
    }
}

/// A shard's write guard.
type WriteGuard<'a, K, V> = lock_api::RwLockWriteGuard<'a, super::lock::StripedRawLock, Shard<K, V>>;

/// The write locks of a set of shards, taken in shard order.
pub(crate) struct Locked<'a, K, V, S> {
    engine: &'a Engine<K, V, S>,
    /// `(shard index, guard)`, sorted by index.
    guards: SmallVec<[(usize, WriteGuard<'a, K, V>); 2]>,
    pub(crate) now: u64,
    pub(crate) out: Removed<K, V>,
}

impl<K, V, S> Engine<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    /// Index of the shard that holds `hash`.
    pub(crate) fn shard_of(&self, hash: u64) -> usize {
        ((((hash >> 20) & 0xFFFF_FFFF) * self.count) >> 32) as usize
    }

    /// Takes the write locks of the shards of `hashes` (each once, in shard
    /// order, so two callers never wait on each other in a cycle).
    pub(crate) fn lock(&self, hashes: &[u64]) -> Locked<'_, K, V, S> {
        if let [hash] = hashes {
            return self.lock_indices(&[self.shard_of(*hash)]);
        }
        let mut idx: SmallVec<[usize; 4]> = hashes.iter().map(|&h| self.shard_of(h)).collect();
        idx.sort_unstable();
        idx.dedup();
        self.lock_indices(&idx)
    }

    /// Takes the write locks of shards `idx` (sorted, distinct).
    pub(crate) fn lock_indices(&self, idx: &[usize]) -> Locked<'_, K, V, S> {
        if !self.timed.load(Ordering::Relaxed) {
            self.timed.store(true, Ordering::Relaxed);
        }
        // Pushed one by one: most commands lock one shard, and collecting
        // from an iterator costs more than the push.
        let mut guards = SmallVec::new();
        for &i in idx {
            if let Some(slot) = self.shards.get(i) {
                guards.push((i, slot.lock.write()));
            }
        }
        Locked { engine: self, guards, now: self.now(), out: Removed::new() }
    }
}

impl<K, V, S> Locked<'_, K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    /// Runs `f` on the locked shard holding `hash`, with the context for
    /// writing to it. `None` if that shard was not locked (a caller's bug,
    /// reported as an absent key rather than a panic).
    pub(crate) fn with_shard<R>(
        &mut self,
        hash: u64,
        f: impl FnOnce(&mut Shard<K, V>, &Ctx<'_, K, V>, &mut Removed<K, V>) -> R,
    ) -> Option<R> {
        let want = self.engine.shard_of(hash);
        let at = self.guards.binary_search_by_key(&want, |(i, _)| *i).ok()?;
        let engine = self.engine;
        let hash_of = |k: &K| engine.hasher.hash_one(k);
        let ctx = Ctx { now: self.now, expiry: &engine.expiry, hash_of: &hash_of };
        Some(f(&mut self.guards[at].1, &ctx, &mut self.out))
    }

    /// Runs `f` on each locked shard in order.
    pub(crate) fn for_each(&mut self, mut f: impl FnMut(&mut Shard<K, V>, &Ctx<'_, K, V>, &mut Removed<K, V>)) {
        self.for_each_indexed(|_, shard, ctx, out| f(shard, ctx, out));
    }

    /// [`Locked::for_each`], also passing each shard's index.
    pub(crate) fn for_each_indexed(
        &mut self,
        mut f: impl FnMut(usize, &mut Shard<K, V>, &Ctx<'_, K, V>, &mut Removed<K, V>),
    ) {
        let engine = self.engine;
        let hash_of = |k: &K| engine.hasher.hash_one(k);
        let ctx = Ctx { now: self.now, expiry: &engine.expiry, hash_of: &hash_of };
        for (i, g) in self.guards.iter_mut() {
            f(*i, g, &ctx, &mut self.out);
        }
    }

    /// Runs `f` on every locked shard with its item of `items` (indexed by
    /// shard; missing items are skipped), spreading the shards over up to
    /// `threads` scoped threads, each shard on one of them. For bulk work
    /// under locks already held (loading a snapshot).
    pub(crate) fn par_each<T: Send>(
        &mut self,
        threads: usize,
        items: Vec<T>,
        f: impl Fn(T, &mut Shard<K, V>, &Ctx<'_, K, V>, &mut Removed<K, V>) + Sync,
    ) where
        K: Send + Sync,
        V: Send + Sync,
        S: Sync,
    {
        let engine = self.engine;
        let now = self.now;
        let mut items: Vec<Option<T>> = items.into_iter().map(Some).collect();
        let mut work: Vec<(T, &mut Shard<K, V>)> = Vec::with_capacity(self.guards.len());
        for (i, g) in self.guards.iter_mut() {
            if let Some(item) = items.get_mut(*i).and_then(Option::take) {
                work.push((item, &mut **g));
            }
        }
        let per = work.len().div_ceil(threads.max(1)).max(1);
        let f = &f;
        let outs: Vec<Removed<K, V>> = std::thread::scope(|scope| {
            let mut handles = Vec::new();
            while !work.is_empty() {
                let chunk: Vec<_> = work.drain(..per.min(work.len())).collect();
                handles.push(scope.spawn(move || {
                    let hash_of = |k: &K| engine.hasher.hash_one(k);
                    let ctx = Ctx { now, expiry: &engine.expiry, hash_of: &hash_of };
                    let mut out = Removed::new();
                    for (item, shard) in chunk {
                        f(item, shard, &ctx, &mut out);
                    }
                    out
                }));
            }
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        for out in outs {
            self.out.extend(out);
        }
    }

    /// Releases the locks and returns what was removed under them, if
    /// anything, for the caller to deliver (or drop). Nothing is locked
    /// afterwards. In place, and the list (large to move) is moved out
    /// only when not empty: most writes remove nothing.
    pub(crate) fn finish(&mut self) -> Option<Removed<K, V>> {
        self.release();
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }
}

impl<K, V, S> Locked<'_, K, V, S> {
    /// Publishes the shards' sizes and unlocks them.
    fn release(&mut self) {
        for (i, g) in self.guards.drain(..) {
            if let Some(slot) = self.engine.shards.get(i) {
                let slot: &Slot<K, V> = slot;
                slot.publish(g.slab.len(), g.weight, self.engine.pool());
            }
        }
    }
}

impl<K, V, S> Drop for Locked<'_, K, V, S> {
    fn drop(&mut self) {
        self.release();
    }
}
