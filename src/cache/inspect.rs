//! Looking inside the policy: hottest and coldest entries, entries next to
//! expire, and one entry's age, remaining time-to-live and frequency (after
//! Caffeine's `Cache.policy()`).

use super::Cache;
use crate::engine::slab::NEVER;
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::time::Duration;

/// Facts about one entry ([`Cache::entry_info`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryInfo {
    /// Time since the entry was last written. Known for entries that have a
    /// deadline (a time-to-live or time-to-idle of the cache, an expiry
    /// policy's, or their own): only those keep a write time, so that a cache
    /// without expiry spends neither a clock read nor memory on it.
    pub age: Option<Duration>,
    /// Time until it expires, if it has a deadline.
    pub time_to_live: Option<Duration>,
    /// Its weight (1 without a weigher).
    pub weight: u32,
    /// The policy's estimate of how often it is used (sketch count for the
    /// adaptive policy, logarithmic counter for LFU).
    pub frequency: u32,
}

/// A view of the eviction and expiry order ([`Cache::policy`]).
///
/// Each shard keeps its own order; the views interleave the shards' orders,
/// so they are exact within a shard and approximate across shards. Every
/// method is O(entries): meant for inspection and debugging, not hot paths.
pub struct PolicyView<'a, K, V, S> {
    cache: &'a Cache<K, V, S>,
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    /// Inspects the eviction policy and the expiry order.
    pub fn policy(&self) -> PolicyView<'_, K, V, S> {
        PolicyView { cache: self }
    }

    /// Age, remaining time-to-live, weight and frequency of `key`, without
    /// touching it.
    pub fn entry_info<Q>(&self, key: &Q) -> Option<EntryInfo>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let engine = &self.inner.engine;
        let hash = engine.hash(key);
        let now = engine.now();
        engine.read(key, false, |i, e, shard, _| {
            let deadline = shard.deadline_of(i, e);
            EntryInfo {
                age: shard.written_at(i, e).map(|t| Duration::from_millis(now.saturating_sub(t))),
                time_to_live: (deadline != NEVER).then(|| Duration::from_millis(deadline.saturating_sub(now))),
                weight: e.weight,
                frequency: shard.policy.frequency(e, hash),
            }
        })
    }
}

impl<K, V, S> PolicyView<'_, K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    /// Up to `n` entries the policy would evict first, first first.
    pub fn coldest(&self, n: usize) -> Vec<(K, V)> {
        self.ordered(n, false)
    }

    /// Up to `n` entries the policy would evict last, hottest first.
    pub fn hottest(&self, n: usize) -> Vec<(K, V)> {
        self.ordered(n, true)
    }

    fn ordered(&self, n: usize, hottest: bool) -> Vec<(K, V)> {
        let engine = &self.cache.inner.engine;
        let now = engine.now();
        let mut per_shard: Vec<std::vec::IntoIter<(K, V)>> = Vec::new();
        engine.for_each_shard(|s| {
            let hash_of = |k: &K| engine.hash(k);
            let mut order = s.policy.coldest_first(&s.slab, &hash_of);
            if hottest {
                order.reverse();
            }
            let v: Vec<(K, V)> = order
                .into_iter()
                .filter_map(|i| s.slab.get(i).filter(|e| !s.is_expired(i, e, now)))
                .take(n)
                .map(|e| (e.key.clone(), e.value.clone()))
                .collect();
            per_shard.push(v.into_iter());
        });
        // Round-robin over shards.
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let before = out.len();
            for it in per_shard.iter_mut() {
                if out.len() == n {
                    break;
                }
                if let Some(x) = it.next() {
                    out.push(x);
                }
            }
            if out.len() == before {
                break;
            }
        }
        out
    }

    /// Up to `n` entries closest to their deadline, soonest first, with the
    /// time each has left.
    pub fn next_to_expire(&self, n: usize) -> Vec<(K, V, Duration)> {
        let engine = &self.cache.inner.engine;
        let now = engine.now();
        let mut all: Vec<(u64, K, V)> = Vec::new();
        engine.for_each_shard(|s| {
            all.extend(
                s.slab
                    .iter()
                    .map(|(i, e)| (s.deadline_of(i, e), e))
                    .filter(|&(d, _)| d != NEVER && d > now)
                    .map(|(d, e)| (d, e.key.clone(), e.value.clone())),
            );
        });
        all.sort_by_key(|x| x.0);
        all.into_iter().take(n).map(|(d, k, v)| (k, v, Duration::from_millis(d - now))).collect()
    }
}
