//! [`LoadingStats`]: what a [`LoadingCache`](super::LoadingCache)'s loader
//! did and how often stale or absent answers were served.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a [`LoadingCache`](super::LoadingCache)
/// ([`stats`](super::LoadingCache::stats)). Hits, misses and evictions are
/// in [`cache_stats`](super::LoadingCache::cache_stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadingStats {
    /// Calls to the loader (`load`, `load_many` and refreshes; a batch is
    /// one call).
    pub loads: u64,
    /// Calls to the loader that returned an error (the load was not stored,
    /// whether or not a stale value was served instead).
    pub load_failures: u64,
    /// Background refreshes started (by `refresh_after` or
    /// `stale_while_revalidate`).
    pub refreshes: u64,
    /// Reads answered with a value past its time-to-live (within
    /// `stale_while_revalidate`, or within `stale_if_error` after a failed
    /// load).
    pub stale_serves: u64,
    /// Reads answered `None` from a cached absence (`negative_ttl`).
    pub negative_hits: u64,
}

/// The live counters behind [`LoadingStats`].
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) loads: AtomicU64,
    pub(super) load_failures: AtomicU64,
    pub(super) refreshes: AtomicU64,
    pub(super) stale_serves: AtomicU64,
    pub(super) negative_hits: AtomicU64,
}

impl Counters {
    pub(super) fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> LoadingStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        LoadingStats {
            loads: get(&self.loads),
            load_failures: get(&self.load_failures),
            refreshes: get(&self.refreshes),
            stale_serves: get(&self.stale_serves),
            negative_hits: get(&self.negative_hits),
        }
    }
}
