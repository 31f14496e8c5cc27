//! One shard: a `hashbrown` table of slab indices, the slab of entries, the
//! eviction policy and the timing wheel, all behind one lock.
//!
//! Every operation takes the key's `hash`, computed once by the caller. The
//! table stores only `u32` slab indices; on growth it rehashes by hashing
//! keys again with the cache's hasher (`hash_of`), so entries do not spend
//! eight bytes on a stored hash.
//!
//! Invariants (checked by [`Shard::validate`]): the table and the slab hold
//! the same entries; every entry is in exactly one policy list; the shard's
//! weight is the sum of its entries' weights and, after every write, at most
//! `max_weight`; an entry is timed exactly when its timer node is in use.

use super::evict::Policy;
use super::expire::Expiry;
use super::expire::wheel::Wheel;
use super::home::Home;
use super::slab::{Entry, NEVER, Slab, TIMED};
use super::{CompResult, Op, RemovalCause, Removed};
use crate::time::ms_ceil;
use hashbrown::{HashTable, hash_table};
use std::borrow::Borrow;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

/// Cache-wide expiry settings, in milliseconds.
pub(crate) struct ExpiryConfig<K, V> {
    pub(crate) ttl: Option<u64>,
    pub(crate) tti: Option<u64>,
    pub(crate) policy: Option<Arc<dyn Expiry<K, V>>>,
}

impl<K, V> ExpiryConfig<K, V> {
    /// Whether lookups must read the clock even for entries without a
    /// deadline of their own (time-to-idle, read-driven expiry).
    pub(crate) fn reads_move_deadlines(&self) -> bool {
        self.tti.is_some() || self.policy.as_ref().is_some_and(|p| p.reads_matter())
    }
}

/// What a write needs to know besides its arguments.
pub(crate) struct Ctx<'a, K, V> {
    pub(crate) now: u64,
    pub(crate) expiry: &'a ExpiryConfig<K, V>,
    pub(crate) hash_of: &'a dyn Fn(&K) -> u64,
}

/// How a write chooses an entry's own time-to-live.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ttl {
    /// Ask the cache's [`Expiry`] policy, if any.
    Policy,
    /// This many milliseconds from now.
    Fixed(u64),
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inserted {
    New,
    Updated,
    Rejected,
}

#[derive(Debug)]
pub(crate) struct Shard<K, V> {
    pub(super) table: HashTable<u32>,
    /// The table's layout for prefetching its lines (relearned whenever
    /// the table is reserved into).
    pub(super) home: Home,
    pub(crate) slab: Slab<K, V>,
    pub(crate) policy: Policy,
    pub(crate) wheel: Wheel,
    pub(crate) weight: u64,
    pub(crate) max_weight: u64,
    scratch: Vec<u32>,
}

fn remaining(deadline: u64, now: u64) -> Option<Duration> {
    (deadline != NEVER).then(|| Duration::from_millis(deadline.saturating_sub(now)))
}

