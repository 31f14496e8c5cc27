//! Unit tests of the pieces `tests/loading.rs` cannot see: the hit path's
//! clock reads and the refresh's single flight.

use super::*;
use crate::time::{Clock, ManualClock};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A manual clock that counts its reads.
#[derive(Debug, Clone, Default)]
struct CountingClock {
    inner: ManualClock,
    reads: Arc<AtomicU64>,
}

impl Clock for CountingClock {
    fn now(&self) -> Duration {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.now()
    }
}

fn squares(clock: CountingClock) -> LoadingCacheBuilder<u64, u64, std::convert::Infallible> {
    LoadingCache::builder().loader_fn(|k: &u64| Ok(Some(k * k))).max_capacity(100).clock(clock)
}

#[test]
fn hits_without_deadlines_read_no_clock() {
    let clock = CountingClock::default();
    let cache = squares(clock.clone()).build().unwrap();
    assert_eq!(cache.get(&3), Ok(Some(9)));
    let before = clock.reads.load(Ordering::Relaxed);
    for _ in 0..100 {
        assert_eq!(cache.get(&3), Ok(Some(9)));
    }
    assert_eq!(clock.reads.load(Ordering::Relaxed), before);
}

#[test]
fn hits_with_a_ttl_read_the_clock_once() {
    let clock = CountingClock::default();
    let cache = squares(clock.clone()).time_to_live(Duration::from_secs(5)).build().unwrap();
    assert_eq!(cache.get(&3), Ok(Some(9)));
    let before = clock.reads.load(Ordering::Relaxed);
    assert_eq!(cache.get(&3), Ok(Some(9)));
    assert_eq!(clock.reads.load(Ordering::Relaxed), before + 1);
}

#[test]
fn a_refresh_is_led_once_and_only_while_needed() {
    let clock = CountingClock::default();
    let cache = squares(clock.clone()).refresh_after(Duration::from_secs(5)).build().unwrap();
    assert_eq!(cache.get(&4), Ok(Some(16)));
    let inner = &cache.shared.cache;
    let hash = inner.inner.engine.hash(&4);
    let needed = |_: &Cache<u64, Option<u64>>| cache.probe(&4, false).is_some_and(|h| h.refresh);
    assert!(inner.lead_if(&4, hash, needed).is_none(), "fresh: no refresh");
    clock.inner.advance(Duration::from_secs(6));
    let leader = inner.lead_if(&4, hash, needed).expect("stale enough to refresh");
    assert!(inner.lead_if(&4, hash, needed).is_none(), "one refresh at a time");
    // Readers are not held up by the refresh in flight.
    assert_eq!(cache.get(&4), Ok(Some(16)));
    assert_eq!(cache.stats().refreshes, 0, "the flight was taken here, so get started none");
    cache.store(4, Some(17));
    leader.succeed(Some(17));
    assert_eq!(cache.get(&4), Ok(Some(17)));
    assert!(inner.lead_if(&4, hash, needed).is_none(), "refreshed: fresh again");
}
