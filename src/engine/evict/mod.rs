//! Eviction: which entry goes when a shard is over its bound.
//!
//! One internal interface, four policies, chosen with
//! [`EvictionPolicy`] in the builder:
//!
//! - [`EvictionPolicy::Adaptive`] (default): W-TinyLFU on CLOCK-style queues
//!   with a window sized per shard from ghost hits ([`adaptive`],
//!   [`window`]), frequency- and scan-aware, turning towards recency when
//!   the workload rewards it.
//! - [`EvictionPolicy::Lru`]: exact list order, reads applied through a lossy
//!   read buffer ([`lru`]).
//! - [`EvictionPolicy::Lfu`]: Redis-style approximate LFU with logarithmic
//!   counters and sampled eviction ([`lfu`]).
//! - [`EvictionPolicy::Random`]: a uniformly random victim ([`random`]).
//!
//! All three run under the shard's write lock, except `record_read`, which
//! lookups call under the read lock and which touches only atomics.

pub(crate) mod adaptive;
pub(crate) mod lfu;
pub(crate) mod lru;
pub(crate) mod random;
pub(crate) mod sketch;
pub(crate) mod window;

use crate::engine::slab::{Entry, Slab};
#[cfg(any(test, fuzzing, debug_assertions))]
use crate::engine::slab::{NIL, Queue};
use adaptive::Adaptive;
use lfu::Lfu;
use lru::Lru;
use random::Random;

/// The eviction policy of a cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EvictionPolicy {
    /// W-TinyLFU with an adaptive window (the default): keeps frequently used
    /// entries, resists scans, and adapts towards recency when that pays.
    #[default]
    Adaptive,
    /// Least recently used.
    Lru,
    /// Least frequently used (approximate, with aging, as Redis's LFU).
    Lfu,
    /// A uniformly random entry (Redis's `allkeys-random`).
    Random,
}

/// The per-shard policy state.
#[derive(Debug)]
pub(crate) enum Policy {
    Adaptive(Adaptive),
    Lru(Lru),
    Lfu(Lfu),
    Random(Random),
}

impl Policy {
    pub(crate) fn new(kind: EvictionPolicy, capacity_hint: u64) -> Self {
        match kind {
            EvictionPolicy::Adaptive => Policy::Adaptive(Adaptive::new(capacity_hint)),
            EvictionPolicy::Lru => Policy::Lru(Lru::default()),
            EvictionPolicy::Lfu => Policy::Lfu(Lfu::default()),
            EvictionPolicy::Random => Policy::Random(Random::default()),
        }
    }