impl<K: Hash + Eq, V> Shard<K, V> {
    pub(crate) fn new(policy: Policy, max_weight: u64, now: u64) -> Self {
        Shard {
            table: HashTable::new(),
            home: Home::default(),
            slab: Slab::new(),
            policy,
            wheel: Wheel::new(now),
            weight: 0,
            max_weight,
            scratch: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    /// Grows the table now if it is full, so that the insert that follows
    /// does not: with every entry's hash computed first, in one pass over
    /// the slab in index order, rather than entry by entry in the table's
    /// order. The table keeps no hash (see the module's documentation), so
    /// a growth hashes every key again; in the table's order each is two
    /// dependent misses (the entry, then its key), a stall of milliseconds
    /// under the shard's lock once the shard outgrows the caches, while the
    /// slab's order streams the entries and leaves the keys' loads
    /// independent. The pass's `u64` per slot lives only for the growth.
    /// The table's [`Home`] is learned again after a growth, and here
    /// until it is known (a table reserved while empty).
    pub(crate) fn make_room(&mut self, hash_of: &dyn Fn(&K) -> u64) {
        if self.table.len() < self.table.capacity() {
            if !self.home.is_known() {
                self.home = Home::learn(&self.table);
            }
            return;
        }
        self.grow_table(1, hash_of);
    }

    /// Reserves room in the table for `additional` more entries, rehashing
    /// from hashes computed in slab order (see [`Shard::make_room`]), and
    /// learns the table's [`Home`] again: every growth goes through here.
    pub(super) fn grow_table(&mut self, additional: usize, hash_of: &dyn Fn(&K) -> u64) {
        let hashes = self.slab.hashes(hash_of);
        self.table.reserve(additional, |&j| hashes.get(j as usize).copied().unwrap_or(0));
        self.home = Home::learn(&self.table);
    }

    /// Slab index of `key`, expired or not.
    #[inline]
    pub(crate) fn find<Q>(&self, hash: u64, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find_with(hash, key, |_| {})
    }

    /// [`find`](Self::find), calling `candidate` on each entry whose tag
    /// matches, before its key is compared: a lookup that goes on to read
    /// the value prefetches it there, so that the key's miss and the
    /// value's overlap instead of following one another. The table's two
    /// lines are requested together first ([`Home::warm`]).
    #[inline]
    pub(crate) fn find_with<Q>(&self, hash: u64, key: &Q, candidate: impl Fn(&Entry<K, V>)) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.home.warm(&self.table, hash);
        let slab = &self.slab;
        let matches = |e: &Entry<K, V>| {
            candidate(e);
            e.key.borrow() == key
        };
        self.table.find(hash, |&i| slab.get(i).is_some_and(matches)).copied()
    }

    /// The entry's deadline, or [`NEVER`].
    #[inline]
    pub(crate) fn deadline_of(&self, i: u32, e: &Entry<K, V>) -> u64 {
        if e.timed() { self.wheel.node(i).map_or(NEVER, |n| n.deadline()) } else { NEVER }
    }

    /// Whether the entry's deadline has passed at `now`.
    #[inline]
    pub(crate) fn is_expired(&self, i: u32, e: &Entry<K, V>, now: u64) -> bool {
        e.timed() && self.deadline_of(i, e) <= now
    }

    /// Clock ms of the entry's last write, if it is timed (untimed entries
    /// keep no time).
    pub(crate) fn written_at(&self, i: u32, e: &Entry<K, V>) -> Option<u64> {
        if e.timed() { self.wheel.node(i).map(|n| n.written_at).filter(|&t| t != 0) } else { None }
    }

    /// Computes `(hard, soft)` deadlines for a write of `key`/`value`;
    /// `previous` is the old deadline when this replaces a live entry.
    fn deadlines(ctx: &Ctx<'_, K, V>, key: &K, value: &V, ttl: Ttl, previous: Option<u64>) -> (u64, u64) {
        let now = ctx.now;
        let cfg = ctx.expiry;
        let mut hard = cfg.ttl.map_or(NEVER, |t| now.saturating_add(t));
        let own = match (ttl, &cfg.policy, previous) {
            (Ttl::Fixed(ms), _, _) => Some(ms),
            (Ttl::Policy, Some(p), None) => p.expire_after_create(key, value).map(ms_ceil),
            (Ttl::Policy, Some(p), Some(d)) => p.expire_after_update(key, value, remaining(d, now)).map(ms_ceil),
            (Ttl::Policy, None, _) => None,
        };
        if let Some(ms) = own {
            hard = hard.min(now.saturating_add(ms));
        }
        let soft = cfg.tti.map_or(hard, |t| hard.min(now.saturating_add(t)));
        (hard, soft)
    }

    pub(super) fn set_timer(&mut self, i: u32, hard: u64, soft: u64, now: u64) {
        let Some(e) = self.slab.get_mut(i) else { return };
        let timed = e.timed();
        if soft == NEVER {
            if timed {
                e.flags &= !TIMED;
                self.wheel.remove(i);
            }
        } else if timed {
            if let Some(node) = self.wheel.node_mut(i) {
                node.hard_deadline = hard;
                node.written_at = now;
                *node.deadline.get_mut() = soft;
            }
            self.wheel.reschedule(i, soft);
        } else {
            e.flags |= TIMED;
            self.wheel.insert(i, soft, hard, now);
        }
    }

    /// Inserts or replaces `key`, then evicts down to the bound.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert(
        &mut self,
        ctx: &Ctx<'_, K, V>,
        hash: u64,
        key: K,
        value: V,
        weight: u32,
        ttl: Ttl,
        out: &mut Removed<K, V>,
    ) -> Inserted {
        self.policy.drain_reads(&mut self.slab);
        if u64::from(weight) > self.max_weight {
            // Heavier than the whole shard: it could never stay.
            if let Some(i) = self.find(hash, &key) {
                let expired = self.slab.get(i).is_some_and(|e| self.is_expired(i, e, ctx.now));
                let cause = if expired { RemovalCause::Expired } else { RemovalCause::Replaced };
                self.remove_at(i, hash, cause, out);
            }
            out.push((key, value, RemovalCause::Size));
            return Inserted::Rejected;
        }
        self.make_room(ctx.hash_of);
        // One probe finds the entry or the free bucket for it.
        let slab = &self.slab;
        let hash_of = ctx.hash_of;
        let bucket = self.table.entry(
            hash,
            |&i| slab.get(i).is_some_and(|e| e.key == key),
            |&j| slab.get(j).map_or(0, |e| hash_of(&e.key)),
        );
        let result = match bucket {
            hash_table::Entry::Vacant(v) => {
                let (hard, soft) = Self::deadlines(ctx, &key, &value, ttl, None);
                let Some(i) = self.slab.insert(Entry::new(key, value, weight)) else {
                    return Inserted::Rejected;
                };
                v.insert(i);
                self.adopt_new(i, hash, hard, soft, ctx.now)
            }
            hash_table::Entry::Occupied(o) => {
                let i = *o.get();
                let previous = self.slab.get(i).map_or(NEVER, |e| self.deadline_of(i, e));
                if previous <= ctx.now {
                    // Expired: the old entry goes as expired, the new one
                    // starts afresh.
                    self.remove_at(i, hash, RemovalCause::Expired, out);
                    let (hard, soft) = Self::deadlines(ctx, &key, &value, ttl, None);
                    let Some(i) = self.slab.insert(Entry::new(key, value, weight)) else {
                        return Inserted::Rejected;
                    };
                    let slab = &self.slab;
                    self.table.insert_unique(hash, i, |&j| slab.get(j).map_or(0, |e| hash_of(&e.key)));
                    self.adopt_new(i, hash, hard, soft, ctx.now)
                } else {
                    let (hard, soft) = Self::deadlines(ctx, &key, &value, ttl, Some(previous));
                    let Some(e) = self.slab.get_mut(i) else { return Inserted::Rejected };
                    let old_weight = std::mem::replace(&mut e.weight, weight);
                    let old_value = std::mem::replace(&mut e.value, value);
                    self.weight = self.weight - u64::from(old_weight) + u64::from(weight);
                    if e.timed() || soft != NEVER {
                        self.set_timer(i, hard, soft, ctx.now);
                    }
                    self.policy.on_update(&mut self.slab, i, hash, old_weight);
                    out.push((key, old_value, RemovalCause::Replaced));
                    if weight <= old_weight {
                        // Nothing grew: no rebalancing or eviction to do.
                        self.expire(ctx, false, out);
                        return Inserted::Updated;
                    }
                    Inserted::Updated
                }
            }
        };
        self.policy.rebalance(&mut self.slab, self.max_weight);
        self.evict(ctx, out);
        self.expire(ctx, false, out);
        result
    }

