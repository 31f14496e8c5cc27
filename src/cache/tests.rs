//! Unit tests of `Cache` that need crate internals (`validate`).

use super::*;
use crate::time::ManualClock;
use crate::{EvictionPolicy, RemovalCause};
use std::sync::Mutex;

fn manual(cap: u64, policy: EvictionPolicy) -> (Cache<u64, u64>, ManualClock) {
    let clock = ManualClock::new();
    let c = Cache::builder().max_capacity(cap).policy(policy).clock(clock.clone()).build().unwrap();
    (c, clock)
}

#[test]
fn bound_holds_for_every_policy() {
    for policy in [EvictionPolicy::Adaptive, EvictionPolicy::Lru, EvictionPolicy::Lfu, EvictionPolicy::Random] {
        let (c, _) = manual(100, policy);
        for k in 0..1_000 {
            c.insert(k, k);
            assert!(c.len() <= 100, "{policy:?}");
            let _ = c.get(&(k / 2));
        }
        c.run_pending_tasks();
        c.inner.engine.validate();
        assert_eq!(c.len(), 100);
        assert_eq!(c.stats().evictions, 900);
    }
}

#[test]
fn lru_evicts_least_recent() {
    let (c, _) = manual(3, EvictionPolicy::Lru);
    for k in 1..=3 {
        c.insert(k, k);
    }
    c.get(&2);
    c.get(&1);
    c.insert(4, 4);
    c.insert(5, 5);
    assert_eq!(c.peek(&3), None);
    assert_eq!(c.peek(&2), None);
    assert_eq!(c.peek(&1), Some(1));
    c.inner.engine.validate();
}

#[test]
fn lfu_keeps_frequent() {
    let (c, _) = manual(10, EvictionPolicy::Lfu);
    for k in 0..10 {
        c.insert(k, k);
    }
    for _ in 0..50 {
        for k in 0..5 {
            c.get(&k);
        }
    }
    for k in 100..120 {
        c.insert(k, k);
    }
    let kept = (0..5).filter(|k| c.peek(k).is_some()).count();
    assert!(kept >= 4, "frequent keys kept: {kept}");
    c.inner.engine.validate();
}

#[test]
fn adaptive_resists_a_scan() {
    let (c, _) = manual(100, EvictionPolicy::Adaptive);
    for _ in 0..20 {
        for k in 0..50 {
            if c.get(&k).is_none() {
                c.insert(k, k);
            }
        }
    }
    // A one-pass scan of many new keys.
    for k in 1_000..3_000 {
        if c.get(&k).is_none() {
            c.insert(k, k);
        }
    }
    let kept = (0..50).filter(|k| c.peek(k).is_some()).count();
    assert!(kept >= 45, "hot keys kept through the scan: {kept}");
    c.inner.engine.validate();
}

#[test]
fn ttl_to_the_millisecond_and_reclaimed_without_reads() {
    let (c, clock) = manual(100, EvictionPolicy::Adaptive);
    c.insert_with_ttl(1, 1, Duration::from_millis(1500));
    c.insert(2, 2);
    clock.advance(Duration::from_millis(1499));
    assert_eq!(c.get(&1), Some(1));
    clock.advance(Duration::from_millis(1));
    assert_eq!(c.get(&1), None);
    assert_eq!(c.len(), 2, "not yet reclaimed");
    c.run_pending_tasks();
    assert_eq!(c.len(), 1);
    assert_eq!(c.stats().expirations, 1);
    c.inner.engine.validate();
}

#[test]
fn time_to_idle_slides_on_reads_but_not_peeks() {
    let clock = ManualClock::new();
    let c: Cache<u64, u64> =
        Cache::builder().max_capacity(10).time_to_idle(Duration::from_secs(10)).clock(clock.clone()).build().unwrap();
    c.insert(1, 1);
    c.insert(2, 2);
    for _ in 0..5 {
        clock.advance(Duration::from_secs(6));
        assert_eq!(c.get(&1), Some(1));
        c.peek(&2);
    }
    assert_eq!(c.peek(&2), None);
    c.run_pending_tasks();
    assert_eq!(c.len(), 1);
    clock.advance(Duration::from_secs(10));
    c.run_pending_tasks();
    assert_eq!(c.len(), 0);
    c.inner.engine.validate();
}

