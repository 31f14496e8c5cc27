//! Multi-threaded tests: no lost updates through `compute`, loaders run once
//! per key (threads and tasks), the bound holds under concurrent writers.

use embercache::{Cache, Op};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

#[test]
fn compute_loses_no_update() {
    let cache: Cache<u64, u64> = Cache::builder().max_capacity(1_000).build().unwrap();
    let threads = 8;
    let per = 2_000;
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for i in 0..per {
                    cache.compute(i % 10, |v| Op::Put(v.copied().unwrap_or(0) + 1));
                }
            });
        }
    });
    let total: u64 = (0..10).map(|k| cache.get(&k).unwrap_or(0)).sum();
    assert_eq!(total, threads * per);
    cache.validate();
}

#[test]
fn loader_runs_once_for_many_threads() {
    let cache: Cache<u64, String> = Cache::new(100);
    let calls = AtomicUsize::new(0);
    let barrier = Barrier::new(16);
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                barrier.wait();
                for key in 0..20u64 {
                    let v = cache.get_or_insert_with(key, || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(2));
                        format!("v{key}")
                    });
                    assert_eq!(v, format!("v{key}"));
                }
            });
        }
    });
    assert_eq!(calls.load(Ordering::SeqCst), 20);
    let s = cache.stats();
    assert_eq!(s.load_successes, 20);
    assert!(s.total_load_time >= Duration::from_millis(40));
}

#[test]
fn failed_load_reaches_every_waiter_and_is_not_cached() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let calls = AtomicUsize::new(0);
    let barrier = Barrier::new(8);
    let errors = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                barrier.wait();
                let r = cache.try_get_or_insert_with(1, || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    Err::<u64, String>("database down".into())
                });
                if let Err(e) = r {
                    assert_eq!(*e, "database down");
                    errors.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(errors.load(Ordering::SeqCst), 8);
    // Waiters that arrived after the failure led loads of their own.
    assert!(calls.load(Ordering::SeqCst) >= 1);
    assert_eq!(cache.get(&1), None);
    assert_eq!(cache.try_get_or_insert_with(1, || Ok::<_, String>(7)), Ok(7));
    assert!(cache.stats().load_failures >= 1);
}

#[test]
fn panicking_loader_does_not_poison_the_key() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let c2 = cache.clone();
    let r = std::thread::spawn(move || c2.get_or_insert_with(5, || panic!("loader blew up"))).join();
    assert!(r.is_err());
    assert_eq!(cache.get_or_insert_with(5, || 55), 55);
    assert_eq!(cache.stats().load_failures, 1);
    cache.validate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_loader_runs_once_for_many_tasks() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let calls = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let cache = cache.clone();
        let calls = Arc::clone(&calls);
        tasks.push(tokio::spawn(async move {
            cache
                .get_or_insert_with_async(9, async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    99
                })
                .await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 99);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn cancelled_async_leader_hands_over() {
    let cache: Cache<u64, u64> = Cache::new(100);
    // The leader's future is dropped mid-load by a timeout.
    let slow = cache.get_or_insert_with_async(1, async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        1
    });
    assert!(tokio::time::timeout(Duration::from_millis(10), slow).await.is_err());
    // The key is free again.
    assert_eq!(cache.get_or_insert_with_async(1, async { 2 }).await, 2);
}

#[test]
fn bound_holds_under_concurrent_writers() {
    let max = 5_000u64;
    let cache: Cache<u64, Vec<u8>> =
        Cache::builder().max_weight(max * 100).weigher(|_, v: &Vec<u8>| v.len() as u32).shards(4).build().unwrap();
    let over = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let cache = &cache;
            let over = &over;
            s.spawn(move || {
                for i in 0..20_000u64 {
                    let k = t * 1_000_000 + i;
                    cache.insert(k, vec![0; 50 + (i % 100) as usize]);
                    if cache.weighted_size() > max * 100 {
                        over.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(over.load(Ordering::Relaxed), 0, "weighted size went over the bound");
    cache.validate();
}

#[test]
fn housekeeper_reclaims_without_any_call() {
    let clock = embercache::time::ManualClock::new();
    let cache: Cache<u64, u64> = Cache::builder()
        .max_capacity(100)
        .time_to_live(Duration::from_secs(1))
        .clock(clock.clone())
        .housekeeper(Duration::from_millis(5))
        .build()
        .unwrap();
    for k in 0..10 {
        cache.insert(k, k);
    }
    clock.advance(Duration::from_secs(2));
    // Wait (bounded) for the background thread to notice.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !cache.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(cache.len(), 0);
    assert_eq!(cache.stats().expirations, 10);
}

#[test]
fn iteration_sees_every_stable_entry_once_while_others_churn() {
    let cache: Cache<u64, u64> = Cache::builder().max_capacity(100_000).shards(8).build().unwrap();
    for k in 0..5_000 {
        cache.insert(k, k);
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            // Churn on keys the iteration must not trip over.
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let k = 1_000_000 + i % 20_000;
                cache.insert(k, k);
                cache.remove(&(1_000_000 + (i + 7_919) % 20_000));
                i += 1;
            }
        });
        for _ in 0..5 {
            let mut seen = vec![0u32; 5_000];
            for (k, v) in cache.iter() {
                if k < 5_000 {
                    assert_eq!(k, v);
                    seen[k as usize] += 1;
                }
            }
            assert!(seen.iter().all(|&n| n == 1), "a stable entry was missed or repeated");
        }
        stop.store(true, Ordering::Relaxed);
    });
    cache.validate();
}

#[test]
fn every_policy_stays_consistent_under_mixed_concurrent_load() {
    use embercache::EvictionPolicy;
    for policy in [EvictionPolicy::Adaptive, EvictionPolicy::Lru, EvictionPolicy::Lfu, EvictionPolicy::Random] {
        let cache: Cache<u64, u64> = Cache::builder()
            .max_capacity(500)
            .policy(policy)
            .shards(2)
            .time_to_idle(Duration::from_secs(60))
            .build()
            .unwrap();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let cache = &cache;
                s.spawn(move || {
                    let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                    for _ in 0..20_000 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let k = (x % 2_000) * (x % 3 + 1) % 2_000;
                        match x % 10 {
                            0..=5 => {
                                let _ = cache.get(&k);
                            }
                            6..=7 => {
                                cache.insert(k, k);
                            }
                            8 => {
                                cache.remove(&k);
                            }
                            _ => {
                                cache.compute(k, |v| Op::Put(v.copied().unwrap_or(0) + 1));
                            }
                        }
                    }
                });
            }
        });
        cache.run_pending_tasks();
        cache.validate();
        assert!(cache.len() <= 500, "{policy:?}: {}", cache.len());
    }
}