    /// Accounts for a new entry `i`, already in the slab and the table.
    pub(super) fn adopt_new(&mut self, i: u32, hash: u64, hard: u64, soft: u64, now: u64) -> Inserted {
        if let Some(e) = self.slab.get(i) {
            self.weight += u64::from(e.weight);
        }
        if soft != NEVER {
            self.set_timer(i, hard, soft, now);
        }
        self.policy.on_insert(&mut self.slab, i, hash);
        Inserted::New
    }

    /// Gives a timer to an entry that gained a deadline on a read.
    pub(crate) fn adopt_deadline<Q>(&mut self, hash: u64, key: &Q, deadline: u64)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(i) = self.find(hash, key) else { return };
        if self.slab.get(i).is_some_and(|e| !e.timed()) {
            self.set_timer(i, NEVER, deadline, 0);
        }
    }

    /// Atomic read-modify-write of `key`: `f` sees the live value (if any)
    /// and says what to do, all under the write lock.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn compute(
        &mut self,
        ctx: &Ctx<'_, K, V>,
        hash: u64,
        key: K,
        weigh: &dyn Fn(&K, &V) -> u32,
        f: impl FnOnce(Option<&V>) -> Op<V>,
        out: &mut Removed<K, V>,
    ) -> CompResult<V>
    where
        V: Clone,
    {
        self.policy.drain_reads(&mut self.slab);
        let mut found = self.find(hash, &key);
        if let Some(i) = found
            && self.slab.get(i).is_some_and(|e| self.is_expired(i, e, ctx.now))
        {
            self.remove_at(i, hash, RemovalCause::Expired, out);
            found = None;
        }
        let current = found.and_then(|i| self.slab.get(i)).map(|e| &e.value);
        match f(current) {
            Op::Nop => match found.and_then(|i| self.slab.get(i)) {
                Some(e) => CompResult::Unchanged(e.value.clone()),
                None => CompResult::StillNone,
            },
            Op::Put(v) => {
                let weight = weigh(&key, &v);
                let kept = v.clone();
                match self.insert(ctx, hash, key, v, weight, Ttl::Policy, out) {
                    Inserted::New => CompResult::Inserted(kept),
                    Inserted::Updated => CompResult::ReplacedWith(kept),
                    Inserted::Rejected => CompResult::StillNone,
                }
            }
            Op::Remove => match found {
                Some(i) => {
                    self.remove_at(i, hash, RemovalCause::Explicit, out);
                    match out.last() {
                        Some((_, v, RemovalCause::Explicit)) => CompResult::Removed(v.clone()),
                        _ => CompResult::StillNone,
                    }
                }
                None => CompResult::StillNone,
            },
        }
    }

    /// Evicts until the shard is within its bound.
    pub(crate) fn evict(&mut self, ctx: &Ctx<'_, K, V>, out: &mut Removed<K, V>) {
        while self.weight > self.max_weight {
            let Some((v, hash)) = self.policy.victim(&mut self.slab, ctx.hash_of, self.max_weight) else {
                break;
            };
            let Some(e) = self.slab.get(v) else { break };
            let cause = if self.is_expired(v, e, ctx.now) { RemovalCause::Expired } else { RemovalCause::Size };
            self.forget(v, hash, cause, out);
        }
    }

    /// Removes entry `i` (which has hash `hash`) from the policy and
    /// everything else.
    pub(crate) fn remove_at(&mut self, i: u32, hash: u64, cause: RemovalCause, out: &mut Removed<K, V>) {
        self.policy.on_remove(&mut self.slab, i);
        self.forget(i, hash, cause, out);
    }

    /// Removes entry `i`, already unlinked from the policy, from the table,
    /// the wheel and the slab.
    pub(super) fn forget(&mut self, i: u32, hash: u64, cause: RemovalCause, out: &mut Removed<K, V>) {
        if let Ok(found) = self.table.find_entry(hash, |&j| j == i) {
            found.remove();
        }
        if let Some(e) = self.slab.remove(i) {
            if e.timed() {
                self.wheel.remove(i);
            }
            self.weight -= u64::from(e.weight);
            out.push((e.key, e.value, cause));
        }
    }

    /// Removes `key`. Returns whether a live entry was removed; an expired
    /// one is removed as expired.
    pub(crate) fn remove<Q>(&mut self, hash: u64, key: &Q, now: u64, out: &mut Removed<K, V>) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.policy.drain_reads(&mut self.slab);
        let Some(i) = self.find(hash, key) else { return false };
        let expired = self.slab.get(i).is_some_and(|e| self.is_expired(i, e, now));
        let cause = if expired { RemovalCause::Expired } else { RemovalCause::Explicit };
        self.remove_at(i, hash, cause, out);
        !expired
    }

    /// Reclaims expired entries the wheel says are due. `precise`: see
    /// [`Wheel::advance`].
    #[inline]
    pub(crate) fn expire(&mut self, ctx: &Ctx<'_, K, V>, precise: bool, out: &mut Removed<K, V>) {
        if !self.wheel.is_empty() {
            self.expire_due(ctx, precise, out);
        }
    }

    fn expire_due(&mut self, ctx: &Ctx<'_, K, V>, precise: bool, out: &mut Removed<K, V>) {
        let now = ctx.now;
        let mut due = std::mem::take(&mut self.scratch);
        self.wheel.advance(now, precise, &mut due);
        for &i in &due {
            match self.slab.get(i) {
                Some(e) if e.timed() => {
                    let deadline = self.deadline_of(i, e);
                    if deadline <= now {
                        let hash = (ctx.hash_of)(&e.key);
                        // `remove_at` cancels the (detached) timer through the entry.
                        self.remove_at(i, hash, RemovalCause::Expired, out);
                    } else {
                        self.wheel.reschedule(i, deadline);
                    }
                }
                // A timer of an entry that is gone is cancelled with it.
                _ => {}
            }
        }
        due.clear();
        self.scratch = due;
    }

    /// Applies buffered reads, reclaims expired entries precisely and evicts
    /// down to the bound.
    pub(crate) fn maintain(&mut self, ctx: &Ctx<'_, K, V>, out: &mut Removed<K, V>) {
        self.policy.drain_reads(&mut self.slab);
        self.expire(ctx, true, out);
        self.evict(ctx, out);
    }

    /// Removes every entry for which `keep` returns false (and every expired one).
    pub(crate) fn retain(
        &mut self,
        ctx: &Ctx<'_, K, V>,
        keep: &mut dyn FnMut(&K, &V) -> bool,
        out: &mut Removed<K, V>,
    ) {
        let doomed: Vec<(u32, RemovalCause)> = self
            .slab
            .iter()
            .filter_map(|(i, e)| {
                if self.is_expired(i, e, ctx.now) {
                    Some((i, RemovalCause::Expired))
                } else if keep(&e.key, &e.value) {
                    None
                } else {
                    Some((i, RemovalCause::Explicit))
                }
            })
            .collect();
        for (i, cause) in doomed {
            if let Some(e) = self.slab.get(i) {
                let hash = (ctx.hash_of)(&e.key);
                self.remove_at(i, hash, cause, out);
            }
        }
    }

    /// Removes everything.
    pub(crate) fn clear(&mut self, now: u64, out: &mut Removed<K, V>) {
        let expired: Vec<bool> = self.slab.iter().map(|(i, e)| self.is_expired(i, e, now)).collect();
        self.table.clear();
        self.wheel.clear();
        self.policy.clear();
        self.weight = 0;
        for (e, expired) in self.slab.drain().into_iter().zip(expired) {
            let cause = if expired { RemovalCause::Expired } else { RemovalCause::Explicit };
            out.push((e.key, e.value, cause));
        }
    }

    /// Checks every invariant listed in the module docs (tests, fuzzing).
    #[cfg(any(test, fuzzing, debug_assertions))]
    pub(crate) fn validate(&self, hash_of: &dyn Fn(&K) -> u64) {
        assert_eq!(self.table.len(), self.slab.len(), "table and slab disagree");
        // Known from the second insert on, and relearned on every growth.
        if self.table.len() > 1 {
            assert!(self.home.is_known(), "the table's home was never learned");
        }
        if !self.table.is_empty() && self.home.is_known() {
            assert_eq!(self.home, Home::learn(&self.table), "the table's home is stale");
        }
        let mut weight = 0u64;
        for (i, e) in self.slab.iter() {
            assert_eq!(self.find(hash_of(&e.key), &e.key), Some(i), "entry not found by its key");
            weight += u64::from(e.weight);
            if e.timed() {
                assert!(self.wheel.node(i).is_some(), "timed entry without a timer node");
            }
        }
        assert_eq!(weight, self.weight, "shard weight");
        assert!(self.weight <= self.max_weight, "over the bound after a write");
        assert_eq!(self.wheel.len(), self.slab.iter().filter(|(_, e)| e.timed()).count(), "one timer per deadline");
        self.policy.validate(&self.slab);
        self.wheel.validate();
    }
}
