//! Counters that are cheap enough to leave on: each thread adds to its own
//! cache-line-padded stripe, and a snapshot sums the stripes.

use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Stripes per cache: a power of two, more than the threads we expect to
/// run hot at once on the machines we target.
pub(crate) const STRIPES: usize = 16;

/// One counter of [`Stats`].
#[derive(Debug, Clone, Copy)]
#[repr(usize)]
pub(crate) enum Counter {
    Hit,
    Miss,
    Insert,
    Update,
    EvictedSize,
    Expired,
    Explicit,
    LoadSuccess,
    LoadFailure,
    LoadNanos,
}
const COUNTERS: usize = Counter::LoadNanos as usize + 1;

/// This thread's stripe.
#[inline]
pub(crate) fn stripe() -> usize {
    crate::sync::thread_index() % STRIPES
}

/// `N` counters, striped: each thread adds to its own cache-line-padded
/// stripe, a read sums them.
#[derive(Debug)]
pub(crate) struct Striped<const N: usize> {
    stripes: Box<[CachePadded<[AtomicU64; N]>]>,
}

impl<const N: usize> Default for Striped<N> {
    fn default() -> Self {
        Striped {
            stripes: (0..STRIPES).map(|_| CachePadded::new(std::array::from_fn(|_| AtomicU64::new(0)))).collect(),
        }
    }
}

impl<const N: usize> Striped<N> {
    #[inline]
    pub(crate) fn add(&self, i: usize, n: u64) {
        if let Some(c) = self.stripes[stripe()].get(i) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Adds each non-zero count to its counter and zeroes it: one stripe
    /// lookup for all of them.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn drain_from(&self, counts: &mut [u64; N]) {
        let Some(stripe) = self.stripes.get(stripe()) else { return };
        for (c, n) in stripe.iter().zip(counts.iter_mut()) {
            if *n != 0 {
                c.fetch_add(std::mem::take(n), Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn get(&self, i: usize) -> u64 {
        self.stripes.iter().filter_map(|s| s.get(i)).map(|c| c.load(Ordering::Relaxed)).sum()
    }

    pub(crate) fn reset(&self) {
        for s in self.stripes.iter() {
            for c in s.iter() {
                c.store(0, Ordering::Relaxed);
            }
        }
    }

    /// Zeroes counter `i` on every stripe.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn zero(&self, i: usize) {
        for s in self.stripes.iter() {
            if let Some(c) = s.get(i) {
                c.store(0, Ordering::Relaxed);
            }
        }
    }
}

/// Striped counters of one cache.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    counters: Striped<COUNTERS>,
}

impl Stats {
    #[inline]
    pub(crate) fn add(&self, c: Counter, n: u64) {
        self.counters.add(c as usize, n);
    }

    pub(crate) fn get(&self, c: Counter) -> u64 {
        self.counters.get(c as usize)
    }

    pub(crate) fn reset(&self) {
        self.counters.reset();
    }

    pub(crate) fn snapshot(&self, entries: u64, weighted_size: u64) -> CacheStats {
        CacheStats {
            hits: self.get(Counter::Hit),
            misses: self.get(Counter::Miss),
            inserts: self.get(Counter::Insert),
            updates: self.get(Counter::Update),
            evictions: self.get(Counter::EvictedSize),
            expirations: self.get(Counter::Expired),
            explicit_removals: self.get(Counter::Explicit),
            load_successes: self.get(Counter::LoadSuccess),
            load_failures: self.get(Counter::LoadFailure),
            total_load_time: Duration::from_nanos(self.get(Counter::LoadNanos)),
            entries,
            weighted_size,
        }
    }
}

/// A snapshot of a cache's counters ([`Cache::stats`](crate::Cache::stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Lookups that found a live entry.
    pub hits: u64,
    /// Lookups that found nothing (or an expired entry).
    pub misses: u64,
    /// Writes that added a new entry.
    pub inserts: u64,
    /// Writes that replaced an entry's value.
    pub updates: u64,
    /// Entries evicted to stay within the capacity or weight bound
    /// (including entries rejected for being heavier than the bound).
    pub evictions: u64,
    /// Entries removed because they expired.
    pub expirations: u64,
    /// Entries removed by `remove`, `retain`, `clear` and the like.
    pub explicit_removals: u64,
    /// Loader calls that produced a value.
    pub load_successes: u64,
    /// Loader calls that failed (returned an error or panicked).
    pub load_failures: u64,
    /// Time spent in loaders, successful or not.
    pub total_load_time: Duration,
    /// Entries in the cache when the snapshot was taken.
    pub entries: u64,
    /// Total weight of those entries.
    pub weighted_size: u64,
}

impl CacheStats {
    /// Adds `other`'s counters to these.
    #[cfg(feature = "macros")]
    pub(crate) fn merge(&mut self, other: &CacheStats) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.inserts += other.inserts;
        self.updates += other.updates;
        self.evictions += other.evictions;
        self.expirations += other.expirations;
        self.explicit_removals += other.explicit_removals;
        self.load_successes += other.load_successes;
        self.load_failures += other.load_failures;
        self.total_load_time += other.total_load_time;
        self.entries += other.entries;
        self.weighted_size += other.weighted_size;
    }

    /// Hits divided by lookups, or 0 when there were no lookups.
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 { 0.0 } else { self.hits as f64 / total as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_across_threads() {
        let s = Stats::default();
        std::thread::scope(|sc| {
            for _ in 0..4 {
                sc.spawn(|| {
                    for _ in 0..1000 {
                        s.add(Counter::Hit, 1);
                    }
                });
            }
        });
        s.add(Counter::Miss, 3);
        let snap = s.snapshot(1, 2);
        assert_eq!(snap.hits, 4000);
        assert_eq!(snap.misses, 3);
        assert!((snap.hit_rate() - 4000.0 / 4003.0).abs() < 1e-12);
        s.reset();
        assert_eq!(s.get(Counter::Hit), 0);
    }
}