#[test]
fn listener_hears_every_cause() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = Arc::clone(&seen);
    let clock = ManualClock::new();
    let c: Cache<u64, u64> = Cache::builder()
        .max_capacity(2)
        .shards(1)
        .clock(clock.clone())
        .eviction_listener(move |k, v, cause| s2.lock().unwrap().push((k, v, cause)))
        .build()
        .unwrap();
    c.insert(1, 10);
    c.insert(1, 11); // Replaced (old value 10)
    c.insert_with_ttl(2, 20, Duration::from_secs(1));
    c.insert(3, 30); // Size: someone goes
    clock.advance(Duration::from_secs(2));
    c.run_pending_tasks();
    c.remove(&3);
    let seen = seen.lock().unwrap().clone();
    assert!(seen.contains(&(1, 10, RemovalCause::Replaced)), "{seen:?}");
    assert_eq!(seen.iter().filter(|x| x.2 == RemovalCause::Size).count(), 1, "{seen:?}");
    let explicit = seen.iter().filter(|x| x.2 == RemovalCause::Explicit).count();
    let expired = seen.iter().filter(|x| x.2 == RemovalCause::Expired).count();
    assert_eq!(explicit + expired + 2, seen.len(), "{seen:?}");
    assert!(c.is_empty() || c.len() == 1);
}

#[test]
fn weigher_bounds_total_weight_and_updates_are_accounted() {
    let c: Cache<u64, Vec<u8>> =
        Cache::builder().max_weight(1_000).weigher(|_, v: &Vec<u8>| v.len() as u32).shards(1).build().unwrap();
    c.insert(1, vec![0; 100]);
    assert_eq!(c.weighted_size(), 100);
    c.insert(1, vec![0; 300]);
    assert_eq!(c.weighted_size(), 300);
    for k in 2..20 {
        c.insert(k, vec![0; 150]);
        assert!(c.weighted_size() <= 1_000);
    }
    // Heavier than the bound: rejected, not stored.
    assert!(!c.insert(99, vec![0; 2_000]));
    assert_eq!(c.peek(&99), None);
    c.inner.engine.validate();
}

#[test]
fn set_max_capacity_evicts_at_once() {
    let (c, _) = manual(1_000, EvictionPolicy::Adaptive);
    for k in 0..1_000 {
        c.insert(k, k);
    }
    c.set_max_capacity(10);
    assert!(c.len() <= 10);
    c.set_max_capacity(2_000);
    for k in 0..1_500 {
        c.insert(k, k);
    }
    assert_eq!(c.len(), 1_500);
    c.inner.engine.validate();
}

#[test]
fn compute_iter_retain_clear() {
    let (c, _) = manual(1_000, EvictionPolicy::Adaptive);
    for k in 0..100 {
        assert_eq!(c.compute(k, |v| Op::Put(v.copied().unwrap_or(0) + k)), CompResult::Inserted(k));
    }
    assert_eq!(c.compute(5, |_| Op::Nop), CompResult::Unchanged(5));
    assert_eq!(c.compute(5, |_| Op::Remove), CompResult::Removed(5));
    assert_eq!(c.compute(5, |_| Op::Nop), CompResult::StillNone);
    let mut all: Vec<(u64, u64)> = c.iter().collect();
    all.sort_unstable();
    assert_eq!(all.len(), 99);
    c.retain(|k, _| k % 2 == 0);
    assert_eq!(c.len(), 50);
    c.clear();
    assert!(c.is_empty());
    c.inner.engine.validate();
}

#[test]
fn inspection() {
    let (c, clock) = manual(100, EvictionPolicy::Lru);
    for k in 0..10 {
        c.insert_with_ttl(k, k, Duration::from_secs(100 - k));
    }
    clock.advance(Duration::from_secs(1));
    let cold: Vec<u64> = c.policy().coldest(3).into_iter().map(|x| x.0).collect();
    assert_eq!(cold, vec![0, 1, 2]);
    let hot: Vec<u64> = c.policy().hottest(2).into_iter().map(|x| x.0).collect();
    assert_eq!(hot, vec![9, 8]);
    let soon = c.policy().next_to_expire(2);
    assert_eq!(soon[0].0, 9);
    assert_eq!(soon[0].2, Duration::from_secs(90));
    let info = c.entry_info(&3).unwrap();
    assert_eq!(info.age, Some(Duration::from_secs(1)));
    assert_eq!(info.time_to_live, Some(Duration::from_secs(96)));
    assert_eq!(info.weight, 1);
}

#[test]
fn expiry_policy_per_entry() {
    struct ByValue;
    impl crate::Expiry<u64, u64> for ByValue {
        fn expire_after_create(&self, _: &u64, v: &u64) -> Option<Duration> {
            Some(Duration::from_millis(*v))
        }
    }
    let clock = ManualClock::new();
    let c: Cache<u64, u64> = Cache::builder().max_capacity(10).expiry(ByValue).clock(clock.clone()).build().unwrap();
    c.insert(1, 100);
    c.insert(2, 5_000);
    clock.advance(Duration::from_millis(100));
    assert_eq!(c.get(&1), None);
    assert_eq!(c.get(&2), Some(5_000));
    c.run_pending_tasks();
    assert_eq!(c.len(), 1);
    c.inner.engine.validate();
}