    /// A new entry `i` was stored.
    pub(crate) fn on_insert<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32, hash: u64) {
        match self {
            Policy::Adaptive(p) => p.on_insert(slab, i, hash),
            Policy::Lru(p) => p.on_insert(slab, i),
            Policy::Lfu(p) => p.on_insert(slab, i),
            Policy::Random(p) => p.on_insert(slab, i),
        }
    }

    /// Entry `i`'s value was replaced (an access); its weight changed from
    /// `old_weight` to the entry's current weight.
    pub(crate) fn on_update<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32, hash: u64, old_weight: u32) {
        let Some(e) = slab.get(i) else { return };
        let (q, w) = (e.queue, e.weight);
        match self {
            Policy::Adaptive(p) => {
                p.list_mut(q).reweigh(old_weight, w);
                // An update is an access: counted like a read, once per
                // setting of the referenced bit.
                p.record_access(e, hash);
            }
            Policy::Lru(p) => {
                p.list.reweigh(old_weight, w);
                p.on_access(slab, i);
            }
            Policy::Lfu(p) => {
                p.list.reweigh(old_weight, w);
                p.on_update(slab, i);
            }
            Policy::Random(p) => p.list.reweigh(old_weight, w),
        }
    }

    /// Entry `i` is about to be removed from the slab.
    pub(crate) fn on_remove<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32) {
        match self {
            Policy::Adaptive(p) => p.on_remove(slab, i),
            Policy::Lru(p) => p.list.unlink(slab, i),
            Policy::Lfu(p) => p.list.unlink(slab, i),
            Policy::Random(p) => p.list.unlink(slab, i),
        }
    }

    /// Records a lookup hit on entry `i`, under the read lock. Returns `true`
    /// when buffered reads should be drained soon.
    #[inline]
    pub(crate) fn record_read<K, V>(&self, e: &Entry<K, V>, i: u32, hash: u64) -> bool {
        match self {
            Policy::Adaptive(p) => {
                p.record_access(e, hash);
                false
            }
            Policy::Lru(p) => p.record_read(i),
            Policy::Lfu(_) => {
                lfu::log_increment(e);
                false
            }
            Policy::Random(_) => false,
        }
    }

    /// Applies buffered reads (write lock).
    pub(crate) fn drain_reads<K, V>(&mut self, slab: &mut Slab<K, V>) {
        if let Policy::Lru(p) = self {
            p.drain_reads(slab);
        }
    }

    /// Work to do after each insert, before evicting (adaptive: move window
    /// overflow to the main space).
    /// The adaptive policy sizes its window per shard
    /// ([`window::WindowTuner`]).
    pub(crate) fn rebalance<K, V>(&mut self, slab: &mut Slab<K, V>, max_weight: u64) {
        if let Policy::Adaptive(p) = self {
            p.rebalance(slab, max_weight);
        }
    }

    /// Chooses, unlinks from the policy, and returns the next entry to
    /// evict, with its hash.
    pub(crate) fn victim<K, V>(
        &mut self,
        slab: &mut Slab<K, V>,
        hash_of: &dyn Fn(&K) -> u64,
        max_weight: u64,
    ) -> Option<(u32, u64)> {
        let v = match self {
            Policy::Adaptive(p) => return p.victim(slab, hash_of, max_weight - p.max_window(max_weight)),
            Policy::Lru(p) => p.victim(slab),
            Policy::Lfu(p) => p.victim(slab),
            Policy::Random(p) => p.victim(slab),
        }?;
        Some((v, slab.get(v).map_or(0, |e| hash_of(&e.key))))
    }

    /// Live entries from the first to be evicted to the last, as the policy
    /// sees them now (for inspection; O(n log n)). The adaptive policy
    /// orders by estimated frequency, then by queue position.
    pub(crate) fn coldest_first<K, V>(&self, slab: &Slab<K, V>, hash_of: &dyn Fn(&K) -> u64) -> Vec<u32> {
        match self {
            Policy::Adaptive(p) => {
                let mut v: Vec<u32> =
                    p.probation.iter(slab).chain(p.window.iter(slab)).chain(p.protected.iter(slab)).collect();
                v.sort_by_cached_key(|&i| slab.get(i).map(|e| p.sketch.frequency(hash_of(&e.key))));
                v
            }
            Policy::Lru(p) => p.list.iter(slab).collect(),
            Policy::Random(p) => p.list.iter(slab).collect(),
            Policy::Lfu(p) => {
                let mut v: Vec<u32> = p.list.iter(slab).collect();
                v.sort_by_key(|&i| slab.get(i).map(|e| e.freq()));
                v
            }
        }
    }

    /// Estimated access frequency of an entry, for inspection.
    pub(crate) fn frequency<K, V>(&self, e: &Entry<K, V>, hash: u64) -> u32 {
        match self {
            Policy::Adaptive(p) => u32::from(p.sketch.frequency(hash)),
            Policy::Lru(_) => u32::from(e.freq()),
            Policy::Lfu(_) | Policy::Random(_) => u32::from(e.freq()),
        }
    }

    /// Forgets every entry (the slab is being cleared).
    pub(crate) fn clear(&mut self) {
        match self {
            Policy::Adaptive(p) => {
                *p = Adaptive::new(p.capacity());
            }
            Policy::Lru(p) => p.list = Default::default(),
            Policy::Lfu(p) => p.list = Default::default(),
            Policy::Random(p) => p.list = Default::default(),
        }
    }

    /// Checks that the lists hold exactly the slab's entries with the right
    /// tags and weights (tests and fuzzing).
    #[cfg(any(test, fuzzing, debug_assertions))]
    pub(crate) fn validate<K, V>(&self, slab: &Slab<K, V>) {
        use crate::engine::slab::List;
        let check = |list: &List, q: Option<Queue>| -> usize {
            let mut n = 0usize;
            let mut w = 0u64;
            let mut prev = NIL;
            for i in list.iter(slab) {
                let e = slab.get(i).expect("listed entry is live");
                if let Some(q) = q {
                    assert_eq!(e.queue, q, "entry in the wrong queue");
                }
                assert_eq!(e.prev, prev, "broken back link");
                prev = i;
                n += 1;
                w += u64::from(e.weight);
            }
            assert_eq!(list.tail, prev, "tail");
            assert_eq!(n, list.len as usize, "list length");
            assert_eq!(w, list.weight, "list weight");
            n
        };
        let n = match self {
            Policy::Adaptive(p) => {
                check(&p.window, Some(Queue::Window))
                    + check(&p.probation, Some(Queue::Probation))
                    + check(&p.protected, Some(Queue::Protected))
            }
            Policy::Lru(p) => check(&p.list, None),
            Policy::Lfu(p) => check(&p.list, None),
            Policy::Random(p) => check(&p.list, None),
        };
        assert_eq!(n, slab.len(), "every entry is in exactly one list");
    }
}
